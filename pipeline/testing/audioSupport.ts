/**
 * Helpers for tests and benchmarks of the audio path: WAV reading, real Opus encoding
 * (libopus through @discordjs/opus) and RTP packetisation. Not used in production code.
 */
import fs from 'node:fs';
import opus from '@discordjs/opus';
import { serializeRtpPacket } from '../rtp/RtpPacket.js';
import { parseWav } from '../../challenge-response/dsp/wav.js';

export interface WavData {
  sampleRate: number;
  /** Mono samples as float in [-1, 1) (channels averaged). */
  samples: Float32Array;
}

/** Reads a 16-bit PCM WAV file (the one WAV parser of the tree: challenge-response/dsp/wav.ts). */
export function readWav(file: string): WavData {
  return parseWav(fs.readFileSync(file));
}

/** Encodes 48 kHz mono float PCM into 20 ms Opus packets (the last partial frame is zero-padded). */
export function encodeOpus(samples48k: Float32Array, bitrate = 32000): Buffer[] {
  const enc = new opus.OpusEncoder(48000, 1);
  enc.setBitrate(bitrate);
  const frame = Buffer.alloc(960 * 2);
  const out: Buffer[] = [];
  for (let start = 0; start < samples48k.length; start += 960) {
    frame.fill(0);
    const end = Math.min(samples48k.length, start + 960);
    for (let i = start; i < end; i++) {
      const v = Math.max(-32768, Math.min(32767, Math.round(samples48k[i]! * 32768)));
      frame.writeInt16LE(v, (i - start) * 2);
    }
    out.push(enc.encode(frame));
  }
  return out;
}

export interface RtpStreamInit {
  payloadType?: number;
  ssrc?: number;
  firstSeq?: number;
  firstTimestamp?: number;
  samplesPerPacket?: number;
}

export interface TestRtpPacket {
  seq: number;
  timestamp: number;
  bytes: Buffer;
  /** Nominal send time in ms from the first packet. */
  sendMs: number;
}

/** Packetises Opus payloads into consecutive RTP packets (seq and timestamp wrap naturally). */
export function packetise(payloads: readonly Uint8Array[], init: RtpStreamInit = {}): TestRtpPacket[] {
  const pt = init.payloadType ?? 100;
  const ssrc = init.ssrc ?? 0x1234abcd;
  const spp = init.samplesPerPacket ?? 960;
  let seq = init.firstSeq ?? 1000;
  let ts = init.firstTimestamp ?? 90000;
  return payloads.map((payload, i) => {
    const p = {
      seq: seq & 0xffff,
      timestamp: ts >>> 0,
      bytes: serializeRtpPacket({ payloadType: pt, sequenceNumber: seq, timestamp: ts, ssrc, payload, marker: i === 0 }),
      sendMs: (i * spp) / 48,
    };
    seq = (seq + 1) & 0xffff;
    ts = (ts + spp) % 2 ** 32;
    return p;
  });
}

/** Deterministic PRNG (mulberry32) for reproducible shuffles and drops. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Simulates a network: drops exactly round(lossRate * n) packets chosen at random (never the
 * first), duplicates round(dupRate * n) of the rest, and delays each copy by a random
 * jitter, returning packets in arrival order with their arrival times.
 */
export function simulateNetwork(
  packets: readonly TestRtpPacket[],
  opts: { lossRate: number; jitterMs: number; seed: number; dupRate?: number },
): { packet: TestRtpPacket; arrivalMs: number }[] {
  const rnd = prng(opts.seed);
  const order = packets.map((_, i) => i).slice(1);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const nDrop = Math.round(opts.lossRate * packets.length);
  const nDup = Math.round((opts.dupRate ?? 0) * packets.length);
  const dropped = new Set(order.slice(0, nDrop));
  const duplicated = new Set(order.slice(nDrop, nDrop + nDup));
  const arrived: { packet: TestRtpPacket; arrivalMs: number }[] = [];
  packets.forEach((p, i) => {
    if (dropped.has(i)) return;
    // The first packet is not delayed so the stream starts cleanly.
    arrived.push({ packet: p, arrivalMs: p.sendMs + (i === 0 ? 0 : rnd() * opts.jitterMs) });
    if (duplicated.has(i)) arrived.push({ packet: p, arrivalMs: p.sendMs + rnd() * opts.jitterMs });
  });
  arrived.sort((a, b) => a.arrivalMs - b.arrivalMs);
  return arrived;
}

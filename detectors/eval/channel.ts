/**
 * The transmission channels the offline tools (`npm run eval`, drift.ts) put a 48 kHz mono
 * clip through before the service's Resampler and the detector:
 *
 *   clean       no codec: the decoded file as is (48 kHz).
 *   opus24      libopus (@discordjs/opus) at 24 kb/s, 20 ms frames, decoded by the service's
 *               OpusDecoder (48 kHz).
 *   opus12loss  the same at 12 kb/s with 5 % of the 20 ms packets lost: exactly
 *               round(0.05 * (packets - 1)) of packets 2..n, drawn with a seeded PRNG (mulberry32,
 *               `lossSeed`), never the first. A lost packet is encoded (the sender does not know)
 *               but not decoded: it is replaced by `OpusDecoder.conceal(960)`, the call
 *               AudioStreamProcessor makes for a gap with lost packets (libopus PLC).
 *   g711        telephone: the service's Resampler 48 kHz -> 8 kHz (Kaiser windowed-sinc, passband
 *               0.86 x 4 kHz, 80 dB stopband from 4 kHz), G.711 mu-law encode + decode
 *               (pipeline/audio/G711.ts), Resampler 8 kHz -> 16 kHz.
 *   amrg711     a mobile caller on a G.711 trunk: the same 8 kHz signal first through AMR-NB at
 *               12.2 kb/s (the handset's codec; encoded and decoded by sox with libopencore-amrnb,
 *               which Debian's sox pulls in), then G.711 as above. Judged as a phone leg.
 *   g722        an HD-voice SIP leg: the service's Resampler 48 kHz -> 16 kHz, G.722 64 kb/s
 *               (mode 1) encode + decode (pipeline/audio/G722.ts, bit-exact with ffmpeg's g722),
 *               16 kHz out. Judged as the service judges a G.722 leg: wideband (its packets are
 *               'WB'; a SIP leg never says whether the far end suppressed noise, so no
 *               suppression is assumed: `--suppressed` does not apply).
 *   amrwbg722   a VoLTE caller on an HD-voice trunk: 16 kHz through AMR-WB at 12.65 kb/s (mode 2,
 *               VoLTE's usual rate: 50 Hz-6.4 kHz coded, 6.4-7 kHz synthesised from noise; encoded
 *               by Debian's libvo-amrwbenc through amrwb_encode.py, decoded by sox with
 *               opencore-amrwb), then G.722 as above. Judged as a G.722 leg.
 *   amrwbg711   a VoLTE caller on a G.711 trunk: the same AMR-WB step, then 8 kHz and G.711 as
 *               in g711. Judged as a phone leg.
 *
 * `--opus <bitrate>` of the eval tool is `opusSpec(bitrate)`: Opus at that bitrate, no loss.
 * Each output carries the per-packet record the service would derive its window quality from
 * (`channelQuality`: packet loss, concealed share, bitrate from payload sizes, Opus bandwidth
 * from the TOC byte), as AudioStreamProcessor does.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import opus from '@discordjs/opus';
import { DfdError } from '../../kernel/errors.js';
import { muLawDecodeFloat, muLawEncodeFloat } from '../../pipeline/audio/G711.js';
import { legCodecOf } from '../../pipeline/audio/audioCodec.js';
import { G722Decoder, G722Encoder, G722_SAMPLE_RATE } from '../../pipeline/audio/G722.js';
import { OpusDecoder, parseOpusToc } from '../../pipeline/audio/OpusDecoder.js';
import { resampleClip } from '../../pipeline/audio/Resampler.js';
import type { AudioQuality } from '../../pipeline/messages.js';
import type { CalibrationChannel } from '../registry/Manifest.js';
import { seededRandom } from '../../challenge-response/eval/labelledSet.js';
import { pickDistinct } from '../../challenge-response/random.js';

export const Channels = ['clean', 'opus24', 'opus12loss', 'g711', 'amrg711', 'g722', 'amrwbg722', 'amrwbg711'] as const;
export type Channel = (typeof Channels)[number];

/** The service's codec rate: every clip enters the channel at 48 kHz. */
export const CODEC_RATE = 48_000;
/** 20 ms at 48 kHz. */
const FRAME = 960;
const G711_RATE = 8000;
/** The rate the g711 channel hands on (8 kHz upsampled, as a 16 kHz detector path would). */
const G711_OUT_RATE = 16_000;

/**
 * The codec chain of a channel: the trunk codec the service receives (Opus, G.711 or G.722), after
 * a handset's speech codec for 'amr-g711' (AMR-NB), 'amrwb-g711' and 'amrwb-g722' (AMR-WB).
 */
export type ChannelCodec = 'none' | 'opus' | 'g711' | 'amr-g711' | 'amrwb-g711' | 'g722' | 'amrwb-g722';

/** The codec the service receives on a channel: a handset codec before the trunk is invisible to it. */
export function trunkCodec(codec: ChannelCodec): 'none' | 'opus' | 'g711' | 'g722' {
  return codec === 'amr-g711' || codec === 'amrwb-g711' ? 'g711' : codec === 'amrwb-g722' ? 'g722' : codec;
}

export interface ChannelSpec {
  /** Names the channel in reports and file names: a Channel, or `opus<bitrate>` for --opus. */
  name: string;
  codec: ChannelCodec;
  /** Codec bitrate, bit/s (0 for none). */
  bitrate: number;
  /** Share of 20 ms packets lost (Opus only). */
  lossRate: number;
  /** Which manifest calibration scores of this channel use (Manifest.calibrationFor). */
  calibration: CalibrationChannel;
}

const SPECS: Record<Channel, ChannelSpec> = {
  clean: { name: 'clean', codec: 'none', bitrate: 0, lossRate: 0, calibration: 'wideband' },
  opus24: { name: 'opus24', codec: 'opus', bitrate: 24_000, lossRate: 0, calibration: 'wideband' },
  opus12loss: { name: 'opus12loss', codec: 'opus', bitrate: 12_000, lossRate: 0.05, calibration: 'wideband' },
  g711: { name: 'g711', codec: 'g711', bitrate: 64_000, lossRate: 0, calibration: 'telephone' },
  amrg711: { name: 'amrg711', codec: 'amr-g711', bitrate: 64_000, lossRate: 0, calibration: 'telephone' },
  g722: { name: 'g722', codec: 'g722', bitrate: 64_000, lossRate: 0, calibration: 'wideband' },
  amrwbg722: { name: 'amrwbg722', codec: 'amrwb-g722', bitrate: 64_000, lossRate: 0, calibration: 'wideband' },
  amrwbg711: { name: 'amrwbg711', codec: 'amrwb-g711', bitrate: 64_000, lossRate: 0, calibration: 'telephone' },
};

/** AMR-NB's highest mode, 12.2 kb/s (sox's -C 7 for amr-nb). */
const AMR_NB_MODE = 7;
/** AMR-WB mode 2, 12.65 kb/s: VoLTE's usual rate. */
const AMR_WB_MODE = 2;
const AMR_WB_RATE = 16_000;
/** The AMR-WB encoder (Debian's libvo-amrwbenc through ctypes; sox and ffmpeg carry none). */
const AMR_WB_ENCODER = fileURLToPath(new URL('./amrwb_encode.py', import.meta.url));

/** The spec of a named channel; ERR_CONFIG for an unknown name. */
export function channelSpec(name: string): ChannelSpec {
  if (!(Channels as readonly string[]).includes(name)) throw new DfdError('ERR_CONFIG', `--channel must be one of ${Channels.join(', ')}`, { channel: name });
  return SPECS[name as Channel];
}

/** The legacy `--opus <bitrate>`: Opus at that bitrate, no loss. */
export function opusSpec(bitrate: number): ChannelSpec {
  return { name: `opus${bitrate}`, codec: 'opus', bitrate, lossRate: 0, calibration: 'wideband' };
}

/** One 20 ms packet as the receiver saw it. */
export interface PacketRecord {
  lost: boolean;
  bytes: number;
  /** Opus bandwidth from the TOC byte; 'NB' for G.711. */
  bandwidth: string;
}

export interface ChannelOutput {
  spec: ChannelSpec;
  samples: Float32Array;
  sampleRate: number;
  /** One record per 20 ms packet, in order (empty for `clean`). */
  packets: PacketRecord[];
  /** Samples (at 48 kHz) produced by OpusDecoder concealment. */
  concealedSamples: number;
}

/**
 * Which of `packets` packets are lost: exactly round(lossRate * (packets - 1)) distinct indices in
 * 1..packets-1 (never the first), the same for the same seed.
 */
export function lossSchedule(packets: number, lossRate: number, seed: number): Uint8Array {
  const lost = new Uint8Array(Math.max(0, packets));
  if (packets < 2 || !(lossRate > 0)) return lost;
  const k = Math.round(lossRate * (packets - 1));
  const candidates = Array.from({ length: packets - 1 }, (_, i) => i + 1);
  for (const i of pickDistinct(candidates, k, seededRandom(seed))) lost[i] = 1;
  return lost;
}

/**
 * 48 kHz float -> 20 ms libopus packets at `bitrate` -> the service's OpusDecoder -> 48 kHz float
 * (same length). Packets marked in `lost` are replaced by `OpusDecoder.conceal` (libopus PLC).
 */
export function opusRoundTrip(x: Float32Array, bitrate: number, lost?: Uint8Array): Omit<ChannelOutput, 'spec'> {
  const enc = new opus.OpusEncoder(CODEC_RATE, 1);
  enc.setBitrate(bitrate);
  const dec = new OpusDecoder();
  const frame = Buffer.alloc(FRAME * 2);
  const out = new Float32Array(Math.ceil(x.length / FRAME) * FRAME);
  const packets: PacketRecord[] = [];
  let o = 0;
  try {
    for (let start = 0, k = 0; start < x.length; start += FRAME, k++) {
      frame.fill(0);
      const end = Math.min(x.length, start + FRAME);
      for (let i = start; i < end; i++) frame.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(x[i]! * 32768))), (i - start) * 2);
      const payload = enc.encode(frame);
      const isLost = lost?.[k] === 1;
      packets.push({ lost: isLost, bytes: payload.byteLength, bandwidth: parseOpusToc(payload).bandwidth });
      const pcm = isLost ? dec.conceal(FRAME) : dec.decode(payload);
      out.set(pcm.subarray(0, Math.min(pcm.length, out.length - o)), o);
      o += pcm.length;
    }
    return { samples: out.subarray(0, Math.min(o, x.length)), sampleRate: CODEC_RATE, packets, concealedSamples: dec.stats().concealedSamples };
  } finally {
    dec.close();
  }
}

const toPcm16 = (x: Float32Array): Buffer => {
  const pcm = Buffer.alloc(x.length * 2);
  for (let i = 0; i < x.length; i++) pcm.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(x[i]! * 32768))), i * 2);
  return pcm;
};

/** int16 PCM -> float of exactly `length` samples (trimmed, or padded with silence). */
const fromPcm16 = (pcm: Buffer, length: number): Float32Array => {
  const out = new Float32Array(length);
  for (let i = 0; i < out.length && 2 * i + 1 < pcm.length; i++) out[i] = pcm.readInt16LE(2 * i) / 32768;
  return out;
};

/** One run of a codec tool over stdin; ERR_DECODE_FAILED (naming the codec and what it needs) when it cannot run or fails. */
function codecTool(command: string, args: string[], input: Buffer, codec: string, needs: string): Buffer {
  const r = spawnSync(command, args, { input, maxBuffer: 1 << 30 });
  if (r.error || r.status !== 0) throw new DfdError('ERR_DECODE_FAILED', `${command} could not run the ${codec} round trip (${needs})`, { status: r.status ?? -1, stderr: String(r.stderr ?? r.error).slice(0, 300) });
  return r.stdout;
}

const rawPcm = (rate: number): string[] => ['-t', 'raw', '-r', String(rate), '-c', '1', '-e', 'signed-integer', '-b', '16'];

/**
 * 8 kHz float -> AMR-NB 12.2 kb/s -> 8 kHz float, through sox (one encode and one decode process).
 * ERR_DECODE_FAILED when sox cannot (no sox, or a sox without the amr-nb format). The decoder's output is
 * trimmed or padded with silence to the input's length.
 */
export function amrNbRoundTrip(x8: Float32Array): Float32Array {
  const needs = 'is sox installed with its amr-nb format?';
  const amr = codecTool('sox', [...rawPcm(G711_RATE), '-', '-t', 'amr-nb', '-C', String(AMR_NB_MODE), '-'], toPcm16(x8), 'AMR-NB', needs);
  return fromPcm16(codecTool('sox', ['-t', 'amr-nb', '-', ...rawPcm(G711_RATE), '-'], amr, 'AMR-NB', needs), x8.length);
}

/**
 * 16 kHz float -> AMR-WB 12.65 kb/s -> 16 kHz float: encoded by amrwb_encode.py (python3 and Debian's
 * libvo-amrwbenc0), decoded by sox (opencore-amrwb). ERR_DECODE_FAILED when either cannot run. The
 * output is trimmed or padded with silence to the input's length (the codec's delay is kept, as a
 * live leg has it).
 */
export function amrWbRoundTrip(x16: Float32Array): Float32Array {
  const needs = 'needs python3 with Debian\'s libvo-amrwbenc0, and sox with amr-wb decoding';
  const awb = codecTool('python3', [AMR_WB_ENCODER, String(AMR_WB_MODE)], toPcm16(x16), 'AMR-WB', needs);
  return fromPcm16(codecTool('sox', ['-t', 'amr-wb', '-', ...rawPcm(AMR_WB_RATE), '-'], awb, 'AMR-WB', needs), x16.length);
}

/** A handset's speech codec before the trunk: none, AMR-NB 12.2 kb/s or AMR-WB 12.65 kb/s. */
export type Handset = 'none' | 'amr-nb' | 'amr-wb';

/**
 * 48 kHz float -> 8 kHz (band-limited) -> G.711 mu-law -> 8 kHz -> 16 kHz; with a handset codec
 * before the G.711 step (a mobile caller reaching a G.711 trunk): AMR-NB 12.2 kb/s on the 8 kHz
 * signal, or AMR-WB 12.65 kb/s on the 16 kHz signal before it is band-limited to 8 kHz.
 */
export function g711RoundTrip(x: Float32Array, handset: Handset = 'none'): Omit<ChannelOutput, 'spec'> {
  const band = handset === 'amr-wb' ? resampleClip(amrWbRoundTrip(resampleClip(x, CODEC_RATE, AMR_WB_RATE)), AMR_WB_RATE, G711_RATE) : resampleClip(x, CODEC_RATE, G711_RATE);
  const narrow = handset === 'amr-nb' ? amrNbRoundTrip(band) : band;
  const coded = muLawDecodeFloat(muLawEncodeFloat(narrow));
  const n = Math.ceil(narrow.length / 160);
  const packets: PacketRecord[] = Array.from({ length: n }, () => ({ lost: false, bytes: 160, bandwidth: 'NB' }));
  return { samples: resampleClip(coded, G711_RATE, G711_OUT_RATE), sampleRate: G711_OUT_RATE, packets, concealedSamples: 0 };
}

/** 20 ms of G.722: 320 samples at 16 kHz, 160 octets (RFC 3551's usual packet). */
const G722_FRAME = 320;

/**
 * 48 kHz float -> 16 kHz (the service's Resampler) -> G.722 64 kb/s -> 16 kHz float (same length as
 * the 16 kHz signal; the codec's 22-sample QMF delay is kept, as a live leg has it). One encoder and
 * one decoder session over the whole clip, fed in 20 ms packets of 160 octets. With handset
 * 'amr-wb', AMR-WB 12.65 kb/s on the 16 kHz signal first (a VoLTE caller on an HD-voice trunk).
 */
export function g722RoundTrip(x: Float32Array, handset: Exclude<Handset, 'amr-nb'> = 'none'): Omit<ChannelOutput, 'spec'> {
  const in16 = resampleClip(x, CODEC_RATE, G722_SAMPLE_RATE);
  const wide = handset === 'amr-wb' ? amrWbRoundTrip(in16) : in16;
  const enc = new G722Encoder();
  const dec = new G722Decoder();
  const out = new Float32Array(wide.length);
  const pcm = new Int16Array(G722_FRAME);
  const packets: PacketRecord[] = [];
  for (let start = 0; start < wide.length; start += G722_FRAME) {
    const n = Math.min(G722_FRAME, wide.length - start);
    for (let i = 0; i < n; i++) pcm[i] = Math.max(-32768, Math.min(32767, Math.round(wide[start + i]! * 32768)));
    const octets = enc.encode(pcm.subarray(0, n));
    packets.push({ lost: false, bytes: octets.byteLength, bandwidth: 'WB' });
    const decoded = dec.decode(octets);
    for (let i = 0; i < decoded.length && start + i < out.length; i++) out[start + i] = decoded[i]! / 32768;
  }
  return { samples: out, sampleRate: G722_SAMPLE_RATE, packets, concealedSamples: 0 };
}

/** Puts a 48 kHz mono clip through a channel. `lossSeed` seeds the packet-loss schedule. */
export function applyChannel(x48: Float32Array, spec: ChannelSpec, lossSeed = 1): ChannelOutput {
  if (spec.codec === 'none') return { spec, samples: x48, sampleRate: CODEC_RATE, packets: [], concealedSamples: 0 };
  if (spec.codec === 'g711' || spec.codec === 'amr-g711' || spec.codec === 'amrwb-g711') {
    return { spec, ...g711RoundTrip(x48, spec.codec === 'amr-g711' ? 'amr-nb' : spec.codec === 'amrwb-g711' ? 'amr-wb' : 'none') };
  }
  if (spec.codec === 'g722' || spec.codec === 'amrwb-g722') return { spec, ...g722RoundTrip(x48, spec.codec === 'amrwb-g722' ? 'amr-wb' : 'none') };
  const packets = Math.ceil(x48.length / FRAME);
  return { spec, ...opusRoundTrip(x48, spec.bitrate, lossSchedule(packets, spec.lossRate, lossSeed)) };
}

/**
 * The window quality the service would attach to the part [startSeconds, endSeconds) of the
 * output (AudioStreamProcessor: packet loss among the window's packets, concealed share of its
 * span, bitrate from payload sizes, the most common bandwidth of the received packets, and the
 * channel family: a phone leg's windows are marked `channel: 'telephone'`, as the service marks a
 * PCMU leg's, so the verdict judges their narrowband audio instead of setting it aside).
 * `clean` has no codec: packet loss 0, bitrate 0 (unknown), bandwidth 'none'.
 * `sender.noiseSuppression`: the sender's noise suppressor ran (a browser's default); its
 * wideband windows are marked `channel: 'suppressed'`, as AudioStreamProcessor marks them.
 * A G.722 leg's windows are marked `codec: 'g722'` (the service weighs them with `verdict.weightG722`);
 * with `sender.gatewayLeg` (a gateway's leg, SIP or plain RTP) an Opus channel's are marked
 * `codec: 'sip-opus'` (`verdict.weightSipOpus`), as AudioStreamProcessor marks them.
 */
export function channelQuality(out: ChannelOutput, startSeconds: number, endSeconds: number, sender: { noiseSuppression?: boolean; gatewayLeg?: boolean } = {}): AudioQuality {
  const legCodec = legCodecOf(trunkCodec(out.spec.codec), sender.gatewayLeg === true);
  const family = {
    ...(out.spec.calibration === 'telephone' ? { channel: 'telephone' as const } : sender.noiseSuppression === true ? { channel: 'suppressed' as const } : {}),
    // a gateway leg's windows, as AudioStreamProcessor marks them (their own verdict weight, verdict.weightG722 / weightSipOpus)
    ...(legCodec !== undefined ? { codec: legCodec } : {}),
  };
  if (out.spec.codec === 'none' || out.packets.length === 0) return { packetLoss: 0, concealed: 0, bitrate: 0, bandwidth: 'none', ...family };
  const first = Math.max(0, Math.floor(startSeconds / 0.02));
  const last = Math.min(out.packets.length, Math.ceil(endSeconds / 0.02));
  let lost = 0;
  let bytes = 0;
  const bw = new Map<string, number>();
  for (let k = first; k < last; k++) {
    const p = out.packets[k]!;
    if (p.lost) {
      lost++;
      continue;
    }
    // A lost packet's bytes never arrive.
    bytes += p.bytes;
    bw.set(p.bandwidth, (bw.get(p.bandwidth) ?? 0) + 1);
  }
  const n = last - first;
  const span = Math.max(1e-9, endSeconds - startSeconds);
  let bandwidth = 'unknown';
  let best = 0;
  for (const [b, c] of bw) {
    if (c > best) {
      best = c;
      bandwidth = b;
    }
  }
  return {
    packetLoss: n > 0 ? lost / n : 0,
    concealed: Math.min(1, (lost * 0.02) / span),
    bitrate: (bytes * 8) / span,
    bandwidth,
    ...family,
  };
}

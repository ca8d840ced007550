import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureFixtures, fixtures } from '../../test/fixtures/build.js';
import type { AudioWindow, StreamRef } from '../messages.js';
import { serializeRtpPacket } from '../rtp/RtpPacket.js';
import { AudioStreamProcessor } from './AudioStreamProcessor.js';
import { Resampler } from './Resampler.js';
import { SileroVadModel } from './SileroVad.js';
import { encodeOpus, packetise, readWav, simulateNetwork, type TestRtpPacket } from '../testing/audioSupport.js';
import { registry } from '../../kernel/metrics.js';

async function concealedSeconds(): Promise<number> {
  return (await registry.getSingleMetric('dfd_audio_concealed_seconds_total')?.get())?.values.reduce((n, v) => n + v.value, 0) ?? 0;
}

const stream: StreamRef = { roomId: 'r1', peerId: 'p1', producerId: 'prod1', kind: 'audio' };
const FIRST_SEQ = 65200; // crosses the 16-bit wrap after ~17 s... and the test stream is long enough below
const FIRST_TS = 2 ** 32 - 48000 * 4; // crosses the 32-bit timestamp wrap after 4 s

let model: SileroVadModel;
let speech48: Float32Array;
let speechPayloads: Buffer[];
let silencePayloads: Buffer[];

/** Pushes packets as a worker would receive them: VAD gets to run every 0.5 s of audio. */
async function run(p: AudioStreamProcessor, arrivals: { packet: TestRtpPacket; arrivalMs: number }[]): Promise<AudioWindow[]> {
  const windows: AudioWindow[] = [];
  p.on('window', (w) => windows.push(w));
  for (const [i, a] of arrivals.entries()) {
    p.push(a.packet.bytes, 1_700_000_000_000 + a.arrivalMs);
    if (i % 25 === 24) await p.whenIdle();
  }
  await p.flush();
  return windows;
}

function correlationAtBestLag(a: Float32Array, ref: Float32Array, refStart: number, maxLag: number): { r: number; lag: number } {
  let best = { r: -1, lag: 0 };
  for (let lag = 0; lag <= maxLag; lag++) {
    let sab = 0;
    let saa = 0;
    let sbb = 0;
    for (let i = 0; i < a.length; i += 4) {
      const x = a[i]!;
      const y = ref[refStart + i - lag] ?? 0;
      sab += x * y;
      saa += x * x;
      sbb += y * y;
    }
    const r = sab / Math.sqrt(saa * sbb + 1e-20);
    if (r > best.r) best = { r, lag };
  }
  return best;
}

beforeAll(async () => {
  await ensureFixtures();
  model = await SileroVadModel.load();
  speech48 = readWav(fixtures.speechWav).samples;
  speechPayloads = encodeOpus(speech48, 32000);
  silencePayloads = encodeOpus(readWav(fixtures.silenceWav).samples, 32000);
});

afterAll(async () => {
  await model.close();
});

describe('AudioStreamProcessor', () => {
  it('turns a lossy, reordered real Opus speech stream into ordered speech windows with correct spans and quality', async () => {
    const packets = packetise(speechPayloads, { firstSeq: FIRST_SEQ, firstTimestamp: FIRST_TS });
    const arrivals = simulateNetwork(packets, { lossRate: 0.03, dupRate: 0.01, jitterMs: 50, seed: 42 });
    const dupes = Math.round(0.01 * packets.length);
    const dropped = packets.length - (arrivals.length - dupes);
    expect(dropped).toBe(Math.round(0.03 * packets.length));
    // Jitter reorders packets.
    expect(arrivals.some((a, i) => i > 0 && a.packet.seq !== ((arrivals[i - 1]!.packet.seq + 1) & 0xffff))).toBe(true);
    const concealedSecondsBefore = await concealedSeconds();
    const p = new AudioStreamProcessor(stream, model, { payloadType: 100, reorder: { maxHoldMs: 80 } });
    const windows = await run(p, arrivals);
    const st = p.stats();

    expect(windows.length).toBeGreaterThan(3);
    expect(windows.map((w) => w.seq)).toEqual(windows.map((_, i) => i));
    // Clean reference at 16 kHz, aligned like the processor (sample i <-> 48 kHz sample 3 i).
    const r = new Resampler();
    const ref16 = Float32Array.from(r.process(speech48));
    for (const [i, w] of windows.entries()) {
      expect(w.type).toBe('audio-window');
      expect(w.stream).toEqual(stream);
      expect(w.sampleRate).toBe(16000);
      expect(w.speechSeconds).toBeGreaterThanOrEqual(0.5);
      expect(w.rtpEnd - w.rtpStart).toBe(3 * (w.samples.length - 1));
      // Hop 0.5 s in 48 kHz units; the last window may be flush()'s tail window.
      if (i < windows.length - 1) expect((w.rtpStart - FIRST_TS) % 24000).toBe(0);
      if (i > 0) expect(w.rtpStart).toBeGreaterThan(windows[i - 1]!.rtpStart);
      expect(w.wallEnd).toBeGreaterThanOrEqual(w.wallStart);
      // Wall span: arrival times of the packets carrying the first and last samples (jitter <= 50 ms).
      const t0 = 1_700_000_000_000 + (w.rtpStart - FIRST_TS) / 48;
      expect(w.wallStart).toBeGreaterThanOrEqual(t0 - 20);
      expect(w.wallStart).toBeLessThanOrEqual(t0 + 60);
      expect(w.wallEnd - w.wallStart).toBeGreaterThan(w.samples.length / 16 - 80);
      expect(w.wallEnd - w.wallStart).toBeLessThan(w.samples.length / 16 + 80);
      expect(w.quality.packetLoss).toBeLessThan(0.15);
      expect(['WB', 'SWB', 'FB']).toContain(w.quality.bandwidth);
      expect(w.quality.bitrate).toBeGreaterThan(15000);
      expect(w.quality.bitrate).toBeLessThan(60000);
      // The window holds the audio its RTP span claims (Opus adds a few ms of delay).
      const { r: corr, lag } = correlationAtBestLag(w.samples, ref16, (w.rtpStart - FIRST_TS) / 3, 160);
      expect(corr).toBeGreaterThan(0.6);
      expect(lag).toBeLessThan(160);
    }
    // Unwrapped RTP: the stream crosses 2^32 and the spans keep growing.
    expect(windows.at(-1)!.rtpEnd).toBeGreaterThan(2 ** 32);

    const meanLoss = windows.reduce((s, w) => s + w.quality.packetLoss, 0) / windows.length;
    if (process.env['DFD_TEST_VERBOSE']) console.log(JSON.stringify({ windows: windows.length, dropped, meanLoss, st, q: windows.map((w) => w.quality), speech: windows.map((w) => w.speechSeconds) }));
    expect(meanLoss).toBeGreaterThan(0.015);
    expect(meanLoss).toBeLessThan(0.045);
    expect(windows.some((w) => w.quality.concealed > 0)).toBe(true);
    // Every dropped packet is reported lost; reordered ones that came too late are lost too.
    expect(st.lost).toBeGreaterThanOrEqual(dropped);
    expect(st.lost).toBeLessThanOrEqual(dropped + st.late);
    expect(st.packets).toBe(arrivals.length);
    expect(st.duplicates).toBe(dupes);
    expect(st.concealedSamples).toBeGreaterThanOrEqual(960 * dropped);
    // The seconds counter (what the Grafana panel plots) is the same concealment at the stream's 48 kHz clock.
    expect((await concealedSeconds()) - concealedSecondsBefore).toBeCloseTo(st.concealedSamples / 48000, 6);
    expect(st).toMatchObject({ malformed: 0, wrongPayloadType: 0, decodeErrors: 0, resets: 0, vadSkippedFrames: 0, vadErrors: 0, windows: windows.length });
    expect(st.vadFrames).toBeGreaterThan((speech48.length / 48000) * 31 * 0.95);
    p.close();
  });

  it("marks a noise-suppressed sender's windows 'suppressed' (the detectors' calibration.suppressed); others stay unmarked", async () => {
    const packets = packetise(speechPayloads, { firstSeq: FIRST_SEQ, firstTimestamp: FIRST_TS });
    const arrivals = packets.map((packet) => ({ packet, arrivalMs: packet.sendMs }));
    const plain = new AudioStreamProcessor(stream, model, { payloadType: 100 });
    const suppressed = new AudioStreamProcessor(stream, model, { payloadType: 100, senderNoiseSuppression: true });
    const a = await run(plain, arrivals);
    const b = await run(suppressed, arrivals);
    expect(a.length).toBeGreaterThan(3);
    // The same audio, the same windows: only the channel mark differs.
    expect(b.map((w) => [w.rtpStart, w.rtpEnd])).toEqual(a.map((w) => [w.rtpStart, w.rtpEnd]));
    expect(a.every((w) => w.quality.channel === undefined)).toBe(true);
    expect(b.every((w) => w.quality.channel === 'suppressed')).toBe(true);
    plain.close();
    suppressed.close();
  });

  it("marks a gateway's Opus leg 'sip-opus' (a leg family of its own), calibrated as wideband; a browser's stays unmarked", async () => {
    const packets = packetise(speechPayloads, { firstSeq: FIRST_SEQ, firstTimestamp: FIRST_TS });
    const arrivals = packets.map((packet) => ({ packet, arrivalMs: packet.sendMs }));
    const browser = new AudioStreamProcessor(stream, model, { payloadType: 100 });
    const gateway = new AudioStreamProcessor(stream, model, { payloadType: 100, gatewayLeg: true });
    const a = await run(browser, arrivals);
    const b = await run(gateway, arrivals);
    expect(b.length).toBe(a.length);
    expect(a.every((w) => w.quality.codec === undefined)).toBe(true);
    expect(b.every((w) => w.quality.codec === 'sip-opus' && w.quality.channel === undefined)).toBe(true);
    expect(b.map((w) => w.samples)).toEqual(a.map((w) => w.samples));
    browser.close();
    gateway.close();
  });

  it('produces no windows for a silent stream', async () => {
    const packets = packetise(silencePayloads);
    const p = new AudioStreamProcessor(stream, model);
    const windows = await run(p, packets.map((packet) => ({ packet, arrivalMs: packet.sendMs })));
    expect(windows).toHaveLength(0);
    const st = p.stats();
    expect(st.packets).toBe(packets.length);
    expect(st.vadFrames).toBeGreaterThan(150);
    expect(st.windowsGated).toBeGreaterThan(5);
    p.close();
  });

  it('counts and skips malformed packets, wrong payload types and empty payloads without throwing', async () => {
    const p = new AudioStreamProcessor(stream, model, { payloadType: 111 });
    p.push(new Uint8Array(3), 0);
    p.push(Uint8Array.from([0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]), 0);
    p.push(serializeRtpPacket({ payloadType: 100, sequenceNumber: 1, timestamp: 0, ssrc: 1, payload: speechPayloads[0]! }), 0);
    p.push(serializeRtpPacket({ payloadType: 111, sequenceNumber: 2, timestamp: 0, ssrc: 1, payload: new Uint8Array(0) }), 0);
    p.push(serializeRtpPacket({ payloadType: 111, sequenceNumber: 3, timestamp: 0, ssrc: 1, payload: Uint8Array.from([0xff, 0xff, 0xff]) }), 0);
    await p.flush();
    expect(p.stats()).toMatchObject({ packets: 5, malformed: 2, wrongPayloadType: 1, empty: 1, decodeErrors: 1 });
    p.close();
    p.push(new Uint8Array(3), 0); // closed: ignored
    expect(p.stats().packets).toBe(5);
  });

  it('starts a new segment on SSRC change and keeps windows in order', async () => {
    const half = Math.floor(speechPayloads.length / 2);
    const a = packetise(speechPayloads.slice(0, half), { ssrc: 1, firstSeq: 10, firstTimestamp: 1000 });
    const b = packetise(speechPayloads.slice(half), { ssrc: 2, firstSeq: 40000, firstTimestamp: 3_000_000_000 });
    const p = new AudioStreamProcessor(stream, model);
    const resets: string[] = [];
    p.on('reset', (r) => resets.push(r));
    const windows = await run(p, [...a, ...b].map((packet, i) => ({ packet, arrivalMs: i * 20 })));
    expect(resets).toEqual(['ssrc']);
    expect(p.stats().resets).toBe(1);
    expect(windows.map((w) => w.seq)).toEqual(windows.map((_, i) => i));
    expect(windows.some((w) => w.rtpStart < 3_000_000_000)).toBe(true);
    expect(windows.some((w) => w.rtpStart >= 3_000_000_000)).toBe(true);
    p.close();
  });

  it('stays bounded when packets arrive faster than VAD can run (burst without yielding)', async () => {
    const payloads = [...speechPayloads, ...speechPayloads];
    const packets = packetise(payloads);
    const p = new AudioStreamProcessor(stream, model, { windower: { maxPendingSeconds: 2 } });
    const windows: AudioWindow[] = [];
    p.on('window', (w) => windows.push(w));
    let maxBacklog = 0;
    for (const pk of packets) {
      p.push(pk.bytes, pk.sendMs);
      maxBacklog = Math.max(maxBacklog, p.stats().vadBacklogFrames);
    }
    // Nothing yielded yet, so VAD has not run: the backlog grows, but the held audio is bounded.
    await p.flush();
    const st = p.stats();
    expect(st.vadSkippedFrames).toBeGreaterThan(0);
    // Only the last maxPendingSeconds were classified.
    expect(st.vadFrames).toBeLessThanOrEqual(Math.ceil((2 * 16000) / 512) + 1);
    expect(st.vadBacklogFrames).toBe(0);
    expect(windows.map((w) => w.seq)).toEqual(windows.map((_, i) => i));
    p.close();
  });

  it('fills DTX gaps (timestamps jump, sequence contiguous) without counting loss', async () => {
    // Send 3 s, pause 300 ms of RTP time (DTX: no packets, no sequence gap), send 3 s more.
    const a = packetise(speechPayloads.slice(0, 150), { firstSeq: 1, firstTimestamp: 0 });
    const b = packetise(speechPayloads.slice(150, 300), { firstSeq: 151, firstTimestamp: 150 * 960 + 14400 });
    const p = new AudioStreamProcessor(stream, model);
    const windows = await run(p, [...a, ...b].map((packet, i) => ({ packet, arrivalMs: i * 20 })));
    const st = p.stats();
    expect(st).toMatchObject({ lost: 0, concealedSamples: 0, dtxSamples: 14400, discontinuities: 0, resets: 0 });
    // The timeline stays continuous: windows keep the 0.5 s RTP grid across the pause.
    expect(windows.length).toBeGreaterThan(4);
    for (const w of windows.slice(0, -1)) expect(w.rtpStart % 24000).toBe(0);
    expect(windows.every((w) => w.quality.packetLoss === 0)).toBe(true);
    p.close();
  });

  it('starts a new segment after a gap longer than maxConcealMs', async () => {
    const a = packetise(speechPayloads.slice(0, 150), { firstSeq: 1, firstTimestamp: 0 });
    const b = packetise(speechPayloads.slice(150, 300), { firstSeq: 151, firstTimestamp: 150 * 960 + 48000 * 2 + 7 });
    const p = new AudioStreamProcessor(stream, model, { maxConcealMs: 500 });
    const resets: string[] = [];
    p.on('reset', (r) => resets.push(r));
    const windows = await run(p, [...a, ...b].map((packet, i) => ({ packet, arrivalMs: i * 20 })));
    expect(resets).toEqual(['discontinuity']);
    expect(p.stats()).toMatchObject({ discontinuities: 1, resets: 1, dtxSamples: 0 });
    // Windows of the second segment sit on a grid that starts at its first packet.
    const second = windows.filter((w) => w.rtpStart >= 150 * 960 + 96007);
    expect(second.length).toBeGreaterThan(0);
    for (const w of second.slice(0, -1)) expect((w.rtpStart - (150 * 960 + 96007)) % 24000).toBe(0);
    p.close();
  });

  it('listener errors are contained and counted', async () => {
    const p = new AudioStreamProcessor(stream, model);
    p.on('window', () => {
      throw new Error('bad listener');
    });
    for (const packet of packetise(speechPayloads.slice(0, 200))) p.push(packet.bytes, packet.sendMs);
    await p.flush();
    expect(p.stats().windows).toBeGreaterThan(0);
    expect(p.stats().listenerErrors).toBe(p.stats().windows);
    p.close();
  });
});

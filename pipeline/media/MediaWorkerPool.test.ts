import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaWorkerPool } from './MediaWorkerPool.js';
import { readWav, encodeOpus, packetise } from '../testing/audioSupport.js';
import { fixtures } from '../../test/fixtures/build.js';
import type { AudioWindow, StreamRef } from '../messages.js';
import type { StreamStats } from './protocol.js';
import { registry } from '../../kernel/metrics.js';

async function dropped(reason: string): Promise<number> {
  const m = await registry.getSingleMetric('dfd_pipeline_rtp_dropped_total')?.get();
  return (m?.values ?? []).filter((v) => v.labels['reason'] === reason).reduce((n, v) => n + v.value, 0);
}

/**
 * Resolves at the first stats report of at least `n` packets taken in (the worker acknowledged their batches before),
 * of stream `tapId` if given, else of any stream.
 */
function packetsDecoded(pool: MediaWorkerPool, n: number, tapId?: string): Promise<void> {
  return new Promise<void>((resolve) => {
    const onStats = (s: StreamStats): void => {
      if ((tapId !== undefined && s.tapId !== tapId) || (s.audio?.packets ?? 0) < n) return;
      pool.off('stats', onStats);
      resolve();
    };
    pool.on('stats', onStats);
  });
}

describe('MediaWorkerPool (real worker thread, real Opus, real Silero VAD)', () => {
  let pool: MediaWorkerPool;
  beforeAll(async () => {
    pool = new MediaWorkerPool({ audioWorkers: 1, videoWorkers: 1, faceAnalysis: false, statsIntervalMs: 200 });
    await pool.ready();
  });
  afterAll(async () => {
    await pool.shutdown();
  });

  it('turns speech RTP into in-order speech windows and silence into none', async () => {
    const speech = packetise(encodeOpus(readWav(fixtures.speechWav).samples), { payloadType: 111, ssrc: 1 });
    const silence = packetise(encodeOpus(readWav(fixtures.silenceWav).samples), { payloadType: 111, ssrc: 2 });
    const sRef: StreamRef = { roomId: 'r', peerId: 'talker', producerId: 'p1', kind: 'audio' };
    const qRef: StreamRef = { roomId: 'r', peerId: 'quiet', producerId: 'p2', kind: 'audio' };
    const windows: AudioWindow[] = [];
    const stats = new Map<string, StreamStats>();
    pool.on('window', (w) => {
      if (w.type === 'audio-window') windows.push(w);
    });
    pool.on('stats', (s) => stats.set(s.tapId, s));
    await pool.open('t1', sRef, { payloadType: 111, clockRate: 48000 });
    await pool.open('t2', qRef, { payloadType: 111, clockRate: 48000 });
    const t0 = Date.now();
    // Both streams' packets go out in batches of 50 RTP intervals each, posted as the pool's batch timer would.
    for (let i = 0; i < Math.max(speech.length, silence.length); i++) {
      if (speech[i]) pool.push('t1', speech[i]!.bytes, t0 + i * 20);
      if (silence[i]) pool.push('t2', silence[i]!.bytes, t0 + i * 20);
      if (i % 50 === 0) pool.flush();
    }
    pool.flush();
    await Promise.all([packetsDecoded(pool, speech.length, 't1'), packetsDecoded(pool, silence.length, 't2')]);
    // Every packet is in; windows come out as the reorder buffer releases them (polled every 20 ms). Wait for the
    // talker's first window, then for two more stats reports of the quiet stream (200 ms apart, after those polls).
    for (const deadline = Date.now() + 20_000; !windows.some((w) => w.stream.peerId === 'talker') && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 50));
    await new Promise<void>((resolve) => {
      let reports = 0;
      const onStats = (s: StreamStats): void => {
        if (s.tapId !== 't2' || ++reports < 2) return;
        pool.off('stats', onStats);
        resolve();
      };
      pool.on('stats', onStats);
    });
    const talker = windows.filter((w) => w.stream.peerId === 'talker');
    expect(talker.length).toBeGreaterThan(0);
    expect(windows.filter((w) => w.stream.peerId === 'quiet')).toHaveLength(0);
    for (let i = 1; i < talker.length; i++) expect(talker[i]!.seq).toBeGreaterThan(talker[i - 1]!.seq);
    for (const w of talker) {
      expect(w.sampleRate).toBe(16000);
      expect(w.speechSeconds).toBeGreaterThan(0.4);
      // 2 s grid windows, and the early 1 s first window of a speech segment (at least 60 % speech).
      expect([16000, 32000]).toContain(w.samples.length);
      if (w.samples.length === 16000) expect(w.speechSeconds).toBeGreaterThanOrEqual(0.6);
      expect(w.rtpEnd).toBeGreaterThan(w.rtpStart);
    }
    expect(talker.some((w) => w.samples.length === 32000)).toBe(true);
    expect(stats.get('t1')?.audio?.malformed).toBe(0);
  });
});

describe('MediaWorkerPool backpressure and shutdown', () => {
  it('counts packets it cannot hand to a worker that is behind, instead of queueing them', async () => {
    // A timer that never fires on its own: the test posts the batch itself, so no ack can arrive in between.
    const pool = new MediaWorkerPool({ audioWorkers: 1, videoWorkers: 0, faceAnalysis: false, maxInFlightBatches: 1, batchMs: 3_600_000, statsIntervalMs: 100 });
    await pool.ready();
    const ref: StreamRef = { roomId: 'r', peerId: 'p', producerId: 'x', kind: 'audio' };
    await pool.open('t', ref, { payloadType: 111, clockRate: 48000 });
    const packets = packetise(encodeOpus(readWav(fixtures.speechWav).samples), { payloadType: 111 });
    const stats: StreamStats[] = [];
    pool.on('stats', (s) => stats.push(s));
    const before = await dropped('backlog');
    // One batch is in flight (the limit): every packet pushed before the worker acknowledges it is counted and
    // not queued. All of this runs in one synchronous turn, so the acknowledgement cannot have arrived yet.
    for (const p of packets.slice(0, 10)) pool.push('t', p.bytes, Date.now());
    pool.flush();
    for (const p of packets.slice(10, 25)) pool.push('t', p.bytes, Date.now());
    expect((await dropped('backlog')) - before).toBe(15);
    // The worker catches up: its acknowledgement reopens the slot and the next batch is accepted.
    await packetsDecoded(pool, 10);
    for (const p of packets.slice(25, 35)) pool.push('t', p.bytes, Date.now());
    expect((await dropped('backlog')) - before).toBe(15);
    pool.flush();
    await packetsDecoded(pool, 20);
    expect(stats.at(-1)?.audio?.packets).toBe(20);
    await pool.shutdown();
  });

  it('shuts down while streams are busy without aborting the process', async () => {
    const pool = new MediaWorkerPool({ audioWorkers: 1, videoWorkers: 0, faceAnalysis: false });
    await pool.ready();
    const packets = packetise(encodeOpus(readWav(fixtures.speechWav).samples), { payloadType: 111 });
    for (let i = 0; i < 4; i++) await pool.open(`t${i}`, { roomId: 'r', peerId: `p${i}`, producerId: `x${i}`, kind: 'audio' }, { payloadType: 111, clockRate: 48000 });
    const t0 = Date.now();
    for (const [n, p] of packets.entries()) for (let i = 0; i < 4; i++) pool.push(`t${i}`, p.bytes, t0 + n * 20);
    // The batch goes to the worker now and the shutdown message right behind it: the worker takes the shutdown with
    // the four streams' Opus decode just done and their VAD runs in flight, and must finish them and exit on its own.
    pool.flush();
    await pool.shutdown();
    expect(pool.forcedTerminations).toBe(0);
  });
});

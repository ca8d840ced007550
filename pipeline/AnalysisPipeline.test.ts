/**
 * The pipeline behind its input port, with no SFU: real Opus RTP from a test source, real media
 * and inference worker threads, small real ONNX detectors. Checks the participant lifecycle: a
 * participant's verdict exists from its first source, is forgotten when it leaves, and windows
 * that were still in flight never bring it back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnalysisPipeline } from './AnalysisPipeline.js';
import { PacketSource } from './testing/PacketSource.js';
import { encodeOpus, packetise, readWav } from './testing/audioSupport.js';
import { waitFor } from './video/testing/vp8Fixtures.js';
import { registry } from '../kernel/metrics.js';
import { fixtures } from '../test/fixtures/build.js';
import { removeDir, testModelsDir } from '../test/helpers/models.js';
import type { DetectorScore } from './inference/InferenceBackend.js';
import { SplitInference } from './inference/SplitInference.js';
import { InferencePool } from './inference/InferencePool.js';

async function lateResults(): Promise<number> {
  const m = await registry.getSingleMetric('dfd_pipeline_late_results_total')?.get();
  return m?.values.reduce((n, v) => n + v.value, 0) ?? 0;
}

describe('AnalysisPipeline behind its MediaSource port', () => {
  let pipeline: AnalysisPipeline;
  let modelsDir: string;

  beforeAll(async () => {
    modelsDir = testModelsDir();
    pipeline = await AnalysisPipeline.create({ modelsDir, media: { windowSeconds: 2, hopSeconds: 1, faceAnalysis: false }, tickMs: 60_000 });
  });

  afterAll(async () => {
    await pipeline?.close();
    removeDir(modelsDir);
  });

  it('scores a source, forgets its participant on leave, and discards windows still in flight', async () => {
    const speech = readWav(fixtures.speechWav).samples;
    const packets = packetise(encodeOpus(speech), { payloadType: 111 }).map((p) => p.bytes);
    const source = new PacketSource({
      id: 'src-1',
      roomId: 'r1',
      peerId: 'caller',
      producerId: 'prod-1',
      kind: 'audio',
      codec: { mimeType: 'audio/opus', payloadType: 111, clockRate: 48000, channels: 2, parameters: {} },
    });
    const scores: DetectorScore[] = [];
    pipeline.on('score', (s) => scores.push(s));

    pipeline.addSource(source);
    // The participant exists from its first source, before any window.
    expect(pipeline.participant('r1', 'caller')?.current().state).toBe('collecting');
    await source.whenResumed();
    const half = Math.floor(packets.length / 2);
    source.play(packets.slice(0, half));
    await waitFor(() => scores.some((s) => s.stream.peerId === 'caller'), 60_000, 'a score for the caller');
    expect(pipeline.participant('r1', 'caller')!.current().evidence.speechSeconds).toBeGreaterThan(0);
    // The verdict names each model that scored, with its version and its manifest's task.
    const scored = scores.find((s) => s.stream.peerId === 'caller')!;
    expect(pipeline.participant('r1', 'caller')!.current().models).toContainEqual(expect.objectContaining({ id: scored.detector, version: scored.modelVersion, task: scored.task }));

    // The participant leaves while its stream still has speech in flight.
    pipeline.participantLeft('r1', 'caller');
    expect(pipeline.participant('r1', 'caller')).toBeUndefined();
    const lateBefore = await lateResults();
    source.play(packets.slice(half));
    for (let t = Date.now(); (await lateResults()) === lateBefore; ) {
      if (Date.now() - t > 60_000) throw new Error('timed out waiting for a late window');
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(pipeline.participant('r1', 'caller')).toBeUndefined();
    expect(pipeline.verdicts().filter((v) => v.peerId === 'caller')).toHaveLength(0);
    source.close();
  }, 180_000);

  it('a media worker thread that dies is replaced; the stream goes on being analysed (fault injection)', async () => {
    const speech = readWav(fixtures.speechWav).samples;
    const packets = packetise(encodeOpus(speech), { payloadType: 111, firstSeq: 5000 }).map((p) => p.bytes);
    const source = new PacketSource({ id: 'src-crash', roomId: 'r2', peerId: 'crash', producerId: 'prod-crash', kind: 'audio', codec: { mimeType: 'audio/opus', payloadType: 111, clockRate: 48000, channels: 2, parameters: {} } });
    let windows = 0;
    pipeline.media.on('window', (w) => {
      if (w.stream.peerId === 'crash') windows++;
    });
    pipeline.addSource(source);
    await source.whenResumed();
    const half = Math.floor(packets.length / 2);
    await source.stream(packets.slice(0, half));
    await waitFor(() => windows > 0, 60_000, 'windows before the crash');
    const before = windows;
    const crashedAt = performance.now();
    await pipeline.media.crash(0);
    // The rest of the speech, after the crash: the replacement worker re-opens the stream. On a
    // loaded machine the replacement may still be starting while the first packets arrive (they
    // are lost, as they would be live), so the call keeps talking, with later sequence numbers
    // and timestamps, until windows come again (bounded).
    const frames = encodeOpus(speech);
    let seq = 5000 + packets.length;
    let ts = 90000 + packets.length * 960;
    const deadline = Date.now() + 120_000;
    await source.stream(packets.slice(half));
    await waitFor(() => windows > before, 15_000, 'windows after the crash').catch(() => undefined);
    while (windows <= before) {
      if (Date.now() > deadline) throw new Error('timed out waiting for windows after the crash');
      const more = packetise(frames, { payloadType: 111, firstSeq: seq, firstTimestamp: ts }).map((p) => p.bytes);
      seq += more.length;
      ts += more.length * 960;
      await source.stream(more);
      await waitFor(() => windows > before, 15_000, 'windows after the crash').catch(() => undefined);
    }
    expect(pipeline.participant('r2', 'crash')).toBeDefined();
    process.stdout.write(`fault media-worker-crash: a new window ${Math.round(performance.now() - crashedAt)} ms after the crash (the rest of the speech streamed at 5x real time)\n`);
    source.close();
  }, 180_000);

  it('roomClosed forgets every participant of that room only', async () => {
    const mk = (room: string, peer: string): PacketSource =>
      new PacketSource({ id: `${room}-${peer}`, roomId: room, peerId: peer, producerId: `p-${room}-${peer}`, kind: 'audio', codec: { mimeType: 'audio/opus', payloadType: 111, clockRate: 48000, parameters: {} } });
    const sources = [mk('ra', 'a1'), mk('ra', 'a2'), mk('rb', 'b1')];
    for (const s of sources) pipeline.addSource(s);
    pipeline.roomClosed('ra');
    expect(pipeline.participant('ra', 'a1')).toBeUndefined();
    expect(pipeline.participant('ra', 'a2')).toBeUndefined();
    expect(pipeline.participant('rb', 'b1')).toBeDefined();
    for (const s of sources) s.close();
  });

  it('media-threads placement (the default) scores in the media workers exactly as dedicated inference threads do', async () => {
    // The default pipeline scores inside its media workers: the backend is the media pool's.
    expect(pipeline.options.inferencePlacement).toBe('media-threads');
    expect(pipeline.inference).toBeInstanceOf(SplitInference);
    expect((pipeline.inference as SplitInference).scores).toBe(pipeline.media.inference);
    expect(pipeline.health().detectors.some((d) => d.available)).toBe(true);
    expect(pipeline.inference.detectors().map((d) => d.task)).toContain('voice-antispoof');
    const threads = await AnalysisPipeline.create({ modelsDir, media: { windowSeconds: 2, hopSeconds: 1, faceAnalysis: false }, tickMs: 60_000, inferencePlacement: 'inference-threads' });
    try {
      expect(threads.inference).toBeInstanceOf(InferencePool);
      expect(threads.media.inference).toBeUndefined();
      expect(threads.inference.detectors().map((d) => d.id).sort()).toEqual(pipeline.inference.detectors().map((d) => d.id).sort());
      const speech = readWav(fixtures.speechWav).samples;
      const packets = packetise(encodeOpus(speech), { payloadType: 111, firstSeq: 100 }).map((p) => p.bytes);
      const run = async (p: AnalysisPipeline, room: string): Promise<Map<string, number>> => {
        const source = new PacketSource({ id: `src-${room}`, roomId: room, peerId: 'same', producerId: `prod-${room}`, kind: 'audio', codec: { mimeType: 'audio/opus', payloadType: 111, clockRate: 48000, channels: 2, parameters: {} } });
        const got = new Map<string, number>();
        let windows = 0;
        p.media.on('window', (w) => {
          if (w.stream.roomId === room) windows++;
        });
        p.on('score', (sc) => {
          if (sc.stream.roomId === room) got.set(`${sc.detector}#${sc.seq}`, sc.pFake);
        });
        p.addSource(source);
        await source.whenResumed();
        await source.stream(packets);
        // Every window answered by every detector that takes it (scores only: no drops on an idle machine).
        const perWindow = p.inference.detectors().filter((d) => d.task === 'voice-antispoof').length;
        await waitFor(() => windows > 0 && got.size >= windows * perWindow, 60_000, `scores of every window in ${room}`);
        source.close();
        return got;
      };
      const inMedia = await run(pipeline, 'r-media');
      const inThreads = await run(threads, 'r-threads');
      expect(inMedia.size).toBeGreaterThan(0);
      expect([...inMedia.keys()].sort()).toEqual([...inThreads.keys()].sort());
      for (const [k, v] of inMedia) expect(v).toBeCloseTo(inThreads.get(k)!, 6);
    } finally {
      await threads.close();
    }
  }, 180_000);
});

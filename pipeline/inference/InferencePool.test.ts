import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { registry } from '../../kernel/metrics.js';
import { calibrate, type ModelTask } from '../../detectors/registry/Manifest.js';
import { ModelRegistry, type AvailableModel } from '../../detectors/registry/ModelRegistry.js';
import { buildTestModels, faceLogitJs, FACE_SIZE, voiceLogitJs } from '../../detectors/testing/testModels.js';
import { audioWindow, faceWindow, streamRef } from '../../detectors/testing/windows.js';
import type { AnalysisWindow, AudioWindow, WindowScore } from '../messages.js';
import type { DetectorScore, DropEvent } from './InferenceBackend.js';
import { InferencePool, type InferencePoolOptions } from './InferencePool.js';
import { preprocessAudio, preprocessImage } from './preprocess.js';
import { ensureVoiceFixtures } from '../../test/fixtures/build.js';
import { readWav } from '../testing/audioSupport.js';
import { resampleClip } from '../audio/Resampler.js';
import { FaceAnalyzer } from '../../detectors/face/FaceAnalyzer.js';
import { decodeImage, samplePhoto } from '../../detectors/face/fixtures.js';
import { ParticipantVerdict } from '../verdict/ParticipantVerdict.js';

let root: string;
let models: AvailableModel[];
let pool: InferencePool | undefined;

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'dfd-pool-'));
  buildTestModels(root);
  const reg = new ModelRegistry({ dir: root });
  await reg.load();
  models = reg.available();
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

const voice = () => models.find((m) => m.id === 'test-voice')!;
const face = () => models.find((m) => m.id === 'test-face')!;

function expectedAudio(w: AnalysisWindow): number {
  if (w.type !== 'audio-window') throw new Error('audio expected');
  const m = voice().manifest;
  return calibrate(m.calibration, voiceLogitJs(preprocessAudio(w.samples, w.sampleRate, m.audio!)));
}

function expectedFace(w: AnalysisWindow): number {
  if (w.type !== 'face-window') throw new Error('face expected');
  const m = face().manifest;
  const frame = new Float32Array(3 * FACE_SIZE * FACE_SIZE);
  const bytes = w.width * w.height * 3;
  let sum = 0;
  for (let f = 0; f < w.frames; f++) {
    preprocessImage(w.crops.subarray(f * bytes, (f + 1) * bytes), w.width, w.height, m.image!, frame, 0);
    sum += faceLogitJs(frame);
  }
  return calibrate(m.calibration, sum / w.frames);
}

/** Deep copy, since submit() transfers the buffers. */
function copy(w: AnalysisWindow): AnalysisWindow {
  return w.type === 'audio-window' ? { ...w, samples: w.samples.slice() } : { ...w, crops: w.crops.slice() };
}

function collect(p: InferencePool): { scores: WindowScore[]; drops: DropEvent[] } {
  const out = { scores: [] as WindowScore[], drops: [] as DropEvent[] };
  p.on('score', (s) => out.scores.push(s));
  p.on('dropped', (d) => out.drops.push(d));
  return out;
}

async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 5));
}

/** One audio window (of `seed`) scored by `m` alone three times, seq 1-3: as a wideband, a telephone and a suppressed sender's window. */
async function scoreOnEachChannel(m: AvailableModel, seed: number): Promise<{ window: AudioWindow; bySeq: Map<number, DetectorScore> }> {
  pool = new InferencePool([m]);
  const scores: DetectorScore[] = [];
  pool.on('score', (sc) => scores.push(sc));
  await pool.ready();
  const window = audioWindow({ seq: 1, seconds: 1, seed });
  if (window.type !== 'audio-window') throw new Error('audio expected');
  // seq 1 wideband, 2 telephone, 3 a noise-suppressed sender's, 4 a G.722 leg's (wideband), 5 a gateway's Opus leg's (wideband)
  const channels = [undefined, 'telephone', 'suppressed', undefined, undefined] as const;
  const codecs = [undefined, undefined, undefined, 'g722', 'sip-opus'] as const;
  channels.forEach((channel, i) =>
    pool!.submit({ ...window, seq: i + 1, samples: window.samples.slice(), quality: { ...window.quality, ...(channel ? { channel } : {}), ...(codecs[i] ? { codec: codecs[i] } : {}) } }),
  );
  await until(() => scores.length === 5);
  return { window, bySeq: new Map(scores.map((sc) => [sc.seq, sc])) };
}

async function metricValue(name: string, labels: Record<string, string>): Promise<number> {
  const m = registry.getSingleMetric(name);
  if (!m) return 0;
  const data = await m.get();
  return data.values.filter((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val)).reduce((a, v) => a + v.value, 0);
}

function makePool(opts: Partial<InferencePoolOptions> = {}): InferencePool {
  pool = new InferencePool(models, opts);
  return pool;
}

describe('InferencePool with real onnxruntime sessions', () => {
  it('scores audio (16 and 48 kHz) and faces (256 and resized 128) with calibrated pFake', async () => {
    const p = makePool();
    const got = collect(p);
    await p.ready();
    expect(p.detectors().map((d) => d.id).sort()).toEqual(['test-face', 'test-voice']);
    const windows: AnalysisWindow[] = [
      audioWindow({ seq: 1, seconds: 1, seed: 3 }),
      audioWindow({ seq: 2, seconds: 2, sampleRate: 48000, seed: 4 }),
      faceWindow({ seq: 3, frames: 2, seed: 5 }),
      faceWindow({ seq: 4, frames: 3, size: 128, seed: 6 }),
    ];
    const expected = new Map(windows.map((w) => [w.seq, w.type === 'audio-window' ? expectedAudio(w) : expectedFace(w)]));
    for (const w of windows) expect(p.submit(copy(w))).toBe(true);
    await until(() => got.scores.length === 4);
    expect(got.drops).toEqual([]);
    for (const s of got.scores) {
      expect(s.pFake).toBeCloseTo(expected.get(s.seq)!, 4);
      expect(s.pFake).toBeGreaterThan(0);
      expect(s.pFake).toBeLessThan(1);
      expect(s.inferenceMs).toBeGreaterThan(0);
      expect(s.queueMs).toBeGreaterThanOrEqual(0);
    }
    const bySeq = new Map(got.scores.map((s) => [s.seq, s]));
    expect(bySeq.get(1)).toMatchObject({ detector: 'test-voice', modelVersion: '0.0.1-test', evidence: 1, weight: 1 });
    expect(bySeq.get(3)?.detector).toBe('test-face');
    expect(bySeq.get(3)?.evidence).toBeCloseTo(2 / 15, 6);
    // Distinct inputs give distinct scores: the model really ran on each window.
    expect(new Set(got.scores.map((s) => s.pFake.toFixed(6))).size).toBe(4);
  });

  it('executionProvider webgpu: scores on a WebGPU adapter, or (none here) the detectors are unavailable: never silently on CPU', async () => {
    const p = makePool({ executionProvider: 'webgpu' });
    const got = collect(p);
    await p.ready();
    const w = audioWindow({ seq: 1, seconds: 1, seed: 3 });
    p.submit(copy(w));
    await until(() => got.scores.length + got.drops.length === 1);
    if (got.scores.length === 1) {
      // A machine with a WebGPU adapter: the same score as on the CPU.
      expect(got.scores[0]!.pFake).toBeCloseTo(expectedAudio(w), 3);
    } else {
      expect(got.drops[0]).toMatchObject({ seq: 1, reason: 'model-unavailable' });
    }
  });

  it('cpuModels keep a model on the CPU under executionProvider webgpu: it scores here, where the others have no adapter', async () => {
    const p = makePool({ executionProvider: 'webgpu', cpuModels: ['test-voice'] });
    const got = collect(p);
    await p.ready();
    const w = audioWindow({ seq: 1, seconds: 1, seed: 3 });
    p.submit(copy(w));
    await until(() => got.scores.length + got.drops.length === 1);
    // The CPU's own answer, on any machine: the voice session never asked for the GPU.
    expect(got.scores).toHaveLength(1);
    expect(got.scores[0]!.pFake).toBeCloseTo(expectedAudio(w), 5);
    // The face model did ask for it: unavailable here (no adapter), scoring on a GPU machine; never on the CPU silently.
    p.submit(copy(faceWindow({ seq: 2, frames: 2, seed: 5 })));
    await until(() => got.scores.length + got.drops.length === 2);
    if (got.drops.length === 1) expect(got.drops[0]).toMatchObject({ seq: 2, reason: 'model-unavailable' });
    else expect(got.scores[1]!.detector).toBe('test-face');
  });

  it('a model file changed on disk after the registry checked it is refused by the worker: unavailable, never run', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dfd-swapped-'));
    try {
      fs.cpSync(root, dir, { recursive: true });
      const reg = new ModelRegistry({ dir });
      await reg.load();
      const checked = reg.available().find((m) => m.id === 'test-voice')!;
      // Another valid ONNX file with the same tensor names would load; the hash the registry checked must not.
      fs.appendFileSync(checked.modelPath, Buffer.from([0]));
      pool = new InferencePool([checked]);
      const got = collect(pool);
      await pool.ready();
      expect(pool.detectors()).toEqual([]);
      pool.submit(copy(audioWindow({ seq: 1, seconds: 1, seed: 3 })));
      expect(got.drops).toEqual([expect.objectContaining({ seq: 1, reason: 'model-unavailable' })]);
      expect(got.scores).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("tags each score with its manifest's verdict weight", async () => {
    const untrusted: AvailableModel = { ...voice(), manifest: { ...voice().manifest, verdict: { weight: 0.2, basis: 'test' } } };
    pool = new InferencePool([untrusted, face()]);
    const got = collect(pool);
    await pool.ready();
    pool.submit(audioWindow({ seq: 1, seconds: 1, seed: 3 }));
    pool.submit(faceWindow({ seq: 2, frames: 2, seed: 5 }));
    await until(() => got.scores.length === 2);
    const bySeq = new Map(got.scores.map((s) => [s.seq, s]));
    expect(bySeq.get(1)).toMatchObject({ detector: 'test-voice', weight: 0.2 });
    expect(bySeq.get(1)?.pFake).toBeCloseTo(expectedAudio(audioWindow({ seq: 1, seconds: 1, seed: 3 })), 4); // pFake itself is not reweighted
    expect(bySeq.get(2)).toMatchObject({ detector: 'test-face', weight: 1 });
  });

  it("calibrates each window with its channel's calibration: wideband, telephone or a noise-suppressed sender's", async () => {
    const cal = voice().manifest.calibration;
    const tel = { a: cal.a * 0.5, b: cal.b - 1, fittedOn: 'test g711' };
    const sup = { a: cal.a * 2, b: cal.b + 1, fittedOn: 'test suppressed' };
    const m: AvailableModel = { ...voice(), manifest: { ...voice().manifest, calibration: { ...cal, telephone: tel, suppressed: sup } } };
    const { window: base, bySeq: scores } = await scoreOnEachChannel(m, 3);
    const logit = voiceLogitJs(preprocessAudio(base.samples, base.sampleRate, m.manifest.audio!));
    const bySeq = new Map([...scores].map(([seq, s]) => [seq, s.pFake]));
    expect(bySeq.get(1)).toBeCloseTo(calibrate(cal, logit), 4);
    expect(bySeq.get(2)).toBeCloseTo(calibrate({ method: 'logistic', ...tel }, logit), 4);
    expect(bySeq.get(3)).toBeCloseTo(calibrate({ method: 'logistic', ...sup }, logit), 4);
    // a G.722 leg's audio is wideband audio: the wideband calibration
    expect(bySeq.get(4)).toBe(bySeq.get(1));
    expect(bySeq.get(5)).toBe(bySeq.get(1));
    expect(new Set(bySeq.values()).size).toBe(3);
  });

  it("weights each window with its leg family's verdict weight: the telephone one for phone-leg windows, the G.722 one for a G.722 leg's, the Opus SIP one for a gateway's Opus", async () => {
    const m: AvailableModel = { ...voice(), manifest: { ...voice().manifest, verdict: { weight: 0.2, weightTelephone: 0.05, weightG722: 0.3, weightSipOpus: 0.25, basis: 'test per family' } } };
    const { bySeq } = await scoreOnEachChannel(m, 5);
    expect([1, 2, 3, 4, 5].map((seq) => bySeq.get(seq)?.weight)).toEqual([0.2, 0.05, 0.2, 0.3, 0.25]);
    // without their own weights these legs take the wideband one
    const plain: AvailableModel = { ...voice(), manifest: { ...voice().manifest, verdict: { weight: 0.2, weightTelephone: 0.05, basis: 'test per family' } } };
    await pool!.close();
    const again = await scoreOnEachChannel(plain, 5);
    expect([1, 2, 3, 4, 5].map((seq) => again.bySeq.get(seq)?.weight)).toEqual([0.2, 0.05, 0.2, 0.2, 0.2]);
  });

  it('a cascade stage scores one window in N of each stream, after the first stage; the rest are skipped, not dropped', async () => {
    const stage: AvailableModel = { ...voice(), id: 'test-voice-stage2', manifest: { ...voice().manifest, id: 'test-voice-stage2', cascade: { everyNthWindow: 3, basis: 'test' } } };
    pool = new InferencePool([voice(), stage]);
    const got = collect(pool);
    await pool.ready();
    const skippedBefore = await metricValue('dfd_cascade_windows_skipped_total', { detector: 'test-voice-stage2', reason: 'sampled' });
    const a = streamRef('cascade-a');
    const b = streamRef('cascade-b');
    const windows = [
      ...Array.from({ length: 7 }, (_, i) => audioWindow({ stream: a, seq: i + 1, seconds: 1, seed: i + 1 })),
      ...Array.from({ length: 2 }, (_, i) => audioWindow({ stream: b, seq: 101 + i, seconds: 1, seed: i + 20 })),
    ];
    for (const w of windows) expect(pool.enqueue(copy(w))).toBe(w.stream === a ? ((w.seq - 1) % 3 === 0 ? 2 : 1) : w.seq === 101 ? 2 : 1);
    await until(() => got.scores.length === 9 + 4);
    expect(got.drops).toEqual([]);
    const stageSeqs = got.scores.filter((s) => s.detector === 'test-voice-stage2').map((s) => s.seq).sort((x, y) => x - y);
    expect(stageSeqs).toEqual([1, 4, 7, 101]); // each stream's 1st, 4th, 7th window
    expect(got.scores.filter((s) => s.detector === 'test-voice')).toHaveLength(9); // the first stage scores every window
    for (const s of got.scores) expect(s.pFake).toBeCloseTo(expectedAudio(windows.find((w) => w.seq === s.seq)!), 4);
    expect((await metricValue('dfd_cascade_windows_skipped_total', { detector: 'test-voice-stage2', reason: 'sampled' })) - skippedBefore).toBe(5);
  });

  it('under backlog a cascade stage yields its sampled windows (counted, not dropped) and takes the next window once the queues drain', async () => {
    const stage: AvailableModel = { ...voice(), id: 'test-voice-stage2', manifest: { ...voice().manifest, id: 'test-voice-stage2', cascade: { everyNthWindow: 2, basis: 'test' } } };
    // one worker, queues of 16; the stage yields from 4 queued windows in any queue
    pool = new InferencePool([voice(), stage], { queueCapacity: 16, cascadeYieldFill: 0.25 });
    const got = collect(pool);
    await pool.ready();
    const metric = async (reason: string) => metricValue('dfd_cascade_windows_skipped_total', { detector: 'test-voice-stage2', reason });
    const [sampled0, backlog0] = [await metric('sampled'), await metric('backlog')];
    const a = streamRef('yield-a');
    const windows = Array.from({ length: 13 }, (_, i) => audioWindow({ stream: a, seq: i + 1, seconds: 1, seed: i + 1 }));
    // Submitted synchronously: window 1 goes to the worker, the rest wait in the queues. The stage takes
    // windows 1 and 3 (one in 2); from window 5 the first stage's queue holds 4 and the stage yields each
    // window it would take (5, then 6, 7, ... as it defers to the next one).
    const queuedBy = windows.slice(0, 12).map((w) => pool!.enqueue(copy(w)));
    expect(queuedBy).toEqual([2, 1, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
    await until(() => got.scores.length === 12 + 2);
    expect(got.drops).toEqual([]);
    expect(await metric('sampled')).toBe(sampled0 + 2); // windows 2 and 4
    expect(await metric('backlog')).toBe(backlog0 + 8); // windows 5-12
    // drained: the next window is the stage's again (it resumes at once rather than after N more)
    expect(pool.enqueue(copy(windows[12]!))).toBe(2);
    await until(() => got.scores.length === 12 + 2 + 2);
    const stageSeqs = got.scores.filter((s) => s.detector === 'test-voice-stage2').map((s) => s.seq).sort((x, y) => x - y);
    expect(stageSeqs).toEqual([1, 3, 13]);
    expect(got.scores.filter((s) => s.detector === 'test-voice').map((s) => s.seq).sort((x, y) => x - y)).toEqual(windows.map((w) => w.seq));
    expect(() => new InferencePool([voice()], { cascadeYieldFill: 0 })).toThrow(/cascadeYieldFill/);
  });

  it('micro-batches faces across streams and keeps each window its own score', async () => {
    const p = makePool({ maxBatchFrames: 8, maxWaitMs: 50 });
    const got = collect(p);
    await p.ready();
    const before = await metricValue('dfd_inference_seconds', { detector: 'test-face' });
    const windows = [0, 1, 2, 3].map((i) => faceWindow({ stream: streamRef(`p${i}`, 'video'), seq: i, frames: 2, seed: 10 + i }));
    const expected = windows.map(expectedFace);
    for (const w of windows) p.submit(copy(w));
    await until(() => got.scores.length === 4);
    for (const s of got.scores) expect(s.pFake).toBeCloseTo(expected[s.seq]!, 4);
    // 8 frames filled one batch: all four windows report the same batch compute time.
    expect(new Set(got.scores.map((s) => s.inferenceMs)).size).toBe(1);
    expect(before).toBeGreaterThanOrEqual(0);
  });

  it('flood: submit() returns synchronously, drops are counted, every stream gets windows through', async () => {
    const p = makePool({ queueCapacity: 8 });
    const got = collect(p);
    await p.ready();
    const droppedBefore = await metricValue('dfd_windows_dropped_total', { detector: 'test-voice', reason: 'queue-full' });
    const processedBefore = await metricValue('dfd_windows_processed_total', { detector: 'test-voice' });
    const streams = 6;
    const total = 600;
    const results: boolean[] = [];
    for (let i = 0; i < total; i++) {
      const s = i % 5 === 0 ? i % streams : 0; // stream 0 floods, the others trickle
      results.push(p.submit(audioWindow({ stream: streamRef(`peer${s}`), seq: i, seconds: 0.5, seed: (i % 13) + 1 })));
    }
    // Nothing could have been scored yet: every submit returned before any result event ran.
    expect(got.scores.length).toBe(0);
    expect(results.every(Boolean)).toBe(true);
    expect(p.dump().detectors.find((d) => d.id === 'test-voice')!.queued).toBeLessThanOrEqual(8);
    await until(() => got.scores.length + got.drops.length === total);
    const peers = new Set(got.scores.map((s) => s.stream.peerId));
    expect(peers.size).toBe(streams);
    expect(got.drops.every((d) => d.reason === 'queue-full')).toBe(true);
    expect(got.drops.length).toBeGreaterThan(0);
    const droppedAfter = await metricValue('dfd_windows_dropped_total', { detector: 'test-voice', reason: 'queue-full' });
    const processedAfter = await metricValue('dfd_windows_processed_total', { detector: 'test-voice' });
    expect(droppedAfter - droppedBefore).toBe(got.drops.length);
    expect(processedAfter - processedBefore).toBe(got.scores.length);
  });

  it('batches audio windows of equal length, runs unequal ones separately, all correct', async () => {
    const p = makePool({ maxAudioBatch: 4 });
    const got = collect(p);
    await p.ready();
    const windows = [1, 1, 1, 2, 1].map((sec, i) => audioWindow({ stream: streamRef(`a${i}`), seq: i, seconds: sec, seed: 20 + i }));
    const expected = windows.map(expectedAudio);
    for (const w of windows) p.submit(copy(w));
    await until(() => got.scores.length === 5);
    for (const s of got.scores) expect(s.pFake).toBeCloseTo(expected[s.seq]!, 4);
    // Window 0 ran alone (the worker was idle); 1, 2 (1 s) ran together; 3 (2 s) could not join them.
    const ms = (seq: number) => got.scores.find((s) => s.seq === seq)!.inferenceMs;
    expect(ms(1)).toBe(ms(2));
    expect(ms(3)).not.toBe(ms(1));
  });

  it('measures analysis lag behind real time (gauge and histogram)', async () => {
    const p = makePool({ lagWarnMs: 1000 });
    const got = collect(p);
    await p.ready();
    p.submit(audioWindow({ seq: 1, seconds: 1, wallEnd: Date.now() - 5000 }));
    await until(() => got.scores.length === 1);
    expect(await metricValue('dfd_analysis_lag_current_seconds', { detector: 'test-voice' })).toBeGreaterThanOrEqual(5);
    const text = await registry.getSingleMetricAsString('dfd_analysis_lag_seconds');
    const count = /dfd_analysis_lag_seconds_count\{detector="test-voice"\} (\d+)/.exec(text);
    expect(Number(count?.[1])).toBeGreaterThanOrEqual(1);
  });

  it('drops windows that waited past maxQueueAgeMs as stale', async () => {
    const clock = { t: Date.now() };
    const p = makePool({ maxQueueAgeMs: 1000, now: () => clock.t });
    const got = collect(p);
    // Queued before the worker is ready, then the clock jumps past the age limit.
    expect(p.submit(audioWindow({ seq: 1, seconds: 1 }))).toBe(true);
    clock.t += 5000;
    await p.ready();
    await until(() => got.drops.length === 1);
    expect(got.drops[0]).toMatchObject({ seq: 1, detector: 'test-voice', reason: 'stale' });
    expect(got.scores).toEqual([]);
  });

  it('rejects bad input with a counted drop and never throws; a window shorter than a model takes is left to the others', async () => {
    const p = makePool();
    const got = collect(p);
    await p.ready();
    const short = await metricValue('dfd_windows_shorter_than_model_total', { detector: 'test-voice' });
    expect(p.submit(audioWindow({ seconds: 0.1 }))).toBe(false); // below minSeconds 0.5: no model takes it
    const broken = faceWindow({ frames: 2 });
    expect(p.submit({ ...broken, frames: 3 })).toBe(false); // crops length mismatch
    expect(got.drops.map((d) => d.reason)).toEqual(['bad-input']);
    expect(got.scores).toEqual([]);
    expect(await metricValue('dfd_windows_shorter_than_model_total', { detector: 'test-voice' })).toBe(short + 1);
  });

  it('does not judge silent, clipped or non-finite audio: counted as unjudgeable-audio, no score', async () => {
    const p = makePool();
    const got = collect(p);
    await p.ready();
    const silent = audioWindow({ seq: 1 });
    silent.samples.fill(0);
    const clipped = audioWindow({ seq: 2 });
    clipped.samples.forEach((v, i) => (clipped.samples[i] = v >= 0 ? 1 : -1));
    const nan = audioWindow({ seq: 3 });
    nan.samples[100] = Number.NaN;
    for (const w of [silent, clipped, nan]) expect(p.submit(w)).toBe(false);
    expect(p.submit(audioWindow({ seq: 4 }))).toBe(true);
    await until(() => got.scores.length === 1);
    expect(got.drops.map((d) => [d.seq, d.reason])).toEqual([[1, 'unjudgeable-audio'], [2, 'unjudgeable-audio'], [3, 'unjudgeable-audio']]);
    expect(got.scores.map((s) => s.seq)).toEqual([4]);
    // Each drop names the version that would have scored it, as the score does.
    expect(got.drops.map((d) => d.modelVersion)).toEqual(Array(3).fill(got.scores[0]!.modelVersion));
  });

  it('does not judge a face window the face gate marked: counted as unjudgeable-video, no score', async () => {
    const p = makePool();
    const got = collect(p);
    await p.ready();
    const frozen = faceWindow({ seq: 1, frames: 2, seed: 5 });
    frozen.quality = { ...frozen.quality, issue: 'frozen' };
    const several = faceWindow({ seq: 2, frames: 2, seed: 6 });
    several.quality = { ...several.quality, issue: 'several-faces' };
    for (const w of [frozen, several]) expect(p.submit(w)).toBe(false);
    expect(p.submit(faceWindow({ seq: 3, frames: 2, seed: 7 }))).toBe(true);
    await until(() => got.scores.length === 1);
    expect(got.drops.map((d) => [d.seq, d.reason])).toEqual([[1, 'unjudgeable-video'], [2, 'unjudgeable-video']]);
    expect(got.scores.map((s) => s.seq)).toEqual([3]);
  });

  it('restarts a crashed worker; its in-flight windows are dropped as worker-crash', async () => {
    // Audio batches of one, so that exactly one window is in flight when the worker dies.
    const p = makePool({ restartDelayMs: 10, maxAudioBatch: 1 });
    const got = collect(p);
    const crashes: number[] = [];
    p.on('workercrash', (c) => crashes.push(c.index));
    await p.ready();
    // Window 0 goes to the worker at once; the crash request follows it; window 1 is sent
    // when window 0's result arrives, so it is in flight when the worker dies.
    for (let i = 0; i < 3; i++) p.submit(audioWindow({ stream: streamRef(`c${i}`), seq: i, seconds: 1 }));
    expect(p.dump().workers[0]!.busy).toBe(true);
    const crashedAt = performance.now();
    p.crashWorker(0);
    await until(() => crashes.length === 1);
    await until(() => got.scores.length + got.drops.length === 3);
    expect(got.scores.map((s) => s.seq)).toContain(0);
    expect(got.drops.filter((d) => d.reason === 'worker-crash').map((d) => d.seq)).toEqual([1]);
    // After the restart, new windows are scored again.
    const w = audioWindow({ seq: 99, seconds: 1, seed: 9 });
    const exp = expectedAudio(w);
    p.submit(copy(w));
    await until(() => got.scores.some((s) => s.seq === 99));
    expect(got.scores.find((s) => s.seq === 99)!.pFake).toBeCloseTo(exp, 4);
    expect(p.dump().workers[0]!.restarts).toBe(1);
    // Recovery time, reported (docs/reliability.md), not asserted.
    process.stdout.write(`fault inference-worker-crash: a new window scored ${Math.round(performance.now() - crashedAt)} ms after the crash (restartDelayMs 10)\n`);
  });

  it('close() drops queued windows as closed and rejects later submits', async () => {
    const p = makePool();
    const got = collect(p);
    await p.ready();
    for (let i = 0; i < 5; i++) p.submit(audioWindow({ stream: streamRef('z'), seq: i, seconds: 1 }));
    await p.close();
    expect(p.submit(audioWindow())).toBe(false);
    expect(got.scores.length + got.drops.length).toBe(5);
    expect(got.drops.every((d) => d.reason === 'closed')).toBe(true);
  });
});

describe("InferencePool, in-thread placement (a media worker's own detectors)", () => {
  it('scores on the calling thread exactly as a worker thread does, with the same queues and drops', async () => {
    const p = makePool({ placement: 'in-thread' });
    const got = collect(p);
    await p.ready();
    expect(p.detectors().map((d) => d.id).sort()).toEqual(['test-face', 'test-voice']);
    expect(p.dump().workers).toEqual([{ index: 0, ready: true, busy: false, restarts: 0 }]);
    const windows: AnalysisWindow[] = [audioWindow({ seq: 1, seconds: 1, seed: 3 }), audioWindow({ seq: 2, seconds: 2, sampleRate: 48000, seed: 4 }), faceWindow({ seq: 3, frames: 2, seed: 5 })];
    // Nothing is transferred in-thread: the caller's buffers stay intact.
    const sent = windows.map(copy);
    for (const w of sent) expect(p.submit(w)).toBe(true);
    expect(sent.every((w) => (w.type === 'audio-window' ? w.samples.byteLength : w.crops.byteLength) > 0)).toBe(true);
    await until(() => got.scores.length === 3);
    expect(got.drops).toEqual([]);
    for (const s of got.scores) expect(s.pFake).toBeCloseTo(s.seq === 3 ? expectedFace(windows[2]!) : expectedAudio(windows[s.seq - 1]!), 4);
  });

  it('has exactly one executor, and close() answers queued windows as closed', async () => {
    expect(() => new InferencePool(models, { placement: 'in-thread', workers: 2 })).toThrow(/exactly one executor/);
    const p = makePool({ placement: 'in-thread' });
    const got = collect(p);
    await p.ready();
    for (let i = 0; i < 5; i++) p.submit(audioWindow({ seq: i, seconds: 1, seed: i, stream: streamRef(`s${i}`) }));
    await p.close();
    expect(got.scores.length + got.drops.length).toBe(5);
    expect(got.drops.every((d) => d.reason === 'closed')).toBe(true);
    expect(p.submit(audioWindow({ seq: 9, seconds: 1, seed: 9 }))).toBe(false);
  });
});

describe('InferencePool with the shipped presentation-attack (face-pad) models', () => {
  let padRoot: string;
  let padModels: AvailableModel[];

  beforeAll(async () => {
    padRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'dfd-pool-pad-'));
    buildTestModels(padRoot);
    const shipped = path.join(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'detectors', 'models');
    for (const id of ['face-antispoof', 'face-liveness']) fs.cpSync(path.join(shipped, id), path.join(padRoot, id), { recursive: true });
    const reg = new ModelRegistry({ dir: padRoot });
    await reg.load();
    padModels = reg.available();
  });
  afterAll(() => fs.rmSync(padRoot, { recursive: true, force: true }));

  /** Window pFake computed outside the pool: onnxruntime on the same preprocessing, mean frame logit, calibration. */
  async function expectedPad(model: AvailableModel, w: AnalysisWindow): Promise<number> {
    if (w.type !== 'face-window') throw new Error('face expected');
    const ort = (await import('onnxruntime-node')).default;
    const spec = model.manifest.image!;
    const n = 3 * spec.width * spec.height;
    const data = new Float32Array(w.frames * n);
    const bytes = w.width * w.height * 3;
    for (let f = 0; f < w.frames; f++) preprocessImage(w.crops.subarray(f * bytes, (f + 1) * bytes), w.width, w.height, spec, data, f * n);
    const session = await ort.InferenceSession.create(model.modelPath, { intraOpNumThreads: 1 });
    try {
      const out = await session.run({ image: new ort.Tensor('float32', data, [w.frames, spec.height, spec.width, 3]) });
      const z = out.fake_logit!.data as Float32Array;
      return calibrate(model.manifest.calibration, z.reduce((a, b) => a + b, 0) / w.frames);
    } finally {
      await session.release();
    }
  }

  it('runs every face window through face-forgery and both PAD models, tagging scores and drops with the task', async () => {
    pool = new InferencePool(padModels);
    const p = pool;
    const got = collect(p);
    await p.ready();
    expect(p.detectors().map((d) => [d.id, d.task, d.kind]).sort()).toEqual([
      ['face-antispoof', 'face-pad', 'video'],
      ['face-liveness', 'face-pad', 'video'],
      ['test-face', 'face-forgery', 'video'],
      ['test-voice', 'voice-antispoof', 'audio'],
    ]);
    const before = await metricValue('dfd_windows_processed_total', { detector: 'face-liveness' });
    const w = faceWindow({ seq: 7, frames: 3, seed: 21 });
    const a = audioWindow({ seq: 8, seconds: 1, seed: 22 });
    expect(p.submit(copy(w))).toBe(true);
    expect(p.submit(copy(a))).toBe(true);
    await until(() => got.scores.length === 4);
    expect(got.drops).toEqual([]);
    const byDetector = new Map(got.scores.map((s) => [s.detector, s as WindowScore & { task?: ModelTask }]));
    expect([...byDetector.keys()].sort()).toEqual(['face-antispoof', 'face-liveness', 'test-face', 'test-voice']);
    expect(byDetector.get('test-voice')).toMatchObject({ seq: 8, task: 'voice-antispoof' });
    expect(byDetector.get('test-face')).toMatchObject({ seq: 7, task: 'face-forgery' });
    for (const id of ['face-antispoof', 'face-liveness']) {
      const s = byDetector.get(id)!;
      const model = padModels.find((m) => m.id === id)!;
      expect(s).toMatchObject({ seq: 7, task: 'face-pad', modelVersion: model.manifest.version });
      expect(s.pFake).toBeCloseTo(await expectedPad(model, w), 5);
      expect(s.evidence).toBeCloseTo(3 / 15, 6);
    }
    expect(await metricValue('dfd_windows_processed_total', { detector: 'face-liveness' })).toBe(before + 1);
    // A malformed face window is dropped by every face detector, each drop naming its task.
    const bad = { ...faceWindow({ seq: 9, frames: 2, seed: 1 }), frames: 3 };
    expect(p.submit(bad)).toBe(false);
    expect(got.drops.map((d) => [d.detector, d.task, d.reason]).sort()).toEqual([
      ['face-antispoof', 'face-pad', 'bad-input'],
      ['face-liveness', 'face-pad', 'bad-input'],
      ['test-face', 'face-forgery', 'bad-input'],
    ]);
  });

  it('faceForgeryFrames: face-forgery scores 2 rotating frames of each window, the PAD models every frame', async () => {
    pool = new InferencePool(padModels, { faceForgeryFrames: 2 });
    const p = pool;
    const got = collect(p);
    await p.ready();
    const before = await metricValue('dfd_face_frames_not_scored_total', { detector: 'test-face' });
    const windows = [10, 11, 12].map((seq) => faceWindow({ seq, frames: 5, seed: 40 + seq }));
    for (const w of windows) expect(p.submit(copy(w))).toBe(true);
    await until(() => got.scores.length === 9);
    expect(got.drops).toEqual([]);
    const only = (w: AnalysisWindow, keep: number[]): AnalysisWindow => {
      if (w.type !== 'face-window') throw new Error('face expected');
      const size = w.width * w.height * 3;
      const crops = new Uint8Array(keep.length * size);
      keep.forEach((f, i) => crops.set(w.crops.subarray(f * size, (f + 1) * size), i * size));
      return { ...w, crops, frames: keep.length };
    };
    // seq 10: frames 0-1; 11: 2-3; 12: 4 and 0 (frameSubsample.ts).
    const keep = new Map([[10, [0, 1]], [11, [2, 3]], [12, [0, 4]]]);
    for (const w of windows) {
      const forgery = got.scores.find((s) => s.detector === 'test-face' && s.seq === w.seq)!;
      expect(forgery.pFake).toBeCloseTo(expectedFace(only(w, keep.get(w.seq)!)), 5);
      expect(Math.abs(forgery.pFake - expectedFace(w))).toBeGreaterThan(1e-4);
      // The window still stands for its 5 frames of evidence.
      expect(forgery.evidence).toBeCloseTo(5 / 15, 6);
      const pad = got.scores.find((s) => s.detector === 'face-liveness' && s.seq === w.seq)!;
      expect(pad.pFake).toBeCloseTo(await expectedPad(padModels.find((m) => m.id === 'face-liveness')!, w), 5);
    }
    expect(await metricValue('dfd_face_frames_not_scored_total', { detector: 'test-face' })).toBe(before + 9);
    expect(() => new InferencePool(padModels, { faceForgeryFrames: -1 })).toThrow(/faceForgeryFrames/);
  });

  it('real faces (face-api photos, FaceAnalyzer crops) through the pool do not lift a default ParticipantVerdict', async () => {
    const analyzer = await FaceAnalyzer.create();
    const crops: Uint8Array[] = [];
    try {
      for (const n of [1, 2, 3, 4, 5, 6]) crops.push(...(await analyzer.analyze(decodeImage(samplePhoto(n), 640))).faces.map((f) => f.crop));
    } finally {
      await analyzer.close();
    }
    expect(crops.length).toBeGreaterThanOrEqual(15);
    pool = new InferencePool(padModels.filter((m) => m.manifest.task === 'face-pad'));
    const p = pool;
    const got = collect(p);
    await p.ready();
    const S = analyzer.options.cropSize;
    const stream = streamRef('carol', 'video');
    // 3-frame windows of real crops, as the media worker would send them.
    let seq = 0;
    for (let i = 0; i + 3 <= crops.length; i += 3) {
      const buf = new Uint8Array(3 * S * S * 3);
      for (let k = 0; k < 3; k++) buf.set(crops[i + k]!, k * S * S * 3);
      const w = { ...faceWindow({ stream, seq: seq++, frames: 3, size: S }), crops: buf, quality: { frameRate: 15, faceSize: 160, packetLoss: 0 } };
      expect(p.submit(w)).toBe(true);
    }
    await until(() => got.scores.length === 2 * seq);
    const clock = { t: 1_000 };
    // minEvidence lowered so the PAD gate is decided by pFake alone on these 1-2 s of crops.
    const pv = new ParticipantVerdict({ roomId: stream.roomId, peerId: stream.peerId }, { now: () => clock.t, pad: { minEvidence: 0.5 } });
    pv.observe(faceWindow({ stream, frames: 3, size: 128 }));
    // A face-forgery score for the same face, so the participant is judged.
    pv.addScore({ ...got.scores[0]!, detector: 'face-forgery', task: 'face-forgery', pFake: 0.3, evidence: 4 });
    for (const s of got.scores) pv.addScore(s);
    const snaps = pv.padSnapshots();
    expect(snaps.map((s) => s.detector).sort()).toEqual(['face-antispoof', 'face-liveness']);
    // Measured on these photos (21 faces, 7 windows): accumulated pFake 0.32 (antispoof) and 0.03 (liveness); the gate is 0.9.
    for (const s of snaps) expect(s.pFake).toBeLessThan(0.6);
    for (const s of got.scores) expect(s.pFake).toBeLessThan(0.9);
    const v = pv.current();
    expect(v.state).toBe('likely-genuine');
    expect(v.pFake).toBeCloseTo(0.3, 6);
    expect(v.reason).toBeUndefined();
  });
});

/** 2 s of seeded white noise at 16 kHz: nothing like a voice, far from any tone's embedding. */
function noise(seed: number): Float32Array {
  let s = seed + 1;
  return Float32Array.from({ length: 32000 }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return 0.3 * (s / 2 ** 32 - 0.5);
  });
}

describe('InferencePool with the shipped audio models (voice-antispoof, speaker-embed)', () => {
  let audioRoot: string;
  let audioModels: AvailableModel[];

  beforeAll(async () => {
    audioRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'dfd-pool-audio-'));
    const shipped = path.join(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'detectors', 'models');
    for (const id of ['voice-antispoof', 'speaker-embed']) fs.cpSync(path.join(shipped, id), path.join(audioRoot, id), { recursive: true });
    const reg = new ModelRegistry({ dir: audioRoot });
    await reg.load();
    audioModels = reg.available();
  });
  afterAll(() => fs.rmSync(audioRoot, { recursive: true, force: true }));

  /** Every score and embedding of `windows`, from a pool with audio batches of at most `maxAudioBatch`. */
  async function answers(windows: AnalysisWindow[], maxAudioBatch: number): Promise<{ pFake: Map<number, number>; vectors: Map<number, Float32Array>; batched: boolean }> {
    pool = new InferencePool(audioModels, { maxAudioBatch });
    const p = pool;
    const pFake = new Map<number, number>();
    const vectors = new Map<number, Float32Array>();
    const ms = new Set<number>();
    p.on('score', (s) => {
      pFake.set(s.seq, s.pFake);
      ms.add(s.inferenceMs);
    });
    p.on('embedding', (e) => vectors.set(e.seq, e.vector));
    await p.ready();
    for (const w of windows) expect(p.submit(copy(w))).toBe(true);
    await until(() => pFake.size === windows.length && vectors.size === windows.length);
    await p.close();
    pool = undefined;
    // Scores of one batch share its inferenceMs: fewer distinct values than windows means some ran together.
    return { pFake, vectors, batched: ms.size < windows.length };
  }

  it('batches windows across streams (both models take a batch dimension): every answer equals the one computed alone (the int8 speaker model within its quantization)', async () => {
    // Ten streams of real speech (the LibriVox reader and asterisk's Allison, test/fixtures), one 2 s window each.
    const wav = readWav(ensureVoiceFixtures().realSpeechWav);
    const speech = resampleClip(wav.samples, wav.sampleRate, 16000);
    const windows = Array.from({ length: 10 }, (_, i) => {
      const w = audioWindow({ stream: streamRef(`b${i}`), seq: i, seconds: 2 });
      w.samples.set(speech.subarray(i * 80_000, i * 80_000 + 32_000));
      return w;
    });
    const alone = await answers(windows, 1);
    const together = await answers(windows, 8);
    expect(alone.batched).toBe(false);
    expect(together.batched).toBe(true);
    for (const w of windows) {
      expect(together.pFake.get(w.seq)).toBeCloseTo(alone.pFake.get(w.seq)!, 5);
      const a = alone.vectors.get(w.seq)!;
      const b = together.vectors.get(w.seq)!;
      expect(b.length).toBe(256);
      // speaker-embed 1.1.0 quantizes its LSTM activations per run (int8), so a window's embedding moves a little with
      // the windows batched beside it: on speech the cosine to itself alone stays within the recipe's parity gate
      // (0.998; parity.py (e): at least 0.9993 on 1600 batched real windows). Batches of pure tones move more (0.993).
      let dot = 0;
      for (let i = 0; i < a.length; i++) dot += a[i]! * b[i]!;
      expect(dot).toBeGreaterThan(0.998);
    }
  });

  it('each speaker embedding carries its window\'s channel, suppressed senders included (the takeover rule has a threshold per channel)', async () => {
    pool = new InferencePool(audioModels);
    const p = pool;
    const channels = new Map<number, string>();
    p.on('embedding', (e) => channels.set(e.seq, e.channel));
    await p.ready();
    const marks = [undefined, 'telephone', 'suppressed', 'wideband'] as const;
    marks.forEach((channel, i) => {
      const w = audioWindow({ stream: streamRef(`ch${i}`), seq: i + 1, seconds: 2, seed: 60 + i });
      if (w.type !== 'audio-window') throw new Error('audio expected');
      expect(p.submit({ ...w, quality: { ...w.quality, ...(channel ? { channel } : {}) } })).toBe(true);
    });
    await until(() => channels.size === marks.length);
    expect([...channels.entries()].sort((x, y) => x[0] - y[0]).map(([, c]) => c)).toEqual(['wideband', 'telephone', 'suppressed', 'wideband']);
  });

  it('runs score batches before speaker embeddings, unless the embeddings have waited embeddingSlackMs longer', async () => {
    pool = new InferencePool(audioModels);
    const p = pool;
    const order: string[] = [];
    p.on('score', () => order.push('score'));
    p.on('embedding', () => order.push('embedding'));
    await p.ready();
    for (let i = 0; i < 8; i++) p.submit(audioWindow({ stream: streamRef(`o${i}`), seq: i, seconds: 2, seed: 60 + i }));
    await until(() => order.length === 16);
    expect(order.slice(0, 8)).toEqual(Array(8).fill('score'));
    await p.close();
    // With no slack, the two detectors' windows are equally due and take turns.
    const fair = new InferencePool(audioModels, { embeddingSlackMs: 0 });
    pool = fair;
    const turns: string[] = [];
    fair.on('score', () => turns.push('score'));
    fair.on('embedding', () => turns.push('embedding'));
    await fair.ready();
    for (let i = 0; i < 8; i++) fair.submit(audioWindow({ stream: streamRef(`o${i}`), seq: i, seconds: 2, seed: 60 + i }));
    await until(() => turns.length === 16);
    expect(turns.slice(0, 8)).toContain('embedding');
  });

  it('under backlog, skips every other speaker embedding of an enrolled, matching voice, never while enrolling', async () => {
    // Queue of 16, thinning from 4 queued embeddings.
    pool = new InferencePool(audioModels, { queueCapacity: 16, embeddingThinFill: 0.25 });
    const p = pool;
    const scores: WindowScore[] = [];
    const embedded: { peer: string; seq: number }[] = [];
    const vectors = new Map<number, Float32Array>();
    p.on('score', (s) => scores.push(s));
    p.on('embedding', (e) => {
      embedded.push({ peer: e.stream.peerId, seq: e.seq });
      if (e.stream.peerId === 'x') vectors.set(e.seq, e.vector);
    });
    await p.ready();
    const skippedBefore = await metricValue('dfd_speaker_embeddings_skipped_total', { detector: 'speaker-embed' });
    const voiceOf = (peer: string, seq: number): AnalysisWindow => audioWindow({ stream: streamRef(peer), seq, seconds: 2, seed: 5 });
    // 'x' enrols (K = 6 windows of the manifest's takeover rule) and matches once more, one window at a time: no backlog.
    for (let i = 0; i < 7; i++) {
      p.submit(voiceOf('x', i));
      await until(() => embedded.length === i + 1);
    }
    // A backlog: 8 other streams' windows at once, then four more of 'x' and four of 'y' (not enrolled).
    for (let i = 0; i < 8; i++) p.submit(audioWindow({ stream: streamRef(`f${i}`), seq: 100 + i, seconds: 2, seed: 80 + i }));
    for (let i = 10; i < 14; i++) {
      p.submit(voiceOf('x', i));
      p.submit(voiceOf('y', i));
    }
    await until(() => scores.length === 7 + 8 + 8 && embedded.length === 7 + 8 + 2 + 4);
    const seqs = (peer: string): number[] => embedded.filter((e) => e.peer === peer).map((e) => e.seq);
    expect(seqs('x')).toEqual([0, 1, 2, 3, 4, 5, 6, 11, 13]);
    expect(seqs('y')).toEqual([10, 11, 12, 13]);
    expect(await metricValue('dfd_speaker_embeddings_skipped_total', { detector: 'speaker-embed' })).toBe(skippedBefore + 2);
    // Every window was still scored by the voice model.
    expect(scores.filter((s) => s.stream.peerId === 'x').map((s) => s.seq).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 10, 11, 12, 13]);

    // Another voice on 'x' (a window below the threshold): from then on, backlog or not, every window is embedded.
    const other = (seq: number): AnalysisWindow => ({ ...audioWindow({ stream: streamRef('x'), seq, seconds: 2, seed: 2 }), samples: noise(seq) });
    p.submit(other(20));
    await until(() => vectors.has(20));
    const cosine = vectors.get(20)!.reduce((a, v, i) => a + v * vectors.get(13)![i]!, 0);
    expect(cosine).toBeLessThan(audioModels.find((m) => m.id === 'speaker-embed')!.manifest.takeover!.T);
    const n = embedded.length;
    for (let i = 0; i < 8; i++) p.submit(audioWindow({ stream: streamRef(`g${i}`), seq: 200 + i, seconds: 2, seed: 90 + i }));
    for (let i = 21; i < 24; i++) p.submit(other(i));
    await until(() => embedded.length === n + 8 + 3);
    expect(seqs('x').slice(-4)).toEqual([20, 21, 22, 23]);
  });
});

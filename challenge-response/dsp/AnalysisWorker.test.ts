import { afterEach, describe, expect, it } from 'vitest';
import { analyseAudio } from './analyse.js';
import { AnalysisWorker, type AnalysisJob } from './AnalysisWorker.js';
import { histogramTotals } from '../../kernel/metrics.js';
import type { SupervisedWorker } from '../../kernel/SupervisedWorker.js';
import { espeak } from '../testing/signals.js';

describe('AnalysisWorker', () => {
  let w: AnalysisWorker;
  afterEach(async () => {
    await w.close();
  });

  it('gives the same measurements as the in-thread pass', async () => {
    w = new AnalysisWorker();
    const x = espeak('Please bring the yellow umbrella to the station');
    const [a, b] = await Promise.all([w.analyse(x), w.analyse(x.subarray(0, 16000))]);
    // Only the worker's own copy is transferred: the caller's samples stay usable.
    expect(x.byteLength).toBeGreaterThan(0);
    const local = analyseAudio(x);
    expect(a.measurements).toEqual(local.measurements);
    // The speech segments (plain objects) cross the worker boundary unchanged.
    expect(a.segments.length).toBeGreaterThan(0);
    expect(a.segments).toEqual(local.segments);
    expect(a.f0).toBeInstanceOf(Float32Array);
    expect(b.measurements.durationSec).toBe(1);
  });

  it('returns typed errors: bad input, full queue, closed', async () => {
    w = new AnalysisWorker({ maxQueue: 1 });
    await expect(w.analyse(new Float32Array(10), { sampleRate: 100 })).rejects.toMatchObject({ code: 'ERR_BAD_REQUEST' });
    const first = w.analyse(new Float32Array(16000));
    await expect(w.analyse(new Float32Array(16000))).rejects.toMatchObject({ code: 'ERR_QUEUE_FULL' });
    await first;
    await w.close();
    await expect(w.analyse(new Float32Array(16000))).rejects.toMatchObject({ code: 'ERR_CLOSED' });
  });

  it('serves a challenge response before waiting baselines, and first baselines before refreshes (a join storm)', async () => {
    w = new AnalysisWorker({ maxQueue: 1 });
    const speech = espeak('We should meet again on Tuesday afternoon if that works for you');
    const done: string[] = [];
    const submit = (name: string, job: AnalysisJob): Promise<unknown> => w.analyse(speech, {}, job).then(() => done.push(name));
    // Refreshes of callers who already have a personal baseline, then first chunks of new
    // callers: more than the response queue holds, all at once.
    const storm = [
      ...Array.from({ length: 6 }, (_, i) => submit(`refresh-${i}`, { kind: 'baseline', personal: true })),
      ...Array.from({ length: 6 }, (_, i) => submit(`first-${i}`, { kind: 'baseline', personal: false })),
    ];
    expect(w.queued).toBe(12);
    // The response is accepted (baselines do not count against its queue) and overtakes them.
    const response = submit('response', { kind: 'response' });
    await Promise.all([...storm, response]);
    // refresh-0 was already on the thread when the rest arrived.
    expect(done).toEqual(['refresh-0', 'response', ...Array.from({ length: 6 }, (_, i) => `first-${i}`), ...Array.from({ length: 5 }, (_, i) => `refresh-${i + 1}`)]);
    expect(w.queued).toBe(0);
    // Each request's wait for the thread is measured, by kind.
    const waits = await histogramTotals('dfd_challenge_analysis_wait_seconds', 'kind');
    expect(waits['response']?.count).toBeGreaterThanOrEqual(1);
    expect(waits['baseline']?.count).toBeGreaterThanOrEqual(12);
  });

  it('a thread that dies fails only the request it was running; the waiting ones are served by a new thread', async () => {
    w = new AnalysisWorker();
    const speech = espeak('We should meet again on Tuesday afternoon if that works for you');
    const running = w.analyse(speech, {}, { kind: 'baseline', personal: false });
    const waiting = [w.analyse(speech), w.analyse(speech.subarray(0, 16000), {}, { kind: 'baseline', personal: true })] as const;
    // End the thread under the running request, as a crash would (the supervisor's own path for a hung job).
    const thread = (w as unknown as { worker: SupervisedWorker<unknown, unknown> }).worker;
    const generation = thread.generation;
    const failed = expect(running).rejects.toMatchObject({ code: 'ERR_INTERNAL', message: expect.stringMatching(/analysis worker failed/) });
    await thread.terminate();
    await failed;
    const [a, b] = await Promise.all(waiting);
    expect(a.measurements).toEqual(analyseAudio(speech).measurements);
    expect(b.measurements.durationSec).toBe(1);
    expect(thread.generation).toBe(generation + 1);
    expect(w.queued).toBe(0);
  });

  it('bounds the baseline queue on its own: a full one refuses baselines, never a response', async () => {
    w = new AnalysisWorker({ maxQueue: 2, maxBaselineQueue: 2 });
    const x = new Float32Array(16000);
    const held = [w.analyse(x, {}, { kind: 'baseline', personal: false }), w.analyse(x, {}, { kind: 'baseline', personal: true })];
    await expect(w.analyse(x, {}, { kind: 'baseline', personal: false })).rejects.toMatchObject({ code: 'ERR_QUEUE_FULL', details: { max: 2 } });
    const answers = await Promise.all([...held, w.analyse(x), w.analyse(x, {}, { kind: 'response' })]);
    expect(answers.map((a) => a.measurements.durationSec)).toEqual([1, 1, 1, 1]);
  });
});

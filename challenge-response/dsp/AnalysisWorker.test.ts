import { afterEach, describe, expect, it } from 'vitest';
import { analyseAudio } from './analyse.js';
import { AnalysisWorker } from './AnalysisWorker.js';
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
});

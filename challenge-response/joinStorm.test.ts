/**
 * A challenge answer judged while many calls start at once: every new caller's first baseline
 * chunk reaches the one shared analysis thread at the same moment as the answer. The answer
 * must be judged on its merits (served before the waiting chunks, never refused for them);
 * the chunks beyond the baseline queue's 16 are refused and counted (the caller's next chunk
 * tries again). Real worker thread, real speech (espeak-ng), real timers.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { histogramTotals, metricByLabel } from '../kernel/metrics.js';
import { ChallengeManager } from './ChallengeManager.js';
import type { ChallengeOutcome } from './ChallengeOutcome.js';
import { AnalysisWorker } from './dsp/AnalysisWorker.js';
import { espeak } from './testing/signals.js';

const SR = 16000;
const normal = [
  espeak('Good morning, I wanted to talk about the budget for next year'),
  espeak('We should meet again on Tuesday afternoon if that works for you'),
  espeak('I think the new schedule is fine, but let us check it with the team first'),
];
const loud = espeak('The orange boat drifted slowly past the harbour wall', ['-a', '200']);
/** A little more than one 4 s baseline chunk of normal speech. */
const firstChunk = (() => {
  const x = new Float32Array(Math.round(4.2 * SR));
  let off = 0;
  for (const s of [...normal, ...normal]) {
    const n = Math.min(s.length, x.length - off);
    x.set(s.subarray(0, n), off);
    off += n;
    if (off >= x.length) break;
  }
  return x;
})();

/** Pushes `samples` in 0.5 s chunks stamped contiguously from `start` (ms); returns the end stamp. */
function push(m: ChallengeManager, peerId: string, samples: Float32Array, start: number): number {
  let t = start;
  for (let off = 0; off < samples.length; off += SR / 2) {
    const part = samples.subarray(off, Math.min(samples.length, off + SR / 2));
    const end = t + (part.length / SR) * 1000;
    m.pushAudio(peerId, { samples: part, sampleRate: SR, wallStart: t, wallEnd: end });
    t = end;
  }
  return t;
}

async function baselineFailures(): Promise<number> {
  return (await metricByLabel('dfd_challenge_input_degraded_total', 'reason'))['baseline-analysis-failed'] ?? 0;
}

describe('challenge analysis during a join storm', () => {
  const managers: ChallengeManager[] = [];
  let worker: AnalysisWorker;
  afterEach(async () => {
    for (const m of managers.splice(0)) m.close();
    await worker.close();
  });

  it('judges the answer on its merits while 40 new callers wait for their first baseline', async () => {
    worker = new AnalysisWorker();
    const main = new ChallengeManager({ callId: 'call-main', analyser: worker.analyse, responseSlackSec: 0.5, lateInputGraceMs: 50, policy: { cooldownMs: 0 } });
    managers.push(main);
    main.addParticipant({ peerId: 'alice', hasAudio: true, hasVideo: false });
    // Alice's normal speech earlier in the call, one baseline chunk at a time: her baseline becomes personal.
    let t = Date.now() - 60_000;
    for (let i = 0; i < 4 && !main.baseline('alice').personal; i++) {
      t = push(main, 'alice', firstChunk, t);
      await vi.waitFor(() => expect(worker.queued).toBe(0), { timeout: 20_000 });
    }
    expect(main.baseline('alice').personal).toBe(true);

    const storm = Array.from({ length: 40 }, (_, i) => {
      const m = new ChallengeManager({ callId: `call-${i}`, analyser: worker.analyse });
      managers.push(m);
      m.addParticipant({ peerId: 'caller', hasAudio: true, hasVideo: false });
      return m;
    });
    const failuresBefore = await baselineFailures();
    const waits0 = await histogramTotals('dfd_challenge_analysis_wait_seconds', 'kind');
    // The moment alice's answer goes to be judged, 40 calls' first 4 s chunks arrive.
    let queuedWithAnswer = 0;
    main.on('challenge', (e) => {
      if (e.phase !== 'response') return;
      const start = Date.now() - 5000;
      for (const m of storm) push(m, 'caller', firstChunk, start);
      queuedWithAnswer = worker.queued;
    });
    const outcome = new Promise<ChallengeOutcome>((resolve) => main.onOutcome(resolve));
    const c = main.requestChallenge('alice', 'operator', 'speak-loudly');
    await vi.waitFor(() => expect(c.state).toBe('awaiting-response'));
    push(main, 'alice', loud, Date.now());
    const o = await outcome;

    // The baseline queue was full when the answer came (16 chunks, the rest refused).
    expect(queuedWithAnswer).toBe(16);
    expect(o.outcome).toBe('passed');
    expect(o.measurements['baselinePersonal']).toBe(1);
    // The 16 queued chunks were analysed after the answer; the other 24 were refused and counted.
    await vi.waitFor(() => expect(storm.filter((m) => m.baseline('caller').speechSeconds > 0).length).toBe(16), { timeout: 60_000 });
    expect((await baselineFailures()) - failuresBefore).toBe(24);
    expect(worker.queued).toBe(0);
    // The answer waited for at most the one chunk already on the thread; the chunks waited longer.
    const waits = await histogramTotals('dfd_challenge_analysis_wait_seconds', 'kind');
    const meanWait = (kind: string): number => {
      const [a, b] = [waits[kind] ?? { count: 0, sum: 0 }, waits0[kind] ?? { count: 0, sum: 0 }];
      return (a.sum - b.sum) / (a.count - b.count);
    };
    expect((waits['baseline']?.count ?? 0) - (waits0['baseline']?.count ?? 0)).toBe(16);
    expect(meanWait('response')).toBeLessThan(meanWait('baseline'));
  }, 120_000);
});

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { isDfdError } from '../kernel/errors.js';
import { ChallengeManager } from './ChallengeManager.js';
import type { ChallengeEvent, ChallengeOutcome } from './ChallengeOutcome.js';
import type { FaceObservation } from '../detectors/face/FaceObservation.js';
import { espeak } from './testing/signals.js';
import { analyseAudio } from './dsp/analyse.js';
import type { ChallengeManagerOptions } from './ChallengeManagerOptions.js';
import { histogramTotals } from '../kernel/metrics.js';

/** What the manager tells its analyser a request is for. */
type AnalysisJob = Parameters<NonNullable<ChallengeManagerOptions['analyser']>>[2];

async function histogramStat(name: string, stat: 'count' | 'sum'): Promise<number> {
  return (await histogramTotals(name))['']?.[stat] ?? 0;
}

// Speech fixtures, synthesized once.
const normal1 = espeak('Good morning, I wanted to talk about the budget for next year');
const normal2 = espeak('We should meet again on Tuesday afternoon if that works for you');
const normal3 = espeak('I think the new schedule is fine, but let us check it with the team first');
const loud = espeak('The orange boat drifted slowly past the harbour wall', ['-a', '200']);
const plain = espeak('The orange boat drifted slowly past the harbour wall');

/** Pushes `samples` as 0.5 s chunks stamped from the current (fake) clock. */
async function feed(m: ChallengeManager, peerId: string, samples: Float32Array): Promise<void> {
  const step = 8000;
  for (let off = 0; off < samples.length; off += step) {
    const part = samples.subarray(off, Math.min(samples.length, off + step));
    const start = Date.now();
    m.pushAudio(peerId, { samples: part, sampleRate: 16000, wallStart: start, wallEnd: start + (part.length / 16000) * 1000 });
    await vi.advanceTimersByTimeAsync((part.length / 16000) * 1000);
  }
}

describe('ChallengeManager', () => {
  let m: ChallengeManager;
  let events: ChallengeEvent[];
  let outcomes: ChallengeOutcome[];
  beforeEach(async () => {
    vi.useFakeTimers({ now: 1_700_000_000_000 });
    m = new ChallengeManager({ callId: 'call-1', policy: { cooldownMs: 0 } });
    events = [];
    outcomes = [];
    m.on('challenge', (e) => events.push(e));
    m.onOutcome((o) => outcomes.push(o));
    m.addParticipant({ peerId: 'alice', hasAudio: true, hasVideo: true });
    await feed(m, 'alice', normal1);
    await feed(m, 'alice', normal2);
    await feed(m, 'alice', normal3);
  });
  afterEach(() => {
    m.close();
    vi.useRealTimers();
  });

  /** Runs one audio challenge of `kind` with `response` as the answer; returns the outcome. */
  async function audioChallenge(kind: string, response: Float32Array | undefined, spike = false, spikeWeight?: number): Promise<ChallengeOutcome> {
    const c = m.requestChallenge('alice', 'operator', kind);
    expect(c.state).toBe('prompting');
    await vi.advanceTimersByTimeAsync(0);
    expect(c.state).toBe('awaiting-response');
    if (response) await feed(m, 'alice', response);
    if (spike) m.pushScore('alice', { detector: 'voice-antispoof', pFake: 0.97, wallEnd: Date.now(), ...(spikeWeight !== undefined ? { weight: spikeWeight } : {}) });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(c.terminal).toBe(true);
    return outcomes.at(-1)!;
  }

  it('builds a personal baseline from normal speech', () => {
    const b = m.baseline('alice');
    expect(b.personal).toBe(true);
    expect(b.f0MedianHz).toBeGreaterThan(80);
  });

  it('tells the analyser what each request is for: first baseline chunks, refreshes, the response', async () => {
    const jobs: AnalysisJob[] = [];
    const ready = 'dfd_challenge_baseline_ready_seconds';
    const [countBefore, sumBefore] = [await histogramStat(ready, 'count'), await histogramStat(ready, 'sum')];
    const mm = new ChallengeManager({
      callId: 'call-jobs',
      policy: { cooldownMs: 0 },
      analyser: (x, o, job) => {
        jobs.push(job);
        return analyseAudio(x, o);
      },
    });
    try {
      mm.addParticipant({ peerId: 'bob', hasAudio: true, hasVideo: false });
      const t0 = Date.now();
      for (const x of [normal1, normal2, normal3, normal1, normal2, normal3, normal1, normal2, normal3]) await feed(mm, 'bob', x);
      expect(mm.baseline('bob').personal).toBe(true);
      // Chunks before the baseline was personal are marked so (the worker serves them before refreshes).
      const firstRefresh = jobs.findIndex((j) => j.kind === 'baseline' && j.personal);
      expect(firstRefresh).toBeGreaterThan(0);
      expect(jobs.slice(0, firstRefresh).every((j) => j.kind === 'baseline' && !j.personal)).toBe(true);
      expect(jobs.slice(firstRefresh).every((j) => j.kind === 'baseline' && j.personal)).toBe(true);
      // The time to a personal baseline is measured once per caller, from their first speech.
      // It takes at least the 4 s of speech a personal baseline needs, and no longer than the feeding.
      expect(await histogramStat(ready, 'count')).toBe(countBefore + 1);
      const took = (await histogramStat(ready, 'sum')) - sumBefore;
      expect(took).toBeGreaterThanOrEqual(4);
      expect(took).toBeLessThanOrEqual((Date.now() - t0) / 1000);
      const c = mm.requestChallenge('bob', 'operator', 'speak-loudly');
      await vi.advanceTimersByTimeAsync(0);
      await feed(mm, 'bob', loud);
      await vi.advanceTimersByTimeAsync(60_000);
      expect(c.terminal).toBe(true);
      expect(jobs.at(-1)).toEqual({ kind: 'response' });
    } finally {
      mm.close();
    }
  });

  it('passes a compliant response, emits issued/response/outcome and verifies for a while', async () => {
    const o = await audioChallenge('speak-loudly', loud);
    expect(o).toMatchObject({ outcome: 'passed', evidence: 'verified', kind: 'speak-loudly', peerId: 'alice', callId: 'call-1' });
    expect(o.measurements['deltaDb']).toBeGreaterThan(4);
    expect(o.measurements['baselinePersonal']).toBe(1);
    expect(events.map((e) => e.phase)).toEqual(['issued', 'response', 'outcome']);
    const issued = events[0]!;
    expect(issued.phase === 'issued' && issued.promptText).toMatch(/loudly/);
    // Verified for verifiedForMs (10 min): the outcome says until when; the verdict holds it (decision layer).
    expect(o.verifiedUntil).toBe(o.at + 10 * 60_000);
  });

  it('marks a response that does not do what was asked non-compliant (deepfake-likely)', async () => {
    const o = await audioChallenge('whisper-phrase', plain);
    expect(o).toMatchObject({ outcome: 'non-compliant', evidence: 'deepfake-likely' });
    expect(o.verifiedUntil).toBeUndefined();
  });

  it('fails a compliant response when a detector spikes during it', async () => {
    const o = await audioChallenge('speak-loudly', loud, true);
    expect(o).toMatchObject({ outcome: 'failed', evidence: 'deepfake-likely' });
    expect(o.detectorMaxPFake).toBeCloseTo(0.97);
    expect(o.reason).toMatch(/detector spike/);
  });

  it('judges spikes on the detector weight: an untrusted detector (weight 0) cannot fail a challenge, half weight shrinks it', async () => {
    const untrusted = await audioChallenge('speak-loudly', loud, true, 0);
    expect(untrusted).toMatchObject({ outcome: 'passed', evidence: 'verified' });
    expect(untrusted.detectorMaxPFake).toBeNaN();
    vi.advanceTimersByTime(120_000);
    const half = await audioChallenge('speak-loudly', loud, true, 0.5);
    // logit(0.97) / 2 -> 0.85 is still a spike at the default threshold 0.8
    expect(half).toMatchObject({ outcome: 'failed' });
    expect(half.detectorMaxPFake).toBeCloseTo(1 / (1 + Math.exp(-0.5 * Math.log(0.97 / 0.03))), 6);
  });

  it('times out when nothing comes back, and frees the participant for the next one', async () => {
    const o = await audioChallenge('read-slowly', undefined);
    expect(o).toMatchObject({ outcome: 'timed-out', evidence: 'inconclusive' });
    expect(m.activeChallenge('alice')).toBeUndefined();
    expect(() => m.requestChallenge('alice', 'operator')).not.toThrow();
  });

  it('refuses a second challenge and unknown participants with typed errors', () => {
    m.requestChallenge('alice', 'operator');
    try {
      m.requestChallenge('alice', 'operator');
      expect.unreachable();
    } catch (e) {
      expect(isDfdError(e, 'ERR_CHALLENGE_ACTIVE')).toBe(true);
    }
    expect(() => m.requestChallenge('mallory')).toThrow(expect.objectContaining({ code: 'ERR_PEER_NOT_FOUND' }));
    expect(m.onSuspicious('alice')).toBeUndefined();
  });

  it('cancels when the participant leaves mid-challenge', async () => {
    const c = m.requestChallenge('alice', 'operator', 'speak-softly');
    await vi.advanceTimersByTimeAsync(0);
    await feed(m, 'alice', plain.subarray(0, 16000));
    m.removeParticipant('alice');
    expect(c.state).toBe('cancelled');
    expect(events.at(-1)).toMatchObject({ phase: 'cancelled', reason: 'participant left' });
    expect(outcomes).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(c.state).toBe('cancelled');
  });

  it('never gets stuck when the prompt never finishes playing', async () => {
    const stuck = new ChallengeManager({ callId: 'c2', timeouts: { promptingMs: 5000 }, playPrompt: () => new Promise<void>(() => undefined) });
    const got: ChallengeOutcome[] = [];
    stuck.onOutcome((o) => got.push(o));
    stuck.addParticipant({ peerId: 'bob', hasAudio: true, hasVideo: false });
    const c = stuck.requestChallenge('bob');
    await vi.advanceTimersByTimeAsync(5000);
    expect(c.state).toBe('timed-out');
    expect(got[0]).toMatchObject({ outcome: 'timed-out', reason: 'no result before the prompting deadline' });
    stuck.close();
  });

  it('ends unclear when the prompt cannot be played', async () => {
    const broken = new ChallengeManager({ callId: 'c3', playPrompt: () => Promise.reject(new Error('espeak missing')) });
    const got: ChallengeOutcome[] = [];
    broken.onOutcome((o) => got.push(o));
    broken.addParticipant({ peerId: 'bob', hasAudio: true, hasVideo: false });
    broken.requestChallenge('bob');
    await vi.advanceTimersByTimeAsync(0);
    expect(got[0]).toMatchObject({ outcome: 'unclear', reason: 'prompt could not be played' });
    broken.close();
  });

  it('plays the prompt before the response window opens', async () => {
    const played: string[] = [];
    const withPrompt = new ChallengeManager({
      callId: 'c4',
      playPrompt: async (peerId, spec) => {
        played.push(`${peerId}:${spec.kind}`);
        await new Promise((r) => setTimeout(r, 3000));
      },
    });
    withPrompt.addParticipant({ peerId: 'bob', hasAudio: true, hasVideo: false });
    const c = withPrompt.requestChallenge('bob', 'operator', 'high-pitch');
    expect(played).toEqual(['bob:high-pitch']);
    await vi.advanceTimersByTimeAsync(2999);
    expect(c.state).toBe('prompting');
    await vi.advanceTimersByTimeAsync(1);
    expect(c.state).toBe('awaiting-response');
    withPrompt.close();
    expect(c.state).toBe('cancelled');
  });

  it('judges a video challenge from face observations; audio-only calls never get one', async () => {
    const c = m.requestChallenge('alice', 'operator', 'head-turn');
    const side = c.spec.params.side!;
    await vi.advanceTimersByTimeAsync(0);
    const sign = side === 'left' ? 1 : -1;
    for (const yaw of [0, 10, 25, 35, 42, 40, 38, 20, 5]) {
      const obs: FaceObservation = { t: Date.now(), faceFound: true, faceConfidence: 0.9, yawDeg: sign * yaw, pitchDeg: 0, regions: {}, detectorScore: 0.1 };
      m.pushFace('alice', obs);
      vi.advanceTimersByTime(200);
    }
    await vi.advanceTimersByTimeAsync(60_000);
    expect(outcomes.at(-1)).toMatchObject({ outcome: 'passed', modality: 'video', detectorMaxPFake: 0.1 });
    const audioOnly = new ChallengeManager({ callId: 'c5', audioOnly: true, policy: { cooldownMs: 0, maxPerParticipant: 100, maxPerCall: 100 } });
    audioOnly.addParticipant({ peerId: 'bob', hasAudio: true, hasVideo: true });
    for (let i = 0; i < 20; i++) {
      const ch = audioOnly.requestChallenge('bob');
      expect(ch.spec.modality).toBe('audio');
      ch.cancel();
    }
    audioOnly.close();
  });

  it('judges pose against the resting pose seen before the challenge', async () => {
    // The caller sits turned 26 degrees to their left. Turning 15 degrees further towards the
    // asked side is no profile turn, even where the absolute yaw reaches 41 degrees.
    const face = (yaw: number): FaceObservation => ({ t: Date.now(), faceFound: true, faceConfidence: 0.9, yawDeg: yaw, pitchDeg: 0, regions: {} });
    for (let i = 0; i < 10; i++) {
      m.pushFace('alice', face(25 + (i % 3)));
      vi.advanceTimersByTime(200);
    }
    const c = m.requestChallenge('alice', 'operator', 'head-turn');
    const sign = c.spec.params.side === 'left' ? 1 : -1;
    await vi.advanceTimersByTimeAsync(0);
    for (const turn of [0, 5, 11, 15, 15, 14, 5, 0]) {
      m.pushFace('alice', face(26 + sign * turn));
      vi.advanceTimersByTime(200);
    }
    await vi.advanceTimersByTimeAsync(60_000);
    const last = outcomes.at(-1);
    expect(last?.challengeId).toBe(c.id);
    expect(last?.outcome).toBe('unclear');
    expect(last?.measurements['restYawDeg']).toBe(26);
    expect(last?.measurements['poseBaselineFrames']).toBe(10);
  });

  it('starts on a suspicious verdict within policy limits', async () => {
    const limited = new ChallengeManager({ callId: 'c6', policy: { cooldownMs: 60_000 } });
    limited.addParticipant({ peerId: 'bob', hasAudio: true, hasVideo: true });
    const c = limited.onSuspicious('bob');
    expect(c?.trigger).toBe('suspicious');
    c!.cancel();
    expect(limited.onSuspicious('bob')).toBeUndefined(); // cooldown
    vi.advanceTimersByTime(60_000);
    expect(limited.onSuspicious('bob')).toBeDefined();
    expect(limited.onSuspicious('nobody')).toBeUndefined();
    limited.close();
  });

  it('records the human decision on the last outcome', async () => {
    expect(() => m.recordDecision('alice', 'confirm', 'op-1')).toThrow(expect.objectContaining({ code: 'ERR_BAD_REQUEST' }));
    await audioChallenge('speak-loudly', loud);
    const decisions: unknown[] = [];
    m.on('decision', (d) => decisions.push(d));
    const d = m.recordDecision('alice', 'dismiss', 'op-1');
    expect(d).toMatchObject({ peerId: 'alice', decision: 'dismiss', operator: 'op-1', evidence: 'verified', challengeId: outcomes[0]!.challengeId });
    expect(decisions).toEqual([d]);
    expect(m.decisions('alice')).toHaveLength(1);
    expect(() => m.recordDecision('nobody', 'confirm', 'op-1')).toThrow(expect.objectContaining({ code: 'ERR_PEER_NOT_FOUND' }));
  });

  it('ignores bad audio without throwing and refuses use after close', () => {
    expect(() => m.pushAudio('alice', { samples: new Float32Array(0), sampleRate: 16000, wallStart: 0, wallEnd: 0 })).not.toThrow();
    expect(() => m.pushAudio('alice', { samples: new Float32Array(10), sampleRate: 0, wallStart: 0, wallEnd: 1 })).not.toThrow();
    expect(() => m.pushAudio('ghost', { samples: new Float32Array(10), sampleRate: 16000, wallStart: 0, wallEnd: 1 })).not.toThrow();
    m.close();
    expect(() => m.requestChallenge('alice')).toThrow(expect.objectContaining({ code: 'ERR_CLOSED' }));
  });
});

describe('ChallengeManager automatic challenges: spot checks on high-risk calls, weak evidence', () => {
  const managers: ChallengeManager[] = [];
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_700_000_000_000 });
  });
  afterEach(() => {
    for (const x of managers.splice(0)) x.close();
    vi.useRealTimers();
  });

  function call(highRisk: boolean, spotCheckProbability: number): { m: ChallengeManager; issued: Extract<ChallengeEvent, { phase: 'issued' }>[] } {
    const m = new ChallengeManager({ callId: 'call-spot', highRisk, spotCheckEveryMs: 60_000, policy: { cooldownMs: 0, spotCheckProbability } });
    managers.push(m);
    const issued: Extract<ChallengeEvent, { phase: 'issued' }>[] = [];
    m.on('challenge', (e) => {
      if (e.phase === 'issued') issued.push(e);
    });
    m.addParticipant({ peerId: 'caller', hasAudio: true, hasVideo: false });
    m.addParticipant({ peerId: 'listener', hasAudio: true, hasVideo: false });
    return { m, issued };
  }

  it('challenges a participant heard in the last interval, by itself, and never a silent one', async () => {
    const { m, issued } = call(true, 1);
    await feed(m, 'caller', normal1);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(issued.map((e) => [e.peerId, e.trigger])).toEqual([['caller', 'spot-check']]);
    // the caller's challenge runs out (no answer), further rounds find nobody heard: nothing more
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(issued.map((e) => e.peerId)).toEqual(['caller']);
    // once the listener speaks, the next round may pick them too
    await feed(m, 'listener', normal2);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(issued.map((e) => e.peerId)).toEqual(['caller', 'listener']);
  });

  it('draws with the policy probability and only on high-risk calls; close stops the rounds', async () => {
    const never = call(true, 0);
    const ordinary = call(false, 1);
    for (const c of [never, ordinary]) await feed(c.m, 'caller', normal1);
    await vi.advanceTimersByTimeAsync(5 * 60_000);
    expect(never.issued).toEqual([]);
    expect(ordinary.issued).toEqual([]);
    const timers = vi.getTimerCount();
    never.m.close();
    expect(vi.getTimerCount()).toBe(timers - 1);
  });

  it('challenges on weak evidence once per participant; a refusal now leaves it for later', async () => {
    const { m, issued } = call(false, 0);
    await feed(m, 'caller', normal1);
    // another challenge is running: refused, not used up
    m.requestChallenge('caller', 'operator', 'whisper-phrase');
    expect(m.onWeakEvidence('caller')).toBeUndefined();
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    const c = m.onWeakEvidence('caller', { pFake: 0.571, threshold: 0.56, family: 'telephone' });
    expect(c?.trigger).toBe('weak-evidence');
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(c?.terminal).toBe(true);
    // once per call: later leaning verdicts start nothing, and an unknown participant is ignored
    expect(m.onWeakEvidence('caller')).toBeUndefined();
    expect(m.onWeakEvidence('nobody')).toBeUndefined();
    expect(issued.map((e) => e.trigger)).toEqual(['operator', 'weak-evidence']);
    // what it acted on goes out with the issued event; an operator's request carries none
    expect(issued.map((e) => e.basis)).toEqual([undefined, { pFake: 0.571, threshold: 0.56, family: 'telephone' }]);
  });

  it('refuses a spot-check interval that is not a finite number >= 0', () => {
    for (const spotCheckEveryMs of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      let err: unknown;
      try {
        new ChallengeManager({ callId: 'x', highRisk: true, spotCheckEveryMs });
      } catch (e) {
        err = e;
      }
      expect(isDfdError(err) && err.code).toBe('ERR_CONFIG');
    }
  });
});

/**
 * Challenge-response for one call. Receives each participant's audio (16 kHz PCM with
 * wall-clock times), face observations and detector scores; keeps a speaker baseline from
 * normal speech; runs challenges through their state machine; judges the response with
 * the catalogue's checker and the detectors' scores during the response window.
 *
 * Options and defaults: ChallengeManagerOptions.ts. What it reports (events, outcomes with
 * their evidence for the verdict, operator decisions): ChallengeOutcome.ts. A passed
 * challenge verifies the participant for `verifiedForMs`. The human keeps the final say:
 * `recordDecision` confirms or dismisses the last outcome.
 */
import { randomUUID } from 'node:crypto';
import { DfdError, isDfdError, toDfdError } from '../kernel/errors.js';
import { createLogger } from '../kernel/log.js';
import { LogThrottle } from '../kernel/LogThrottle.js';
import { TypedEmitter } from '../kernel/TypedEmitter.js';
import { counter, histogram, latencyBuckets } from '../kernel/metrics.js';
import { catalogueEntry } from './catalogue.js';
import { Challenge, type ChallengeTrigger, type OutcomeState, type StateChange } from './Challenge.js';
import { ChallengePolicy, type ParticipantProfile } from './ChallengePolicy.js';
import { defaultChallengeManagerOptions, type ChallengeManagerOptions } from './ChallengeManagerOptions.js';
import { evidenceOf, type ChallengeBasis, type ChallengeEvent, type ChallengeOutcome, type Evidence, type OperatorDecision } from './ChallengeOutcome.js';
import type { CheckOutcome, PoseBaseline } from './checkers/types.js';
import { restingPose } from './checkers/video.js';
import { verdictWeight, weightedPFake } from '../detectors/registry/Manifest.js';
import { analyseAudio, type AudioAnalysis } from './dsp/analyse.js';
import type { AnalysisJob } from './dsp/AnalysisWorker.js';
import { resample } from './dsp/wav.js';
import type { FaceObservation } from '../detectors/face/FaceObservation.js';
import { BaselineTracker, type SpeakerBaseline } from './SpeakerBaseline.js';

const log = createLogger('challenge.manager');
/** Baseline failures come in bursts (a join storm fills the DSP worker's queue): one line per 10 s for all calls; every one is counted in the metric. */
const baselineWarnings = new LogThrottle();
/** Automatic triggers fire on every verdict update; a participant no challenge fits would log each time. */
const autoRefusals = new LogThrottle();
const challengesTotal = counter({ name: 'dfd_challenges_total', help: 'Challenges finished, by kind and outcome', labelNames: ['kind', 'outcome'] as const });
const evaluationSeconds = histogram({ name: 'dfd_challenge_evaluation_seconds', help: 'Time to judge one challenge response', buckets: latencyBuckets });
const degradedTotal = counter({ name: 'dfd_challenge_input_degraded_total', help: 'Inputs the challenge manager dropped or repaired', labelNames: ['reason'] as const });
const baselineReadySeconds = histogram({
  name: 'dfd_challenge_baseline_ready_seconds',
  help: "Wall time from a caller's first normal speech to their personal speaker baseline",
  buckets: [4, 6, 8, 10, 12, 16, 20, 30, 45, 60, 90, 120, 180],
});

/** A chunk of contiguous mono PCM (e.g. the samples of an AudioWindow). */
export interface AudioChunk {
  samples: Float32Array;
  sampleRate: number;
  /** Wall-clock ms of the first and last sample. */
  wallStart: number;
  wallEnd: number;
}

export interface DetectorScore {
  detector: string;
  pFake: number;
  /** The detector's verdict weight (manifest), 0..1; default 1. Spikes are judged on weighted log-odds. */
  weight?: number;
  /** Wall-clock ms the scored window ended. */
  wallEnd: number;
}

export interface ChallengeManagerEvents {
  challenge: [ChallengeEvent];
  decision: [OperatorDecision];
}

interface Participant {
  profile: ParticipantProfile;
  baseline: BaselineTracker;
  pending: Float32Array[];
  pendingSamples: number;
  chunksSinceReady: number;
  baselineBusy: boolean;
  /** `now()` of the first normal speech fed to the baseline (0: none yet). */
  firstSpeechAt: number;
  lastAudioEnd: number;
  active: ActiveRun | undefined;
  lastOutcome: ChallengeOutcome | undefined;
  decisions: OperatorDecision[];
  /** Latest face observations outside challenges (ring, face found only). */
  restPose: FaceObservation[];
  /** A weak-evidence challenge was started for this participant (one per call). */
  weakEvidenceAsked: boolean;
}

interface ActiveRun {
  challenge: Challenge;
  responseStart: number;
  responseEnd: number;
  audio: Float32Array[];
  audioSamples: number;
  faces: FaceObservation[];
  /** The resting pose just before the challenge was issued. */
  poseBaseline: PoseBaseline | undefined;
  maxPFake: number;
  timer: NodeJS.Timeout | undefined;
}

const SR = 16000;

export class ChallengeManager extends TypedEmitter<ChallengeManagerEvents> {
  readonly options: ChallengeManagerOptions;
  readonly policy: ChallengePolicy;
  private readonly participants = new Map<string, Participant>();
  private readonly outcomeListeners = new Set<(o: ChallengeOutcome) => void>();
  /** Checker result of a challenge between its final transition and the outcome event. */
  private readonly lastCheck = new Map<string, CheckOutcome>();
  private closed = false;
  /** High-risk calls: the periodic spot-check round (cleared on close). */
  private spotTimer: NodeJS.Timeout | undefined;

  constructor(options: Partial<ChallengeManagerOptions> & { callId: string }) {
    super();
    this.options = { ...defaultChallengeManagerOptions, ...options };
    const every = this.options.spotCheckEveryMs;
    if (!(Number.isFinite(every) && every >= 0)) throw new DfdError('ERR_CONFIG', 'spotCheckEveryMs must be a finite number >= 0');
    this.policy = new ChallengePolicy(this.options.policy);
    if (this.options.highRisk && every > 0) {
      this.spotTimer = setInterval(() => this.spotCheckRound(), every);
      this.spotTimer.unref?.();
    }
  }

  addParticipant(profile: ParticipantProfile): void {
    this.assertOpen();
    const existing = this.participants.get(profile.peerId);
    if (existing) {
      existing.profile = { ...profile };
      return;
    }
    this.participants.set(profile.peerId, {
      profile: { ...profile },
      baseline: new BaselineTracker(this.options.baseline),
      pending: [],
      pendingSamples: 0,
      chunksSinceReady: 0,
      baselineBusy: false,
      firstSpeechAt: 0,
      lastAudioEnd: 0,
      active: undefined,
      lastOutcome: undefined,
      decisions: [],
      restPose: [],
      weakEvidenceAsked: false,
    });
  }

  /** Participant left: an active challenge is cancelled, state dropped. */
  removeParticipant(peerId: string): void {
    const p = this.participants.get(peerId);
    if (!p) return;
    if (p.active) this.cancelRun(p, 'participant left');
    this.participants.delete(peerId);
  }

  /** Normal speech feeds the baseline; during a challenge's response window it is the response. */
  pushAudio(peerId: string, chunk: AudioChunk): void {
    const p = this.participants.get(peerId);
    if (!p || this.closed) return;
    let samples = chunk.samples;
    if (!(samples instanceof Float32Array) || samples.length === 0 || !(chunk.sampleRate >= 8000)) {
      degradedTotal.inc({ reason: 'bad-audio' });
      return;
    }
    // Drop what overlaps audio already received (sliding windows upstream).
    if (chunk.wallStart < p.lastAudioEnd) {
      const overlap = Math.round(((p.lastAudioEnd - chunk.wallStart) / 1000) * chunk.sampleRate);
      // Sliding analysis windows overlap by design: trimming them is normal, not degraded input.
      if (overlap >= samples.length) return;
      samples = samples.subarray(overlap);
    }
    p.lastAudioEnd = Math.max(p.lastAudioEnd, chunk.wallEnd);
    if (chunk.sampleRate !== SR) samples = resample(samples, chunk.sampleRate, SR);
    const run = p.active;
    if (run && run.challenge.state !== 'issued' && run.challenge.state !== 'prompting' && chunk.wallEnd > run.responseStart && chunk.wallStart < run.responseEnd) {
      if (run.audioSamples + samples.length <= this.options.maxResponseSec * SR) {
        run.audio.push(samples.slice());
        run.audioSamples += samples.length;
      } else degradedTotal.inc({ reason: 'response-too-long' });
      return;
    }
    if (run) return; // audio during the prompt is neither baseline nor response
    this.feedBaseline(p, samples);
  }

  pushFace(peerId: string, obs: FaceObservation): void {
    const p = this.participants.get(peerId);
    if (!p || this.closed) return;
    const run = p.active;
    if (!run) {
      if (obs.faceFound && Number.isFinite(obs.yawDeg) && Number.isFinite(obs.pitchDeg)) {
        p.restPose.push(obs);
        if (p.restPose.length > this.options.poseBaselineFrames) p.restPose.shift();
      }
      return;
    }
    if (obs.detectorScore !== undefined && Number.isFinite(obs.detectorScore) && obs.t >= run.responseStart && obs.t <= run.responseEnd) {
      run.maxPFake = Math.max(Number.isNaN(run.maxPFake) ? 0 : run.maxPFake, obs.detectorScore);
    }
    if (run.challenge.state !== 'awaiting-response' || obs.t < run.responseStart || obs.t > run.responseEnd) return;
    if (run.faces.length < this.options.maxFaceObservations) run.faces.push(obs);
    else degradedTotal.inc({ reason: 'faces-dropped' });
  }

  /** Detector scores: a spike inside the response window is evidence against the caller. */
  pushScore(peerId: string, score: DetectorScore): void {
    const run = this.participants.get(peerId)?.active;
    if (!run || !Number.isFinite(score.pFake)) return;
    const w = verdictWeight(score.weight);
    if (w === 0) return; // a detector the verdict does not trust cannot fail a challenge either
    if (score.wallEnd >= run.responseStart && score.wallEnd <= run.responseEnd + this.options.lateInputGraceMs) {
      run.maxPFake = Math.max(Number.isNaN(run.maxPFake) ? 0 : run.maxPFake, weightedPFake(score.pFake, w));
    }
  }

  /** The verdict turned suspicious: challenge if the policy allows. Returns the challenge or undefined. */
  onSuspicious(peerId: string): Challenge | undefined {
    return this.tryAuto(peerId, 'suspicious');
  }

  /**
   * The verdict leans toward fake without reaching `suspicious` (the caller decides what "leans"
   * means: ChallengeService, DFD_CHALLENGE_LEAN_P): challenge once per participant and call if the
   * policy allows now; a refusal (cooldown, another challenge running) leaves it for a later call.
   * `basis` (the pFake, the threshold it reached, whose threshold) goes out with the `issued` event.
   */
  onWeakEvidence(peerId: string, basis?: ChallengeBasis): Challenge | undefined {
    const p = this.participants.get(peerId);
    if (!p || p.weakEvidenceAsked) return undefined;
    const c = this.tryAuto(peerId, 'weak-evidence', basis);
    if (c) p.weakEvidenceAsked = true;
    return c;
  }

  /**
   * Random spot check on high-risk calls. The manager calls it itself every `spotCheckEveryMs`
   * for each participant heard in that time (`spotCheckRound`); callers may add their own.
   */
  maybeSpotCheck(peerId: string): Challenge | undefined {
    if (!this.policy.spotCheck(this.options.highRisk)) return undefined;
    return this.tryAuto(peerId, 'spot-check');
  }

  /**
   * Starts a challenge now. Throws DfdError: ERR_PEER_NOT_FOUND, ERR_CHALLENGE_ACTIVE,
   * ERR_CHALLENGE_LIMIT, ERR_CHALLENGE_UNAVAILABLE, ERR_CLOSED.
   */
  requestChallenge(peerId: string, trigger: ChallengeTrigger = 'operator', kind?: string, basis?: ChallengeBasis): Challenge {
    this.assertOpen();
    const p = this.participants.get(peerId);
    if (!p) throw new DfdError('ERR_PEER_NOT_FOUND', undefined, { peerId });
    const now = this.options.now();
    const refusal = this.policy.refusal(peerId, trigger, now);
    if (refusal) throw refusal;
    const spec = this.policy.choose(p.profile, this.options.audioOnly, kind);
    const id = randomUUID();
    this.policy.begin(peerId, id, spec.kind, trigger, now);
    const responseMs = (spec.expectedDurationSec + this.options.responseSlackSec) * 1000;
    const challenge = new Challenge({
      id,
      peerId,
      spec,
      trigger,
      now: this.options.now,
      timeouts: { ...this.options.timeouts, awaitingResponseMs: responseMs + this.options.lateInputGraceMs + 5000 },
    });
    const run: ActiveRun = { challenge, responseStart: Infinity, responseEnd: Infinity, audio: [], audioSamples: 0, faces: [], poseBaseline: this.restPoseOf(p), maxPFake: Number.NaN, timer: undefined };
    p.active = run;
    challenge.on('state', (c) => this.onState(p, run, c));
    this.safeEmit('challenge', { phase: 'issued', callId: this.options.callId, challengeId: id, peerId, kind: spec.kind, modality: spec.modality, trigger, promptText: spec.promptText, expectedDurationSec: spec.expectedDurationSec, ...(spec.params.side ? { side: spec.params.side } : {}), ...(basis ? { basis } : {}), at: now });
    log.info('challenge issued', { callId: this.options.callId, challengeId: id, kind: spec.kind, trigger });
    challenge.transition('prompting');
    const play = this.options.playPrompt ? this.options.playPrompt(peerId, spec) : Promise.resolve();
    play.then(
      () => {
        if (challenge.state !== 'prompting') return;
        this.startResponse(run, responseMs);
      },
      (e: unknown) => {
        if (challenge.state !== 'prompting') return;
        log.warn('challenge prompt failed', { challengeId: id, err: toDfdError(e) });
        this.finish(run, 'unclear', { result: 'unclear', measurements: {}, reason: 'prompt could not be played' });
      },
    );
    return challenge;
  }

  /** Registers a listener for outcomes (the verdict engine). Returns an unsubscribe function. */
  onOutcome(listener: (o: ChallengeOutcome) => void): () => void {
    this.outcomeListeners.add(listener);
    return () => this.outcomeListeners.delete(listener);
  }

  baseline(peerId: string): SpeakerBaseline {
    const p = this.participants.get(peerId);
    if (!p) throw new DfdError('ERR_PEER_NOT_FOUND', undefined, { peerId });
    return p.baseline.current();
  }

  activeChallenge(peerId: string): Challenge | undefined {
    return this.participants.get(peerId)?.active?.challenge;
  }

  lastOutcome(peerId: string): ChallengeOutcome | undefined {
    return this.participants.get(peerId)?.lastOutcome;
  }

  /** The human's final say on the participant's last outcome. */
  recordDecision(peerId: string, decision: 'confirm' | 'dismiss', operator: string): OperatorDecision {
    const p = this.participants.get(peerId);
    if (!p) throw new DfdError('ERR_PEER_NOT_FOUND', undefined, { peerId });
    if (decision !== 'confirm' && decision !== 'dismiss') throw new DfdError('ERR_BAD_REQUEST', 'decision must be confirm or dismiss');
    const last = p.lastOutcome;
    if (!last) throw new DfdError('ERR_BAD_REQUEST', 'no challenge outcome to decide on', { peerId });
    const rec: OperatorDecision = { callId: this.options.callId, peerId, challengeId: last.challengeId, decision, operator, evidence: last.evidence, at: this.options.now() };
    p.decisions.push(rec);
    if (p.decisions.length > 50) p.decisions.shift();
    // What the decision does to the verdict (dismissing a pass withdraws `verified`) is the decision layer's
    // (decision/ParticipantDecisions.ts): the verdict is the one place that holds "verified".
    this.safeEmit('decision', rec);
    return rec;
  }

  decisions(peerId: string): readonly OperatorDecision[] {
    return this.participants.get(peerId)?.decisions ?? [];
  }

  close(): void {
    if (this.closed) return;
    clearInterval(this.spotTimer);
    this.spotTimer = undefined;
    for (const p of this.participants.values()) if (p.active) this.cancelRun(p, 'call ended');
    this.closed = true;
    this.participants.clear();
    this.outcomeListeners.clear();
  }

  /**
   * One spot-check round: each participant heard within the last `spotCheckEveryMs` and not being
   * challenged is drawn with the policy's probability (a silent listener has nothing to answer
   * with; cooldown and the per-call maximum still apply).
   */
  private spotCheckRound(): void {
    if (this.closed) return;
    const since = this.options.now() - this.options.spotCheckEveryMs;
    for (const [peerId, p] of [...this.participants]) {
      if (p.active || p.lastAudioEnd < since) continue;
      this.maybeSpotCheck(peerId);
    }
  }

  private tryAuto(peerId: string, trigger: ChallengeTrigger, basis?: ChallengeBasis): Challenge | undefined {
    if (this.closed || !this.participants.has(peerId)) return undefined;
    if (this.policy.refusal(peerId, trigger, this.options.now())) return undefined;
    try {
      return this.requestChallenge(peerId, trigger, undefined, basis);
    } catch (e) {
      const t = autoRefusals.pass();
      if (t.log) log.info('automatic challenge not started', { peerId, trigger, err: e, suppressedSinceLastLine: t.suppressed });
      return undefined;
    }
  }

  private startResponse(run: ActiveRun, responseMs: number): void {
    const now = this.options.now();
    run.responseStart = now;
    run.responseEnd = now + responseMs;
    run.challenge.transition('awaiting-response');
    run.timer = setTimeout(() => {
      run.timer = undefined;
      const p = this.participants.get(run.challenge.peerId);
      if (p && p.active === run && run.challenge.state === 'awaiting-response') void this.evaluate(p, run);
    }, responseMs + this.options.lateInputGraceMs);
    run.timer.unref?.();
  }

  private async evaluate(p: Participant, run: ActiveRun): Promise<void> {
    const c = run.challenge;
    c.transition('evaluating');
    const t0 = performance.now();
    this.safeEmit('challenge', { phase: 'response', callId: this.options.callId, challengeId: c.id, peerId: c.peerId, responseSec: run.audioSamples / SR, observations: run.faces.length, at: this.options.now() });
    let check: CheckOutcome;
    let outcome: OutcomeState;
    try {
      check = await this.runChecker(p, run);
      const spike = run.maxPFake >= this.options.spikeThreshold;
      const noResponse = check.result === 'unclear' && (check.reason === 'silence' || check.reason === 'too few video frames') && run.audioSamples + run.faces.length === 0;
      if (spike) outcome = 'failed';
      else if (noResponse) outcome = 'timed-out';
      else outcome = check.result === 'pass' ? 'passed' : check.result === 'fail' ? 'non-compliant' : 'unclear';
      if (spike) check = { ...check, reason: `detector spike during the response; ${check.reason}` };
    } catch (e) {
      // The analysis worker closes at shutdown: a challenge still being judged then is expected, not an error.
      if (isDfdError(e, 'ERR_CLOSED')) log.debug('challenge evaluation cut by shutdown', { challengeId: c.id });
      else log.error('challenge evaluation failed', { challengeId: c.id, err: e });
      check = { result: 'unclear', measurements: {}, reason: 'evaluation failed' };
      outcome = 'unclear';
    }
    evaluationSeconds.observe((performance.now() - t0) / 1000);
    if (c.state === 'evaluating') this.finish(run, outcome, check);
  }

  private async runChecker(p: Participant, run: ActiveRun): Promise<CheckOutcome> {
    const spec = run.challenge.spec;
    const entry = catalogueEntry(spec.kind);
    if (!entry) return { result: 'unclear', measurements: {}, reason: 'unknown challenge kind' };
    if (entry.modality === 'audio') {
      const all = new Float32Array(run.audioSamples);
      let off = 0;
      for (const a of run.audio) {
        all.set(a, off);
        off += a.length;
      }
      const analysis = await this.analyse(all, { kind: 'response' });
      const baseline = p.baseline.current();
      const res = entry.check({ analysis, baseline, params: spec.params });
      return { ...res, measurements: { ...res.measurements, baselinePersonal: baseline.personal ? 1 : 0, baselineSpeechSec: baseline.speechSeconds } };
    }
    const res = entry.check({ observations: run.faces, params: spec.params, ...(run.poseBaseline ? { poseBaseline: run.poseBaseline } : {}) });
    return { ...res, measurements: { ...res.measurements, poseBaselineFrames: run.poseBaseline?.frames ?? 0 } };
  }

  /** Medians of the recent resting-pose frames, when there are enough. */
  private restPoseOf(p: Participant): PoseBaseline | undefined {
    if (p.restPose.length < this.options.minPoseBaselineFrames) return undefined;
    return restingPose(p.restPose);
  }

  private finish(run: ActiveRun, outcome: OutcomeState, check: CheckOutcome): void {
    this.lastCheck.set(run.challenge.id, check);
    run.challenge.transition(outcome, check.reason);
  }

  /** Every terminal state ends up here, whether reached by evaluation, deadline or cancel. */
  private onState(p: Participant, run: ActiveRun, change: StateChange): void {
    const c = run.challenge;
    if (!c.terminal) return;
    if (run.timer) clearTimeout(run.timer);
    run.timer = undefined;
    if (p.active === run) p.active = undefined;
    this.policy.end(c.peerId, c.id);
    const now = this.options.now();
    if (change.to === 'cancelled') {
      challengesTotal.inc({ kind: c.spec.kind, outcome: 'cancelled' });
      this.safeEmit('challenge', { phase: 'cancelled', callId: this.options.callId, challengeId: c.id, peerId: c.peerId, reason: change.reason, at: now });
      return;
    }
    const outcome = change.to as OutcomeState;
    const evidence: Evidence = evidenceOf(outcome);
    const result = this.lastCheck.get(c.id);
    this.lastCheck.delete(c.id);
    const o: ChallengeOutcome = {
      callId: this.options.callId,
      challengeId: c.id,
      peerId: c.peerId,
      kind: c.spec.kind,
      modality: c.spec.modality,
      trigger: c.trigger,
      outcome,
      evidence,
      measurements: result?.measurements ?? {},
      reason: change.reason === 'deadline' ? `no result before the ${change.from} deadline` : change.reason,
      detectorMaxPFake: run.maxPFake,
      at: now,
    };
    // A pass vouches for the participant until then; the decision layer puts that into the verdict.
    if (outcome === 'passed') o.verifiedUntil = now + this.options.verifiedForMs;
    p.lastOutcome = o;
    challengesTotal.inc({ kind: c.spec.kind, outcome });
    log.info('challenge finished', { callId: this.options.callId, challengeId: c.id, kind: c.spec.kind, outcome });
    this.safeEmit('challenge', { phase: 'outcome', ...o });
    for (const l of this.outcomeListeners) {
      try {
        l(o);
      } catch (e) {
        log.error('outcome listener threw', { err: e });
      }
    }
  }

  private cancelRun(p: Participant, reason: string): void {
    p.active?.challenge.cancel(reason);
  }

  private feedBaseline(p: Participant, samples: Float32Array): void {
    const chunkSamples = this.options.baselineChunkSec * SR;
    if (p.firstSpeechAt === 0) p.firstSpeechAt = this.options.now();
    p.pending.push(samples.slice());
    p.pendingSamples += samples.length;
    if (p.pendingSamples < chunkSamples) return;
    const all = new Float32Array(p.pendingSamples);
    let off = 0;
    for (const s of p.pending) {
      all.set(s, off);
      off += s.length;
    }
    p.pending = [];
    p.pendingSamples = 0;
    if (p.baseline.ready && ++p.chunksSinceReady % this.options.baselineRefreshEvery !== 0) return;
    if (p.baselineBusy) {
      degradedTotal.inc({ reason: 'baseline-busy' });
      return;
    }
    p.baselineBusy = true;
    const personal = p.baseline.ready;
    this.analyse(all, { kind: 'baseline', personal }).then(
      (a) => {
        p.baselineBusy = false;
        p.baseline.add(a.measurements);
        if (!personal && p.baseline.ready) baselineReadySeconds.observe((this.options.now() - p.firstSpeechAt) / 1000);
      },
      (e: unknown) => {
        p.baselineBusy = false;
        degradedTotal.inc({ reason: 'baseline-analysis-failed' });
        const { log: due, suppressed } = baselineWarnings.pass();
        if (due) log.warn('baseline analysis failed', { err: e, suppressedSinceLastLine: suppressed });
      },
    );
  }

  private async analyse(samples: Float32Array, job: AnalysisJob): Promise<AudioAnalysis> {
    const opts = { ...this.options.analyse, sampleRate: SR };
    return this.options.analyser ? this.options.analyser(samples, opts, job) : analyseAudio(samples, opts);
  }

  private assertOpen(): void {
    if (this.closed) throw new DfdError('ERR_CLOSED', 'challenge manager is closed');
  }
}

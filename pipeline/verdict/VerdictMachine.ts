/**
 * The verdict state machine of one participant. Small and explicit; every edge below is
 * tested in VerdictMachine.test.ts.
 *
 * Inputs on each `update()`: fused pFake, the (decayed) seconds of input the detectors scored,
 * and an optional `poorQuality` reason when the usable input is too poor to judge.
 * Thresholds (defaults): minEvidence 0.6 s, keepEvidence 0.3 s, suspiciousEnter 0.60,
 * suspiciousExit 0.45, deepfakeEnter 0.85, deepfakeExit 0.70 (enter > exit: hysteresis).
 *
 *  from             condition (checked in this order)                      to
 *  ---------------  -----------------------------------------------------  ----------------
 *  collecting       poorQuality                                            collecting (reason)
 *  collecting       evidence < minEvidence                                 collecting ("insufficient-evidence")
 *  collecting       p >= deepfakeEnter                                     deepfake-likely
 *  collecting       p >= suspiciousEnter                                   suspicious
 *  collecting       otherwise                                              likely-genuine
 *  likely-genuine   poorQuality                                            collecting (reason)
 *  likely-genuine   evidence < keepEvidence                                collecting ("insufficient-evidence")
 *  likely-genuine   p >= deepfakeEnter                                     deepfake-likely
 *  likely-genuine   p >= suspiciousEnter                                   suspicious
 *  suspicious       poorQuality                                            collecting (reason)
 *  suspicious       evidence < keepEvidence                                collecting ("insufficient-evidence")
 *  suspicious       p >= deepfakeEnter                                     deepfake-likely
 *  suspicious       p < suspiciousExit                                     likely-genuine
 *  deepfake-likely  challenge-failure hold active                          deepfake-likely
 *  deepfake-likely  poorQuality or low evidence                            deepfake-likely (sticky: degrading
 *                                                                          the call cannot clear an alarm)
 *  deepfake-likely  p < suspiciousExit                                     likely-genuine
 *  deepfake-likely  p < deepfakeExit                                       suspicious
 *  verified         now >= verifiedUntil                                   as from collecting
 *  verified         otherwise (scores do not move it)                      verified
 *  any              markVerified(untilMs) (passed challenge)               verified
 *  any              markDeepfakeLikely(reason) (failed challenge)          deepfake-likely, held for
 *                                                                          challengeFailHoldMs
 *  any but          markTakeover(reason) (the voice changed mid-call)      suspicious (reason), held for
 *  deepfake-likely                                                         takeoverHoldMs; ends `verified`
 *  suspicious       takeover hold active, p >= deepfakeEnter               deepfake-likely
 *  suspicious       takeover hold active, otherwise                        suspicious (reason kept)
 *  deepfake-likely  markTakeover(reason)                                   deepfake-likely (reason kept)
 *  verified         revokeVerified(reason) (operator dismissed the pass)   collecting (reason); the next
 *                                                                          update judges afresh
 */

export const VerdictStates = ['collecting', 'likely-genuine', 'suspicious', 'deepfake-likely', 'verified'] as const;
export type VerdictState = (typeof VerdictStates)[number];

export interface VerdictMachineOptions {
  /**
   * Scored input (seconds of speech or face, decayed) needed before leaving `collecting`. Kept
   * short so a call gets a first verdict about a second after speech starts (the early voice
   * window holds at least 0.6 s of speech); how much that verdict rests on is its confidence.
   */
  minEvidence: number;
  /** Below this evidence a judged state falls back to `collecting`. */
  keepEvidence: number;
  suspiciousEnter: number;
  suspiciousExit: number;
  deepfakeEnter: number;
  deepfakeExit: number;
  /** How long a failed challenge pins `deepfake-likely` regardless of scores, ms. */
  challengeFailHoldMs: number;
  /** How long a mid-call takeover pins `suspicious` (the new voice has no evidence of its own yet), ms. */
  takeoverHoldMs: number;
}

export const defaultVerdictMachineOptions: VerdictMachineOptions = {
  minEvidence: 0.6,
  keepEvidence: 0.3,
  suspiciousEnter: 0.6,
  suspiciousExit: 0.45,
  deepfakeEnter: 0.85,
  deepfakeExit: 0.7,
  challengeFailHoldMs: 60_000,
  takeoverHoldMs: 30_000,
};

export interface VerdictInput {
  pFake: number;
  evidence: number;
  /** Set when the input is too poor to judge (e.g. "packet-loss", "narrowband"). */
  poorQuality?: string;
  now: number;
}

export interface Transition {
  from: VerdictState;
  to: VerdictState;
  reason: string | undefined;
  at: number;
}

export const INSUFFICIENT_EVIDENCE = 'insufficient-evidence';

export class VerdictMachine {
  readonly options: VerdictMachineOptions;
  private current: VerdictState = 'collecting';
  private why: string | undefined = INSUFFICIENT_EVIDENCE;
  private verifiedUntil = 0;
  private holdUntil = 0;
  private takeoverUntil = 0;

  constructor(options: Partial<VerdictMachineOptions> = {}) {
    this.options = { ...defaultVerdictMachineOptions, ...options };
    const o = this.options;
    if (!(o.suspiciousExit <= o.suspiciousEnter && o.deepfakeExit <= o.deepfakeEnter && o.suspiciousEnter <= o.deepfakeEnter)) {
      throw new RangeError('verdict thresholds must satisfy exit <= enter and suspicious <= deepfake');
    }
    if (o.keepEvidence > o.minEvidence) throw new RangeError('keepEvidence must not exceed minEvidence');
  }

  get state(): VerdictState {
    return this.current;
  }

  get reason(): string | undefined {
    return this.why;
  }

  /** Until when `verified` holds (ms), 0 when not verified. */
  get verifiedUntilMs(): number {
    return this.current === 'verified' ? this.verifiedUntil : 0;
  }

  update(input: VerdictInput): Transition | undefined {
    const [to, reason] = this.next(input);
    return this.go(to, reason, input.now);
  }

  /** A passed liveness challenge: `verified` until `untilMs`. */
  markVerified(untilMs: number, now: number): Transition | undefined {
    this.verifiedUntil = untilMs;
    this.holdUntil = 0;
    this.takeoverUntil = 0;
    if (untilMs <= now) return undefined;
    return this.go('verified', 'challenge-passed', now);
  }

  /** A failed challenge: `deepfake-likely`, pinned for challengeFailHoldMs. */
  markDeepfakeLikely(reason: string, now: number): Transition | undefined {
    this.holdUntil = now + this.options.challengeFailHoldMs;
    this.verifiedUntil = 0;
    this.takeoverUntil = 0;
    return this.go('deepfake-likely', reason, now);
  }

  /** The pass that made the participant `verified` was withdrawn (an operator dismissed it). */
  revokeVerified(reason: string, now: number): Transition | undefined {
    if (this.current !== 'verified') return undefined;
    this.verifiedUntil = 0;
    return this.go('collecting', reason, now);
  }

  /**
   * The voice (or face) changed mid-call: whoever speaks now has not been judged, and a passed
   * challenge no longer vouches for them. `suspicious` with the reason, pinned for takeoverHoldMs;
   * an alarm already raised stays.
   */
  markTakeover(reason: string, now: number): Transition | undefined {
    this.verifiedUntil = 0;
    if (this.current === 'deepfake-likely') return undefined;
    this.takeoverUntil = now + this.options.takeoverHoldMs;
    return this.go('suspicious', reason, now);
  }

  private next(input: VerdictInput): [VerdictState, string | undefined] {
    const o = this.options;
    const p = input.pFake;
    const lowEvidence = input.evidence < o.keepEvidence;
    switch (this.current) {
      case 'verified':
        if (input.now < this.verifiedUntil) return ['verified', this.why];
        return this.fromCollecting(input);
      case 'collecting':
        return this.fromCollecting(input);
      case 'likely-genuine':
        if (input.poorQuality) return ['collecting', input.poorQuality];
        if (lowEvidence) return ['collecting', INSUFFICIENT_EVIDENCE];
        if (p >= o.deepfakeEnter) return ['deepfake-likely', undefined];
        if (p >= o.suspiciousEnter) return ['suspicious', undefined];
        return ['likely-genuine', undefined];
      case 'suspicious':
        if (input.now < this.takeoverUntil) return p >= o.deepfakeEnter && !lowEvidence && !input.poorQuality ? ['deepfake-likely', this.why] : ['suspicious', this.why];
        if (input.poorQuality) return ['collecting', input.poorQuality];
        if (lowEvidence) return ['collecting', INSUFFICIENT_EVIDENCE];
        if (p >= o.deepfakeEnter) return ['deepfake-likely', undefined];
        if (p < o.suspiciousExit) return ['likely-genuine', undefined];
        return ['suspicious', undefined];
      case 'deepfake-likely':
        if (input.now < this.holdUntil) return ['deepfake-likely', this.why];
        if (input.poorQuality || lowEvidence) return ['deepfake-likely', this.why];
        if (p < o.suspiciousExit) return ['likely-genuine', undefined];
        if (p < o.deepfakeExit) return ['suspicious', undefined];
        return ['deepfake-likely', this.why];
    }
  }

  private fromCollecting(input: VerdictInput): [VerdictState, string | undefined] {
    const o = this.options;
    if (input.poorQuality) return ['collecting', input.poorQuality];
    if (input.evidence < o.minEvidence) return ['collecting', INSUFFICIENT_EVIDENCE];
    if (input.pFake >= o.deepfakeEnter) return ['deepfake-likely', undefined];
    if (input.pFake >= o.suspiciousEnter) return ['suspicious', undefined];
    return ['likely-genuine', undefined];
  }

  private go(to: VerdictState, reason: string | undefined, at: number): Transition | undefined {
    const from = this.current;
    const changed = from !== to || reason !== this.why;
    this.current = to;
    this.why = reason;
    if (to !== 'verified') this.verifiedUntil = 0;
    return changed ? { from, to, reason, at } : undefined;
  }
}

/**
 * Per-track evidence with exponential decay. Each scored window adds its log-odds
 * weighted by how much evidence it carried (seconds of speech, or frames / fps); old
 * evidence fades with a configurable half-life so the verdict follows a swap mid-call.
 *
 *   S <- S * 2^(-dt/halfLife) + w * clamp(logit(pFake))
 *   W <- W * 2^(-dt/halfLife) + w
 *   logOdds = S / W  (a decayed, evidence-weighted mean; 0 without evidence)
 *
 * The mean (not the sum) is used because windows of one call are strongly correlated:
 * more windows make the estimate more certain (W grows), not more extreme. Dropped
 * windows are tracked with the same decay so `droppedFraction` reflects recent overload.
 * Memory is O(1) per track.
 *
 * Besides that weighted evidence, the accumulator keeps the decayed *seconds* of input the
 * windows covered before any detector weight (`seconds`): how much of the participant has
 * been looked at, which is what the verdict machine's evidence gates count, while the
 * weighted evidence sets the verdict's confidence.
 */

export interface EvidenceAccumulatorOptions {
  /** Half-life of evidence, ms. */
  halfLifeMs: number;
  /** Per-window log-odds are clamped to +-this, so one window cannot dominate. */
  maxAbsLogOdds: number;
}

export const defaultEvidenceAccumulatorOptions: EvidenceAccumulatorOptions = {
  halfLifeMs: 30_000,
  maxAbsLogOdds: 4,
};

export interface EvidenceSnapshot {
  /** Decayed, evidence-weighted mean log-odds of fake. */
  logOdds: number;
  /** sigmoid(logOdds); 0.5 without evidence. */
  pFake: number;
  /** Decayed evidence, seconds (weighted by the detectors' verdict weights). */
  evidence: number;
  /** Decayed seconds of input scored, before verdict weights. */
  seconds: number;
  /** All evidence ever added, seconds (not decayed). */
  totalEvidence: number;
  /** Windows scored / dropped, not decayed. */
  windows: number;
  dropped: number;
  /** Decayed fraction of recent windows that were dropped, 0..1. */
  droppedFraction: number;
}

export function logit(p: number): number {
  const q = Math.min(1 - 1e-9, Math.max(1e-9, p));
  return Math.log(q / (1 - q));
}

export function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

export class EvidenceAccumulator {
  readonly options: EvidenceAccumulatorOptions;
  private sum = 0;
  private weight = 0;
  private secs = 0;
  private recentScored = 0;
  private recentDropped = 0;
  private total = 0;
  private windows = 0;
  private droppedCount = 0;
  private last: number | undefined;

  constructor(options: Partial<EvidenceAccumulatorOptions> = {}) {
    this.options = { ...defaultEvidenceAccumulatorOptions, ...options };
    if (!(this.options.halfLifeMs > 0)) throw new RangeError('halfLifeMs must be positive');
  }

  /**
   * Adds one scored window: `evidence` weighted, `seconds` of input it covered (default: the
   * evidence). Non-finite or negative inputs are ignored (counted as nothing).
   */
  addScore(pFake: number, evidence: number, at: number, seconds = evidence): void {
    if (!Number.isFinite(pFake) || !Number.isFinite(evidence) || evidence < 0 || !Number.isFinite(seconds) || seconds < 0) return;
    this.decayTo(at);
    this.secs += seconds;
    const m = this.options.maxAbsLogOdds;
    const z = Math.max(-m, Math.min(m, logit(pFake)));
    this.sum += evidence * z;
    this.weight += evidence;
    this.total += evidence;
    this.windows++;
    this.recentScored++;
  }

  addDropped(count: number, at: number): void {
    if (!(count > 0)) return;
    this.decayTo(at);
    this.droppedCount += count;
    this.recentDropped += count;
  }

  snapshot(now: number): EvidenceSnapshot {
    const f = this.factor(now);
    const weight = this.weight * f;
    const logOdds = this.weight > 0 ? this.sum / this.weight : 0;
    const scored = this.recentScored * f;
    const dropped = this.recentDropped * f;
    return {
      logOdds,
      pFake: sigmoid(logOdds),
      evidence: weight,
      seconds: this.secs * f,
      totalEvidence: this.total,
      windows: this.windows,
      dropped: this.droppedCount,
      droppedFraction: scored + dropped > 0 ? dropped / (scored + dropped) : 0,
    };
  }

  reset(): void {
    this.sum = this.weight = this.secs = this.recentScored = this.recentDropped = this.total = this.windows = this.droppedCount = 0;
    this.last = undefined;
  }

  private factor(now: number): number {
    if (this.last === undefined || now <= this.last) return 1;
    return 2 ** (-(now - this.last) / this.options.halfLifeMs);
  }

  private decayTo(at: number): void {
    // Out-of-order timestamps never decay backwards.
    const f = this.factor(at);
    this.sum *= f;
    this.weight *= f;
    this.secs *= f;
    this.recentScored *= f;
    this.recentDropped *= f;
    if (this.last === undefined || at > this.last) this.last = at;
  }
}

/**
 * Rate limit for keyframe requests (PLI/FIR via mediasoup `consumer.requestKeyFrame()`).
 * Clock values are milliseconds supplied by the caller; a clock that goes backwards
 * (e.g. a test clock mixed with wall time) re-arms the limiter instead of blocking forever.
 */
export class KeyframeRequestLimiter {
  #last = Number.NEGATIVE_INFINITY;
  readonly #intervalMs: number;

  constructor(intervalMs: number) {
    this.#intervalMs = intervalMs;
  }

  /** True when a request may be sent now (and records it). */
  tryAcquire(nowMs: number): boolean {
    if (nowMs - this.#last >= this.#intervalMs || nowMs < this.#last) {
      this.#last = nowMs;
      return true;
    }
    return false;
  }

  reset(): void {
    this.#last = Number.NEGATIVE_INFINITY;
  }
}

/**
 * Extends wrapping counters (16-bit RTP sequence numbers, 32-bit RTP timestamps) to
 * monotonic-looking integers. A value is read as the nearest one to the last value seen,
 * so reordering by up to half the counter range unwraps correctly in both directions.
 * Results stay exact JavaScript integers (well below 2^53 for any real call).
 */
export class WrapUnwrapper {
  readonly #range: number;
  readonly #half: number;
  #last: number | undefined;

  constructor(bits: 16 | 32) {
    this.#range = 2 ** bits;
    this.#half = this.#range / 2;
  }

  /** Last extended value returned, undefined before the first call or after reset(). */
  get last(): number | undefined {
    return this.#last;
  }

  /** Returns the extended value of `raw` without updating the reference point. */
  peek(raw: number): number {
    if (this.#last === undefined) return raw;
    const lastRaw = this.#last % this.#range;
    let delta = raw - lastRaw;
    if (delta > this.#half) delta -= this.#range;
    else if (delta <= -this.#half) delta += this.#range;
    return this.#last + delta;
  }

  /** Extends `raw` and moves the reference point forward (never backward). */
  unwrap(raw: number): number {
    const ext = this.peek(raw);
    // Keep the reference at the highest value seen so late packets do not drag it back.
    if (this.#last === undefined || ext > this.#last) this.#last = ext;
    // The first value of a stream may be read as negative by a late packet; callers see it as late.
    return ext;
  }

  reset(): void {
    this.#last = undefined;
  }
}

/** 16-bit RTP sequence number unwrapper. */
export class SeqUnwrapper extends WrapUnwrapper {
  constructor() {
    super(16);
  }
}

/** 32-bit RTP timestamp unwrapper. */
export class TimestampUnwrapper extends WrapUnwrapper {
  constructor() {
    super(32);
  }
}

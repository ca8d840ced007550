/**
 * At most one log line per interval for a warning that comes in bursts (a join storm filling a
 * queue, say): `pass()` says whether to log now and how many occurrences were held back since
 * the last line, so the line can carry the count. The occurrences themselves belong in a metric;
 * this only keeps the log readable.
 */
export interface LogThrottleOptions {
  /** Shortest time between two lines, ms. */
  intervalMs: number;
  now: () => number;
}

export const defaultLogThrottleOptions: LogThrottleOptions = { intervalMs: 10_000, now: Date.now };

export class LogThrottle {
  readonly options: LogThrottleOptions;
  #lastAt = -Infinity;
  #held = 0;

  constructor(options: Partial<LogThrottleOptions> = {}) {
    this.options = { ...defaultLogThrottleOptions, ...options };
    if (!(this.options.intervalMs >= 0)) throw new RangeError('intervalMs must be >= 0');
  }

  /** One occurrence: `log` true when a line is due now, with `suppressed` occurrences held back since the last one. */
  pass(): { log: boolean; suppressed: number } {
    const now = this.options.now();
    if (now - this.#lastAt < this.options.intervalMs) {
      this.#held++;
      return { log: false, suppressed: this.#held };
    }
    const suppressed = this.#held;
    this.#lastAt = now;
    this.#held = 0;
    return { log: true, suppressed };
  }
}

/**
 * Bounded Float32 ring buffer addressed by absolute sample index: sample i (counted from
 * the first sample ever written) can be read while start <= i < end, where
 * end = samples written and start = max(0, end - capacity). Older samples are overwritten.
 */
import { DfdError } from '../../kernel/errors.js';

export interface RingBufferOptions {
  /** Samples held. */
  capacity: number;
}

export const defaultRingBufferOptions: RingBufferOptions = {
  capacity: 16000 * 10,
};

export class RingBuffer {
  readonly capacity: number;
  readonly #data: Float32Array;
  #end = 0;
  #origin = 0;

  constructor(options: Partial<RingBufferOptions> = {}) {
    const o = { ...defaultRingBufferOptions, ...options };
    if (!Number.isInteger(o.capacity) || o.capacity < 1) throw new DfdError('ERR_CONFIG', 'ring buffer capacity must be a positive integer');
    this.capacity = o.capacity;
    this.#data = new Float32Array(o.capacity);
  }

  /** Absolute index one past the newest sample. */
  get end(): number {
    return this.#end;
  }

  /** Absolute index of the oldest sample still held. */
  get start(): number {
    return Math.max(this.#origin, this.#end - this.capacity);
  }

  get length(): number {
    return this.#end - this.start;
  }

  /** Appends samples (only the last `capacity` of a very long input are kept). */
  write(samples: Float32Array): void {
    const n = samples.length;
    const cap = this.capacity;
    let src = samples;
    if (n > cap) {
      src = samples.subarray(n - cap);
      this.#end += n - cap;
    }
    const m = src.length;
    const pos = this.#end % cap;
    const first = Math.min(m, cap - pos);
    this.#data.set(src.subarray(0, first), pos);
    if (first < m) this.#data.set(src.subarray(first), 0);
    this.#end += m;
  }

  /** Appends `n` zeros. */
  writeZeros(n: number): void {
    const cap = this.capacity;
    if (n > cap) {
      this.#end += n - cap;
      n = cap;
    }
    const pos = this.#end % cap;
    const first = Math.min(n, cap - pos);
    this.#data.fill(0, pos, pos + first);
    if (first < n) this.#data.fill(0, 0, n - first);
    this.#end += n;
  }

  /**
   * Copies samples [from, from + length) into `out` (allocated when omitted) and returns it.
   * Throws DfdError('ERR_RANGE') when any of them is not held.
   */
  read(from: number, length: number, out?: Float32Array): Float32Array {
    if (!Number.isInteger(from) || !Number.isInteger(length) || length < 0 || from < this.start || from + length > this.#end) {
      throw new DfdError('ERR_RANGE', 'ring buffer read outside the held samples', { from, length, start: this.start, end: this.#end });
    }
    const dst = out ?? new Float32Array(length);
    if (dst.length < length) throw new DfdError('ERR_RANGE', 'output array too small', { length, outLength: dst.length });
    const cap = this.capacity;
    const pos = from % cap;
    const first = Math.min(length, cap - pos);
    dst.set(this.#data.subarray(pos, pos + first), 0);
    if (first < length) dst.set(this.#data.subarray(0, length - first), first);
    return dst;
  }

  /** Forgets all samples; the next write starts at absolute index `at` (default: current end). */
  clear(at = this.#end): void {
    this.#end = at;
    this.#origin = at;
  }
}

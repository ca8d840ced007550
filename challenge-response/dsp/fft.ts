/**
 * A small radix-2 FFT for real frames, shared by the spectral measurements.
 * One instance per frame size owns its twiddles, window and scratch buffers, so a
 * measurement over thousands of frames allocates nothing per frame.
 */
import { DfdError } from '../../kernel/errors.js';

export class RealFft {
  readonly size: number;
  /** Number of bins in a power spectrum: size / 2 + 1 (DC .. Nyquist). */
  readonly bins: number;
  private readonly cos: Float64Array;
  private readonly sin: Float64Array;
  private readonly rev: Uint32Array;
  private readonly window: Float64Array;
  private readonly re: Float64Array;
  private readonly im: Float64Array;

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 4 || (size & (size - 1)) !== 0) {
      throw new DfdError('ERR_CONFIG', 'FFT size must be a power of two >= 4', { size });
    }
    this.size = size;
    this.bins = size / 2 + 1;
    this.cos = new Float64Array(size / 2);
    this.sin = new Float64Array(size / 2);
    for (let i = 0; i < size / 2; i++) {
      this.cos[i] = Math.cos((-2 * Math.PI * i) / size);
      this.sin[i] = Math.sin((-2 * Math.PI * i) / size);
    }
    const bits = Math.log2(size);
    this.rev = new Uint32Array(size);
    for (let i = 0; i < size; i++) {
      let r = 0;
      for (let b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
      this.rev[i] = r;
    }
    // Hann window, periodic form.
    this.window = new Float64Array(size);
    for (let i = 0; i < size; i++) this.window[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / size);
    this.re = new Float64Array(size);
    this.im = new Float64Array(size);
  }

  /**
   * Hann-windowed power spectrum of `input[offset .. offset + size)` (zero-padded past
   * the end) into `out` (length >= bins).
   */
  powerSpectrum(input: Float32Array, offset: number, out: Float64Array): void {
    const n = this.size;
    const re = this.re;
    const im = this.im;
    for (let i = 0; i < n; i++) {
      const j = offset + i;
      const v = j < input.length ? (input[j] ?? 0) : 0;
      const k = this.rev[i] ?? 0;
      re[k] = v * (this.window[i] ?? 0);
      im[k] = 0;
    }
    for (let len = 2; len <= n; len <<= 1) {
      const half = len >> 1;
      const step = n / len;
      for (let start = 0; start < n; start += len) {
        for (let k = 0; k < half; k++) {
          const wr = this.cos[k * step] ?? 1;
          const wi = this.sin[k * step] ?? 0;
          const a = start + k;
          const b = a + half;
          const br = re[b] ?? 0;
          const bi = im[b] ?? 0;
          const tr = br * wr - bi * wi;
          const ti = br * wi + bi * wr;
          const ar = re[a] ?? 0;
          const ai = im[a] ?? 0;
          re[b] = ar - tr;
          im[b] = ai - ti;
          re[a] = ar + tr;
          im[a] = ai + ti;
        }
      }
    }
    for (let k = 0; k < this.bins; k++) {
      const r = re[k] ?? 0;
      const i = im[k] ?? 0;
      out[k] = r * r + i * i;
    }
  }
}

/**
 * Streaming band-limited resampler for rational ratios (polyphase windowed-sinc FIR,
 * Kaiser window). The prototype low-pass runs at the upsampled rate L * inRate with its
 * passband edge at `passband` times the lower Nyquist frequency and its stopband edge at
 * that Nyquist frequency, so nothing above the output Nyquist aliases back in.
 *
 * Output sample n is aligned with input time n * inRate / outRate (the filter's group
 * delay is compensated), so chunked processing equals one-shot processing exactly and
 * `flush()` yields the tail. Only the last (taps per phase - 1) input samples are kept.
 */
import { DfdError } from '../../kernel/errors.js';

export interface ResamplerOptions {
  inRate: number;
  outRate: number;
  /** Passband edge as a fraction of the lower Nyquist frequency. */
  passband: number;
  /** Stopband attenuation in dB (sets the Kaiser beta and the filter length). */
  stopbandDb: number;
}

export const defaultResamplerOptions: ResamplerOptions = {
  inRate: 48000,
  outRate: 16000,
  passband: 0.86,
  stopbandDb: 80,
};

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** Zeroth-order modified Bessel function of the first kind (power series). */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const q = (x * x) / 4;
  for (let k = 1; k < 64; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

export class Resampler {
  readonly up: number;
  readonly down: number;
  /** Taps per polyphase branch. */
  readonly tapsPerPhase: number;
  /** Reversed polyphase branches: coefs[p * K + (K - 1 - k)] = L * h[p + k * L]. */
  readonly #coefs: Float32Array;
  readonly #delay: number;
  /** Input history: the buffer holds x[#bufStart .. #bufStart + #bufLen). */
  #buf: Float32Array;
  #bufStart = 0;
  #bufLen = 0;
  /** Total input samples received. */
  #inCount = 0;
  /** Next output index to produce. */
  #outCount = 0;
  #out: Float32Array = new Float32Array(0);
  readonly options: Readonly<ResamplerOptions>;

  constructor(options: Partial<ResamplerOptions> = {}) {
    const o = { ...defaultResamplerOptions, ...options };
    this.options = o;
    if (!Number.isInteger(o.inRate) || !Number.isInteger(o.outRate) || o.inRate <= 0 || o.outRate <= 0) {
      throw new DfdError('ERR_CONFIG', 'resampler rates must be positive integers', { inRate: o.inRate, outRate: o.outRate });
    }
    if (!(o.passband > 0 && o.passband < 1) || !(o.stopbandDb >= 20)) {
      throw new DfdError('ERR_CONFIG', 'resampler passband must be in (0, 1) and stopbandDb >= 20');
    }
    const g = gcd(o.inRate, o.outRate);
    const L = o.outRate / g;
    const M = o.inRate / g;
    if (L > 1024 || M > 1024) throw new DfdError('ERR_CONFIG', 'resampling ratio too complex', { up: L, down: M });
    this.up = L;
    this.down = M;

    // Prototype low-pass at rate fs = L * inRate, in cycles per sample.
    const fs = L * o.inRate;
    const nyq = Math.min(o.inRate, o.outRate) / 2;
    const fPass = (o.passband * nyq) / fs;
    const fStop = nyq / fs;
    const fc = (fPass + fStop) / 2;
    const df = fStop - fPass;
    const A = o.stopbandDb;
    const beta = A > 50 ? 0.1102 * (A - 8.7) : 0.5842 * (A - 21) ** 0.4 + 0.07886 * (A - 21);
    let N = Math.ceil((A - 7.95) / (14.36 * df)) + 1;
    const K = Math.ceil(N / L);
    N = K * L;
    this.tapsPerPhase = K;
    const center = (N - 1) / 2;
    const h = new Float64Array(N);
    const i0b = besselI0(beta);
    for (let i = 0; i < N; i++) {
      const t = i - center;
      const sinc = t === 0 ? 2 * fc : Math.sin(2 * Math.PI * fc * t) / (Math.PI * t);
      const r = (2 * i) / (N - 1) - 1;
      h[i] = sinc * (besselI0(beta * Math.sqrt(Math.max(0, 1 - r * r))) / i0b);
    }
    this.#coefs = new Float32Array(N);
    for (let p = 0; p < L; p++) {
      for (let k = 0; k < K; k++) this.#coefs[p * K + (K - 1 - k)] = L * h[p + k * L]!;
    }
    this.#delay = Math.round(center);
    this.#buf = new Float32Array(K + 4096);
  }

  /** Output samples produced so far. */
  get outputCount(): number {
    return this.#outCount;
  }

  /** Input samples consumed so far. */
  get inputCount(): number {
    return this.#inCount;
  }

  /** Output samples that one-shot processing of everything pushed so far would give. */
  #targetOutputs(): number {
    return Math.ceil((this.#inCount * this.up) / this.down);
  }

  /** A whole signal resampled at once (the filter tail included): a new array of its own. */
  static all(input: Float32Array, inRate: number, outRate: number): Float32Array {
    const r = new Resampler({ inRate, outRate });
    const head = Float32Array.from(r.process(input)); // a copy: process() returns a scratch view
    const tail = r.flush();
    const out = new Float32Array(head.length + tail.length);
    out.set(head, 0);
    out.set(tail, head.length);
    return out;
  }

  /**
   * Feeds input and returns every output sample that is now computable. The result is a
   * view into a scratch buffer, valid until the next call.
   */
  process(input: Float32Array): Float32Array {
    this.#append(input, input.length);
    this.#inCount += input.length;
    return this.#produce(this.#bufStart + this.#bufLen);
  }

  /** Returns the remaining outputs (the filter tail), as if the input continued with zeros. */
  flush(): Float32Array {
    const target = this.#targetOutputs();
    // Inputs needed: base of the last output.
    const lastT = (target - 1) * this.down + this.#delay;
    const need = Math.floor(lastT / this.up) + 1;
    const avail = this.#bufStart + this.#bufLen;
    if (need > avail) this.#append(undefined, need - avail);
    return this.#produce(Math.max(need, avail), target);
  }

  reset(): void {
    this.#bufStart = 0;
    this.#bufLen = 0;
    this.#inCount = 0;
    this.#outCount = 0;
  }

  #append(input: Float32Array | undefined, n: number): void {
    if (this.#bufLen + n > this.#buf.length) {
      const next = new Float32Array(Math.max(this.#buf.length * 2, this.#bufLen + n));
      next.set(this.#buf.subarray(0, this.#bufLen));
      this.#buf = next;
    }
    if (input) this.#buf.set(input.subarray(0, n), this.#bufLen);
    else this.#buf.fill(0, this.#bufLen, this.#bufLen + n);
    this.#bufLen += n;
  }

  /** Produces outputs whose inputs lie below `availEnd` (absolute), up to `limit` outputs. */
  #produce(availEnd: number, limit = Infinity): Float32Array {
    const L = this.up;
    const M = this.down;
    const K = this.tapsPerPhase;
    const coefs = this.#coefs;
    const buf = this.#buf;
    const start = this.#bufStart;
    // Count producible outputs: base(n) = floor((n*M + D) / L) must be < availEnd.
    let n = this.#outCount;
    let end = Math.floor(((availEnd - 1) * L - this.#delay) / M) + 1;
    // base(end-1) < availEnd guaranteed; keep the count sane.
    while (end > n && Math.floor(((end - 1) * M + this.#delay) / L) >= availEnd) end--;
    if (end > limit) end = limit;
    const count = Math.max(0, end - n);
    if (this.#out.length < count) this.#out = new Float32Array(Math.max(count, 1024));
    const out = this.#out;
    for (let j = 0; j < count; j++, n++) {
      const t = n * M + this.#delay;
      const p = t % L;
      const base = (t - p) / L - start;
      const c0 = p * K;
      // y = sum over k of coef[k] * x[base - k]; walked forwards over x[base - K + 1 .. base].
      const x0 = base - K + 1;
      let acc: number;
      if (L === 1 && x0 + start >= 0) {
        // Integer decimation: one symmetric branch, so pair the taps (half the multiplies).
        let a0 = 0;
        let a1 = 0;
        let i = 0;
        let m = K - 1;
        for (; i + 1 < m - 1; i += 2, m -= 2) {
          a0 += coefs[i]! * (buf[x0 + i]! + buf[x0 + m]!);
          a1 += coefs[i + 1]! * (buf[x0 + i + 1]! + buf[x0 + m - 1]!);
        }
        for (; i < m; i++, m--) a0 += coefs[i]! * (buf[x0 + i]! + buf[x0 + m]!);
        if (i === m) a0 += coefs[i]! * buf[x0 + i]!;
        acc = a0 + a1;
      } else if (x0 + start >= 0) {
        let a0 = 0;
        let a1 = 0;
        let a2 = 0;
        let a3 = 0;
        let i = 0;
        for (; i + 3 < K; i += 4) {
          a0 += coefs[c0 + i]! * buf[x0 + i]!;
          a1 += coefs[c0 + i + 1]! * buf[x0 + i + 1]!;
          a2 += coefs[c0 + i + 2]! * buf[x0 + i + 2]!;
          a3 += coefs[c0 + i + 3]! * buf[x0 + i + 3]!;
        }
        for (; i < K; i++) a0 += coefs[c0 + i]! * buf[x0 + i]!;
        acc = a0 + a1 + a2 + a3;
      } else {
        // Stream start: inputs before the first sample are zeros.
        acc = 0;
        for (let i = -(x0 + start); i < K; i++) acc += coefs[c0 + i]! * buf[x0 + i]!;
      }
      out[j] = acc;
    }
    this.#outCount = n;
    // Keep the last K - 1 inputs needed by the next output.
    const nextBase = Math.floor((n * M + this.#delay) / L);
    const keepFrom = Math.max(start, Math.min(nextBase - K + 1, start + this.#bufLen));
    const drop = keepFrom - start;
    if (drop > 0) {
      buf.copyWithin(0, drop, this.#bufLen);
      this.#bufLen -= drop;
      this.#bufStart = keepFrom;
    }
    return out.subarray(0, count);
  }
}

/**
 * Resamples a whole clip (not a stream): exactly floor(n * to / from) samples, filter delay
 * compensated. Rates that are equal return the input itself.
 */
export function resampleClip(input: Float32Array, fromRate: number, toRate: number): Float32Array {
  if (fromRate === toRate) return input;
  const r = new Resampler({ inRate: fromRate, outRate: toRate });
  const head = r.process(input);
  const tail = r.flush();
  const out = new Float32Array(Math.max(1, Math.floor((input.length * toRate) / fromRate)));
  out.set(head.subarray(0, out.length), 0);
  if (head.length < out.length) out.set(tail.subarray(0, out.length - head.length), head.length);
  return out;
}

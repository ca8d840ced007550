/**
 * ITU-T G.722 (11/88 and later), 64 kbit/s mode 1: 16 kHz 16-bit linear PCM <-> one octet per
 * two samples. SIP/RTP: static payload type 9, `G722/8000` (RFC 3551 section 4.5.2 keeps the
 * 8000 Hz RTP clock for historical reasons; the audio is 16 kHz, two samples per clock tick).
 *
 * Algorithm (G.722 sections 3 to 6, names as in the block descriptions of section 6):
 *
 *  - Transmit QMF: the 24-tap symmetric filter h0..h23 (integers, scale 2^13) splits two input
 *    samples into one lower (0-4 kHz) and one higher (4-8 kHz) sub-band sample at 8 kHz:
 *    XA = sum h(2i) xin(j-2i), XB = sum h(2i+1) xin(j-2i-1), XL = XA + XB, XH = XA - XB.
 *  - Lower sub-band, 48 kbit/s ADPCM: EL = XL - SL is quantised with the 60-level (6-bit)
 *    quantiser QUANTL (30 decision levels Q6 times the scale factor DETL, both signs); the
 *    predictor and the scale factor are driven by the 4-bit truncation IL >> 2 only (INVQAL with
 *    QM4), so that the 2 least significant bits could be dropped (modes 2 and 3) without the
 *    encoder and decoder drifting apart. The decoder reconstructs the output with the full
 *    6-bit table QM6 (INVQBL) and limits it to 15 bits.
 *  - Higher sub-band, 16 kbit/s ADPCM: EH = XH - SH, 4-level (2-bit) quantiser QUANTH with one
 *    decision level (564 DETH / 4096), inverse quantiser QM2.
 *  - Scale factors (LOGSCL/SCALEL, LOGSCH/SCALEH): a log-domain factor NB leaks by 127/128 per
 *    sample and steps by WL / WH of the magnitude code, limited to 0..18432 (lower) or 0..22528
 *    (higher); DET = ILB[(NB >> 6) & 31] shifted by NB >> 11, the 32-entry ILB table being
 *    2^(k/32) in 2^11 units.
 *  - Adaptive predictor (block 4, same for both bands): a 2-pole section (A1, A2 fed by the
 *    reconstructed signal R, sign-sign adapted from the partially reconstructed signal P with
 *    the stability limits |A2| <= 12288, |A1| <= 15360 - A2) and a 6-zero section (B1..B6 fed
 *    by the quantised difference D, sign-sign adapted with leak 255/256).
 *  - Receive QMF: XD = RL - RH and XS = RL + RH feed the same 24 coefficients; each octet gives
 *    XOUT1 = 2 sum h(2i) xd(j-i) and XOUT2 = 2 sum h(2i+1) xs(j-i), in that order.
 *
 * All arithmetic is the standard's 16-bit fixed point (products shifted by 15, sums saturated
 * where the blocks say so), so the ADPCM core is bit-exact with the ITU reference. Octet layout
 * (RFC 3551, G.722 figure): IH in the 2 most significant bits, IL in the 6 least.
 *
 * 16-bit PCM: the standard's codec works on 14-bit (QMF in) and 14-bit (QMF out) samples. Like
 * the usual 16-bit deployments (ffmpeg's g722 codec, spandsp) the QMFs here keep the 2 extra
 * bits instead of discarding them: XL = (XA + XB) >> 14 from 16-bit xin, and the output is
 * XOUT >> 11, clipped to int16. With this convention the codec is bit-exact with ffmpeg's
 * g722 encoder (no trellis) and decoder (checked in G722.test.ts).
 *
 * Delay: the two QMFs add 22 samples (1.375 ms at 16 kHz) from encoder input to decoder output
 * (each 24-tap filter delays by 11.5 samples; the transmit QMF's delay counts from the second
 * sample of a pair, while the receive QMF starts its pair at the first, one sample earlier).
 *
 * The classes write into `out` when given (it must be long enough) and return a view of the
 * written part; nothing is allocated per sample.
 */
import { DfdError } from '../../kernel/errors.js';

/** RTP static payload type (RFC 3551). */
export const G722_PAYLOAD_TYPE = 9;
/** RTP timestamp clock of G.722 (RFC 3551): 8000, although the audio is sampled at 16 kHz. */
export const G722_RTP_CLOCK_RATE = 8000;
/** Audio sample rate of G.722. */
export const G722_SAMPLE_RATE = 16000;
/** Codec delay from encoder input to decoder output, in 16 kHz samples (the two 24-tap QMFs). */
export const G722_DELAY_SAMPLES = 22;

/** QMF coefficients h(2i), i = 0..11 (h is symmetric: h(2i+1) = h(22-2i)). */
const H_EVEN = Int32Array.from([3, -11, 12, 32, -210, 951, 3876, -805, 362, -156, 53, -11]);
/** QMF coefficients h(2i+1), i = 0..11. */
const H_ODD = Int32Array.from([-11, 53, -156, 362, -805, 3876, 951, -210, 32, 12, -11, 3]);

/** QUANTL decision levels Q6(1..29) (Q6(0) = 0 is implied; compared as Q6 * DETL >> 12). */
const Q6 = Int32Array.from([
  35, 72, 110, 150, 190, 233, 276, 323, 370, 422, 473, 530, 587, 650, 714, 786, 858, 940, 1023, 1121, 1219, 1339, 1458, 1612, 1765, 1980,
  2195, 2557, 2919,
]);
/** IL for the magnitude interval k (0..29) of a negative EL. */
const ILN = Int32Array.from([63, 62, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4]);
/** IL for the magnitude interval k (0..29) of a positive EL (or zero). */
const ILP = Int32Array.from([61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47, 46, 45, 44, 43, 42, 41, 40, 39, 38, 37, 36, 35, 34, 33, 32]);

/** INVQBL (mode 1): 6-bit inverse quantiser outputs, indexed by IL. Codes 0..3 never come from QUANTL. */
const QM6 = Int32Array.from([
  -136, -136, -136, -136, -24808, -21904, -19008, -16704, -14984, -13512, -12280, -11192, -10232, -9360, -8576, -7856, -7192, -6576, -6000,
  -5456, -4944, -4464, -4008, -3576, -3168, -2776, -2400, -2032, -1688, -1360, -1040, -728, 24808, 21904, 19008, 16704, 14984, 13512, 12280,
  11192, 10232, 9360, 8576, 7856, 7192, 6576, 6000, 5456, 4944, 4464, 4008, 3576, 3168, 2776, 2400, 2032, 1688, 1360, 1040, 728, 432, 136,
  -432, -136,
]);
/** INVQAL: 4-bit inverse quantiser outputs, indexed by IL >> 2. */
const QM4 = Int32Array.from([0, -20456, -12896, -8968, -6288, -4240, -2584, -1200, 20456, 12896, 8968, 6288, 4240, 2584, 1200, 0]);
/** LOGSCL: log scale factor step per 4-bit code IL >> 2 (WL[RIL42[IL >> 2]] of the standard). */
const WL4 = Int32Array.from([-60, 3042, 1198, 538, 334, 172, 58, -30, 3042, 1198, 538, 334, 172, 58, -30, -60]);
/** INVQAH: 2-bit inverse quantiser outputs, indexed by IH. */
const QM2 = Int32Array.from([-7408, -1616, 7408, 1616]);
/** LOGSCH: log scale factor step per IH (WH[RIH2[IH]]). */
const WH2 = Int32Array.from([798, -214, 798, -214]);
/** SCALEL/SCALEH: 2^(k/32) in 2^11 units. */
const ILB = Int32Array.from([
  2048, 2093, 2139, 2186, 2233, 2282, 2332, 2383, 2435, 2489, 2543, 2599, 2656, 2714, 2774, 2834, 2896, 2960, 3025, 3091, 3158, 3228, 3298,
  3371, 3444, 3520, 3597, 3676, 3756, 3838, 3922, 4008,
]);

/** Largest log scale factor NBL (lower band) and NBH (higher band). */
const NBL_MAX = 18432;
const NBH_MAX = 22528;

/** Saturation to the 16-bit two's complement range. */
function sat(x: number): number {
  return x > 32767 ? 32767 : x < -32768 ? -32768 : x;
}

/** SCALEL (shift 8) / SCALEH (shift 10): linear scale factor of a log one. */
function scale(nb: number, shift: number): number {
  const wd = ILB[(nb >> 6) & 31]!;
  const s = shift - (nb >> 11);
  return (s < 0 ? wd << -s : wd >> s) << 2;
}

/** The state of one sub-band's ADPCM (the same in encoder and decoder). */
class Band {
  /** Linear scale factor (DETL / DETH). */
  det = 0;
  /** Log scale factor (NBL / NBH). */
  nb = 0;
  /** Signal estimate (SL / SH). */
  s = 0;
  /** Zero-section output (SZL / SZH). */
  sz = 0;
  /** Pole coefficients. */
  a1 = 0;
  a2 = 0;
  /** Reconstructed signal, one and two samples back. */
  r1 = 0;
  r2 = 0;
  /** Partially reconstructed signal, one and two samples back. */
  p1 = 0;
  p2 = 0;
  /** Quantised difference signal d(j-1..j-6) at indices 1..6. */
  readonly d = new Int32Array(7);
  /** Zero coefficients b1..b6 at indices 1..6. */
  readonly b = new Int32Array(7);

  constructor(private readonly det0: number) {
    this.reset();
  }

  reset(): void {
    this.det = this.det0;
    this.nb = this.s = this.sz = this.a1 = this.a2 = this.r1 = this.r2 = this.p1 = this.p2 = 0;
    this.d.fill(0);
    this.b.fill(0);
  }

  /** Block 4: RECONS, PARREC, UPPOL2, UPPOL1, UPZERO, DELAYA, FILTEP, FILTEZ, PREDIC for the quantised difference `dq`. */
  adapt(dq: number): void {
    const r = sat(this.s + dq);
    const p = sat(this.sz + dq);
    const neg0 = p < 0;
    const same1 = neg0 === this.p1 < 0;
    const same2 = neg0 === this.p2 < 0;
    // UPPOL2
    const wd1 = sat(this.a1 * 4);
    let wd2 = same1 ? -wd1 : wd1;
    if (wd2 > 32767) wd2 = 32767;
    let a2 = (wd2 >> 7) + (same2 ? 128 : -128) + ((this.a2 * 32512) >> 15);
    a2 = a2 > 12288 ? 12288 : a2 < -12288 ? -12288 : a2;
    // UPPOL1
    let a1 = sat((same1 ? 192 : -192) + ((this.a1 * 32640) >> 15));
    const lim = sat(15360 - a2);
    a1 = a1 > lim ? lim : a1 < -lim ? -lim : a1;
    // UPZERO + DELAYA + FILTEZ (zero section)
    const d = this.d;
    const b = this.b;
    const g = dq === 0 ? 0 : 128;
    const negD = dq < 0;
    let sz = 0;
    for (let i = 6; i >= 1; i--) {
      const di = d[i]!;
      b[i] = sat((di < 0 === negD ? g : -g) + ((b[i]! * 32640) >> 15));
    }
    for (let i = 6; i >= 2; i--) d[i] = d[i - 1]!;
    d[1] = dq;
    for (let i = 1; i <= 6; i++) sz += (b[i]! * sat(d[i]! * 2)) >> 15;
    // DELAYA (pole section)
    this.r2 = this.r1;
    this.r1 = r;
    this.p2 = this.p1;
    this.p1 = p;
    this.a1 = a1;
    this.a2 = a2;
    // FILTEP, PREDIC
    const sp = sat(((a1 * sat(r * 2)) >> 15) + ((a2 * sat(this.r2 * 2)) >> 15));
    this.sz = sat(sz);
    this.s = sat(sp + this.sz);
  }
}

/** Lower-band adaptation for the 6-bit code `il`: INVQAL, block 4, LOGSCL, SCALEL. */
function adaptLow(band: Band, il: number): void {
  const ril = il >> 2;
  band.adapt((band.det * QM4[ril]!) >> 15);
  const nb = ((band.nb * 127) >> 7) + WL4[ril]!;
  band.nb = nb < 0 ? 0 : nb > NBL_MAX ? NBL_MAX : nb;
  band.det = scale(band.nb, 8);
}

/** Higher-band adaptation for the 2-bit code `ih` and its quantised difference `dh`: block 4, LOGSCH, SCALEH. */
function adaptHigh(band: Band, ih: number, dh: number): void {
  band.adapt(dh);
  const nb = ((band.nb * 127) >> 7) + WH2[ih]!;
  band.nb = nb < 0 ? 0 : nb > NBH_MAX ? NBH_MAX : nb;
  band.det = scale(band.nb, 10);
}

/** Initial DETL and DETH (G.722 section 6.2: reset state). */
const DETL0 = 32;
const DETH0 = 8;
/** QMF history block: filter taps reach 11 pairs back; the buffers are shifted once per block. */
const HIST = 11;
const BLOCK = 512;

/**
 * Stateful G.722 decoder: one per RTP stream (the ADPCM predictors and the QMF run across
 * packets). Each octet gives two 16 kHz samples.
 */
export class G722Decoder {
  private readonly low = new Band(DETL0);
  private readonly high = new Band(DETH0);
  /** Receive QMF inputs XD and XS, newest at `pos - 1`, HIST older ones before it. */
  private readonly xd = new Int32Array(HIST + BLOCK);
  private readonly xs = new Int32Array(HIST + BLOCK);
  private pos = HIST;

  /** Decodes octets (IH in bits 7-6, IL in bits 5-0) to 2 * codes.length samples. */
  decode(codes: Uint8Array, out?: Int16Array): Int16Array {
    const n = codes.length * 2;
    let o: Int16Array;
    if (out === undefined) o = new Int16Array(n);
    else if (out.length < n) throw new DfdError('ERR_RANGE', 'G.722 output buffer is too short', { need: n, have: out.length });
    else o = out;
    const low = this.low;
    const high = this.high;
    const xd = this.xd;
    const xs = this.xs;
    let pos = this.pos;
    for (let j = 0; j < codes.length; j++) {
      const c = codes[j]!;
      const il = c & 63;
      const ih = c >> 6;
      // Lower band: INVQBL (6 bits) for the output, then the 4-bit adaptation.
      let rl = low.s + ((low.det * QM6[il]!) >> 15);
      rl = rl > 16383 ? 16383 : rl < -16384 ? -16384 : rl;
      adaptLow(low, il);
      // Higher band.
      const dh = (high.det * QM2[ih]!) >> 15;
      let rh = high.s + dh;
      rh = rh > 16383 ? 16383 : rh < -16384 ? -16384 : rh;
      adaptHigh(high, ih, dh);
      // Receive QMF.
      if (pos === xd.length) {
        xd.copyWithin(0, pos - HIST, pos);
        xs.copyWithin(0, pos - HIST, pos);
        pos = HIST;
      }
      xd[pos] = rl - rh;
      xs[pos] = rl + rh;
      let acc1 = 0;
      let acc2 = 0;
      for (let i = 0; i < 12; i++) {
        acc1 += H_EVEN[i]! * xd[pos - i]!;
        acc2 += H_ODD[i]! * xs[pos - i]!;
      }
      pos++;
      acc1 >>= 11;
      acc2 >>= 11;
      o[2 * j] = acc1 > 32767 ? 32767 : acc1 < -32768 ? -32768 : acc1;
      o[2 * j + 1] = acc2 > 32767 ? 32767 : acc2 < -32768 ? -32768 : acc2;
    }
    this.pos = pos;
    return o.subarray(0, n);
  }

  /** Back to the initial state (a new stream). */
  reset(): void {
    this.low.reset();
    this.high.reset();
    this.xd.fill(0);
    this.xs.fill(0);
    this.pos = HIST;
  }
}

/**
 * Stateful G.722 encoder: two 16 kHz samples per octet. An odd trailing sample is kept and
 * paired with the first sample of the next call.
 */
export class G722Encoder {
  private readonly low = new Band(DETL0);
  private readonly high = new Band(DETH0);
  /** Transmit QMF inputs: the first (x0) and second (x1, newer) sample of each pair. */
  private readonly x0 = new Int32Array(HIST + BLOCK);
  private readonly x1 = new Int32Array(HIST + BLOCK);
  private pos = HIST;
  private pending = 0;
  private hasPending = false;

  /** Octets the next `encode` of `samples` samples returns. */
  outputLength(samples: number): number {
    return (samples + (this.hasPending ? 1 : 0)) >> 1;
  }

  /** Encodes 16 kHz 16-bit PCM to octets (IH in bits 7-6, IL in bits 5-0). */
  encode(pcm16k: Int16Array, out?: Uint8Array): Uint8Array {
    const n = this.outputLength(pcm16k.length);
    let o: Uint8Array;
    if (out === undefined) o = new Uint8Array(n);
    else if (out.length < n) throw new DfdError('ERR_RANGE', 'G.722 output buffer is too short', { need: n, have: out.length });
    else o = out;
    let i = 0;
    let k = 0;
    if (this.hasPending && pcm16k.length > 0) {
      o[k++] = this.pair(this.pending, pcm16k[0]!);
      this.hasPending = false;
      i = 1;
    }
    for (; i + 1 < pcm16k.length; i += 2) o[k++] = this.pair(pcm16k[i]!, pcm16k[i + 1]!);
    if (i < pcm16k.length) {
      this.pending = pcm16k[i]!;
      this.hasPending = true;
    }
    return o.subarray(0, n);
  }

  /** Back to the initial state (a new stream); a kept odd sample is dropped. */
  reset(): void {
    this.low.reset();
    this.high.reset();
    this.x0.fill(0);
    this.x1.fill(0);
    this.pos = HIST;
    this.pending = 0;
    this.hasPending = false;
  }

  /** One octet from the samples xin(j-1) = `a` and xin(j) = `b`. */
  private pair(a: number, b: number): number {
    const x0 = this.x0;
    const x1 = this.x1;
    let pos = this.pos;
    if (pos === x0.length) {
      x0.copyWithin(0, pos - HIST, pos);
      x1.copyWithin(0, pos - HIST, pos);
      pos = HIST;
    }
    x0[pos] = a;
    x1[pos] = b;
    // Transmit QMF: XA over the even taps (newest sample first), XB over the odd ones.
    let xa = 0;
    let xb = 0;
    for (let i = 0; i < 12; i++) {
      xa += H_EVEN[i]! * x1[pos - i]!;
      xb += H_ODD[i]! * x0[pos - i]!;
    }
    this.pos = pos + 1;
    const xl = (xa + xb) >> 14;
    const xh = (xa - xb) >> 14;

    // Higher band: SUBTRA, QUANTH, INVQAH, adaptation.
    const high = this.high;
    const eh = sat(xh - high.s);
    const mh = eh < 0 ? ~eh : eh;
    const big = mh >= (564 * high.det) >> 12;
    const ih = eh < 0 ? (big ? 0 : 1) : big ? 2 : 3;
    // Lower band: SUBTRA, QUANTL (30 magnitude intervals, binary search over Q6 * DETL >> 12).
    const low = this.low;
    const el = sat(xl - low.s);
    const ml = el < 0 ? ~el : el;
    const det = low.det;
    let lo = 0;
    let hi = 29;
    // Invariant: the interval k is in [lo, hi]; k = number of levels Q6 * DETL >> 12 <= ml.
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (ml >= (Q6[mid - 1]! * det) >> 12) lo = mid;
      else hi = mid - 1;
    }
    const il = el < 0 ? ILN[lo]! : ILP[lo]!;

    adaptHigh(high, ih, (high.det * QM2[ih]!) >> 15);
    adaptLow(low, il);
    return (ih << 6) | il;
  }
}

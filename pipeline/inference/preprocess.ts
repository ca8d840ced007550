/**
 * Manifest-driven preprocessing, run inside the inference worker. Pure functions on typed
 * arrays so they are testable on their own.
 *
 * Audio: mono float32 -> band-limited resampling to the model rate (pipeline/audio/Resampler.ts) -> keep the LAST maxSeconds
 * (the freshest speech) -> mean removal -> RMS normalisation to `targetDbfs` (default
 * -26 dBFS) with the gain capped at +40 dB so near-silence is not blown up to noise ->
 * hard clip to [-1, 1]. With `normalize: 'none'` (a model that normalises in its graph) the
 * resampled samples go in unchanged, only clipped.
 * Images: HWC uint8 RGB crops -> bilinear resize to the model size if needed -> per
 * channel (v * scale - mean) / std -> NCHW or NHWC, RGB or BGR as the manifest says.
 */
import { resampleClip } from '../audio/Resampler.js';
import type { AudioSpec, ImageSpec } from '../../detectors/registry/Manifest.js';

export const DEFAULT_TARGET_DBFS = -26;
const MAX_GAIN = 100; // +40 dB

/** Number of samples the model sees for a window of `length` samples at `rate`. */
export function audioModelLength(length: number, rate: number, spec: AudioSpec): number {
  const resampled = rate === spec.sampleRate ? length : Math.max(1, Math.floor((length * spec.sampleRate) / rate));
  return Math.min(resampled, Math.round(spec.maxSeconds * spec.sampleRate));
}

export function preprocessAudio(samples: Float32Array, rate: number, spec: AudioSpec, out?: Float32Array): Float32Array {
  let x = resampleClip(samples, rate, spec.sampleRate);
  const maxLen = Math.round(spec.maxSeconds * spec.sampleRate);
  if (x.length > maxLen) x = x.subarray(x.length - maxLen);
  const y = out ?? new Float32Array(x.length);
  if (spec.normalize === 'none') {
    // The model normalises in its graph (e.g. speaker-embed): the samples go in as they are, clipped.
    for (let i = 0; i < x.length; i++) {
      const v = x[i]!;
      y[i] = v > 1 ? 1 : v < -1 ? -1 : Number.isFinite(v) ? v : 0;
    }
    return y;
  }
  let mean = 0;
  for (let i = 0; i < x.length; i++) mean += x[i]!;
  mean /= x.length || 1;
  let energy = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]! - mean;
    energy += v * v;
  }
  const rms = Math.sqrt(energy / (x.length || 1));
  const target = 10 ** ((spec.targetDbfs ?? DEFAULT_TARGET_DBFS) / 20);
  const gain = rms > 0 ? Math.min(MAX_GAIN, target / rms) : 0;
  for (let i = 0; i < x.length; i++) {
    const v = (x[i]! - mean) * gain;
    y[i] = v > 1 ? 1 : v < -1 ? -1 : v;
  }
  return y;
}

/**
 * Writes one HWC uint8 RGB crop (srcW x srcH) into `out` at `offset` in the model's layout.
 * `out` holds at least 3 * spec.width * spec.height floats after `offset`.
 */
export function preprocessImage(crop: Uint8Array, srcW: number, srcH: number, spec: ImageSpec, out: Float32Array, offset: number): void {
  const W = spec.width;
  const H = spec.height;
  const plane = W * H;
  const rgb = spec.channels === 'RGB';
  // Output channel c reads source channel src[c]; value = v * k[c] - m[c].
  const s0 = rgb ? 0 : 2;
  const s2 = rgb ? 2 : 0;
  const k0 = spec.scale / spec.std[0];
  const k1 = spec.scale / spec.std[1];
  const k2 = spec.scale / spec.std[2];
  const m0 = spec.mean[0] / spec.std[0];
  const m1 = spec.mean[1] / spec.std[1];
  const m2 = spec.mean[2] / spec.std[2];
  const nchw = spec.layout === 'NCHW';
  const put = (i: number, a: number, b: number, c: number): void => {
    if (nchw) {
      out[offset + i] = a * k0 - m0;
      out[offset + plane + i] = b * k1 - m1;
      out[offset + 2 * plane + i] = c * k2 - m2;
    } else {
      const o = offset + i * 3;
      out[o] = a * k0 - m0;
      out[o + 1] = b * k1 - m1;
      out[o + 2] = c * k2 - m2;
    }
  };
  if (srcW === W && srcH === H) {
    for (let i = 0; i < plane; i++) {
      const p = i * 3;
      put(i, crop[p + s0]!, crop[p + 1]!, crop[p + s2]!);
    }
    return;
  }
  // Bilinear resize, pixel centres aligned. Column taps and weights are computed once per
  // call; the inner loop has no closures or allocations (this path runs for every frame of
  // every model whose input is not 256x256, e.g. the face-pad models).
  const sx = srcW / W;
  const sy = srcH / H;
  const xa = new Int32Array(W);
  const xb = new Int32Array(W);
  const xw = new Float64Array(W);
  for (let x = 0; x < W; x++) {
    const fx = Math.min(srcW - 1, Math.max(0, (x + 0.5) * sx - 0.5));
    const x0 = Math.floor(fx);
    xa[x] = x0 * 3;
    xb[x] = Math.min(srcW - 1, x0 + 1) * 3;
    xw[x] = fx - x0;
  }
  for (let y = 0; y < H; y++) {
    const fy = Math.min(srcH - 1, Math.max(0, (y + 0.5) * sy - 0.5));
    const y0 = Math.floor(fy);
    const r0 = y0 * srcW * 3;
    const r1 = Math.min(srcH - 1, y0 + 1) * srcW * 3;
    const wy = fy - y0;
    for (let x = 0; x < W; x++) {
      const wx = xw[x]!;
      const a = r0 + xa[x]!;
      const b = r0 + xb[x]!;
      const c = r1 + xa[x]!;
      const d = r1 + xb[x]!;
      const w00 = (1 - wx) * (1 - wy);
      const w01 = wx * (1 - wy);
      const w10 = (1 - wx) * wy;
      const w11 = wx * wy;
      const v0 = crop[a + s0]! * w00 + crop[b + s0]! * w01 + crop[c + s0]! * w10 + crop[d + s0]! * w11;
      const v1 = crop[a + 1]! * w00 + crop[b + 1]! * w01 + crop[c + 1]! * w10 + crop[d + 1]! * w11;
      const v2 = crop[a + s2]! * w00 + crop[b + s2]! * w01 + crop[c + s2]! * w10 + crop[d + s2]! * w11;
      const i = y * W + x;
      if (nchw) {
        out[offset + i] = v0 * k0 - m0;
        out[offset + plane + i] = v1 * k1 - m1;
        out[offset + 2 * plane + i] = v2 * k2 - m2;
      } else {
        const o = offset + i * 3;
        out[o] = v0 * k0 - m0;
        out[o + 1] = v1 * k1 - m1;
        out[o + 2] = v2 * k2 - m2;
      }
    }
  }
}

/**
 * Spectral shape of selected frames: flatness (Wiener entropy: geometric / arithmetic mean
 * of the power spectrum, 0 for a pure tone .. 1 for white noise), the share of energy above
 * a split frequency (a hand over the mouth or a whisper moves it), and the tilt of the
 * long-term spectrum in dB per octave.
 */
import { RealFft } from './fft.js';

export interface SpectrumOptions {
  sampleRate: number;
  fftSize: number;
  /** Band analysed, Hz. */
  minHz: number;
  maxHz: number;
  /** High band starts here, Hz. */
  splitHz: number;
}

export const defaultSpectrumOptions: SpectrumOptions = {
  sampleRate: 16000,
  fftSize: 512,
  minHz: 100,
  maxHz: 7000,
  splitHz: 3000,
};

export interface SpectralShape {
  /** Mean per-frame spectral flatness, 0..1. */
  flatness: number;
  /** Energy above splitHz / energy in [minHz, maxHz], 0..1. */
  highBandRatio: number;
  /** Slope of the long-term spectrum, dB per octave (speech is about -6 .. -12). */
  tiltDbPerOctave: number;
  frames: number;
}

/** Spectral shape over frames starting at `frameStarts` (sample offsets). */
export function spectralShape(samples: Float32Array, frameStarts: ArrayLike<number>, options: Partial<SpectrumOptions> = {}): SpectralShape {
  const o = { ...defaultSpectrumOptions, ...options };
  const fft = new RealFft(o.fftSize);
  const binHz = o.sampleRate / o.fftSize;
  const lo = Math.max(1, Math.round(o.minHz / binHz));
  const hi = Math.min(fft.bins - 1, Math.round(o.maxHz / binHz));
  const split = Math.round(o.splitHz / binHz);
  const power = new Float64Array(fft.bins);
  const longTerm = new Float64Array(fft.bins);
  let flatSum = 0;
  let n = 0;
  for (let f = 0; f < frameStarts.length; f++) {
    fft.powerSpectrum(samples, frameStarts[f] ?? 0, power);
    let logSum = 0;
    let linSum = 0;
    for (let k = lo; k <= hi; k++) {
      const p = (power[k] ?? 0) + 1e-12;
      logSum += Math.log(p);
      linSum += p;
      longTerm[k] = (longTerm[k] ?? 0) + p;
    }
    const bins = hi - lo + 1;
    flatSum += Math.exp(logSum / bins) / (linSum / bins);
    n++;
  }
  if (n === 0) return { flatness: Number.NaN, highBandRatio: Number.NaN, tiltDbPerOctave: Number.NaN, frames: 0 };
  let total = 0;
  let high = 0;
  for (let k = lo; k <= hi; k++) {
    total += longTerm[k] ?? 0;
    if (k >= split) high += longTerm[k] ?? 0;
  }
  // Weighted least squares of dB against log2(f), weight 1/f so each octave counts equally.
  let sw = 0;
  let sx = 0;
  let sy = 0;
  let sxx = 0;
  let sxy = 0;
  for (let k = lo; k <= hi; k++) {
    const x = Math.log2(k * binHz);
    const y = 10 * Math.log10(((longTerm[k] ?? 0) + 1e-12) / n);
    const w = 1 / k;
    sw += w;
    sx += w * x;
    sy += w * y;
    sxx += w * x * x;
    sxy += w * x * y;
  }
  const den = sw * sxx - sx * sx;
  const tilt = den !== 0 ? (sw * sxy - sx * sy) / den : Number.NaN;
  return { flatness: flatSum / n, highBandRatio: total > 0 ? high / total : Number.NaN, tiltDbPerOctave: tilt, frames: n };
}

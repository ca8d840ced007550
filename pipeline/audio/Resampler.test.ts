import { describe, expect, it } from 'vitest';
import { isDfdError } from '../../kernel/errors.js';
import { Resampler } from './Resampler.js';
import { prng } from '../testing/audioSupport.js';

function tone(freq: number, rate: number, n: number): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = Math.sin((2 * Math.PI * freq * i) / rate + 0.3);
  return x;
}

function oneShot(r: Resampler, x: Float32Array): Float32Array {
  const a = Float32Array.from(r.process(x));
  const b = r.flush();
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Power gain in dB of a unit tone, measured away from the edges. */
function gainDb(inRate: number, outRate: number, freq: number): number {
  const r = new Resampler({ inRate, outRate });
  const y = oneShot(r, tone(freq, inRate, inRate));
  const edge = Math.ceil(outRate * 0.05);
  let s = 0;
  for (let i = edge; i < y.length - edge; i++) s += y[i]! * y[i]!;
  return 10 * Math.log10(s / (y.length - 2 * edge) / 0.5 + 1e-30);
}

describe('Resampler 48000 -> 16000', () => {
  it('keeps the passband flat within 0.5 dB up to 0.85 of the output Nyquist', () => {
    for (const f of [50, 300, 1000, 2500, 4000, 5500, 6000, 6500, 6800]) {
      expect(Math.abs(gainDb(48000, 16000, f)), `${f} Hz`).toBeLessThan(0.5);
    }
  });

  it('attenuates tones above the output Nyquist by at least 60 dB', () => {
    for (const f of [8100, 8500, 9000, 11000, 14000, 16000, 19000, 23900]) {
      expect(gainDb(48000, 16000, f), `${f} Hz`).toBeLessThan(-60);
    }
  });

  it('chunked output equals one-shot output exactly, whatever the chunk sizes', () => {
    const rnd = prng(7);
    const x = new Float32Array(48000).map(() => rnd() * 2 - 1);
    const ref = oneShot(new Resampler(), x);
    expect(ref.length).toBe(16000);
    for (const seed of [1, 2, 3]) {
      const r = new Resampler();
      const c = prng(seed);
      const parts: number[] = [];
      let i = 0;
      while (i < x.length) {
        const n = Math.min(x.length - i, Math.floor(c() * 2000));
        for (const v of r.process(x.subarray(i, i + n))) parts.push(v);
        i += n;
      }
      for (const v of r.flush()) parts.push(v);
      expect(parts.length).toBe(ref.length);
      expect(Float32Array.from(parts)).toEqual(ref);
    }
  });

  it('compensates the filter delay: output n is aligned with input 3n', () => {
    const x = new Float32Array(3000);
    x[1500] = 1;
    const y = oneShot(new Resampler(), x);
    let peak = 0;
    for (let i = 1; i < y.length; i++) if (Math.abs(y[i]!) > Math.abs(y[peak]!)) peak = i;
    expect(peak).toBe(500);
  });

  it('keeps bounded state across long streams', () => {
    const r = new Resampler();
    const chunk = tone(1000, 48000, 960);
    let total = 0;
    for (let i = 0; i < 1000; i++) total += r.process(chunk).length;
    expect(total).toBeGreaterThan(1000 * 320 - 100);
    expect(r.inputCount).toBe(1000 * 960);
  });
});

describe('Resampler other ratios', () => {
  it('upsamples 16000 -> 48000 and resamples 44100 -> 16000 with a flat passband', () => {
    expect(Math.abs(gainDb(16000, 48000, 1000))).toBeLessThan(0.5);
    expect(Math.abs(gainDb(44100, 16000, 3000))).toBeLessThan(0.5);
    expect(gainDb(44100, 16000, 12000)).toBeLessThan(-60);
  });

  it('takes the telephone band: 48000 -> 8000 and 8000 -> 16000 (G.711 channel of the eval tool)', () => {
    for (const f of [300, 1000, 3000, 3400]) expect(Math.abs(gainDb(48000, 8000, f)), `${f} Hz`).toBeLessThan(0.5);
    for (const f of [4000, 5000, 8000, 15000]) expect(gainDb(48000, 8000, f), `${f} Hz`).toBeLessThan(-60);
    expect(Math.abs(gainDb(8000, 16000, 1000))).toBeLessThan(0.5);
  });

  it('rejects invalid rates with ERR_CONFIG', () => {
    let err: unknown;
    try {
      new Resampler({ inRate: 0 });
    } catch (e) {
      err = e;
    }
    expect(isDfdError(err, 'ERR_CONFIG')).toBe(true);
  });
});

import { describe, expect, it } from 'vitest';
import { audioWindowIssue } from './audioGate.js';

const SR = 16000;
const tone = (amp: number, dc = 0, n = 2 * SR): Float32Array => new Float32Array(n).map((_, i) => dc + amp * Math.sin((2 * Math.PI * 220 * i) / SR));

describe('audioWindowIssue', () => {
  it('passes ordinary speech-level audio, with or without a DC offset', () => {
    expect(audioWindowIssue(tone(0.1))).toBeUndefined();
    expect(audioWindowIssue(tone(0.1, 0.3))).toBeUndefined();
  });

  it('calls digital silence, pure DC and -70 dBFS hiss silent', () => {
    expect(audioWindowIssue(new Float32Array(SR))).toBe('silent');
    expect(audioWindowIssue(new Float32Array(SR).fill(0.5))).toBe('silent');
    expect(audioWindowIssue(tone(10 ** (-70 / 20) * Math.SQRT2))).toBe('silent');
    expect(audioWindowIssue(new Float32Array(0))).toBe('silent');
  });

  it('calls a hard-clipped window clipped, a few clipped peaks fine', () => {
    const hard = tone(3).map((v) => Math.max(-1, Math.min(1, v)));
    expect(audioWindowIssue(hard)).toBe('clipped');
    const peaks = tone(0.2);
    for (let i = 0; i < 100; i++) peaks[i * 300] = 1;
    expect(audioWindowIssue(peaks)).toBeUndefined();
  });

  it('calls NaN or Infinity non-finite', () => {
    const x = tone(0.1);
    x[123] = Number.NaN;
    expect(audioWindowIssue(x)).toBe('non-finite');
    x[123] = Number.POSITIVE_INFINITY;
    expect(audioWindowIssue(x)).toBe('non-finite');
  });
});

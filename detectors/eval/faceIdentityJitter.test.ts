import { describe, expect, it } from 'vitest';
import { cosDistance, decodeDescriptor, encodeDescriptor, jitterStats, methodOf, percentile, spearman, type JitterFrame } from './faceIdentityJitter.js';

const unit = (angle: number): Float32Array => Float32Array.from([Math.cos(angle), Math.sin(angle), 0, 0]);
const frame = (k: number, angle: number, over: Partial<JitterFrame> = {}): JitterFrame => ({ k, yawDeg: 0, pitchDeg: 0, motion: 1, d: unit(angle), ...over });

describe('faceIdentityJitter helpers', () => {
  it('round-trips descriptors through base64 exactly', () => {
    const d = Float32Array.from([0.1, -0.25, 1e-7, 3]);
    expect(Array.from(decodeDescriptor(encodeDescriptor(d)))).toEqual(Array.from(d));
    expect(Array.from(decodeDescriptor(encodeDescriptor(d.subarray(1, 3))))).toEqual(Array.from(d.subarray(1, 3)));
  });

  it('cosDistance is 1 - cosine, scale-free', () => {
    expect(cosDistance(unit(0), unit(0))).toBeCloseTo(0, 12);
    expect(cosDistance(unit(0), unit(Math.PI / 2))).toBeCloseTo(1, 12);
    expect(cosDistance(Float32Array.from([2, 0]), Float32Array.from([1, 1]))).toBeCloseTo(1 - Math.SQRT1_2, 6);
    expect(cosDistance(Float32Array.from([0, 0]), Float32Array.from([1, 1]))).toBeNaN();
  });

  it('percentile is nearest-rank and NaN when empty', () => {
    expect(percentile([5, 1, 4, 2, 3], 0.5)).toBe(3);
    expect(percentile([5, 1, 4, 2, 3], 0.9)).toBe(5);
    expect(percentile([], 0.9)).toBeNaN();
  });

  it('spearman uses ranks, skips non-finite pairs', () => {
    expect(spearman([1, 2, 3, 4], [10, 20, 30, 1000])).toBeCloseTo(1, 12);
    expect(spearman([1, 2, 3, 4], [4, 3, 2, 1])).toBeCloseTo(-1, 12);
    expect(spearman([1, 2, Number.NaN, 3], [1, 2, 5, 3])).toBeCloseTo(1, 12);
    expect(spearman([1, 2], [1, 2])).toBeNaN();
  });

  it('methodOf follows crops_data.method_of', () => {
    expect(methodOf('FaceForensics++ FaceSwap (graphics-based face swap, c23)')).toBe('FF++ FaceSwap');
    expect(methodOf('roop (inswapper_128 face swap)')).toBe('roop');
    expect(methodOf('Wav2Lip + GFPGAN (lip-sync, face restoration)')).toBe('Wav2Lip + GFPGAN');
  });

  it('jitterStats: a steady identity has no jitter', () => {
    const s = jitterStats(Array.from({ length: 10 }, (_, k) => frame(k, 0)));
    expect(s.frameJitterMean).toBeCloseTo(0, 6);
    expect(s.windowJitterMean).toBeCloseTo(0, 6);
    expect(s.spread).toBeCloseTo(0, 6);
    expect(s.jitterPerMotion).toBeCloseTo(0, 6);
  });

  it('jitterStats: compares only adjacent frontal frames; motion normalises', () => {
    const a = 0.3;
    const frames = [frame(0, 0), frame(1, a, { motion: 2 }), frame(3, 0), frame(4, a, { motion: null }), frame(5, 0, { yawDeg: 60 }), frame(6, a)];
    const s = jitterStats(frames);
    const d = 1 - Math.cos(a);
    // pairs: 0-1 (motion 2) and 3-4 (no motion); 1-3 skips a frame, 4-5 and 5-6 touch a turned face
    expect(s.frameJitterMean).toBeCloseTo(d, 6);
    expect(s.frameJitterP90).toBeCloseTo(d, 6);
    expect(s.jitterPerMotion).toBeCloseTo(d / 2, 6);
    // one window of 5 face frames only: no window pair
    expect(s.windowJitterMean).toBeNaN();
    expect(s.spread).toBeGreaterThan(0);
  });

  it('jitterStats: window descriptors are the most frontal crop of each 5 face frames', () => {
    const frames = [...Array.from({ length: 5 }, (_, k) => frame(k, k === 2 ? 0 : 1, { yawDeg: k === 2 ? 0 : 10 })), ...Array.from({ length: 5 }, (_, k) => frame(k + 5, k === 1 ? 0.5 : 1, { yawDeg: k === 1 ? 1 : 10 }))];
    expect(jitterStats(frames).windowJitterMean).toBeCloseTo(1 - Math.cos(0.5), 6);
  });
});

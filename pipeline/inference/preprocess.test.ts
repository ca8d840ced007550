import { describe, expect, it } from 'vitest';
import { faceManifest, voiceManifest } from '../../detectors/testing/testModels.js';
import { audioModelLength, preprocessAudio, preprocessImage } from './preprocess.js';

const audioSpec = voiceManifest('0'.repeat(64)).audio!;
const imageSpec = faceManifest('0'.repeat(64)).image!;

describe('preprocessAudio', () => {
  it('removes the mean and normalises RMS to -26 dBFS', () => {
    const x = new Float32Array(16000).map((_, i) => 0.5 + 0.01 * Math.sin(i / 3));
    const y = preprocessAudio(x, 16000, audioSpec);
    const mean = y.reduce((a, v) => a + v, 0) / y.length;
    const rms = Math.sqrt(y.reduce((a, v) => a + v * v, 0) / y.length);
    expect(Math.abs(mean)).toBeLessThan(1e-4);
    expect(20 * Math.log10(rms)).toBeCloseTo(-26, 2);
  });

  it('resamples 48 kHz to the model rate and keeps the last maxSeconds', () => {
    const x = new Float32Array(48000 * 5).map((_, i) => Math.sin(i / 10));
    expect(audioModelLength(x.length, 48000, audioSpec)).toBe(64000);
    expect(preprocessAudio(x, 48000, audioSpec).length).toBe(64000);
  });

  it('silence stays silent (no division by zero), output is clipped to [-1, 1]', () => {
    expect(preprocessAudio(new Float32Array(8000), 16000, audioSpec).every((v) => v === 0)).toBe(true);
    const spiky = new Float32Array(16000);
    spiky[5] = 1;
    const y = preprocessAudio(spiky, 16000, audioSpec);
    expect(Math.max(...y)).toBeLessThanOrEqual(1);
    expect(Math.min(...y)).toBeGreaterThanOrEqual(-1);
  });
});

describe('preprocessImage', () => {
  it('maps HWC uint8 to normalised NCHW planes', () => {
    const W = imageSpec.width;
    const crop = new Uint8Array(W * W * 3);
    for (let i = 0; i < W * W; i++) crop.set([255, 128, 0], i * 3);
    const out = new Float32Array(3 * W * W);
    preprocessImage(crop, W, W, imageSpec, out, 0);
    // (v/255 - 0.5) / 0.25
    expect(out[0]).toBeCloseTo(2, 5);
    expect(out[W * W]).toBeCloseTo((128 / 255 - 0.5) / 0.25, 5);
    expect(out[2 * W * W + 17]).toBeCloseTo(-2, 5);
  });

  it('resizes a uniform crop to a uniform image, and BGR/NHWC swap channels and layout', () => {
    const crop = new Uint8Array(100 * 100 * 3);
    for (let i = 0; i < 100 * 100; i++) crop.set([10, 20, 30], i * 3);
    const spec = { ...imageSpec, layout: 'NHWC' as const, channels: 'BGR' as const, scale: 1, mean: [0, 0, 0] as [number, number, number], std: [1, 1, 1] as [number, number, number] };
    const out = new Float32Array(3 * 256 * 256);
    preprocessImage(crop, 100, 100, spec, out, 0);
    expect(Array.from(out.subarray(0, 3))).toEqual([30, 20, 10]);
    expect(Array.from(out.subarray(out.length - 3)).map((v) => Math.round(v * 1000) / 1000)).toEqual([30, 20, 10]);
  });
});

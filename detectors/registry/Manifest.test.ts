import { describe, expect, it } from 'vitest';
import { isDfdError } from '../../kernel/errors.js';
import { voiceManifest } from '../testing/testModels.js';
import { calibrate, calibrationFor, parseManifest } from './Manifest.js';

const SHA = 'a'.repeat(64);

describe('calibration.telephone and calibrationFor', () => {
  it('accepts a manifest with or without a telephone calibration', () => {
    const plain = voiceManifest(SHA);
    expect(parseManifest(plain).calibration.telephone).toBeUndefined();
    const tel = { ...plain, calibration: { ...plain.calibration, telephone: { a: 0.7, b: -2, fittedOn: 'dev split through G.711' } } };
    expect(parseManifest(tel).calibration.telephone).toEqual({ a: 0.7, b: -2, fittedOn: 'dev split through G.711' });
  });

  it('rejects a telephone calibration without a, b or fittedOn', () => {
    const plain = voiceManifest(SHA);
    for (const telephone of [{ a: 1, b: 0 }, { a: 'x', b: 0, fittedOn: '' }, { b: 0, fittedOn: '' }]) {
      let err: unknown;
      try {
        parseManifest({ ...plain, calibration: { ...plain.calibration, telephone } });
      } catch (e) {
        err = e;
      }
      expect(isDfdError(err) && err.code === 'ERR_MODEL_MANIFEST' && err.message.includes('/calibration/telephone')).toBe(true);
    }
  });

  it('picks the telephone (a, b) only for the telephone channel when present', () => {
    const main = { method: 'logistic' as const, a: 0.5, b: -1, fittedOn: 'dev' };
    const withTel = { ...main, telephone: { a: 2, b: 3, fittedOn: 'dev g711' } };
    expect(calibrationFor(withTel, 'telephone')).toEqual({ method: 'logistic', a: 2, b: 3, fittedOn: 'dev g711' });
    expect(calibrationFor(withTel, 'wideband')).toEqual(main);
    expect(calibrationFor(main, 'telephone')).toEqual(main);
    expect(calibrate(calibrationFor(withTel, 'telephone'), 1)).toBeCloseTo(1 / (1 + Math.exp(-(2 * 1 + 3))), 12);
    // calibrate() keeps using the main (a, b) whatever else the object carries.
    expect(calibrate(withTel, 1)).toBeCloseTo(1 / (1 + Math.exp(-(0.5 - 1))), 12);
  });

  it('calibration.suppressed: validated like telephone, picked only for the suppressed channel', () => {
    const plain = voiceManifest(SHA);
    const ns = { a: 3, b: -0.5, fittedOn: 'held-out pages behind WebRTC NS' };
    expect(parseManifest({ ...plain, calibration: { ...plain.calibration, suppressed: ns } }).calibration.suppressed).toEqual(ns);
    expect(() => parseManifest({ ...plain, calibration: { ...plain.calibration, suppressed: { a: 3, b: -0.5 } } })).toThrow(/calibration\/suppressed/);
    const main = { method: 'logistic' as const, a: 0.5, b: -1, fittedOn: 'dev' };
    const both = { ...main, telephone: { a: 2, b: 3, fittedOn: 'g711' }, suppressed: ns };
    expect(calibrationFor(both, 'suppressed')).toEqual({ method: 'logistic', ...ns });
    expect(calibrationFor(both, 'wideband')).toEqual(main);
    expect(calibrationFor(both, 'telephone').a).toBe(2);
    // A manifest without it: suppressed audio falls back to the main (wideband) calibration.
    expect(calibrationFor(main, 'suppressed')).toEqual(main);
  });
});

describe('cascade', () => {
  it('accepts a voice-antispoof stage with everyNthWindow 1..600 and a basis; refuses other values and other tasks', () => {
    const plain = voiceManifest(SHA);
    expect(parseManifest({ ...plain, cascade: { everyNthWindow: 4, basis: 'cost' } }).cascade).toEqual({ everyNthWindow: 4, basis: 'cost' });
    for (const cascade of [{ everyNthWindow: 0, basis: 'x' }, { everyNthWindow: 2.5, basis: 'x' }, { everyNthWindow: 601, basis: 'x' }, { everyNthWindow: 4 }]) {
      expect(() => parseManifest({ ...plain, cascade })).toThrow(/cascade/);
    }
    let err: unknown;
    try {
      parseManifest({ ...plain, task: 'speaker-embed', cascade: { everyNthWindow: 4, basis: 'x' } });
    } catch (e) {
      err = e;
    }
    expect(isDfdError(err) && err.code === 'ERR_MODEL_MANIFEST' && err.message.includes('cascade')).toBe(true);
  });
});

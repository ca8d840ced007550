/** The tenant map on a window's shipped pFake, and the lookup by tenant, detector and channel. */
import { describe, expect, it } from 'vitest';
import { TenantCalibrationSet, applyTenantCalibration } from './TenantCalibration.js';

describe('applyTenantCalibration', () => {
  it('maps the shipped log-odds: z -> a z + b', () => {
    expect(applyTenantCalibration(0.5, { a: 1, b: 0 })).toBeCloseTo(0.5, 12);
    // logit(0.8) = ln 4; a = 0.5, b = -1: 0.5 ln 4 - 1 = ln 2 - 1
    expect(applyTenantCalibration(0.8, { a: 0.5, b: -1 })).toBeCloseTo(1 / (1 + Math.exp(-(Math.log(2) - 1))), 12);
    expect(applyTenantCalibration(1, { a: 2, b: 1.5 })).toBeLessThan(1);
    expect(applyTenantCalibration(0, { a: 2, b: -1.5 })).toBeGreaterThan(0);
  });
});

describe('TenantCalibrationSet', () => {
  it("finds a tenant's entry for its detector and channel only, with the version", () => {
    const set = new TenantCalibrationSet([
      { tenant: 'acme', version: 3, entries: [{ detector: 'voice-antispoof', channel: 'telephone', a: 0.8, b: -0.4 }] },
      { tenant: 'globex', version: 1, entries: [{ detector: 'voice-antispoof', channel: 'wideband', a: 1.2, b: 0.1 }, { detector: 'bad', channel: 'wideband', a: -1, b: 0 }] },
    ]);
    expect(set.for('acme', 'voice-antispoof', 'telephone')).toEqual({ version: 3, entry: { detector: 'voice-antispoof', channel: 'telephone', a: 0.8, b: -0.4 } });
    expect(set.for('acme', 'voice-antispoof', 'wideband')).toBeUndefined();
    expect(set.for('acme', 'face-forgery', 'video')).toBeUndefined();
    expect(set.for('default', 'voice-antispoof', 'telephone')).toBeUndefined();
    // A map that is not a map (a <= 0) is never applied.
    expect(set.for('globex', 'bad', 'wideband')).toBeUndefined();
    expect([set.version('acme'), set.version('globex'), set.version('nobody')]).toEqual([3, 1, 0]);
  });

  it("serves noise-suppressed audio with the tenant's own 'suppressed' entry, else its wideband one", () => {
    const wide = { detector: 'voice-antispoof', channel: 'wideband' as const, a: 1.2, b: 0.1 };
    const sup = { detector: 'voice-antispoof', channel: 'suppressed' as const, a: 0.9, b: -0.3 };
    const set = new TenantCalibrationSet([
      { tenant: 'acme', version: 2, entries: [wide] },
      { tenant: 'globex', version: 5, entries: [wide, sup] },
      { tenant: 'initech', version: 1, entries: [{ ...wide, channel: 'telephone' }] },
    ]);
    expect(set.for('acme', 'voice-antispoof', 'suppressed')).toEqual({ version: 2, entry: wide });
    expect(set.for('globex', 'voice-antispoof', 'suppressed')).toEqual({ version: 5, entry: sup });
    expect(set.for('globex', 'voice-antispoof', 'wideband')).toEqual({ version: 5, entry: wide });
    expect(set.for('initech', 'voice-antispoof', 'suppressed')).toBeUndefined(); // never the telephone one
  });
});

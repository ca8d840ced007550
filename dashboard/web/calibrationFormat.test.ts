/** The dashboard's sentences about a tenant's calibration, from the REST answers the service gives. */
import { describe, expect, it } from 'vitest';
import { describeCalibration, describeGroup, describeRejection, parseCalibration } from './calibrationFormat.js';

const record = {
  tenant: 'acme',
  version: 3,
  createdAt: '2026-12-03T10:00:00.000Z',
  createdBy: 'alice',
  action: 'refit',
  entries: [{ detector: 'voice-antispoof', channel: 'telephone', a: 0.8, b: -0.4 }],
  evidence: {
    decisions: 120,
    labelled: { fake: 40, genuine: 70 },
    unlabelled: 10,
    withoutScores: 2,
    superseded: 1,
    groups: [
      { detector: 'voice-antispoof', channel: 'telephone', status: 'applied', counts: { fake: 40, genuine: 68 }, a: 0.8, b: -0.4, atBound: false, cllr: { shipped: 0.91, heldOut: 0.62 }, folds: 5 },
      { detector: 'voice-antispoof', channel: 'wideband', status: 'too-few', counts: { fake: 2, genuine: 0 }, a: 1, b: 0, atBound: false, folds: 0 },
    ],
  },
};

describe('calibration format', () => {
  it('says which version is in force, for what, and on what evidence', () => {
    const c = parseCalibration(record)!;
    expect(describeCalibration(c)).toBe('Version 3, refit by alice: own calibration for voice-antispoof (telephone).');
    expect(c.groups.map(describeGroup)).toEqual([
      "voice-antispoof (telephone): applied, 40 fake / 68 genuine calls, Cllr 0.91 -> 0.62 bits held out, z' = 0.80 z - 0.40",
      'voice-antispoof (wideband): too few decided calls: shipped kept, 2 fake / 0 genuine calls',
    ]);
    expect(describeCalibration(parseCalibration({ ...record, version: 4, action: 'rollback', restores: 0, entries: [] })!)).toBe('Version 4, rolled back to the shipped calibration by alice: shipped calibration.');
  });

  it('explains a refused refit, and ignores answers that are not calibrations', () => {
    expect(describeRejection({ tenant: 'globex', reason: 'too-few', evidence: record.evidence })).toMatch(/^Refit refused \(too few decided calls\); the current calibration stays\. voice-antispoof \(telephone\): applied/);
    expect(parseCalibration({ tenant: 3 })).toBeUndefined();
    expect(parseCalibration(null)).toBeUndefined();
  });
});

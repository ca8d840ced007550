import { describe, expect, it } from 'vitest';
import { declaredProfileStatus, type InstalledSpeakerModel } from './declaredProfileStatus.js';

const installed: InstalledSpeakerModel = { id: 'speaker-embed', version: '1.1.0', profilesFrom: ['1.0.0'] };

describe('declaredProfileStatus', () => {
  it('matches profiles of the installed version and of the versions its manifest lists', () => {
    expect(declaredProfileStatus({ id: 'speaker-embed', version: '1.1.0' }, installed)).toBe('active');
    expect(declaredProfileStatus({ id: 'speaker-embed', version: '1.0.0' }, installed)).toBe('active');
  });

  it('keeps other versions and other models out, with the reason', () => {
    expect(declaredProfileStatus({ id: 'speaker-embed', version: '0.9.0' }, installed)).toBe('other-version');
    expect(declaredProfileStatus({ id: 'speaker-embed', version: '1.0.0' }, { ...installed, profilesFrom: [] })).toBe('other-version');
    expect(declaredProfileStatus({ id: 'ecapa', version: '1.1.0' }, installed)).toBe('other-model');
    expect(declaredProfileStatus({ id: 'speaker-embed', version: '1.1.0' }, undefined)).toBe('no-speaker-model');
  });
});

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DeclaredVoiceRegistry, type DeclaredVoiceRecord } from './DeclaredVoiceRegistry.js';
import { DfdError } from '../kernel/errors.js';

const dirs: string[] = [];
const tmp = (): string => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'dfd-declared-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

const voice = (label: string): Omit<DeclaredVoiceRecord, 'id' | 'createdAt'> => ({
  label,
  profile: Float32Array.from([0.6, 0.8, 0]),
  createdBy: 'operator',
  windows: 6,
  referenceSeconds: 7.5,
  model: { id: 'speaker-embed', version: '1.0.0' },
});

describe('DeclaredVoiceRegistry', () => {
  it('adds and removes voices, announcing the whole list each time; survives a restart from its owner-only file', () => {
    const dir = tmp();
    const r = new DeclaredVoiceRegistry({ dataDir: dir });
    const seen: number[] = [];
    r.on('changed', (vs) => seen.push(vs.length));
    const a = r.add(voice('  Bank IVR  '));
    const b = r.add(voice('TTS user'));
    expect(a.label).toBe('Bank IVR');
    expect(a.id).toMatch(/^dv-[0-9a-f]{12}$/);
    expect(a.id).not.toBe(b.id);
    expect(r.remove(b.id)).toBe(true);
    expect(r.remove(b.id)).toBe(false);
    expect(seen).toEqual([1, 2, 1]);
    const file = path.join(dir, 'declared-voices.json');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const again = new DeclaredVoiceRegistry({ dataDir: dir });
    expect(again.list()).toHaveLength(1);
    const back = again.get(a.id)!;
    expect(back.label).toBe('Bank IVR');
    expect(Array.from(back.profile)).toEqual(Array.from(a.profile));
    expect(back.profile).toBeInstanceOf(Float32Array);
  });

  it('refuses bad labels, non-finite profiles and a full registry with typed errors, changing nothing', () => {
    const r = new DeclaredVoiceRegistry({ maxVoices: 1 });
    const code = (f: () => unknown): string | undefined => {
      try {
        f();
      } catch (e) {
        return e instanceof DfdError ? e.code : 'not a DfdError';
      }
      return undefined;
    };
    expect(code(() => r.add(voice('   ')))).toBe('ERR_BAD_REQUEST');
    expect(code(() => r.add(voice('x'.repeat(129))))).toBe('ERR_BAD_REQUEST');
    expect(code(() => r.add(voice('bell\u0007')))).toBe('ERR_BAD_REQUEST');
    expect(code(() => r.add({ ...voice('nan'), profile: Float32Array.from([Number.NaN]) }))).toBe('ERR_BAD_REQUEST');
    expect(r.list()).toEqual([]);
    r.add(voice('one'));
    expect(code(() => r.add(voice('two')))).toBe('ERR_DECLARED_VOICES_FULL');
    expect(r.list()).toHaveLength(1);
  });

  it('a malformed or foreign file is not loaded (logged), and the registry starts empty', () => {
    for (const content of ['{not json', JSON.stringify({ version: 2, voices: [] }), JSON.stringify({ version: 1, voices: [{ id: '../x', label: 'x' }] })]) {
      const dir = tmp();
      fs.writeFileSync(path.join(dir, 'declared-voices.json'), content);
      expect(new DeclaredVoiceRegistry({ dataDir: dir }).list()).toEqual([]);
    }
  });
});

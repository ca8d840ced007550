import { describe, expect, it } from 'vitest';
import type { AvailableModel } from '../../detectors/registry/ModelRegistry.js';
import type { Manifest } from '../../detectors/registry/Manifest.js';
import { CascadeSampler, withCascadeSetting } from './cascade.js';

describe('CascadeSampler', () => {
  it("takes each stream's 1st, (N+1)th, ... window, streams counted apart", () => {
    const c = new CascadeSampler(3);
    const takenA = Array.from({ length: 7 }, () => c.take('a', 0));
    const takenB = Array.from({ length: 4 }, () => c.take('b', 0));
    expect(takenA).toEqual([true, false, false, true, false, false, true]);
    expect(takenB).toEqual([true, false, false, true]);
  });

  it('defer: a taken window the stage yielded passes the turn to the next window, then the rhythm goes on', () => {
    const c = new CascadeSampler(3);
    expect(c.take('a', 0)).toBe(true);
    c.defer('a');
    expect(c.take('a', 0)).toBe(true); // yielded again
    c.defer('a');
    expect([c.take('a', 0), c.take('a', 0), c.take('a', 0), c.take('a', 0)]).toEqual([true, false, false, true]);
    c.defer('unknown'); // a stream it never gave a window: nothing to pass on
    expect(c.take('unknown', 0)).toBe(true);
  });

  it('every 1 takes every window', () => {
    const c = new CascadeSampler(1);
    expect(Array.from({ length: 4 }, () => c.take('a', 0))).toEqual([true, true, true, true]);
  });

  it('forgets a stream unseen for 5 minutes: it starts again with a taken window', () => {
    const c = new CascadeSampler(4);
    expect([c.take('a', 0), c.take('a', 1000)]).toEqual([true, false]);
    c.take('b', 1000);
    c.take('b', 200_000);
    expect(c.streams).toBe(2);
    // the next sweep (a quarter of the TTL later) removes 'a' (last seen at 1 s) and keeps 'b' (seen at 200 s)
    expect(c.take('b', 301_500)).toBe(false);
    expect(c.streams).toBe(1);
    expect(c.take('a', 302_000)).toBe(true);
    expect(c.take('b', 302_000)).toBe(false);
  });

  it('refuses a non-positive or fractional N', () => {
    expect(() => new CascadeSampler(0)).toThrow(RangeError);
    expect(() => new CascadeSampler(1.5)).toThrow(RangeError);
  });
});

describe('withCascadeSetting', () => {
  const model = (id: string, cascade?: Manifest['cascade']): AvailableModel =>
    ({ id, dir: '/x', modelPath: '/x/model.onnx', manifest: { id, task: 'voice-antispoof', ...(cascade ? { cascade } : {}) } as Manifest });
  const models = [model('voice-antispoof'), model('voice-whisper', { everyNthWindow: 4, basis: 'cost' })];

  it('undefined keeps the manifests, 0 removes the stages, N replaces their N', () => {
    expect(withCascadeSetting(models, undefined).map((m) => m.manifest.cascade?.everyNthWindow)).toEqual([undefined, 4]);
    expect(withCascadeSetting(models, 0).map((m) => m.id)).toEqual(['voice-antispoof']);
    const eight = withCascadeSetting(models, 8);
    expect(eight.map((m) => m.manifest.cascade?.everyNthWindow)).toEqual([undefined, 8]);
    expect(eight[1]?.manifest.cascade?.basis).toBe('cost');
    expect(models[1]?.manifest.cascade?.everyNthWindow).toBe(4); // the registry's models are not changed
  });
});

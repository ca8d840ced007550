/**
 * The labelled set is labelled by construction, so the constructions themselves are
 * checked here with plain signal measurements (not with the checkers under evaluation).
 */
import { describe, expect, it } from 'vitest';
import { catalogueEntry } from '../catalogue.js';
import { analyseAudio } from '../dsp/analyse.js';
import { render, responses, seededRandom, speakers } from './labelledSet.js';
import { videoSequences } from './videoSet.js';

const rms = (x: Float32Array): number => Math.sqrt(x.reduce((a, v) => a + v * v, 0) / Math.max(1, x.length));
const phrase = 'Please bring the yellow umbrella to the station';

describe('labelled set constructions', () => {
  const all = speakers();
  it('has 24 distinct speakers, every language and variant resolvable by espeak-ng', () => {
    expect(all).toHaveLength(24);
    expect(new Set(all.map((s) => s.id)).size).toBe(24);
  });

  it('whispers are unvoiced for every language (espeak-ng drops the variant of some voice names)', () => {
    for (const lang of new Set(all.map((s) => s.lang))) {
      const m = analyseAudio(render(phrase, ['-v', `${lang}+whisper`])).measurements;
      expect(m.voicedFraction, lang).toBeLessThan(0.1);
      expect(m.activeSec, lang).toBeGreaterThan(1);
    }
  });

  it('compliant "softly" is at least 8 dB quieter than the speaker\'s usual voice, compliant "loudly" louder', () => {
    const s = all[5]!;
    const rng = seededRandom(3);
    for (const [kind, sign] of [['speak-softly', -1], ['speak-loudly', 1]] as const) {
      const spec = catalogueEntry(kind)!.make(rng);
      const usual = render(spec.params.phrase!, ['-v', s.voice, '-p', String(s.pitch), '-s', String(s.speed)]);
      for (let i = 0; i < 3; i++) {
        const { compliant } = responses(kind, spec, s, i, rng);
        const db = 20 * Math.log10(rms(compliant.samples) / rms(usual));
        expect(sign * db, `${kind} ${compliant.recipe}`).toBeGreaterThan(sign < 0 ? 8 : 4);
        expect(compliant.compliant).toBe(true);
      }
    }
  });

  it('read twice: the compliant response\'s second reading is clearly faster / slower than the non-compliant one\'s (same first reading and pause)', () => {
    const s = all[2]!;
    const rng = seededRandom(5);
    for (const [kind, sign] of [['read-quickly', -1], ['read-slowly', 1]] as const) {
      const spec = catalogueEntry(kind)!.make(rng);
      const once = render(spec.params.phrase!, ['-v', s.voice, '-p', String(s.pitch), '-s', String(s.speed)]).length;
      for (let i = 0; i < 3; i++) {
        const { compliant, nonCompliant } = responses(kind, spec, s, i, rng);
        expect(compliant.compliant && !nonCompliant.compliant).toBe(true);
        // Both hold the usual reading and the same pause first, so the length difference is the second reading's.
        expect(compliant.samples.length, `${kind} ${compliant.recipe}`).toBeGreaterThan(once * 1.5);
        expect(sign * (compliant.samples.length - nonCompliant.samples.length), `${kind} ${compliant.recipe} vs ${nonCompliant.recipe}`).toBeGreaterThan(0.2 * once);
      }
    }
  });

  it('video sequences: the compliant head turn reaches the asked side, the non-compliant one never does', () => {
    const rng = seededRandom(7);
    for (let i = 0; i < 6; i++) {
      const { compliant, nonCompliant } = videoSequences('head-turn', 'right', 7, i, rng);
      expect(Math.min(...compliant.observations.map((o) => o.yawDeg))).toBeLessThan(-30);
      expect(Math.min(...nonCompliant.observations.map((o) => o.yawDeg))).toBeGreaterThan(-15);
      expect(compliant.observations).toHaveLength(70);
    }
  });
});

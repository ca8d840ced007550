import { describe, expect, it } from 'vitest';
import { catalogue, catalogueEntry, randomMelody } from './catalogue.js';
import { ChallengePolicy, type ParticipantProfile } from './ChallengePolicy.js';
import { measuredChallengeWeights, MIN_WEIGHT, parseChallengeWeights } from './challengeWeights.js';
import { seededRandom } from './eval/labelledSet.js';
import { cryptoRandom } from './random.js';

const both: ParticipantProfile = { peerId: 'a', hasAudio: true, hasVideo: true };

describe('catalogue', () => {
  it('has every required challenge with prompt, duration and checker', () => {
    const ids = catalogue.map((e) => e.id);
    for (const id of ['whisper-phrase', 'speak-softly', 'speak-loudly', 'high-pitch', 'sing-melody', 'cupped-mouth', 'read-quickly', 'read-slowly', 'unusual-words', 'head-turn', 'hand-over-half', 'finger-on-cheek', 'look-up-down']) {
      expect(ids).toContain(id);
    }
    for (const e of catalogue) {
      const s = e.make(cryptoRandom);
      expect(s.kind).toBe(e.id);
      expect(s.modality).toBe(e.modality);
      expect(s.promptText.length).toBeGreaterThan(10);
      expect(s.spoken.text.length).toBeGreaterThan(5);
      expect(s.expectedDurationSec).toBeGreaterThan(1);
      expect(typeof e.check).toBe('function');
    }
  });
  it('randomises parameters: phrases, words, melodies of 3-5 notes, sides', () => {
    const phrases = new Set<string>();
    const words = new Set<string>();
    const sides = new Set<string>();
    for (let i = 0; i < 60; i++) {
      phrases.add(catalogueEntry('whisper-phrase')!.make(cryptoRandom).params.phrase!);
      words.add(catalogueEntry('unusual-words')!.make(cryptoRandom).params.words!.join());
      sides.add(catalogueEntry('head-turn')!.make(cryptoRandom).params.side!);
      const m = randomMelody(cryptoRandom);
      expect(m.length).toBeGreaterThanOrEqual(3);
      expect(m.length).toBeLessThanOrEqual(5);
      const midis = m.map((n) => n.midi);
      expect(Math.max(...midis) - Math.min(...midis)).toBeGreaterThanOrEqual(4);
      for (let k = 1; k < m.length; k++) expect(m[k]!.midi).not.toBe(m[k - 1]!.midi);
    }
    expect(phrases.size).toBeGreaterThan(3);
    expect(words.size).toBeGreaterThan(10);
    expect(sides).toEqual(new Set(['left', 'right']));
    const sing = catalogueEntry('sing-melody')!.make(cryptoRandom);
    expect(sing.spoken.melody).toEqual(sing.params.melody);
  });
});

describe('ChallengePolicy', () => {
  it('enforces one active challenge per participant with ERR_CHALLENGE_ACTIVE', () => {
    const p = new ChallengePolicy();
    p.begin('a', 'c1', 'x', 'operator', 0);
    expect(() => p.begin('a', 'c2', 'x', 'operator', 1)).toThrow(expect.objectContaining({ code: 'ERR_CHALLENGE_ACTIVE' }));
    p.begin('b', 'c3', 'x', 'operator', 1);
    p.end('a', 'c1');
    expect(p.activeChallenge('a')).toBeUndefined();
    expect(() => p.begin('a', 'c4', 'x', 'operator', 2)).not.toThrow();
  });
  it('applies the cooldown to automatic triggers, not to operators', () => {
    const p = new ChallengePolicy({ cooldownMs: 1000 });
    p.begin('a', 'c1', 'x', 'suspicious', 0);
    p.end('a', 'c1');
    expect(p.refusal('a', 'suspicious', 999)).toMatchObject({ code: 'ERR_CHALLENGE_LIMIT', details: { retryInMs: 1 } });
    expect(p.refusal('a', 'spot-check', 500)?.code).toBe('ERR_CHALLENGE_LIMIT');
    expect(p.refusal('a', 'operator', 500)).toBeUndefined();
    expect(p.refusal('a', 'suspicious', 1000)).toBeUndefined();
  });
  it('caps challenges per participant and per call', () => {
    const p = new ChallengePolicy({ cooldownMs: 0, maxPerParticipant: 2, maxPerCall: 3 });
    for (const [peer, id] of [['a', '1'], ['a', '2'], ['b', '3']] as const) {
      p.begin(peer, id, 'x', 'suspicious', 0);
      p.end(peer, id);
    }
    expect(p.refusal('a', 'operator', 0)).toMatchObject({ code: 'ERR_CHALLENGE_LIMIT' });
    expect(p.refusal('c', 'operator', 0)).toMatchObject({ code: 'ERR_CHALLENGE_LIMIT', message: expect.stringContaining('call limit') });
    expect(p.challengesIssued).toBe(3);
  });
  it('offers accessible alternatives and respects audio-only calls', () => {
    const p = new ChallengePolicy();
    for (let i = 0; i < 40; i++) {
      expect(p.choose({ ...both, cannotDoAudio: true }, false).modality).toBe('video');
      expect(p.choose({ ...both, cannotDoVideo: true }, false).modality).toBe('audio');
      expect(p.choose(both, true).modality).toBe('audio');
      expect(p.choose({ ...both, hasVideo: false }, false).modality).toBe('audio');
    }
    expect(() => p.choose({ ...both, cannotDoAudio: true }, true)).toThrow(expect.objectContaining({ code: 'ERR_CHALLENGE_UNAVAILABLE' }));
    expect(() => p.choose(both, true, 'head-turn')).toThrow(expect.objectContaining({ code: 'ERR_CHALLENGE_UNAVAILABLE' }));
    expect(p.choose(both, false, 'head-turn').kind).toBe('head-turn');
  });
  it('picks both modalities at random and avoids repeating the last kind', () => {
    const p = new ChallengePolicy({ cooldownMs: 0, maxPerCall: 1000, maxPerParticipant: 1000 });
    const mods = new Set<string>();
    const kinds = new Set<string>();
    let last = '';
    for (let i = 0; i < 80; i++) {
      const s = p.choose(both, false);
      mods.add(s.modality);
      kinds.add(s.kind);
      expect(s.kind).not.toBe(last);
      p.begin('a', String(i), s.kind, 'operator', i);
      p.end('a', String(i));
      last = s.kind;
    }
    expect(mods).toEqual(new Set(['audio', 'video']));
    expect(kinds.size).toBeGreaterThan(8);
  });
  it('picks kinds within a modality in proportion to their weights', () => {
    const audio = catalogue.filter((e) => e.modality === 'audio').map((e) => e.id);
    const weights = Object.fromEntries(audio.map((id) => [id, id === 'whisper-phrase' ? 1 : 0.1]));
    const p = new ChallengePolicy({ kindWeights: weights, avoidRepeat: false, rng: seededRandom(7) });
    const n = 3000;
    let whisper = 0;
    for (let i = 0; i < n; i++) if (p.choose(both, true).kind === 'whisper-phrase') whisper++;
    const expected = 1 / (1 + 0.1 * (audio.length - 1));
    expect(whisper / n).toBeGreaterThan(expected - 0.05);
    expect(whisper / n).toBeLessThan(expected + 0.05);
    // A kind missing from the table weighs 1; an operator's pick ignores weights.
    expect(new ChallengePolicy({ kindWeights: {} }).choose(both, false, 'unusual-words').kind).toBe('unusual-words');
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => new ChallengePolicy({ kindWeights: { 'high-pitch': bad } })).toThrow(expect.objectContaining({ code: 'ERR_CONFIG' }));
    }
  });
  it('uses the measured clone-discrimination weights by default', () => {
    const measured = measuredChallengeWeights();
    for (const e of catalogue.filter((x) => x.modality === 'audio')) {
      expect(measured[e.id]).toBeGreaterThanOrEqual(MIN_WEIGHT);
      expect(measured[e.id]).toBeLessThanOrEqual(1);
    }
    // The least discriminating kind is asked least often, but still asked.
    const [lowest] = Object.entries(measured).sort((a, b) => a[1] - b[1]);
    if (!lowest) throw new Error('no measured weights');
    const p = new ChallengePolicy({ avoidRepeat: false, rng: seededRandom(3) });
    const counts = new Map<string, number>();
    for (let i = 0; i < 4000; i++) {
      const k = p.choose(both, true).kind;
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    const least = counts.get(lowest[0]) ?? 0;
    expect(least).toBeGreaterThan(0);
    for (const [kind, c] of counts) if (kind !== lowest[0] && (measured[kind] ?? 1) >= 2 * lowest[1]) expect(c).toBeGreaterThan(least);
  });
  it('spot-checks only high-risk calls, at about the configured rate', () => {
    const p = new ChallengePolicy({ spotCheckProbability: 0.5 });
    let n = 0;
    for (let i = 0; i < 400; i++) if (p.spotCheck(true)) n++;
    expect(n).toBeGreaterThan(140);
    expect(n).toBeLessThan(260);
    for (let i = 0; i < 50; i++) expect(p.spotCheck(false)).toBe(false);
    expect(() => new ChallengePolicy({ spotCheckProbability: 2 })).toThrow(expect.objectContaining({ code: 'ERR_CONFIG' }));
  });
});

describe('challenge weights table', () => {
  it('rejects a malformed table with ERR_CONFIG and names what is wrong', () => {
    expect(parseChallengeWeights('{"challenges":{"high-pitch":{"weight":0.5}}}', 't')).toEqual({ 'high-pitch': 0.5 });
    for (const [text, needle] of [
      ['not json', 'not JSON'],
      ['[]', 'no challenges'],
      ['{"challenges":[]}', 'no challenges'],
      ['{"challenges":{"high-pitch":{}}}', 'high-pitch'],
      ['{"challenges":{"high-pitch":{"weight":0.01}}}', 'high-pitch'],
      ['{"challenges":{"high-pitch":{"weight":"1"}}}', 'high-pitch'],
    ] as const) {
      expect(() => parseChallengeWeights(text, 't')).toThrow(expect.objectContaining({ code: 'ERR_CONFIG', message: expect.stringContaining(needle) }));
    }
  });
});

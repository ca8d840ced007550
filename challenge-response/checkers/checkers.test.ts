import { describe, expect, it } from 'vitest';
import { analyseAudio } from '../dsp/analyse.js';
import { midiToHz } from '../dsp/melody.js';
import { BaselineTracker, populationBaseline } from '../SpeakerBaseline.js';
import { concat, espeak, harmonicTone, lowPass, scale, sine, whiteNoise } from '../testing/signals.js';
import { checkCupped } from './cupped.js';
import { checkLoud, checkSoft } from './loudness.js';
import { checkMelody } from './melody.js';
import { checkHighPitch } from './pitch.js';
import { checkFast, checkSlow } from './rate.js';
import type { AudioChecker, ChallengeParams } from './types.js';
import { checkWhisper } from './whisper.js';
import { checkWords } from './words.js';

const phrase = 'The orange boat drifted slowly past the harbour wall';
const baselineTracker = new BaselineTracker();
for (const t of ['Good morning, I wanted to talk about the budget for next year', 'We should meet again on Tuesday afternoon if that works for you']) {
  baselineTracker.add(analyseAudio(espeak(t)).measurements);
}
const baseline = baselineTracker.current();

const run = (check: AudioChecker, samples: Float32Array, params: ChallengeParams = { phrase, syllables: 13 }) => check({ analysis: analyseAudio(samples), baseline, params });

describe('SpeakerBaseline', () => {
  it('becomes personal after enough speech and falls back to population values before', () => {
    expect(baseline.personal).toBe(true);
    expect(baseline.speechSeconds).toBeGreaterThan(4);
    expect(baseline.f0MedianHz).toBeGreaterThan(80);
    const empty = new BaselineTracker();
    expect(empty.add(analyseAudio(whiteNoise(1)).measurements)).toBe(false);
    expect(empty.current()).toEqual({ ...populationBaseline, speechSeconds: 0 });
  });
});

describe('audio checkers on espeak-ng speech', () => {
  const normal = espeak(phrase);
  it('whisper: en+whisper passes, normal voice fails', () => {
    expect(run(checkWhisper, espeak(phrase, ['-v', 'en+whisper'])).result).toBe('pass');
    expect(run(checkWhisper, normal).result).toBe('fail');
  });
  it('soft and loud: -a 20 / -a 200 against the baseline', () => {
    const soft = espeak(phrase, ['-a', '20']);
    const loud = espeak(phrase, ['-a', '200']);
    expect(run(checkSoft, soft).result).toBe('pass');
    expect(run(checkSoft, normal).result).toBe('fail');
    expect(run(checkSoft, loud).result).toBe('fail');
    expect(run(checkLoud, loud).result).toBe('pass');
    expect(run(checkLoud, soft).result).toBe('fail');
  });
  it('high pitch: -p 99 passes, default pitch fails', () => {
    const r = run(checkHighPitch, espeak(phrase, ['-p', '99']));
    expect(r.result).toBe('pass');
    expect(r.measurements['riseSemitones']).toBeGreaterThan(3);
    expect(run(checkHighPitch, normal).result).toBe('fail');
  });
  describe('read twice, quickly / slowly: the second reading timed against the first', () => {
    const usual = espeak(phrase, ['-s', '160']);
    const pause = new Float32Array(SRsec(0.8));
    const twice = (secondSpeed: number): Float32Array => concat(pause, usual, pause, espeak(phrase, ['-s', String(secondSpeed)]), pause);
    it('quickly: a fast second reading passes; the same pace, a slower or a reversed order fails', () => {
      const ok = run(checkFast, twice(270));
      expect(ok).toMatchObject({ result: 'pass', reason: 'second reading faster as asked' });
      expect(ok.measurements['twoReadings']).toBe(1);
      expect(ok.measurements['durationChange']).toBeGreaterThan(1.3);
      expect(ok.measurements['pauseSec']).toBeGreaterThan(0.7);
      expect(run(checkFast, twice(160))).toMatchObject({ result: 'fail', measurements: { twoReadings: 1, durationChange: 1 } });
      expect(run(checkFast, twice(120)).result).toBe('fail');
      // Fast first, then the usual pace: the wrong way round.
      expect(run(checkFast, concat(pause, espeak(phrase, ['-s', '270']), pause, usual, pause)).result).toBe('fail');
    });
    it('slowly: a slow second reading passes; the same pace or a faster one fails', () => {
      const ok = run(checkSlow, twice(80));
      expect(ok).toMatchObject({ result: 'pass', measurements: { twoReadings: 1 } });
      expect(ok.measurements['durationChange']).toBeGreaterThan(1.3);
      expect(run(checkSlow, twice(160)).result).toBe('fail');
      expect(run(checkSlow, twice(270)).result).toBe('fail');
    });
    it('a near miss (a second reading 5-10 % faster) does not pass', () => {
      expect(run(checkFast, twice(172)).result).not.toBe('pass');
      expect(run(checkSlow, concat(pause, espeak(phrase, ['-s', '172']), pause, usual, pause)).result).not.toBe('pass');
    });
    it('one reading only: falls back to the usual rate, which may pass a clearly different rate but never fails', () => {
      for (const check of [checkFast, checkSlow]) {
        for (const speed of [80, 160, 270]) {
          const out = run(check, concat(pause, espeak(phrase, ['-s', String(speed)]), pause));
          expect(out.measurements['twoReadings'], `${speed}`).toBe(0);
          expect(out.result, `${speed}`).not.toBe('fail');
        }
      }
      // The usual pace stays unclear: no second reading, and not clearly different from usual.
      expect(run(checkFast, usual)).toMatchObject({ result: 'unclear', measurements: { twoReadings: 0 } });
      expect(run(checkFast, usual).reason).toMatch(/no two readings found/);
      // Far slower than usual read once still passes "read slowly" on the fallback.
      expect(run(checkSlow, espeak(phrase, ['-s', '80'])).result).toBe('pass');
    });
    it('a second reading cut off by the end of the response cannot pass "quickly" or fail "slowly"', () => {
      const slow = espeak(phrase, ['-s', '80']);
      // The slow reading cut after 70 % of it: it looks faster than it was.
      const cutSlow = run(checkSlow, concat(pause, usual, pause, slow.subarray(0, Math.round(slow.length * 0.7))));
      expect(cutSlow.measurements['secondReadingCut'], JSON.stringify(cutSlow)).toBe(1);
      // Still clearly slower than the first reading: a lower bound on the duration, so it passes.
      expect(cutSlow.result).toBe('pass');
      const fast = espeak(phrase, ['-s', '200']);
      const cutFast = run(checkFast, concat(pause, usual, pause, fast.subarray(0, Math.round(fast.length * 0.75))));
      // Cut to 75 % it would measure about 1.5x faster: not a pass.
      expect(cutFast).toMatchObject({ result: 'unclear', reason: 'second reading cut off at the end of the response', measurements: { secondReadingCut: 1 } });
      // Not cut: the same slow reading with silence after it passes.
      expect(run(checkSlow, twice(80)).measurements['secondReadingCut']).toBe(0);
    });
    it('one reading with a long pause in the middle is not taken for two readings (too few syllables for the phrase twice)', () => {
      const halves = concat(pause, espeak('The orange boat drifted'), pause, espeak('slowly past the harbour wall'), pause);
      for (const check of [checkFast, checkSlow]) {
        const out = check({ analysis: analyseAudio(halves), baseline, params: { phrase, syllables: 13 } });
        expect(out.measurements['twoReadings'], out.reason).toBe(0);
        expect(out.result).not.toBe('fail');
        // Without the phrase's syllable count the halves would be split as two "readings".
        expect(check({ analysis: analyseAudio(halves), baseline, params: { phrase } }).measurements['twoReadings']).toBe(1);
      }
    });
    it('two readings without a pause between them fall back too', () => {
      // espeak-ng pads its output with silence: trim it so that the readings run into each other.
      const trim = (x: Float32Array): Float32Array => {
        const on = (v: number): boolean => Math.abs(v) > 0.01;
        return x.subarray(x.findIndex(on), x.findLastIndex(on) + 1);
      };
      const out = run(checkFast, concat(pause, trim(usual), trim(espeak(phrase, ['-s', '270'])), pause));
      expect(out.measurements['twoReadings']).toBe(0);
      expect(out.result).not.toBe('fail');
    });
  });
  it('cupped hands: low-passed speech passes, plain speech fails', () => {
    expect(run(checkCupped, lowPass(normal, 1000, 4)).result).toBe('pass');
    expect(run(checkCupped, normal).result).toBe('fail');
  });
  it('unusual words: speech of the right length passes, one short word fails', () => {
    const words = ['syzygy', 'kerfuffle', 'Reykjavik'];
    expect(run(checkWords, espeak(words.join(', ')), { words, syllables: 9 }).result).toBe('pass');
    expect(run(checkWords, espeak('no'), { words, syllables: 9 }).result).not.toBe('pass');
  });
  it('melody: a hummed copy passes, speech and a wrong tune fail', () => {
    const melody = [
      { midi: 55, durationSec: 0.5 },
      { midi: 59, durationSec: 0.5 },
      { midi: 64, durationSec: 0.5 },
      { midi: 57, durationSec: 0.5 },
    ];
    const hum = (notes: typeof melody, shift: number) => concat(...notes.map((n) => harmonicTone(midiToHz(n.midi + shift), 0.6, 0.2)));
    expect(run(checkMelody, hum(melody, -12), { melody }).result).toBe('pass');
    // Uneven tempo and a slightly flat singer still pass.
    const sloppy = concat(...melody.map((n, i) => harmonicTone(midiToHz(n.midi - 0.4), [0.5, 0.8, 0.6, 0.9][i]!, 0.2)));
    expect(run(checkMelody, sloppy, { melody }).result).toBe('pass');
    expect(run(checkMelody, hum([...melody].reverse(), 0), { melody }).result).toBe('fail');
    expect(run(checkMelody, harmonicTone(180, 2, 0.2), { melody }).result).toBe('fail');
    expect(run(checkMelody, normal, { melody }).result).toBe('fail');
  });
});

describe('unclear responses', () => {
  const checkers: [string, AudioChecker][] = [
    ['whisper', checkWhisper],
    ['soft', checkSoft],
    ['loud', checkLoud],
    ['pitch', checkHighPitch],
    ['fast', checkFast],
    ['slow', checkSlow],
    ['cupped', checkCupped],
    ['words', checkWords],
    ['melody', checkMelody],
  ];
  const params: ChallengeParams = { phrase, syllables: 13, melody: [{ midi: 55, durationSec: 0.5 }, { midi: 60, durationSec: 0.5 }] };
  for (const [name, check] of checkers) {
    it(`${name}: silence, noise only, too short and clipping are unclear`, () => {
      const silence = run(check, new Float32Array(SRsec(3)), params);
      expect(silence).toMatchObject({ result: 'unclear', reason: 'silence' });
      expect(run(check, whiteNoise(3, 0.1), params)).toMatchObject({ result: 'unclear', reason: 'noise only, no speech' });
      expect(run(check, concat(new Float32Array(SRsec(1)), sine(150, 0.3, 0.3), new Float32Array(SRsec(1))), params)).toMatchObject({ result: 'unclear', reason: 'response too short' });
      const clipped = scale(espeak(phrase), 20).map((v) => Math.max(-1, Math.min(1, v)));
      expect(run(check, clipped, params)).toMatchObject({ result: 'unclear', reason: 'clipping' });
    });
  }
});

function SRsec(s: number): number {
  return Math.round(s * 16000);
}

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
  it('read quickly / slowly: -s 260 and -s 80', () => {
    const fast = espeak(phrase, ['-s', '260']);
    const slow = espeak(phrase, ['-s', '80']);
    expect(run(checkFast, fast).result).toBe('pass');
    expect(run(checkFast, slow).result).toBe('fail');
    expect(run(checkSlow, slow).result).toBe('pass');
    expect(run(checkSlow, fast).result).toBe('fail');
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

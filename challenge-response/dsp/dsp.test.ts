import { describe, expect, it } from 'vitest';
import { analyseAudio } from './analyse.js';
import { RealFft } from './fft.js';
import { frameLevels, rmsDbfs } from './level.js';
import { matchMelody, midiToHz } from './melody.js';
import { spectralShape } from './spectrum.js';
import { speechRate } from './speechRate.js';
import { parseWav, resample } from './wav.js';
import { yinTrack } from './yin.js';
import { SR, clickTrain, concat, espeak, harmonicTone, lowPass, sine, syllableBursts, whiteNoise } from '../testing/signals.js';
import { isDfdError } from '../../kernel/errors.js';

const median = (a: Float32Array): number => {
  const v = [...a].filter(Number.isFinite).sort((x, y) => x - y);
  return v[v.length >> 1] ?? Number.NaN;
};

describe('RealFft', () => {
  it('puts a bin-centred sine into its bin', () => {
    const fft = new RealFft(512);
    const out = new Float64Array(fft.bins);
    fft.powerSpectrum(sine(32 * (SR / 512), 0.1), 0, out);
    const peak = out.indexOf(Math.max(...out));
    expect(peak).toBe(32);
  });
  it('rejects sizes that are not powers of two', () => {
    expect(() => new RealFft(500)).toThrow(expect.objectContaining({ code: 'ERR_CONFIG' }));
  });
});

describe('levels', () => {
  it('reads a full-scale sine at -3 dBFS and silence at the floor', () => {
    expect(rmsDbfs(sine(440, 0.5, 1))).toBeCloseTo(-3.01, 1);
    expect(rmsDbfs(new Float32Array(1000))).toBe(-120);
    const lv = frameLevels(concat(new Float32Array(1600), sine(440, 0.1, 0.1)), 400, 160);
    expect(lv[0]).toBe(-120);
    expect(lv[lv.length - 1]).toBeCloseTo(-23, 0);
  });
});

describe('YIN', () => {
  for (const hz of [80, 120, 220, 440, 800]) {
    it(`tracks a ${hz} Hz sine within 1%`, () => {
      const t = yinTrack(sine(hz, 0.5));
      const f = median(t.f0);
      expect(Math.abs(f - hz) / hz).toBeLessThan(0.01);
      expect([...t.f0].filter(Number.isFinite).length).toBeGreaterThan(t.f0.length * 0.9);
    });
  }
  it('finds the fundamental of a harmonic tone, not a harmonic', () => {
    expect(Math.abs(median(yinTrack(harmonicTone(150, 0.5)).f0) - 150)).toBeLessThan(1.5);
  });
  it('leaves white noise and silence unvoiced', () => {
    const n = yinTrack(whiteNoise(0.5));
    expect([...n.f0].filter(Number.isFinite).length / n.f0.length).toBeLessThan(0.05);
    expect([...yinTrack(new Float32Array(8000)).f0].every(Number.isNaN)).toBe(true);
  });
});

describe('spectral shape', () => {
  const starts = (x: Float32Array): number[] => Array.from({ length: Math.floor((x.length - 512) / 160) }, (_, i) => i * 160);
  it('white noise is flat, a harmonic tone is not', () => {
    const noise = whiteNoise(1);
    const tone = harmonicTone(150, 1);
    expect(spectralShape(noise, starts(noise)).flatness).toBeGreaterThan(0.4);
    expect(spectralShape(tone, starts(tone)).flatness).toBeLessThan(0.05);
  });
  it('low-pass filtering lowers the high-band ratio and steepens the tilt', () => {
    const x = espeak('A bright sunny morning in the city');
    const y = lowPass(x, 1000, 4);
    const a = spectralShape(x, starts(x));
    const b = spectralShape(y, starts(y));
    expect(b.highBandRatio).toBeLessThan(a.highBandRatio * 0.3);
    expect(b.tiltDbPerOctave).toBeLessThan(a.tiltDbPerOctave - 3);
  });
});

describe('speech rate', () => {
  it('counts clicks at a known rate (voicing not required)', () => {
    for (const rate of [3, 6]) {
      const x = clickTrain(rate, 4);
      const r = speechRate(frameLevels(x, 800, 160), undefined, 0.01, { requireVoiced: false });
      expect(Math.abs(r.ratePerSec - rate) / rate).toBeLessThan(0.15);
    }
  });
  it('counts voiced syllable-like bursts', () => {
    const m = analyseAudio(syllableBursts(5, 3)).measurements;
    expect(m.syllableRate).toBeGreaterThan(4.2);
    expect(m.syllableRate).toBeLessThan(5.8);
  });
  it('separates slow from fast espeak speech', () => {
    const text = 'The quick brown fox jumps over the lazy dog near the river bank today';
    const slow = analyseAudio(espeak(text, ['-s', '80'])).measurements;
    const fast = analyseAudio(espeak(text, ['-s', '260'])).measurements;
    expect(fast.syllableRate).toBeGreaterThan(slow.syllableRate * 2);
  });
});

describe('melody match', () => {
  const notes = [
    { midi: 57, durationSec: 0.5 },
    { midi: 62, durationSec: 0.5 },
    { midi: 59, durationSec: 0.5 },
    { midi: 64, durationSec: 0.5 },
  ];
  const sung = (ns: typeof notes, transpose: number): Float32Array => concat(...ns.map((n) => harmonicTone(midiToHz(n.midi + transpose), n.durationSec * 1.3)));
  it('matches the same tune in another key and tempo', () => {
    const a = analyseAudio(sung(notes, -5));
    const m = matchMelody(a.f0, a.hopSec, notes);
    expect(m.distanceSemitones).toBeLessThan(0.7);
    expect(m.voicedCoverage).toBeGreaterThan(0.8);
  });
  it('rejects a different tune and a monotone', () => {
    const other = [notes[3]!, notes[2]!, notes[1]!, notes[0]!];
    const a = analyseAudio(sung(other, 0));
    expect(matchMelody(a.f0, a.hopSec, notes).distanceSemitones).toBeGreaterThan(1.5);
    const mono = analyseAudio(harmonicTone(200, 2));
    const m = matchMelody(mono.f0, mono.hopSec, notes);
    expect(m.rangeSemitones).toBeLessThan(0.5);
    expect(m.distanceSemitones).toBeGreaterThan(1.5);
  });
});

describe('analyseAudio on espeak-ng speech', () => {
  const text = 'Please bring the yellow umbrella to the station tomorrow';
  const normal = analyseAudio(espeak(text)).measurements;
  it('measures normal speech as voiced, modulated, with a plausible f0', () => {
    expect(normal.voicedFraction).toBeGreaterThan(0.5);
    expect(normal.levelModulationDb).toBeGreaterThan(10);
    expect(normal.f0MedianHz).toBeGreaterThan(70);
    expect(normal.f0MedianHz).toBeLessThan(200);
  });
  it('separates -p 99 pitch, -a 20/-a 200 amplitude and the whisper variant', () => {
    const high = analyseAudio(espeak(text, ['-p', '99'])).measurements;
    const soft = analyseAudio(espeak(text, ['-a', '20'])).measurements;
    const loud = analyseAudio(espeak(text, ['-a', '200'])).measurements;
    const whisper = analyseAudio(espeak(text, ['-v', 'en+whisper'])).measurements;
    expect(12 * Math.log2(high.f0MedianHz / normal.f0MedianHz)).toBeGreaterThan(4);
    expect(loud.levelDbfs - soft.levelDbfs).toBeGreaterThan(15);
    expect(whisper.voicedFraction).toBeLessThan(0.1);
    expect(whisper.flatness).toBeGreaterThan(normal.flatness * 1.5);
    expect(whisper.highBandRatio).toBeGreaterThan(normal.highBandRatio * 2);
  });
  it('is bounded on empty and broken input', () => {
    const empty = analyseAudio(new Float32Array(0)).measurements;
    expect(empty.activeSec).toBe(0);
    const broken = new Float32Array(16000).fill(Number.NaN);
    expect(analyseAudio(broken).measurements.activeSec).toBe(0);
    try {
      analyseAudio(new Float32Array(10), { sampleRate: 100 });
      expect.unreachable();
    } catch (e) {
      expect(isDfdError(e, 'ERR_BAD_REQUEST')).toBe(true);
    }
  });
});

describe('wav + resample', () => {
  it('parses espeak-ng WAV and resamples a tone without moving its pitch', () => {
    const x = resample(sine(300, 0.5, 0.5, 22050), 22050, SR);
    expect(x.length).toBe(Math.floor(0.5 * 22050 * (SR / 22050)));
    expect(Math.abs(median(yinTrack(x).f0) - 300)).toBeLessThan(3);
    expect(() => parseWav(Buffer.from('not a wav file at all'))).toThrow(expect.objectContaining({ code: 'ERR_DECODE_FAILED' }));
  });
});

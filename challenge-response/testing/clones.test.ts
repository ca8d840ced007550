/**
 * The simulated clone pipelines do what challenges are measured against: the voice conversion
 * moves f0 into the target's range and the long-term spectrum onto the target's, the
 * copy-synthesis keeps f0, and a replay is the target's own earlier speech.
 */
import { describe, expect, it } from 'vitest';
import { yinTrack } from '../dsp/yin.js';
import { copySynthesis, ltas, matchSpectrum, replay, ttsText, voiceConvert, type TargetVoice } from './clones.js';
import { harmonicTone, SR, whiteNoise } from './signals.js';

function medianF0(x: Float32Array): number {
  const f = Array.from(yinTrack(x, { sampleRate: SR }).f0).filter((v) => v > 0).sort((a, b) => a - b);
  return f[f.length >> 1] ?? Number.NaN;
}

/** Share of long-term power above 3 kHz. */
function highShare(x: Float32Array): number {
  const p = ltas(x);
  const k3 = Math.round((3000 / SR) * 512);
  const hi = Array.from(p).slice(k3).reduce((a, b) => a + b, 0);
  return hi / p.reduce((a, b) => a + b, 0);
}

/** A tone with a syllabic level contour, so it reads as voiced speech to the trackers. */
function voicedSyllables(hz: number, seconds: number): Float32Array {
  const x = harmonicTone(hz, seconds, 0.3);
  return x.map((v, i) => v * (0.55 + 0.45 * Math.sin((2 * Math.PI * 4 * i) / SR)));
}

const target = (): TargetVoice => {
  const speech = voicedSyllables(120, 3);
  return { f0MeanSemitones: 12 * Math.log2(120), f0SdSemitones: 1, ltas: ltas(speech), speech, levelDbfs: -26 };
};

describe('simulated clone pipelines', () => {
  it('voice conversion puts a raised voice back into the target range; copy-synthesis keeps it', () => {
    const answer = voicedSyllables(300, 2);
    expect(medianF0(answer)).toBeCloseTo(300, -1);
    expect(medianF0(voiceConvert(answer, target()))).toBeGreaterThan(110);
    expect(medianF0(voiceConvert(answer, target()))).toBeLessThan(135);
    expect(Math.abs(12 * Math.log2(medianF0(copySynthesis(answer)) / 300))).toBeLessThan(0.5);
  });

  it("spectrum matching restores a band the answer lost (the converter outputs the target's timbre)", () => {
    const full = whiteNoise(2, 0.2, 3);
    // Two one-pole low-passes (cut-off near 400 Hz) take the highs about 45 dB down.
    let muffled = full;
    for (let pass = 0; pass < 2; pass++) {
      let y = 0;
      muffled = muffled.map((v) => (y += 0.15 * (v - y)));
    }
    expect(highShare(muffled)).toBeLessThan(0.01);
    expect(highShare(full)).toBeGreaterThan(0.5);
    const matched = matchSpectrum(muffled, ltas(full));
    expect(highShare(matched)).toBeGreaterThan(0.5 * highShare(full));
  });

  it('replays a stretch of the target speech, as long as asked, never past its end', () => {
    const t = target();
    const r = replay(t, 1.5, 2);
    expect(r.length).toBe(1.5 * SR);
    const start = t.speech.indexOf(r[0] as number);
    expect(start).toBeGreaterThanOrEqual(0);
    expect(replay(t, 10, 1).length).toBe(t.speech.length);
  });

  it('asks the TTS for what the challenge asks', () => {
    expect(ttsText({ kind: 'sing-melody', modality: 'audio', promptText: '', spoken: { text: '' }, expectedDurationSec: 3, params: { melody: [{ midi: 60, durationSec: 0.5 }, { midi: 62, durationSec: 0.5 }] } }, undefined)).toBe('la la');
    expect(ttsText({ kind: 'unusual-words', modality: 'audio', promptText: '', spoken: { text: '' }, expectedDurationSec: 3, params: { words: ['quixotic', 'zephyr'] } }, undefined)).toBe('quixotic, zephyr');
    expect(ttsText({ kind: 'high-pitch', modality: 'audio', promptText: '', spoken: { text: '' }, expectedDurationSec: 3, params: { phrase: 'asked' } }, 'answered')).toBe('answered');
  });
});

/**
 * The fast YIN (shared lag-product blocks, yin.ts) against the direct form it replaced
 * (testing/yinReference.ts), on real speech and synthetic tones. Only the order of the additions in
 * r(tau) differs, so the tracks must match: the same frames voiced, f0 within MAX_F0_DIFF_HZ
 * (measured: 0 Hz on every input here, the float32 output absorbs the rounding), aperiodicity
 * within MAX_AP_DIFF.
 */
import fs from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureFixtures, fixtures, voiceFixtures } from '../../test/fixtures/build.js';
import { concat, harmonicTone, sine, whiteNoise } from '../testing/signals.js';
import { loadRecording, missingRealSpeech, realSpeakerSources } from '../testing/realSpeech.js';
import { parseWav, resample } from './wav.js';
import { yinTrack, type YinOptions } from './yin.js';
import { yinTrackReference } from './testing/yinReference.js';

/** Largest f0 difference allowed between the fast and the reference track, Hz. */
const MAX_F0_DIFF_HZ = 1e-3;
/** Largest aperiodicity difference allowed. */
const MAX_AP_DIFF = 1e-6;

interface Diff {
  frames: number;
  voiced: number;
  voicingMismatch: number;
  maxF0DiffHz: number;
  maxApDiff: number;
}

function compare(x: Float32Array, options: Partial<YinOptions> = {}): Diff {
  const a = yinTrackReference(x, options);
  const b = yinTrack(x, options);
  expect(b.f0.length).toBe(a.f0.length);
  expect(b.hopSec).toBe(a.hopSec);
  const d: Diff = { frames: a.f0.length, voiced: 0, voicingMismatch: 0, maxF0DiffHz: 0, maxApDiff: 0 };
  for (let i = 0; i < a.f0.length; i++) {
    const p = a.f0[i]!;
    const q = b.f0[i]!;
    if (Number.isNaN(p) !== Number.isNaN(q)) d.voicingMismatch++;
    else if (!Number.isNaN(p)) {
      d.voiced++;
      d.maxF0DiffHz = Math.max(d.maxF0DiffHz, Math.abs(p - q));
    }
    d.maxApDiff = Math.max(d.maxApDiff, Math.abs(a.aperiodicity[i]! - b.aperiodicity[i]!));
  }
  return d;
}

function expectSame(d: Diff, minVoiced = 1): void {
  expect(d.voicingMismatch).toBe(0);
  expect(d.maxF0DiffHz).toBeLessThanOrEqual(MAX_F0_DIFF_HZ);
  expect(d.maxApDiff).toBeLessThanOrEqual(MAX_AP_DIFF);
  expect(d.voiced).toBeGreaterThanOrEqual(minVoiced);
}

const wav16k = (file: string): Float32Array => {
  const clip = parseWav(fs.readFileSync(file));
  return resample(clip.samples, clip.sampleRate, 16000);
};

describe('fast YIN matches the direct form', () => {
  beforeAll(async () => {
    await ensureFixtures();
  });

  it('on the espeak-ng speech fixture', () => {
    expectSame(compare(wav16k(fixtures.speechWav)), 100);
  });

  it.skipIf(!fs.existsSync(voiceFixtures.realSpeechWav))('on the real speech fixture (LibriVox reader and Allison, 55 s)', () => {
    expectSame(compare(wav16k(voiceFixtures.realSpeechWav)), 1000);
  });

  it.skipIf(missingRealSpeech().length > 0)('on the Debian recordings of both real speakers, quiet and loud', () => {
    for (const src of realSpeakerSources) {
      for (const u of [...src.baseline, ...src.responses]) {
        const x = loadRecording(src, u);
        expectSame(compare(x), 50);
        // 30 dB down: frames near the silence gate must fall the same way.
        expectSame(compare(x.map((v) => v * 0.03)), 1);
      }
    }
  });

  it('on synthetic tones, glides, noise and silence gaps', () => {
    for (const hz of [62, 80, 120, 220, 440, 800, 990]) expectSame(compare(sine(hz, 0.5)), 10);
    for (const hz of [95, 150, 310]) expectSame(compare(harmonicTone(hz, 0.5)), 10);
    const glide = new Float32Array(16000);
    let phase = 0;
    for (let i = 0; i < glide.length; i++) {
      phase += (2 * Math.PI * (100 + (300 * i) / glide.length)) / 16000;
      glide[i] = 0.4 * Math.sin(phase);
    }
    expectSame(compare(glide), 10);
    expectSame(compare(concat(sine(200, 0.3), new Float32Array(4000), whiteNoise(0.3), harmonicTone(130, 0.3))), 10);
    expectSame(compare(whiteNoise(0.5)), 0);
    expectSame(compare(new Float32Array(8000)), 0);
  });

  it('with other rates and frame grids (direct path when hop and window share no useful block)', () => {
    const x = concat(harmonicTone(140, 0.4), sine(330, 0.4));
    // 48 kHz (blocks of 240 samples).
    expectSame(compare(resample(x, 16000, 48000), { sampleRate: 48000, window: 1200, hop: 480 }), 10);
    // gcd(hop, window) = 1: no shared blocks.
    expectSame(compare(x, { window: 401, hop: 160 }), 10);
    // hop equal to the window: one block per frame.
    expectSame(compare(x, { window: 320, hop: 320 }), 10);
    // Clips shorter than one frame give no frames in both.
    expect(compare(new Float32Array(300)).frames).toBe(0);
  });
});

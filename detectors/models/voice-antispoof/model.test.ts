/**
 * Checks the committed voice anti-spoofing model: manifest schema, file hash, tensor names and
 * shapes, finite output on variable-length input, and that it reacts to its input (a synthetic
 * buzz and espeak-ng speech must not get the same logit). No accuracy claims here.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeAudio } from '../../eval/evalVoice.js';
import { buzz } from '../../testing/buzz.js';
import { VoiceModel, readVoiceManifest, windowPlan } from '../../eval/voiceModel.js';
import type { AudioSpec } from '../../registry/Manifest.js';
import { pcmOf, pcmToS16 } from '../../../events/workWire.js';

const dir = path.dirname(fileURLToPath(import.meta.url));
const SR = 16000;

describe('voice-antispoof model files', () => {
  it('manifest matches the contract and the model file hash', () => {
    const m = readVoiceManifest(dir);
    expect(m.id).toBe('voice-antispoof');
    expect(m.task).toBe('voice-antispoof');
    expect(m.inputs).toEqual([{ name: 'waveform', dtype: 'float32', shape: ['batch', 'samples'] }]);
    expect(m.outputs).toEqual([{ name: 'logit', dtype: 'float32', shape: ['batch', 1] }]);
    expect(m.audio?.sampleRate).toBe(16000);
    expect(m.image).toBeUndefined();
    const bytes = fs.readFileSync(path.join(dir, m.file));
    expect(bytes.length).toBeLessThan(5 * 1024 * 1024);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(m.sha256);
    expect(m.budget?.gmacPerSecondAudio).toBeGreaterThan(0);
    expect(m.budget?.gmacPerSecondAudio).toBeLessThanOrEqual(0.3);
  });

  it('onnx graph has one dynamic [batch, samples] input and a [batch, 1] output', async () => {
    const s = await ort.InferenceSession.create(path.join(dir, 'model.onnx'));
    try {
      expect(s.inputNames).toEqual(['waveform']);
      expect(s.outputNames).toEqual(['logit']);
      const meta = (s as unknown as { inputMetadata?: readonly { name: string; shape?: readonly (number | string)[] }[] }).inputMetadata;
      if (meta) expect(meta[0]?.shape?.every((d) => typeof d === 'string')).toBe(true);
    } finally {
      await s.release();
    }
  });
});

describe('voice-antispoof inference', () => {
  let model: VoiceModel;
  let speech: Float32Array;
  let tmp: string;

  beforeAll(async () => {
    model = await VoiceModel.load(dir);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dfd-voice-'));
    const wav = path.join(tmp, 'speech.wav');
    execFileSync('espeak-ng', ['-v', 'en-us', '-w', wav, 'The meeting starts at nine tomorrow, please bring the signed contract.']);
    speech = await decodeAudio(wav, SR); // espeak writes 22.05 kHz; ffmpeg resamples to 16 kHz
  });

  afterAll(async () => {
    await model.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('gives finite [batch, 1] logits for 1 s and 3 s inputs', async () => {
    for (const seconds of [1, 3]) {
      const w = buzz(seconds);
      const out = await model.logits([w, w.map((v) => v * 0.1)]);
      expect(out.length).toBe(2);
      for (const v of out) expect(Number.isFinite(v)).toBe(true);
      // normalisation happens in the graph, so a 20 dB gain change barely moves the logit
      expect(Math.abs((out[0] as number) - (out[1] as number))).toBeLessThan(0.05 * Math.max(1, Math.abs(out[0] as number)));
    }
  });

  it('scores a buzz and espeak speech differently, with calibrated pFake in [0, 1]', async () => {
    expect(speech.length).toBeGreaterThan(SR);
    const a = await model.scoreClip(buzz(3));
    const b = await model.scoreClip(speech);
    expect(Number.isFinite(a.logit) && Number.isFinite(b.logit)).toBe(true);
    expect(Math.abs(a.logit - b.logit)).toBeGreaterThan(1e-3);
    for (const p of [a.pFake, b.pFake]) {
      expect(p).toBeGreaterThanOrEqual(0);
      expect(p).toBeLessThanOrEqual(1);
    }
  });

  it('scores int16 PCM (how remote analysis ships windows, events/workWire.ts) as it scores the float samples', async () => {
    const quiet = speech.map((v) => v * 0.05); // about -40 dBFS: where 16-bit steps weigh most after the in-graph gain
    for (const x of [speech, quiet]) {
      const s16 = pcmOf('s16', pcmToS16(x));
      const [a, b] = await Promise.all([model.scoreClip(x), model.scoreClip(s16)]);
      expect(Math.abs(a.pFake - b.pFake)).toBeLessThan(2e-3);
    }
  });

  it('windows clips like the training script (train.py windows: 2 s every 1 s, last aligned to the end)', () => {
    const audio = model.audio as AudioSpec;
    expect(audio.maxSeconds).toBe(2);
    expect(model.hopSeconds).toBe(1);
    expect(windowPlan(8000, audio, 1)).toEqual([{ start: 0, length: 16000, repeat: true }]);
    expect(windowPlan(30000, audio, 1)).toEqual([{ start: 0, length: 30000, repeat: false }]);
    expect(windowPlan(40000, audio, 1).map((w) => [w.start, w.length])).toEqual([[0, 32000], [8000, 32000]]);
    expect(windowPlan(100000, audio, 1).map((w) => w.start)).toEqual([0, 16000, 32000, 48000, 64000, 68000]);
  });
});

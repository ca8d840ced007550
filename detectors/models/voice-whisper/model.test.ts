/**
 * Checks the committed second voice stage (frozen Whisper-base encoder + logistic head): manifest
 * contract (cascade stage, 2 s windows), file hash, tensor names, finite output, level invariance
 * (normalisation inside the graph), and that it reacts to its input. No accuracy claims here
 * (docs/models.md has the leave-source-out and shared-eval results).
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
import { VoiceModel, readVoiceManifest } from '../../eval/voiceModel.js';

const dir = path.dirname(fileURLToPath(import.meta.url));
const SR = 16000;

describe('voice-whisper model files', () => {
  it('manifest: a voice-antispoof cascade stage on 2 s windows, hash of the file, weight and calibration set', () => {
    const m = readVoiceManifest(dir);
    expect(m.id).toBe('voice-whisper');
    expect(m.task).toBe('voice-antispoof');
    expect(m.inputs).toEqual([{ name: 'waveform', dtype: 'float32', shape: ['batch', 'samples'] }]);
    expect(m.outputs).toEqual([{ name: 'logit', dtype: 'float32', shape: ['batch', 1] }]);
    expect(m.audio).toMatchObject({ sampleRate: 16000, minSeconds: 2, maxSeconds: 2 });
    expect(m.cascade?.everyNthWindow).toBeGreaterThanOrEqual(1);
    expect(m.verdict?.weight).toBeGreaterThan(0);
    expect(m.calibration.a).toBeGreaterThan(0); // held-out scores run the right way
    expect(m.license).toMatch(/MIT/);
    const bytes = fs.readFileSync(path.join(dir, m.file));
    expect(bytes.length).toBeLessThan(30 * 1024 * 1024);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(m.sha256);
  });

  it('onnx graph has one dynamic [batch, samples] input and a [batch, 1] output', async () => {
    const s = await ort.InferenceSession.create(path.join(dir, 'model.onnx'));
    try {
      expect(s.inputNames).toEqual(['waveform']);
      expect(s.outputNames).toEqual(['logit']);
    } finally {
      await s.release();
    }
  });
});

describe('voice-whisper inference', () => {
  let model: VoiceModel;
  let speech: Float32Array;
  let tmp: string;

  beforeAll(async () => {
    model = await VoiceModel.load(dir);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dfd-voice-whisper-'));
    const wav = path.join(tmp, 'speech.wav');
    execFileSync('espeak-ng', ['-v', 'en-us', '-w', wav, 'The meeting starts at nine tomorrow, please bring the signed contract.']);
    speech = await decodeAudio(wav, SR);
  });

  afterAll(async () => {
    await model.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('gives finite logits for a batch of 2 s windows, nearly the same after a 20 dB gain change', async () => {
    const w = buzz(2);
    const out = await model.logits([w, w.map((v) => v * 0.1)]);
    expect(out.length).toBe(2);
    for (const v of out) expect(Number.isFinite(v)).toBe(true);
    expect(Math.abs((out[0] as number) - (out[1] as number))).toBeLessThan(0.05 * Math.max(1, Math.abs(out[0] as number)));
  });

  it('scores a buzz and espeak speech differently, with calibrated pFake in [0, 1]', async () => {
    const a = await model.scoreClip(buzz(3));
    const b = await model.scoreClip(speech);
    expect(Math.abs(a.logit - b.logit)).toBeGreaterThan(1e-3);
    for (const p of [a.pFake, b.pFake]) {
      expect(p).toBeGreaterThanOrEqual(0);
      expect(p).toBeLessThanOrEqual(1);
    }
  });
});

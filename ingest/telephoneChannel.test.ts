/**
 * What marking a phone leg's windows `quality.channel = 'telephone'` changes downstream:
 * the detectors score them with their manifest's `calibration.telephone` (InferencePool,
 * real onnxruntime), and the verdict judges them instead of holding them at
 * `collecting` / audio:narrowband (ParticipantVerdict). Wideband windows are unchanged.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { calibrate, calibrationFor } from '../detectors/registry/Manifest.js';
import { ModelRegistry, type AvailableModel } from '../detectors/registry/ModelRegistry.js';
import { sha256Hex, voiceLogitJs, voiceManifest, voiceModelBytes, writeModel } from '../detectors/testing/testModels.js';
import { audioWindow } from '../detectors/testing/windows.js';
import { InferencePool } from '../pipeline/inference/InferencePool.js';
import { preprocessAudio } from '../pipeline/inference/preprocess.js';
import { ParticipantVerdict } from '../pipeline/verdict/ParticipantVerdict.js';
import type { AudioWindow, WindowScore } from '../pipeline/messages.js';

let root: string;
let models: AvailableModel[];

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'dfd-tel-'));
  const bytes = voiceModelBytes();
  const m = voiceManifest(sha256Hex(bytes));
  writeModel(root, { ...m, calibration: { ...m.calibration, telephone: { a: m.calibration.a * 0.5, b: m.calibration.b + 1.5, fittedOn: 'test: telephone differs from wideband' } } }, bytes);
  const reg = new ModelRegistry({ dir: root });
  await reg.load();
  models = reg.available();
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe('telephone channel', () => {
  it('InferencePool scores telephone windows with calibration.telephone, wideband ones with the main calibration', async () => {
    const pool = new InferencePool(models, {});
    try {
      const scores: WindowScore[] = [];
      pool.on('score', (s) => scores.push(s));
      await pool.ready();
      const base = audioWindow({ seq: 1, seconds: 2, seed: 11 });
      const tel: AudioWindow = { ...base, seq: 2, samples: base.samples.slice(), quality: { ...base.quality, bandwidth: 'NB', channel: 'telephone' } };
      const wide: AudioWindow = { ...base, samples: base.samples.slice() };
      pool.submit(wide);
      pool.submit(tel);
      const deadline = Date.now() + 20_000;
      while (scores.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      const m = models[0]!.manifest;
      const logit = voiceLogitJs(preprocessAudio(base.samples, base.sampleRate, m.audio!));
      const bySeq = new Map(scores.map((s) => [s.seq, s.pFake]));
      expect(bySeq.get(1)).toBeCloseTo(calibrate(m.calibration, logit), 5);
      expect(bySeq.get(2)).toBeCloseTo(calibrate(calibrationFor(m.calibration, 'telephone'), logit), 5);
      expect(Math.abs(bySeq.get(1)! - bySeq.get(2)!)).toBeGreaterThan(0.01);
    } finally {
      await pool.close();
    }
  });

  it('ParticipantVerdict judges narrowband telephone audio, and still holds narrowband WebRTC audio at collecting', () => {
    const verdictFor = (channel: 'telephone' | undefined): ParticipantVerdict => {
      let now = 1000;
      const v = new ParticipantVerdict({ roomId: 'r', peerId: 'p' }, { now: () => now });
      for (let i = 0; i < 30; i++) {
        const w = audioWindow({ seq: i, seconds: 2, seed: i, wallEnd: now });
        w.quality = { ...w.quality, bandwidth: 'NB', ...(channel ? { channel } : {}) };
        v.observe(w);
        v.addScore({ type: 'score', stream: w.stream, seq: i, detector: 'test-voice', modelVersion: '1', pFake: 0.1, evidence: 2, wallEnd: now, queueMs: 0, inferenceMs: 1 });
        now += 1000;
      }
      return v;
    };
    const phone = verdictFor('telephone').current();
    expect(phone.state).not.toBe('collecting');
    expect(phone.reason ?? '').not.toContain('narrowband');
    const webrtc = verdictFor(undefined).current();
    expect([webrtc.state, webrtc.reason]).toEqual(['collecting', 'audio:narrowband']);
  });
});

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isDfdError } from '../../kernel/errors.js';
import { faceModelBytes, sha256Hex, voiceManifest, voiceModelBytes, writeModel, buildTestModels } from '../testing/testModels.js';
import { calibrate, legFamily, parseManifest, verdictWeightFor } from './Manifest.js';
import { ModelRegistry } from './ModelRegistry.js';

let root: string;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'dfd-registry-'));
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

async function statusOf(id: string) {
  const reg = new ModelRegistry({ dir: root });
  const all = await reg.load();
  return { reg, s: all.find((x) => x.id === id) };
}

describe('ModelRegistry', () => {
  it('accepts good models and lists them as available', async () => {
    buildTestModels(root);
    const reg = new ModelRegistry({ dir: root });
    const status = await reg.load();
    expect(status.map((s) => [s.id, s.available])).toEqual([['test-face', true], ['test-voice', true]]);
    expect(reg.get('test-voice').manifest.task).toBe('voice-antispoof');
    expect(reg.available()).toHaveLength(2);
  });

  it('bad JSON -> ERR_MODEL_MANIFEST', async () => {
    fs.mkdirSync(path.join(root, 'broken'));
    fs.writeFileSync(path.join(root, 'broken', 'manifest.json'), '{ "id": "broken", ');
    const { reg, s } = await statusOf('broken');
    expect(s).toMatchObject({ available: false, error: { code: 'ERR_MODEL_MANIFEST' } });
    expect(() => reg.get('broken')).toThrow(expect.objectContaining({ code: 'ERR_MODEL_UNAVAILABLE' }));
  });

  it('schema violation -> ERR_MODEL_MANIFEST naming the field', async () => {
    const v = voiceModelBytes();
    const m = voiceManifest(sha256Hex(v));
    writeModel(root, { ...m, calibration: { ...m.calibration, method: 'isotonic' as 'logistic' } }, v);
    const { s } = await statusOf('test-voice');
    expect(s?.error?.code).toBe('ERR_MODEL_MANIFEST');
    expect(s?.error?.message).toContain('/calibration/method');
  });

  it('missing model file -> ERR_MODEL_MISSING', async () => {
    const built = buildTestModels(root);
    fs.rmSync(built.voice.modelPath);
    const { s } = await statusOf('test-voice');
    expect(s).toMatchObject({ available: false, error: { code: 'ERR_MODEL_MISSING' } });
  });

  it('wrong hash -> ERR_MODEL_HASH', async () => {
    const v = voiceModelBytes();
    writeModel(root, voiceManifest('0'.repeat(64)), v);
    const { s } = await statusOf('test-voice');
    expect(s).toMatchObject({ available: false, error: { code: 'ERR_MODEL_HASH' } });
  });

  it('wrong input name -> ERR_MODEL_SHAPE', async () => {
    const v = voiceModelBytes();
    const m = voiceManifest(sha256Hex(v));
    writeModel(root, { ...m, inputs: [{ name: 'audio', dtype: 'float32', shape: ['batch', 'samples'] }] }, v);
    const { s } = await statusOf('test-voice');
    expect(s).toMatchObject({ available: false, error: { code: 'ERR_MODEL_SHAPE' } });
    expect(s?.error?.message).toContain('"waveform"');
  });

  it('wrong rank -> ERR_MODEL_SHAPE', async () => {
    const v = voiceModelBytes();
    const m = voiceManifest(sha256Hex(v));
    writeModel(root, { ...m, inputs: [{ name: 'waveform', dtype: 'float32', shape: ['samples'] }] }, v);
    const { s } = await statusOf('test-voice');
    expect(s?.error?.code).toBe('ERR_MODEL_SHAPE');
    expect(s?.error?.message).toContain('rank 2');
  });

  it('a face model under a voice manifest -> ERR_MODEL_SHAPE', async () => {
    const f = faceModelBytes();
    writeModel(root, voiceManifest(sha256Hex(f)), f);
    const { s } = await statusOf('test-voice');
    expect(s).toMatchObject({ available: false, error: { code: 'ERR_MODEL_SHAPE' } });
  });

  it('a file that is not ONNX -> ERR_MODEL_SHAPE, and one bad model does not hide the good one', async () => {
    buildTestModels(root);
    const junk = new TextEncoder().encode('not a model');
    writeModel(root, voiceManifest(sha256Hex(junk), 'junk'), junk);
    const reg = new ModelRegistry({ dir: root });
    const status = await reg.load();
    expect(status.find((x) => x.id === 'junk')).toMatchObject({ available: false, error: { code: 'ERR_MODEL_SHAPE' } });
    expect(status.filter((x) => x.available).map((x) => x.id)).toEqual(['test-face', 'test-voice']);
  });

  it('missing directory -> empty status, no throw', async () => {
    const reg = new ModelRegistry({ dir: path.join(root, 'nope') });
    await expect(reg.load()).resolves.toEqual([]);
  });
});

describe('Manifest', () => {
  it('rejects path separators in file and a voice task without audio block', () => {
    const m = voiceManifest('a'.repeat(64));
    expect(() => parseManifest({ ...m, file: '../etc/passwd' })).toThrow(expect.objectContaining({ code: 'ERR_MODEL_MANIFEST' }));
    const { audio: _a, ...noAudio } = m;
    try {
      parseManifest(noAudio);
      expect.unreachable();
    } catch (e) {
      expect(isDfdError(e, 'ERR_MODEL_MANIFEST')).toBe(true);
    }
    expect(parseManifest({ ...m, extra: { anything: 1 } }).id).toBe('test-voice');
  });

  it('an optional verdict weight must lie in 0..1 and carry its basis', () => {
    const m = voiceManifest('a'.repeat(64));
    expect(parseManifest({ ...m, verdict: { weight: 0, basis: 'held-out test EER 0.55' } }).verdict?.weight).toBe(0);
    for (const verdict of [{ weight: 1.5, basis: 'x' }, { weight: -0.1, basis: 'x' }, { weight: 0.5 }, { weight: 0.5, basis: '' }, { weight: 0.5, weightTelephone: 1.2, basis: 'x' }, { weight: 0.5, weightTelephone: '0.1', basis: 'x' }, { weight: 0.5, weightG722: -0.2, basis: 'x' }, { weight: 0.5, weightG722: 2, basis: 'x' }, { weight: 0.5, weightSipOpus: 1.01, basis: 'x' }, { weight: 0.5, weightSipOpus: '0.2', basis: 'x' }]) {
      expect(() => parseManifest({ ...m, verdict })).toThrow(expect.objectContaining({ code: 'ERR_MODEL_MANIFEST' }));
    }
  });

  it('a telephone weight applies to telephone windows only; without one, weight serves every channel', () => {
    const m = voiceManifest('a'.repeat(64));
    const both = parseManifest({ ...m, verdict: { weight: 0.2, weightTelephone: 0.05, basis: 'per channel family' } }).verdict;
    expect([verdictWeightFor(both, 'wideband'), verdictWeightFor(both, 'suppressed'), verdictWeightFor(both, 'telephone')]).toEqual([0.2, 0.2, 0.05]);
    const one = parseManifest({ ...m, verdict: { weight: 0.2, basis: 'one weight' } }).verdict;
    expect([verdictWeightFor(one, 'wideband'), verdictWeightFor(one, 'telephone')]).toEqual([0.2, 0.2]);
    expect(verdictWeightFor(undefined, 'telephone')).toBe(1);
  });

  it("a G.722 weight applies to a G.722 leg's wideband windows only", () => {
    const m = voiceManifest('a'.repeat(64));
    const v = parseManifest({ ...m, verdict: { weight: 0.2, weightTelephone: 0.15, weightG722: 0.3, basis: 'per leg' } }).verdict;
    expect([verdictWeightFor(v, 'wideband', 'g722'), verdictWeightFor(v, 'wideband'), verdictWeightFor(v, 'suppressed', 'g722'), verdictWeightFor(v, 'telephone', 'g722')]).toEqual([0.3, 0.2, 0.2, 0.15]);
    const none = parseManifest({ ...m, verdict: { weight: 0.2, basis: 'one weight' } }).verdict;
    expect(verdictWeightFor(none, 'wideband', 'g722')).toBe(0.2);
    // 0 is a weight (scored and published, never moves a verdict), not an absent one
    expect(verdictWeightFor({ weight: 0.1, weightG722: 0, basis: 'x' }, 'wideband', 'g722')).toBe(0);
  });

  it("an Opus SIP-leg weight applies to a gateway's Opus windows only; each leg family takes its own", () => {
    const m = voiceManifest('a'.repeat(64));
    const v = parseManifest({ ...m, verdict: { weight: 0.2, weightTelephone: 0.15, weightG722: 0.3, weightSipOpus: 0.25, basis: 'per leg' } }).verdict;
    expect([verdictWeightFor(v, 'wideband', 'sip-opus'), verdictWeightFor(v, 'wideband', 'g722'), verdictWeightFor(v, 'wideband'), verdictWeightFor(v, 'telephone', 'sip-opus')]).toEqual([0.25, 0.3, 0.2, 0.15]);
    expect([legFamily('wideband', 'sip-opus'), legFamily('wideband', 'g722'), legFamily('wideband'), legFamily('suppressed'), legFamily('telephone', 'sip-opus')]).toEqual(['sip-opus', 'g722', 'wideband', 'wideband', 'telephone']);
    // without one, such a leg takes the wideband weight
    expect(verdictWeightFor({ weight: 0.2, weightG722: 0.3, basis: 'x' }, 'wideband', 'sip-opus')).toBe(0.2);
  });

  it('calibrate is the logistic sigmoid(a*logit+b) and is stable at extremes', () => {
    const c = { method: 'logistic' as const, a: 2, b: -1, fittedOn: 'x' };
    expect(calibrate(c, 0.5)).toBeCloseTo(0.5, 12);
    expect(calibrate(c, 1)).toBeCloseTo(1 / (1 + Math.exp(-1)), 12);
    expect(calibrate(c, -1000)).toBeGreaterThanOrEqual(0);
    expect(calibrate(c, 1000)).toBe(1);
  });
});

describe('ModelRegistry with the shipped presentation-attack models', () => {
  const shipped = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'models');

  it('accepts face-antispoof and face-liveness (real files: hash, names, ranks) as task face-pad with an image block', async () => {
    // Copy just the two folders so the check does not depend on the other models.
    for (const id of ['face-antispoof', 'face-liveness']) fs.cpSync(path.join(shipped, id), path.join(root, id), { recursive: true });
    const reg = new ModelRegistry({ dir: root });
    const status = await reg.load();
    expect(status.map((s) => [s.id, s.available, s.task])).toEqual([
      ['face-antispoof', true, 'face-pad'],
      ['face-liveness', true, 'face-pad'],
    ]);
    const as = reg.get('face-antispoof').manifest;
    const lv = reg.get('face-liveness').manifest;
    expect(as.image).toMatchObject({ width: 128, height: 128, layout: 'NHWC', channels: 'RGB' });
    expect(lv.image).toMatchObject({ width: 32, height: 32, layout: 'NHWC', channels: 'RGB' });
    for (const m of [as, lv]) {
      expect(m.outputs[0]).toEqual({ name: 'fake_logit', dtype: 'float32', shape: ['batch', 1] });
      expect(m.calibration).toMatchObject({ method: 'logistic', a: 1, b: 0 });
      expect(m.license).toContain('MIT');
    }
  });

  it('a face-pad manifest without an image block -> ERR_MODEL_MANIFEST', () => {
    const m = JSON.parse(fs.readFileSync(path.join(shipped, 'face-liveness', 'manifest.json'), 'utf8')) as Record<string, unknown>;
    const { image: _i, ...noImage } = m;
    expect(() => parseManifest(noImage)).toThrow(expect.objectContaining({ code: 'ERR_MODEL_MANIFEST' }));
    expect(parseManifest(m).task).toBe('face-pad');
  });

  it('a tampered PAD model file -> ERR_MODEL_HASH', async () => {
    fs.cpSync(path.join(shipped, 'face-liveness'), path.join(root, 'face-liveness'), { recursive: true });
    const file = path.join(root, 'face-liveness', 'model.onnx');
    const bytes = fs.readFileSync(file);
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 1;
    fs.writeFileSync(file, bytes);
    const { s } = await statusOf('face-liveness');
    expect(s).toMatchObject({ available: false, error: { code: 'ERR_MODEL_HASH' } });
  });
});

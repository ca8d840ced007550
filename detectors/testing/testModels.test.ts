import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { buildOnnxModel } from './OnnxBuilder.js';
import { buildTestModels, faceLogitJs, sha256Hex, voiceLogitJs } from './testModels.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dfd-testmodels-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('OnnxBuilder + test models', () => {
  const built = buildTestModels(root);

  it('writes model.onnx and a manifest whose sha256 matches', () => {
    for (const m of [built.voice, built.face]) {
      const bytes = fs.readFileSync(m.modelPath);
      const manifest = JSON.parse(fs.readFileSync(path.join(m.dir, 'manifest.json'), 'utf8')) as { sha256: string; id: string };
      expect(manifest.sha256).toBe(sha256Hex(bytes));
      expect(manifest.id).toBe(m.id);
    }
  });

  it('voice model: onnxruntime equals the JS formula for several lengths and a batch', async () => {
    const session = await ort.InferenceSession.create(built.voice.modelPath, { intraOpNumThreads: 1 });
    expect(session.inputMetadata[0]).toMatchObject({ name: 'waveform', shape: ['batch', 'samples'] });
    const rnd = lcg(1);
    for (const n of [2, 160, 16000]) {
      const batch = 3;
      const data = new Float32Array(batch * n).map(() => rnd() * 2 - 1);
      const out = await session.run({ waveform: new ort.Tensor('float32', data, [batch, n]) });
      const logits = out['logit']!.data as Float32Array;
      expect(out['logit']!.dims).toEqual([batch, 1]);
      for (let b = 0; b < batch; b++) expect(logits[b]).toBeCloseTo(voiceLogitJs(data.subarray(b * n, (b + 1) * n)), 4);
    }
    await session.release();
  });

  it('face model: onnxruntime equals the JS formula', async () => {
    const session = await ort.InferenceSession.create(built.face.modelPath, { intraOpNumThreads: 1 });
    const rnd = lcg(2);
    const plane = 3 * 256 * 256;
    const data = new Float32Array(2 * plane).map(() => rnd());
    const out = await session.run({ image: new ort.Tensor('float32', data, [2, 3, 256, 256]) });
    const logits = out['logit']!.data as Float32Array;
    expect(logits[0]).toBeCloseTo(faceLogitJs(data.subarray(0, plane)), 4);
    expect(logits[1]).toBeCloseTo(faceLogitJs(data.subarray(plane)), 4);
    expect(logits[0]).not.toBeCloseTo(logits[1]!, 6);
    await session.release();
  });

  it('writes attributes of every kind and symbolic dims that onnxruntime accepts', async () => {
    const bytes = buildOnnxModel({
      graphName: 'attrs',
      inputs: [{ name: 'x', dtype: 'float32', shape: ['n', 4] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: ['n', 4] }],
      nodes: [
        { opType: 'LeakyRelu', inputs: ['x'], outputs: ['l'], attributes: { alpha: { kind: 'float', value: 0.5 } } },
        { opType: 'Transpose', inputs: ['l'], outputs: ['t'], attributes: { perm: { kind: 'ints', value: [1, 0] } } },
        { opType: 'Transpose', inputs: ['t'], outputs: ['y'], attributes: { perm: { kind: 'ints', value: [1, 0] } } },
      ],
    });
    const session = await ort.InferenceSession.create(bytes);
    const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from([-2, -1, 0, 3]), [1, 4]) });
    expect(Array.from(out['y']!.data as Float32Array)).toEqual([-1, -0.5, 0, 3]);
    await session.release();
  });
});

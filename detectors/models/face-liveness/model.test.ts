/**
 * The shipped face-liveness model (task face-pad, converted from @vladmandic/human by
 * detectors/convert/run.sh): contract, output range, the fake_logit identity, and how it
 * scores real faces from the face-api sample photos cut by the service's own FaceAnalyzer.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaceAnalyzer } from '../../face/FaceAnalyzer.js';
import { decodeImage, samplePhoto } from '../../face/fixtures.js';
import { calibrate, parseManifest, type Manifest } from '../../registry/Manifest.js';
import { preprocessImage } from '../../../pipeline/inference/preprocess.js';

const here = dirname(fileURLToPath(import.meta.url));
const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));

describe('face-liveness model', () => {
  let manifest: Manifest;
  let bytes: Buffer;
  let session: ort.InferenceSession;

  beforeAll(async () => {
    manifest = parseManifest(JSON.parse(readFileSync(join(here, 'manifest.json'), 'utf8')));
    bytes = readFileSync(join(here, manifest.file));
    session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  });
  afterAll(async () => {
    await session.release();
  });

  /** HWC uint8 crops (side x side) -> [fake_logit, probs[0] (live), probs[1]] per crop, preprocessed as the inference worker does. */
  const run = async (crops: readonly Uint8Array[], side: number): Promise<{ fakeLogit: number; real: number; other: number }[]> => {
    const spec = manifest.image!;
    const n = spec.width * spec.height * 3;
    const data = new Float32Array(crops.length * n);
    crops.forEach((c, i) => preprocessImage(c, side, side, spec, data, i * n));
    const out = await session.run({ image: new ort.Tensor('float32', data, [crops.length, spec.height, spec.width, 3]) });
    const fl = out.fake_logit!;
    const probs = out.probs!;
    expect(fl.dims).toEqual([crops.length, 1]);
    expect(probs.dims).toEqual([crops.length, 2]);
    return crops.map((_, i) => ({ fakeLogit: (fl.data as Float32Array)[i]!, real: (probs.data as Float32Array)[2 * i]!, other: (probs.data as Float32Array)[2 * i + 1]! }));
  };

  it('manifest matches the contract and the file hash', () => {
    expect(manifest.id).toBe('face-liveness');
    expect(manifest.task).toBe('face-pad');
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(manifest.sha256);
    expect(manifest.inputs).toEqual([{ name: 'image', dtype: 'float32', shape: ['batch', 32, 32, 3] }]);
    expect(manifest.outputs).toEqual([
      { name: 'fake_logit', dtype: 'float32', shape: ['batch', 1] },
      { name: 'probs', dtype: 'float32', shape: ['batch', 2] },
    ]);
    expect(manifest.image?.scale).toBeCloseTo(1 / 255, 12);
    expect(manifest.calibration).toMatchObject({ a: 1, b: 0 });
  });

  it('outputs are in range, probs sum to 1, sigmoid(fake_logit) = 1 - probs[0], and batching does not change a row', async () => {
    let seed = 99;
    const crops = [0, 1, 2, 3].map((k) => {
      const a = new Uint8Array(256 * 256 * 3);
      if (k === 0) a.fill(0);
      else if (k === 1) a.fill(255);
      else for (let i = 0; i < a.length; i++) a[i] = (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
      return a;
    });
    const four = await run(crops, 256);
    const one = await run([crops[2]!], 256);
    for (const r of four) {
      expect(Number.isFinite(r.fakeLogit)).toBe(true);
      expect(r.real).toBeGreaterThanOrEqual(0);
      expect(r.real).toBeLessThanOrEqual(1);
      expect(sigmoid(r.fakeLogit)).toBeCloseTo(1 - r.real, 5);
      expect(r.real + r.other).toBeCloseTo(1, 5);
      const p = calibrate(manifest.calibration, r.fakeLogit);
      expect(p).toBeGreaterThanOrEqual(0);
      expect(p).toBeLessThanOrEqual(1);
    }
    expect(one[0]!.fakeLogit).toBeCloseTo(four[2]!.fakeLogit, 4);
  });

  it('scores the real faces of the face-api sample photos (service crops) as real-ish', async () => {
    const analyzer = await FaceAnalyzer.create();
    const crops: Uint8Array[] = [];
    try {
      for (const n of [1, 2, 3]) crops.push(...(await analyzer.analyze(decodeImage(samplePhoto(n), 640))).faces.map((f) => f.crop));
    } finally {
      await analyzer.close();
    }
    expect(crops.length).toBeGreaterThanOrEqual(6);
    const pFake = (await run(crops, analyzer.options.cropSize)).map((r) => calibrate(manifest.calibration, r.fakeLogit));
    const mean = pFake.reduce((a, b) => a + b, 0) / pFake.length;
    // Measured (detectors/eval/padCrops.ts on samples 1-3, 9 faces): pFake 0.003..0.26 per face, mean 0.09.
    expect(mean).toBeLessThan(0.3);
    expect(Math.max(...pFake)).toBeLessThan(0.5);
  });
});

/**
 * The test suite every shipped presentation-attack model (task `face-pad`, converted from
 * @vladmandic/human by detectors/convert/run.sh) runs beside its folder: the manifest matches
 * the contract and the file hash; outputs are in range, sigmoid(fake_logit) = 1 - P(real)
 * and batching does not change a row; and the real faces of the face-api sample photos, cut
 * by the service's own FaceAnalyzer, score as real-ish (bounds from measured values).
 */
import { createHash } from 'node:crypto';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaceAnalyzer } from '../face/FaceAnalyzer.js';
import { decodeImage, samplePhoto } from '../face/fixtures.js';
import { calibrate, type Manifest } from '../registry/Manifest.js';
import { preprocessImage } from '../../pipeline/inference/preprocess.js';
import { openModelSession } from '../registry/openModelSession.js';
import { readModelFiles } from '../registry/ModelFiles.js';

export interface PadModelSuiteOptions {
  /** The model folder (manifest.json + model file). */
  dir: string;
  id: string;
  /** Square NHWC input side. */
  side: number;
  /** The original model's probability output: its name and width; column 0 is P(real). */
  probs: { name: string; width: number };
  /** Bounds on the mean and the largest pFake of the sample-photo faces, with the measurement behind them. */
  maxMeanPFake: number;
  maxPFake: number;
  measured: string;
}

const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));

export function describePadModel(o: PadModelSuiteOptions): void {
  describe(`${o.id} model`, () => {
    let manifest: Manifest;
    let bytes: Buffer;
    let session: ort.InferenceSession;

    beforeAll(async () => {
      const files = await readModelFiles(o.dir);
      ({ manifest, bytes } = files);
      ({ session } = await openModelSession(files));
    });
    afterAll(async () => {
      await session.release();
    });

    /** HWC uint8 crops (side x side) -> fake_logit and the probability row per crop, preprocessed as the inference worker does. */
    const run = async (crops: readonly Uint8Array[], side: number): Promise<{ fakeLogit: number; probs: number[] }[]> => {
      const spec = manifest.image!;
      const n = spec.width * spec.height * 3;
      const data = new Float32Array(crops.length * n);
      crops.forEach((c, i) => preprocessImage(c, side, side, spec, data, i * n));
      const out = await session.run({ image: new ort.Tensor('float32', data, [crops.length, spec.height, spec.width, 3]) });
      const fl = out['fake_logit']!;
      const probs = out[o.probs.name]!;
      expect(fl.dims).toEqual([crops.length, 1]);
      expect(probs.dims).toEqual([crops.length, o.probs.width]);
      const pv = probs.data as Float32Array;
      return crops.map((_, i) => ({ fakeLogit: (fl.data as Float32Array)[i]!, probs: Array.from(pv.subarray(i * o.probs.width, (i + 1) * o.probs.width)) }));
    };

    it('manifest matches the contract and the file hash', () => {
      expect(manifest.id).toBe(o.id);
      expect(manifest.task).toBe('face-pad');
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(manifest.sha256);
      expect(manifest.inputs).toEqual([{ name: 'image', dtype: 'float32', shape: ['batch', o.side, o.side, 3] }]);
      expect(manifest.outputs).toEqual([
        { name: 'fake_logit', dtype: 'float32', shape: ['batch', 1] },
        { name: o.probs.name, dtype: 'float32', shape: ['batch', o.probs.width] },
      ]);
      expect(manifest.image?.scale).toBeCloseTo(1 / 255, 12);
      expect(manifest.calibration).toMatchObject({ a: 1, b: 0 });
    });

    it('outputs are in range, sigmoid(fake_logit) = 1 - P(real), and batching does not change a row', async () => {
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
        const real = r.probs[0]!;
        expect(Number.isFinite(r.fakeLogit)).toBe(true);
        expect(real).toBeGreaterThanOrEqual(0);
        expect(real).toBeLessThanOrEqual(1);
        expect(sigmoid(r.fakeLogit)).toBeCloseTo(1 - real, 5);
        if (o.probs.width > 1) expect(r.probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
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
      expect(mean, o.measured).toBeLessThan(o.maxMeanPFake);
      expect(Math.max(...pFake), o.measured).toBeLessThan(o.maxPFake);
    });
  });
}

/**
 * The ported MesoNet models (detectors/training/face/mesonet_port.py) against the original framework:
 * onnxruntime-node on committed 256x256 face crops (fixtures/*.png, cut from the @vladmandic/face-api demo
 * photos) must reproduce the Keras 3 outputs that mesonet_parity.py wrote to fixtures/keras_reference.json,
 * |sigmoid(-logit) - keras| < 1e-4, after the service's own preprocessing (preprocessImage with the manifest's
 * image block). Also: each manifest passes the contract, its sha256 (and provenance.onnxSha256) is the file's,
 * and the ModelRegistry accepts every folder. Needs neither Python nor ../shared.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { parseManifest } from '../../../registry/Manifest.js';
import { ModelRegistry } from '../../../registry/ModelRegistry.js';
import { preprocessImage } from '../../../../pipeline/inference/preprocess.js';
import { decodeImage } from '../../../face/fixtures.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const S = 256;

interface KerasReference {
  keras: string;
  tolerance: number;
  crops: string[];
  sigmoid: Record<string, number[]>;
}

const reference = JSON.parse(fs.readFileSync(path.join(here, 'fixtures', 'keras_reference.json'), 'utf8')) as KerasReference;
const modelIds = Object.keys(reference.sigmoid).sort();

function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

describe('ported MesoNet models (pretrained/)', () => {
  it('the reference covers the four published weight files and at least four crops', () => {
    expect(modelIds).toEqual(['meso4-df', 'meso4-f2f', 'mesoinception4-df', 'mesoinception4-f2f']);
    expect(reference.crops.length).toBeGreaterThanOrEqual(4);
    expect(reference.tolerance).toBeLessThanOrEqual(1e-4);
    for (const id of modelIds) expect(reference.sigmoid[id]).toHaveLength(reference.crops.length);
  });

  it('the ModelRegistry accepts every model folder', async () => {
    const registry = new ModelRegistry({ dir: here });
    const statuses = await registry.load();
    for (const id of modelIds) {
      const st = statuses.find((s) => s.id === id);
      expect(st, id).toBeDefined();
      expect(st!.error, id).toBeUndefined();
      expect(st!.available, id).toBe(true);
    }
  });

  for (const id of modelIds) {
    it(`${id}: manifest hash, contract and Keras parity on the fixture crops`, async () => {
      const dir = path.join(here, id);
      const manifest = parseManifest(JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')));
      const bytes = fs.readFileSync(path.join(dir, manifest.file));
      const sha = createHash('sha256').update(bytes).digest('hex');
      expect(sha).toBe(manifest.sha256);
      const provenance = (manifest as unknown as { provenance: { onnxSha256: string; sourceSha256: string } }).provenance;
      expect(provenance.onnxSha256).toBe(sha);
      expect(provenance.sourceSha256).toMatch(/^[0-9a-f]{64}$/);
      expect(manifest.id).toBe(id);
      expect(manifest.task).toBe('face-forgery');
      expect(manifest.license).toBe('Apache-2.0');
      expect(manifest.calibration).toMatchObject({ method: 'logistic', a: 1, b: 0 });
      expect(manifest.verdict?.weight).toBe(0);
      expect(manifest.inputs).toEqual([{ name: 'image', dtype: 'float32', shape: ['batch', 3, S, S] }]);
      expect(manifest.outputs).toEqual([{ name: 'logit', dtype: 'float32', shape: ['batch', 1] }]);
      const spec = manifest.image!;
      expect(spec).toMatchObject({ width: S, height: S, layout: 'NCHW', channels: 'RGB', mean: [0, 0, 0], std: [1, 1, 1] });
      expect(spec.scale).toBeCloseTo(1 / 255, 12);

      const n = reference.crops.length;
      const input = new Float32Array(n * 3 * S * S);
      reference.crops.forEach((file, i) => {
        const img = decodeImage(path.join(here, 'fixtures', file), S, S);
        expect(img.rgb.length).toBe(S * S * 3);
        preprocessImage(img.rgb, img.width, img.height, spec, input, i * 3 * S * S);
      });
      const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
      try {
        const out = await session.run({ image: new ort.Tensor('float32', input, [n, 3, S, S]) });
        const logit = out['logit']!;
        expect(logit.dims).toEqual([n, 1]);
        const got = [...(logit.data as Float32Array)].map((l) => sigmoid(-l));
        const want = reference.sigmoid[id]!;
        const worst = Math.max(...got.map((g, i) => Math.abs(g - want[i]!)));
        expect(worst, `max |sigmoid(-logit) - keras| for ${id}`).toBeLessThan(1e-4);
      } finally {
        await session.release();
      }
    });
  }
});

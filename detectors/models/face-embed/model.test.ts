/**
 * The shipped face-embed model (faceres from @vladmandic/human, converted by detectors/convert/run.sh)
 * through the service's own path: FaceAnalyzer crops of the face-api sample photos (21 faces of
 * different people), FaceDescriber. A face and its mirror image are the same person; two faces
 * of the photos are different people. Bounds are measured values with their margin.
 */
import { createHash } from 'node:crypto';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaceAnalyzer } from '../../face/FaceAnalyzer.js';
import { FaceDescriber } from '../../face/FaceDescriber.js';
import { decodeImage, flipHorizontal, samplePhoto } from '../../face/fixtures.js';
import { readModelFiles } from '../../registry/ModelFiles.js';

const dir = dirname(fileURLToPath(import.meta.url));
const dot = (a: Float32Array, b: Float32Array): number => a.reduce((s, x, i) => s + x * b[i]!, 0);

describe('face-embed model', () => {
  let analyzer: FaceAnalyzer;
  let describer: FaceDescriber;
  /** Per sample-photo face: its descriptor and its mirror image's (when the mirrored photo gives the face back). */
  const faces: { v: Float32Array; mirror: Float32Array | undefined }[] = [];

  beforeAll(async () => {
    analyzer = await FaceAnalyzer.create({});
    describer = await FaceDescriber.load({ modelDir: dir });
    for (const n of [1, 2, 3, 4, 5, 6]) {
      const img = decodeImage(samplePhoto(n), 640);
      const [a, b] = [await analyzer.analyze(img), await analyzer.analyze(flipHorizontal(img))];
      for (const f of a.faces) {
        const cx = img.width - (f.box.x + f.box.width / 2);
        const g = b.faces.find((x) => Math.abs(x.box.x + x.box.width / 2 - cx) < f.box.width / 2);
        faces.push({ v: await describer.describe(f.crop, analyzer.options.cropSize), mirror: g ? await describer.describe(g.crop, analyzer.options.cropSize) : undefined });
      }
    }
  }, 120_000);
  afterAll(async () => {
    await describer?.close();
    await analyzer?.close();
  });

  it('manifest matches the contract, the file hash and carries the takeover rule', async () => {
    const { manifest, bytes } = await readModelFiles(dir);
    expect(manifest.id).toBe('face-embed');
    expect(manifest.task).toBe('face-embed');
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(manifest.sha256);
    expect(manifest.inputs).toEqual([{ name: 'image', dtype: 'float32', shape: ['batch', 224, 224, 3] }]);
    expect(manifest.outputs).toEqual([{ name: 'descriptor', dtype: 'float32', shape: ['batch', 1024] }]);
    // Chosen on tuning identities by detectors/eval/faceContinuity.ts (eval-results/face/continuity.json).
    expect(manifest.takeover).toEqual({ K: 3, M: 2, T: 0.71 });
  });

  it('gives unit descriptors; different people stay below the takeover threshold, a mirrored face above it', () => {
    expect(faces.length).toBeGreaterThanOrEqual(20);
    for (const f of faces) expect(dot(f.v, f.v)).toBeCloseTo(1, 5);
    // Measured: 210 pairs of different people, cosine at most 0.659 (T = 0.71).
    for (let i = 0; i < faces.length; i++) for (let j = i + 1; j < faces.length; j++) expect(dot(faces[i]!.v, faces[j]!.v)).toBeLessThan(0.71);
    // Measured: 19 of 20 mirrored faces at 0.87-0.95; one small face at 0.37.
    const same = faces.flatMap((f) => (f.mirror ? [dot(f.v, f.mirror)] : [])).sort((a, b) => a - b);
    expect(same.length).toBeGreaterThanOrEqual(18);
    expect(same[same.length >> 1]).toBeGreaterThan(0.85);
    expect(same.filter((c) => c >= 0.71).length / same.length).toBeGreaterThanOrEqual(0.85);
  });

  it('refuses a crop of the wrong size with a typed error and keeps working', async () => {
    await expect(describer.describe(new Uint8Array(10), 256)).rejects.toMatchObject({ code: 'ERR_BAD_REQUEST' });
    await expect(describer.describe(new Uint8Array(16 * 16 * 3), 8)).rejects.toMatchObject({ code: 'ERR_BAD_REQUEST' });
    const again = await describer.describe(new Uint8Array(256 * 256 * 3).fill(128), 256);
    expect(again.length).toBe(1024);
  });
});

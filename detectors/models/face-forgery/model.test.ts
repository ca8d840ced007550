import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseManifest, type Manifest } from '../../registry/Manifest.js';

const here = dirname(fileURLToPath(import.meta.url));
const S = 256;

/** A face crop per the manifest's convention from a face-api sample photo, decoded by ffmpeg. */
function photoCrop(): Uint8Array {
  const require = createRequire(import.meta.url);
  const photo = join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo', 'sample1.jpg');
  // OpenCV Haar box of the larger face in sample1.jpg: x 362, y 367, w = h = 238.
  const side = Math.round(1.3 * 238);
  const x0 = Math.round(362 + 119 - side / 2);
  const y0 = Math.round(367 + 119 - side / 2);
  const raw = execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-i', photo, '-vf', `crop=${side}:${side}:${x0}:${y0},scale=${S}:${S}:flags=area`, '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:']);
  return new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
}

/** Self-blended version: colour-shifted, blurred, shifted copy blended through a soft ellipse. */
function selfBlend(img: Uint8Array): Uint8Array {
  const src = new Float32Array(S * S * 3);
  const shift = [22, 4, -16];
  for (let y = 0; y < S; y++)
    for (let x = 0; x < S; x++)
      for (let c = 0; c < 3; c++) {
        let acc = 0;
        let n = 0;
        for (let dy = -2; dy <= 2; dy++)
          for (let dx = -2; dx <= 2; dx++) {
            const yy = Math.min(S - 1, Math.max(0, y + dy - 4));
            const xx = Math.min(S - 1, Math.max(0, x + dx + 3));
            acc += img[(yy * S + xx) * 3 + c]!;
            n++;
          }
        src[(y * S + x) * 3 + c] = acc / n + shift[c]!;
      }
  const out = new Uint8Array(S * S * 3);
  for (let y = 0; y < S; y++)
    for (let x = 0; x < S; x++) {
      const d = Math.hypot((x - 128) / 72, (y - 138) / 92);
      const m = Math.min(1, Math.max(0, (1.15 - d) / 0.3));
      for (let c = 0; c < 3; c++) {
        const i = (y * S + x) * 3 + c;
        out[i] = Math.max(0, Math.min(255, Math.round(m * src[i]! + (1 - m) * img[i]!)));
      }
    }
  return out;
}

function toTensor(crops: readonly Uint8Array[]): ort.Tensor {
  const plane = S * S;
  const data = new Float32Array(crops.length * 3 * plane);
  crops.forEach((img, n) => {
    for (let p = 0; p < plane; p++)
      for (let c = 0; c < 3; c++) data[n * 3 * plane + c * plane + p] = img[p * 3 + c]! / 255;
  });
  return new ort.Tensor('float32', data, [crops.length, 3, S, S]);
}

describe('face-forgery model', () => {
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

  const run = async (t: ort.Tensor): Promise<Float32Array> => {
    const out = await session.run({ [manifest.inputs[0]!.name]: t });
    const logit = out[manifest.outputs[0]!.name]!;
    expect(logit.dims).toEqual([t.dims[0], 1]);
    return logit.data as Float32Array;
  };

  it('manifest matches the contract and the file hash', () => {
    expect(manifest.id).toBe('face-forgery');
    expect(manifest.task).toBe('face-forgery');
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(manifest.sha256);
    expect(manifest.inputs).toEqual([{ name: 'image', dtype: 'float32', shape: ['batch', 3, 256, 256] }]);
    expect(manifest.outputs).toEqual([{ name: 'logit', dtype: 'float32', shape: ['batch', 1] }]);
    expect(manifest.image).toMatchObject({ width: 256, height: 256, layout: 'NCHW', channels: 'RGB', mean: [0, 0, 0], std: [1, 1, 1] });
    expect(manifest.image?.scale).toBeCloseTo(1 / 255, 12);
    expect(Number.isFinite(manifest.calibration.a) && Number.isFinite(manifest.calibration.b)).toBe(true);
    expect(session.inputNames).toEqual(['image']);
    expect(session.outputNames).toEqual(['logit']);
  });

  it('gives finite logits for batch 1 and batch 4, and batching does not change a row', async () => {
    const crops = [0, 1, 2, 3].map((k) => {
      const a = new Uint8Array(S * S * 3);
      for (let i = 0; i < a.length; i++) a[i] = (i * (7 + k) + k * 31) & 255;
      return a;
    });
    const one = await run(toTensor([crops[2]!]));
    const four = await run(toTensor(crops));
    expect([...one, ...four].every(Number.isFinite)).toBe(true);
    expect(four[2]).toBeCloseTo(one[0]!, 3);
  });

  it('scores a real photo crop and its self-blended version differently', async () => {
    const real = photoCrop();
    expect(real.length).toBe(S * S * 3);
    const fake = selfBlend(real);
    let changed = 0;
    for (let i = 0; i < real.length; i++) if (real[i] !== fake[i]) changed++;
    expect(changed).toBeGreaterThan(real.length / 10);
    const [lr, lf] = await run(toTensor([real, fake]));
    expect(Number.isFinite(lr) && Number.isFinite(lf)).toBe(true);
    expect(Math.abs(lf! - lr!)).toBeGreaterThan(1e-3);
  });
});

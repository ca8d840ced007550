import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDfdError } from '../../kernel/errors.js';
import { parseManifest } from '../registry/Manifest.js';
import { BlazeFace, blazeFaceAnchors, weightedNms, type DetectedFace } from './BlazeFace.js';
import { FaceAnalyzer, type AnalyzedFace } from './FaceAnalyzer.js';
import { modelDir } from './FaceModel.js';
import { decodeImage, flipHorizontal, samplePhoto, syntheticFrame } from './fixtures.js';
import { sampleAffine, squareCropAffine, type RgbFrame } from './image.js';

const eyeAngleDeg = (f: Pick<DetectedFace, 'keypoints'>): number => {
  const [r, l] = f.keypoints as [[number, number], [number, number]];
  return (Math.atan2(l[1] - r[1], l[0] - r[0]) * 180) / Math.PI;
};
const centre = (f: { box: { x: number; y: number; width: number; height: number } }): [number, number] => [f.box.x + f.box.width / 2, f.box.y + f.box.height / 2];

async function expectCode(p: Promise<unknown>, code: Parameters<typeof isDfdError>[1]): Promise<void> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(isDfdError(e, code), `expected ${code}, got ${String(e)}`).toBe(true);
}

describe('committed face models', () => {
  for (const [id, task] of [
    ['face-detect', 'face-detect'],
    ['face-landmarks', 'face-landmarks'],
  ] as const) {
    it(`${id}: manifest valid, hash and tensor specs match the ONNX file`, async () => {
      const dir = modelDir(id);
      const manifest = parseManifest(JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')));
      expect(manifest.id).toBe(id);
      expect(manifest.task).toBe(task);
      const bytes = readFileSync(path.join(dir, manifest.file));
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(manifest.sha256);
      const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
      try {
        expect(session.inputNames).toEqual(manifest.inputs.map((s) => s.name));
        expect(session.outputNames).toEqual(manifest.outputs.map((s) => s.name));
        const meta = [...session.inputMetadata, ...session.outputMetadata];
        const specs = [...manifest.inputs, ...manifest.outputs];
        specs.forEach((s, i) => {
          const m = meta[i]!;
          expect(m.isTensor && m.type).toBe('float32');
          if (m.isTensor) expect(m.shape).toEqual(s.shape);
        });
        expect(manifest.image?.layout).toBe('NHWC');
        expect(manifest.training.metrics['tfjsMaxRelDiff']).toBeLessThan(1e-3);
      } finally {
        await session.release();
      }
    });
  }

  it('rejects a tampered hash and a missing manifest with coded errors', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'face-model-'));
    try {
      const src = modelDir('face-detect');
      copyFileSync(path.join(src, 'model.onnx'), path.join(dir, 'model.onnx'));
      await expectCode(BlazeFace.load({ modelDir: dir }), 'ERR_MODEL_MANIFEST');
      const m = JSON.parse(readFileSync(path.join(src, 'manifest.json'), 'utf8')) as Record<string, unknown>;
      writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify({ ...m, sha256: '0'.repeat(64) }));
      await expectCode(BlazeFace.load({ modelDir: dir }), 'ERR_MODEL_HASH');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('BlazeFace decoding helpers', () => {
  it('generates the 896 MediaPipe anchors', () => {
    const a = blazeFaceAnchors();
    expect(a.length).toBe(896 * 2);
    expect([a[0], a[1], a[2], a[3]]).toEqual([8, 8, 8, 8]); // two anchors per 16-px cell
    expect([a[1024], a[1025]]).toEqual([16, 16]); // first 32-px cell after 512 anchors
    expect([a[1790], a[1791]]).toEqual([240, 240]);
  });

  it('weighted NMS blends overlapping boxes and keeps separate ones', () => {
    const g = (x1: number, y1: number, x2: number, y2: number): Float64Array => Float64Array.from([x1, y1, x2, y2]);
    const out = weightedNms(
      [
        { score: 0.9, geom: g(0, 0, 10, 10) },
        { score: 0.3, geom: g(2, 0, 12, 10) },
        { score: 0.8, geom: g(50, 50, 60, 60) },
      ],
      0.3,
      10,
    );
    expect(out).toHaveLength(2);
    expect(out[0]!.geom[0]).toBeCloseTo((0 * 0.9 + 2 * 0.3) / 1.2, 6);
    expect(out[0]!.score).toBeCloseTo(0.6, 6);
    expect(out[1]!.geom[0]).toBe(50);
    expect(weightedNms([{ score: 0.9, geom: g(0, 0, 10, 10) }, { score: 0.8, geom: g(50, 50, 60, 60) }], 0.3, 1)).toHaveLength(1);
  });
});

describe('face analysis on the face-api sample photos', () => {
  let analyzer: FaceAnalyzer;
  let detector: BlazeFace;
  const photos = new Map<number, RgbFrame>();
  // Counts checked by eye on each photo (22 faces in all).
  const expectedCounts: Record<number, number> = { 1: 3, 2: 3, 3: 3, 4: 4, 5: 5, 6: 4 };

  beforeAll(async () => {
    analyzer = await FaceAnalyzer.create({ minScore: 0.4, maxFaces: 10 });
    detector = await BlazeFace.load({ minScore: 0.4 });
    for (let n = 1; n <= 6; n++) photos.set(n, decodeImage(samplePhoto(n), 640));
  });
  afterAll(async () => {
    await analyzer.close();
    await detector.close();
  });

  it('finds every face with plausible boxes and keypoints', async () => {
    let total = 0;
    for (const [n, frame] of photos) {
      const faces = await detector.detect(frame);
      expect(faces.length, `sample${n}`).toBe(expectedCounts[n]);
      total += faces.length;
      for (const f of faces) {
        const [cx, cy] = centre(f);
        expect(cx).toBeGreaterThan(0);
        expect(cx).toBeLessThan(frame.width);
        expect(cy).toBeGreaterThan(0);
        expect(cy).toBeLessThan(frame.height);
        expect(f.box.width).toBeGreaterThan(30);
        expect(f.box.width).toBeLessThan(160);
        expect(f.box.height / f.box.width).toBeGreaterThan(0.7);
        expect(f.box.height / f.box.width).toBeLessThan(1.4);
        expect(f.score).toBeGreaterThanOrEqual(0.4);
        expect(f.keypoints).toHaveLength(6);
        for (const [x, y] of f.keypoints.slice(0, 4)) {
          expect(x).toBeGreaterThan(f.box.x - 0.1 * f.box.width);
          expect(x).toBeLessThan(f.box.x + 1.1 * f.box.width);
          expect(y).toBeGreaterThan(f.box.y - 0.1 * f.box.height);
          expect(y).toBeLessThan(f.box.y + 1.1 * f.box.height);
        }
      }
    }
    expect(total).toBe(22);
  });

  it('puts the boxes on the faces of sample1 (positions checked by eye)', async () => {
    const faces = await detector.detect(photos.get(1)!);
    for (const [ex, ey] of [
      [172, 167],
      [522, 115],
      [313, 185],
    ] as const) {
      const d = Math.min(...faces.map((f) => Math.hypot(centre(f)[0] - ex, centre(f)[1] - ey)));
      expect(d).toBeLessThan(25);
    }
    // Same faces, same place, on a 2x larger decode of the same photo.
    const big = await detector.detect(decodeImage(samplePhoto(1), 1280));
    expect(big).toHaveLength(3);
    for (const f of faces) {
      const d = Math.min(...big.map((b) => Math.hypot(centre(b)[0] / 2 - centre(f)[0], centre(b)[1] / 2 - centre(f)[1])));
      expect(d).toBeLessThan(6);
    }
  });

  it('returns landmarks inside the face box, eyes-level crops and mirrored yaw', async () => {
    for (const n of [1, 3, 4]) {
      const frame = photos.get(n)!;
      const res = await analyzer.analyze(frame);
      expect(res.faces).toHaveLength(expectedCounts[n]!);
      const flipped = await analyzer.analyze(flipHorizontal(frame));
      for (const f of res.faces) {
        expect(f.presence).toBeGreaterThan(0.9);
        const lm = f.landmarks!;
        expect(lm.length).toBe(468 * 3);
        let inside = 0;
        for (let i = 0; i < 468; i++) {
          const x = lm[3 * i]!;
          const y = lm[3 * i + 1]!;
          if (x >= f.box.x - 0.2 * f.box.width && x <= f.box.x + 1.2 * f.box.width && y >= f.box.y - 0.35 * f.box.height && y <= f.box.y + 1.2 * f.box.height) inside++;
        }
        expect(inside / 468).toBeGreaterThan(0.97);
        // crop: 256x256 RGB, re-detected eyes level
        expect(f.crop.length).toBe(256 * 256 * 3);
        const again = await detector.detect({ width: 256, height: 256, rgb: f.crop });
        expect(again.length).toBeGreaterThan(0);
        const central = again.reduce((a, b) => (Math.hypot(centre(a)[0] - 128, centre(a)[1] - 128) <= Math.hypot(centre(b)[0] - 128, centre(b)[1] - 128) ? a : b));
        expect(Math.abs(eyeAngleDeg(central))).toBeLessThan(8);
        expect(Math.hypot(centre(central)[0] - 128, centre(central)[1] - 128)).toBeLessThan(48);
        // the mirrored photo has the mirrored face: same roll and yaw, opposite sign
        const [cx, cy] = centre(f);
        const m = flipped.faces.find((g) => Math.hypot(frame.width - centre(g)[0] - cx, centre(g)[1] - cy) < 15);
        expect(m).toBeDefined();
        expect(Math.abs(m!.rollDeg + f.rollDeg)).toBeLessThan(6);
        expect(Math.abs(m!.yawDeg + f.yawDeg)).toBeLessThan(8);
        if (Math.abs(f.yawDeg) > 10) expect(Math.sign(m!.yawDeg)).toBe(-Math.sign(f.yawDeg));
        expect(Math.abs(m!.pitchDeg - f.pitchDeg)).toBeLessThan(8);
      }
    }
  });

  it('removes an in-plane rotation of the whole frame', async () => {
    const src = photos.get(3)!;
    const base = await analyzer.analyze(src);
    const angle = (25 * Math.PI) / 180;
    const side = 640;
    const rotated: RgbFrame = { width: side, height: side, rgb: new Uint8Array(side * side * 3) };
    // sample the source through a square rotated by -25 degrees: faces appear rotated by +25
    sampleAffine(src, squareCropAffine(src.width / 2, src.height / 2, side, -angle, side, side), side, side, rotated.rgb);
    const res = await analyzer.analyze(rotated);
    expect(res.faces.length).toBe(base.faces.length);
    for (const f of res.faces) {
      const again = await detector.detect({ width: 256, height: 256, rgb: f.crop });
      expect(again.length).toBeGreaterThan(0);
      expect(Math.abs(eyeAngleDeg(again[0]!))).toBeLessThan(8);
    }
    const meanRoll = (fs: AnalyzedFace[]): number => fs.reduce((s, f) => s + f.rollDeg, 0) / fs.length;
    expect(meanRoll(res.faces) - meanRoll(base.faces)).toBeGreaterThan(20);
    expect(meanRoll(res.faces) - meanRoll(base.faces)).toBeLessThan(30);
  });

  it('gives overlapping calls the same answers as sequential ones', async () => {
    const a = photos.get(1)!;
    const b = photos.get(4)!;
    const seq = [await detector.detect(a), await detector.detect(b)];
    const par = await Promise.all([detector.detect(a), detector.detect(b)]);
    expect(par).toEqual(seq);
    const both = await Promise.all([analyzer.analyze(a), analyzer.analyze(b)]);
    expect(both.map((r) => r.faces.length)).toEqual([3, 4]);
  });

  it('finds no face in blank or noise frames', async () => {
    for (const frame of [
      syntheticFrame(640, 480),
      syntheticFrame(640, 480, { value: 128 }),
      syntheticFrame(640, 480, { value: 255 }),
      syntheticFrame(640, 480, { noise: true, seed: 7 }),
      syntheticFrame(320, 240, { noise: true, seed: 99 }),
    ]) {
      const res = await analyzer.analyze(frame);
      expect(res.faces).toHaveLength(0);
    }
  });

  it('rejects malformed frames with ERR_FRAME_INVALID and keeps working', async () => {
    const bad: unknown[] = [
      { width: 0, height: 10, rgb: new Uint8Array(0) },
      { width: -4, height: 4, rgb: new Uint8Array(48) },
      { width: 10.5, height: 20, rgb: new Uint8Array(630) },
      { width: 64, height: 64, rgb: new Uint8Array(64 * 64 * 3 - 1) },
      { width: 64, height: 64, rgb: new Float32Array(64 * 64 * 3) },
      { width: 9000, height: 16, rgb: new Uint8Array(9000 * 16 * 3) },
      { width: 8, height: 8, rgb: new Uint8Array(8 * 8 * 3) },
      { width: 64, height: 64 },
      null,
    ];
    for (const frame of bad) {
      await expectCode(analyzer.analyze(frame as RgbFrame), 'ERR_FRAME_INVALID');
      await expectCode(detector.detect(frame as RgbFrame), 'ERR_FRAME_INVALID');
    }
    expect((await analyzer.analyze(photos.get(1)!)).faces).toHaveLength(3);
  });

  it('rejects calls after close with ERR_CLOSED', async () => {
    const d = await BlazeFace.load();
    await d.close();
    await expectCode(d.detect(photos.get(1)!), 'ERR_CLOSED');
    const a = await FaceAnalyzer.create({ landmarks: false });
    const res = await a.analyze(photos.get(1)!);
    expect(res.faces.length).toBeGreaterThan(0);
    expect(res.faces[0]!.landmarks).toBeUndefined();
    await a.close();
    await expectCode(a.analyze(photos.get(1)!), 'ERR_CLOSED');
  });
});

describe('FaceAnalyzer in a worker thread', () => {
  it('loads and analyses a frame off the main thread, returning a transferable crop', async () => {
    // eval worker: registers tsx so it can import the TypeScript sources, as a service worker would import the built JS
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      (async () => {
        const { register } = await import('tsx/esm/api');
        register();
        const { FaceAnalyzer } = await import(workerData.analyzer);
        const { decodeImage, samplePhoto } = await import(workerData.fixtures);
        const a = await FaceAnalyzer.create({ minScore: 0.4 });
        const r = await a.analyze(decodeImage(samplePhoto(1), 640));
        await a.close();
        const crop = r.faces[0].crop;
        parentPort.postMessage({ faces: r.faces.length, yaw: r.faces.map((f) => f.yawDeg), crop }, [crop.buffer]);
      })().catch((e) => parentPort.postMessage({ error: String(e) }));
    `;
    const here = path.dirname(fileURLToPath(import.meta.url));
    const worker = new Worker(code, {
      eval: true,
      workerData: { analyzer: pathToFileURL(path.join(here, 'FaceAnalyzer.ts')).href, fixtures: pathToFileURL(path.join(here, 'fixtures.ts')).href },
    });
    try {
      const msg = await new Promise<{ error?: string; faces?: number; yaw?: number[]; crop?: Uint8Array }>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      });
      expect(msg.error).toBeUndefined();
      expect(msg.faces).toBe(3);
      expect(msg.yaw?.every(Number.isFinite)).toBe(true);
      expect(msg.crop).toBeInstanceOf(Uint8Array);
      expect(msg.crop?.length).toBe(256 * 256 * 3);
    } finally {
      await worker.terminate();
    }
  });
});

/**
 * Measures presentation-attack (PAD) model scores on faces, for two crop conventions:
 *
 *   service  the media worker's aligned crop (FaceAnalyzer: eyes level, side 1.3 x max(box),
 *            256x256), resized by the inference worker's preprocessing to the model size;
 *   human    the crop @vladmandic/human feeds these models: the detector box enlarged 1.4x,
 *            squared, not rotated, resized to 192x192 (its mesh input), then resized
 *            bilinearly to the model size.
 *
 * Prints JSON: per file and overall, the distribution of pReal = 1 - pFake per frame and per
 * 5-frame window (mean of frame logits, as the inference worker does). For measuring real
 * faces offline; it is not a test and reads whatever files it is given.
 *
 *   node --import tsx detectors/eval/padCrops.ts [--model DIR]... [--max-frames 40] FILE...
 *
 * Images (.jpg/.jpeg/.png) give one frame (every face in it, up to 4); videos are sampled at
 * 5 fps, at most 640 px wide, largest face per frame, like `npm run eval`.
 */
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { FaceAnalyzer } from '../face/FaceAnalyzer.js';
import { largestFace } from '../face/observe.js';
import { decodeImage } from '../face/fixtures.js';
import { sampleAffine, squareCropAffine, type RgbFrame } from '../face/image.js';
import { calibrate, type Manifest } from '../registry/Manifest.js';
import { preprocessImage } from '../../pipeline/inference/preprocess.js';
import { sampleFrames } from './clipMedia.js';
import { setLogLevel } from '../../kernel/log.js';
import { openModelSession } from '../registry/openModelSession.js';

const HUMAN_SCALE = 1.4;
const HUMAN_SIZE = 192;
const WINDOW = 5;

interface Model {
  id: string;
  manifest: Manifest;
  session: ort.InferenceSession;
}

async function openModel(dir: string): Promise<Model> {
  const { manifest, session } = await openModelSession(dir);
  return { id: manifest.id, manifest, session };
}

/** Fake logits (first value of the first output) of HWC uint8 crops. */
async function logits(m: Model, crops: readonly Uint8Array[], size: number): Promise<number[]> {
  const spec = m.manifest.image!;
  const n = 3 * spec.width * spec.height;
  const data = new Float32Array(crops.length * n);
  crops.forEach((c, i) => preprocessImage(c, size, size, spec, data, i * n));
  const shape = spec.layout === 'NCHW' ? [crops.length, 3, spec.height, spec.width] : [crops.length, spec.height, spec.width, 3];
  const out = await m.session.run({ [m.manifest.inputs[0]!.name]: new ort.Tensor('float32', data, shape) });
  const t = out[m.manifest.outputs[0]!.name]!.data as Float32Array;
  const per = t.length / crops.length;
  return crops.map((_, i) => t[i * per]!);
}

function quantiles(xs: readonly number[]): Record<string, number> {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number): number => s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? NaN;
  const r3 = (v: number): number => Math.round(v * 1000) / 1000;
  return { n: s.length, min: r3(s[0] ?? NaN), p10: r3(q(0.1)), median: r3(q(0.5)), p90: r3(q(0.9)), max: r3(s[s.length - 1] ?? NaN), mean: r3(s.reduce((a, b) => a + b, 0) / (s.length || 1)) };
}

function summary(m: Model, frameLogits: readonly number[], windowLogits: readonly number[]): Record<string, unknown> {
  const pFakeF = frameLogits.map((z) => calibrate(m.manifest.calibration, z));
  const pFakeW = windowLogits.map((z) => calibrate(m.manifest.calibration, z));
  const frac = (xs: number[], t: number): number => Math.round((1000 * xs.filter((x) => x > t).length) / (xs.length || 1)) / 1000;
  return {
    framePReal: quantiles(pFakeF.map((p) => 1 - p)),
    windowPReal: quantiles(pFakeW.map((p) => 1 - p)),
    windowsPFakeAbove: { '0.5': frac(pFakeW, 0.5), '0.6': frac(pFakeW, 0.6), '0.85': frac(pFakeW, 0.85), '0.95': frac(pFakeW, 0.95) },
  };
}

async function main(): Promise<void> {
  setLogLevel('error');
  const args = process.argv.slice(2);
  const modelDirs: string[] = [];
  let maxFrames = 40;
  const files: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--model') modelDirs.push(args[++i]!);
    else if (a === '--max-frames') maxFrames = Number(args[++i]);
    else files.push(a);
  }
  if (modelDirs.length === 0) modelDirs.push('detectors/models/face-antispoof', 'detectors/models/face-liveness');
  const models = await Promise.all(modelDirs.map(openModel));
  const analyzer = await FaceAnalyzer.create();
  const all: Record<string, Record<'service' | 'human', { frames: number[]; windows: number[] }>> = {};
  for (const m of models) all[m.id] = { service: { frames: [], windows: [] }, human: { frames: [], windows: [] } };
  const perFile: Record<string, unknown>[] = [];
  try {
    for (const file of files) {
      const isImage = /\.(jpe?g|png)$/i.test(file);
      let frames: RgbFrame[];
      if (isImage) frames = [decodeImage(file, 640)];
      else {
        const v = await sampleFrames(file, 5, maxFrames, 640);
        frames = v.frames.map((rgb) => ({ width: v.width, height: v.height, rgb }));
      }
      const service: Uint8Array[] = [];
      const human: Uint8Array[] = [];
      for (const frame of frames) {
        const a = await analyzer.analyze(frame);
        const largest = largestFace(a.faces);
        const faces = isImage ? a.faces : largest ? [largest] : [];
        for (const f of faces) {
          service.push(f.crop);
          const side = HUMAN_SCALE * Math.max(f.box.width, f.box.height);
          const h = new Uint8Array(HUMAN_SIZE * HUMAN_SIZE * 3);
          sampleAffine(frame, squareCropAffine(f.box.x + f.box.width / 2, f.box.y + f.box.height / 2, side, 0, HUMAN_SIZE, HUMAN_SIZE), HUMAN_SIZE, HUMAN_SIZE, h);
          human.push(h);
        }
      }
      const entry: Record<string, unknown> = { file: path.basename(file), faces: service.length };
      for (const m of models) {
        const res: Record<string, unknown> = {};
        for (const [kind, crops, size] of [['service', service, analyzer.options.cropSize], ['human', human, HUMAN_SIZE]] as const) {
          if (crops.length === 0) continue;
          const z = await logits(m, crops, size);
          // Windows: images are single frames (each face its own window); videos group 5 frames.
          const w: number[] = [];
          if (isImage) w.push(...z);
          else for (let s = 0; s < z.length; s += WINDOW) w.push(z.slice(s, s + WINDOW).reduce((a, b) => a + b, 0) / z.slice(s, s + WINDOW).length);
          all[m.id]![kind].frames.push(...z);
          all[m.id]![kind].windows.push(...w);
          const meanPReal = 1 - calibrate(m.manifest.calibration, z.reduce((a, b) => a + b, 0) / z.length);
          res[kind] = Math.round(meanPReal * 1000) / 1000;
        }
        entry[m.id] = res;
      }
      perFile.push(entry);
      process.stderr.write(`${JSON.stringify(entry)}\n`);
    }
  } finally {
    await analyzer.close();
    for (const m of models) await m.session.release();
  }
  const overall: Record<string, unknown> = {};
  for (const m of models) {
    overall[m.id] = {
      service: summary(m, all[m.id]!.service.frames, all[m.id]!.service.windows),
      human: summary(m, all[m.id]!.human.frames, all[m.id]!.human.windows),
    };
  }
  console.log(JSON.stringify({ files: files.length, overall, perFile }, null, 1));
}

await main();

/**
 * Cuts training crops with the service's own face path, so the forgery model is trained on
 * exactly what it scores in a call: ffmpeg samples each video at the media worker's analysis
 * rate (5 fps, frames at most 640 px wide, as `npm run eval` does), FaceAnalyzer (BlazeFace +
 * FaceMesh + FaceAligner, eyes level, 256x256) finds faces and the largest face's crop is kept.
 * As in the media worker, each clip has a FaceTrack: BlazeFace runs on one frame in
 * `--redetect-every` (the service's default) and the mesh follows the face in between; 1 runs the
 * detector on every frame (how the crops of face-forgery 0.1.0-0.3.0 were cut).
 *
 *   node --import tsx detectors/training/face/serviceCrops.ts --out DIR [--fps 5] [--max-frames 40] [--redetect-every N] TSV...
 *
 * Each TSV is a manifest (`path` relative to the TSV's folder, `label` real/fake, and whatever
 * of `generator`, `source`, `identity`, `pair_group` it has). For every clip with at least one
 * face, DIR gets `<n>.crops.u8` (frames x 256 x 256 x 3 RGB bytes) and `<n>.lm.f32` (frames x
 * 468 x 2 mesh landmarks in crop pixels; NaN where the mesh did not pass), and `index.json`
 * lists each clip with its columns and per-frame face box, detector score, mesh presence, roll,
 * yaw and pitch. A clip that does not decode or shows no face is listed under `skipped` with
 * its reason. The crops are training data: they go to the cache folder given, never into the
 * repository.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DfdError, toDfdError } from '../../../kernel/errors.js';
import { setLogLevel } from '../../../kernel/log.js';
import { sampleFrames } from '../../eval/clipMedia.js';
import { FaceAnalyzer, type AnalyzedFace } from '../../face/FaceAnalyzer.js';
import { FaceTrack } from '../../face/FaceTrack.js';
import { defaultMediaWorkerPoolOptions } from '../../../pipeline/media/MediaWorkerPool.js';
import { largestFace } from '../../face/observe.js';
import { rollAngle } from '../../face/FaceAligner.js';
import { squareCropAffine } from '../../face/image.js';

const MESH_POINTS = 468;

export interface ClipRow {
  path: string;
  label: 'real' | 'fake';
  generator: string;
  source: string;
  identity: string;
  pairGroup: string;
  manifest: string;
}

/** Reads a face manifest; rows keep their file path resolved against the manifest's folder. */
export function readFaceManifest(tsv: string): ClipRow[] {
  let text: string;
  try {
    text = readFileSync(tsv, 'utf8');
  } catch (e) {
    throw new DfdError('ERR_EVAL_TSV', 'cannot read the manifest', { tsv, reason: (e as NodeJS.ErrnoException).code ?? 'unknown' });
  }
  const lines = text.split('\n').filter((l) => l.trim().length > 0);
  const header = (lines[0] ?? '').split('\t');
  const col = (name: string): number => header.indexOf(name);
  if (col('path') < 0 || col('label') < 0) throw new DfdError('ERR_EVAL_TSV', 'manifest needs path and label columns', { tsv });
  const dir = path.dirname(path.resolve(tsv));
  return lines.slice(1).map((line, i) => {
    const f = line.split('\t');
    const get = (name: string): string => (col(name) >= 0 ? (f[col(name)] ?? '') : '');
    const label = get('label');
    if (label !== 'real' && label !== 'fake') throw new DfdError('ERR_EVAL_TSV', `line ${i + 2}: label must be real or fake`, { tsv, label });
    return { path: path.resolve(dir, get('path')), label, generator: get('generator'), source: get('source'), identity: get('identity') || get('pair_group'), pairGroup: get('pair_group'), manifest: path.basename(tsv) };
  });
}

/** Mesh landmarks mapped into the aligned crop's pixel grid (the inverse of the aligner's affine). */
export function landmarksInCrop(face: AnalyzedFace, cropSize: number, cropScale: number): Float32Array {
  const out = new Float32Array(MESH_POINTS * 2).fill(Number.NaN);
  const lm = face.landmarks;
  if (!lm) return out;
  const roll = rollAngle(face, lm);
  const side = cropScale * Math.max(face.box.width, face.box.height);
  const m = squareCropAffine(face.box.x + face.box.width / 2, face.box.y + face.box.height / 2, side, roll, cropSize, cropSize);
  // m maps crop (u, v) to frame (x, y): x = a u + b v + c, y = d u + e v + f. Invert the 2x2 part.
  const [a, b, c, d, e, f] = m;
  const det = a * e - b * d;
  for (let i = 0; i < MESH_POINTS; i++) {
    const x = (lm[3 * i] ?? Number.NaN) - c;
    const y = (lm[3 * i + 1] ?? Number.NaN) - f;
    out[2 * i] = (e * x - b * y) / det;
    out[2 * i + 1] = (-d * x + a * y) / det;
  }
  return out;
}

async function main(): Promise<void> {
  setLogLevel('error');
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { out: { type: 'string' }, fps: { type: 'string', default: '5' }, 'max-frames': { type: 'string', default: '40' }, 'max-width': { type: 'string', default: '640' }, 'redetect-every': { type: 'string', default: String(defaultMediaWorkerPoolOptions.faceRedetectEvery) } },
  });
  const fps = Number(values.fps);
  const maxFrames = Number(values['max-frames']);
  const maxWidth = Number(values['max-width']);
  const redetectEvery = Number(values['redetect-every']);
  if (!values.out || positionals.length === 0 || !(fps > 0) || !(maxFrames >= 1) || !(maxWidth >= 64) || !(Number.isInteger(redetectEvery) && redetectEvery >= 1)) {
    throw new DfdError('ERR_CONFIG', 'usage: serviceCrops.ts --out DIR [--fps 5] [--max-frames 40] [--max-width 640] [--redetect-every N] TSV...');
  }
  const out = values.out;
  mkdirSync(out, { recursive: true });
  const rows = positionals.flatMap(readFaceManifest);
  const analyzer = await FaceAnalyzer.create();
  const { cropSize, cropScale } = analyzer.options;
  const clips: Record<string, unknown>[] = [];
  const skipped: { path: string; reason: string }[] = [];
  try {
    for (const [n, row] of rows.entries()) {
      let v;
      try {
        v = await sampleFrames(row.path, fps, maxFrames, maxWidth);
      } catch (e) {
        skipped.push({ path: row.path, reason: toDfdError(e).code });
        continue;
      }
      const crops: Uint8Array[] = [];
      const lms: Float32Array[] = [];
      const frames: Record<string, unknown>[] = [];
      const track = new FaceTrack({ redetectEvery });
      for (const [k, rgb] of v.frames.entries()) {
        const a = await analyzer.analyze({ width: v.width, height: v.height, rgb }, track);
        const face = largestFace(a.faces);
        if (!face) continue;
        crops.push(face.crop);
        lms.push(landmarksInCrop(face, cropSize, cropScale));
        const r = (x: number): number => Math.round(x * 100) / 100;
        frames.push({ frame: k, t: r(k / fps), faces: a.faces.length, box: [r(face.box.x), r(face.box.y), r(face.box.width), r(face.box.height)], score: r(face.score), presence: face.presence === undefined ? null : r(face.presence), roll: r(face.rollDeg), yaw: r(face.yawDeg), pitch: r(face.pitchDeg) });
      }
      if (crops.length === 0) {
        skipped.push({ path: row.path, reason: 'NO_FACE' });
        continue;
      }
      const cropBuf = Buffer.alloc(crops.length * cropSize * cropSize * 3);
      crops.forEach((c, i) => cropBuf.set(c.subarray(0, cropSize * cropSize * 3), i * cropSize * cropSize * 3));
      writeFileSync(path.join(out, `${n}.crops.u8`), cropBuf);
      const lmBuf = new Float32Array(lms.length * MESH_POINTS * 2);
      lms.forEach((l, i) => lmBuf.set(l, i * MESH_POINTS * 2));
      writeFileSync(path.join(out, `${n}.lm.f32`), Buffer.from(lmBuf.buffer));
      clips.push({ n, ...row, path: path.relative(process.cwd(), row.path), frameWidth: v.width, frameHeight: v.height, sampled: v.frames.length, frames });
      process.stderr.write(`\r${n + 1}/${rows.length} clips, ${clips.length} with faces`);
    }
  } finally {
    await analyzer.close();
  }
  process.stderr.write('\n');
  const index = { cropSize, cropScale, meshPoints: MESH_POINTS, fps, maxFrames, maxWidth, clips, skipped };
  writeFileSync(path.join(out, 'index.json'), JSON.stringify(index, null, 1));
  console.log(JSON.stringify({ clips: clips.length, skipped }));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((e: unknown) => {
    const err = toDfdError(e);
    console.error(`${err.code}: ${err.message}`);
    process.exit(2);
  });
}

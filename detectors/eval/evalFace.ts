/**
 * Evaluates the face-forgery model on a labelled list of videos and prints JSON.
 *
 *   node --import tsx detectors/eval/evalFace.ts --tsv ../shared/eval/video.tsv
 *
 * Frames are sampled with ffmpeg and faces cropped by the training helper
 * (detectors/training/face/eval_crops.py: same Haar detector and crop convention as training),
 * so the numbers measure the model, not a different face detector. Crops are scored with
 * onnxruntime-node. Video score = mean frame logit. Reports frame- and video-level AUC/EER
 * overall and on the subset of pair groups holding both a real and a fake video (the
 * DeepFaceLive webcam/face-swap pairs), plus how often the fake of a pair outscores its real.
 *
 * Options: --tsv FILE (required), --model DIR (detectors/models/face-forgery), --fps 2,
 * --max-frames 16, --python PATH (training venv), --out FILE (also write the JSON there).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { DfdError } from '../../kernel/errors.js';
import { eer, rocAuc, type Scored } from './faceMetrics.js';
import { openModelSession } from '../registry/openModelSession.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..', '..');
const CROP = 256;

export interface EvalFaceOptions {
  tsv: string;
  modelDir: string;
  fps: number;
  maxFrames: number;
  python: string;
  out: string | undefined;
}

export const defaultEvalFaceOptions: Omit<EvalFaceOptions, 'tsv'> = {
  modelDir: join(repoRoot, 'detectors', 'models', 'face-forgery'),
  fps: 2,
  maxFrames: 16,
  python: [join(repoRoot, 'detectors', 'training', '.venv', 'bin', 'python'), join(repoRoot, 'detectors', 'training', 'face', '.venv', 'bin', 'python')].find((p) => existsSync(p)) ?? 'python3',
  out: undefined,
};

interface Row {
  path: string;
  label: 0 | 1;
  generator: string;
  pairGroup: string;
}

interface CropRecord {
  index: number;
  path: string;
  sampled: number;
  crops: number;
  offset: number;
  error?: string;
}

export interface VideoResult extends Row {
  sampled: number;
  crops: number;
  /** Mean logit over the face crops; NaN when no face was found. */
  score: number;
  frameScores: number[];
}

function parseArgs(argv: readonly string[]): EvalFaceOptions {
  const get = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const tsv = get('tsv');
  if (!tsv) throw new DfdError('ERR_CONFIG', 'usage: evalFace.ts --tsv FILE [--model DIR] [--fps N] [--max-frames N] [--python PATH] [--out FILE]');
  const num = (name: string, def: number): number => {
    const v = get(name);
    if (v === undefined) return def;
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new DfdError('ERR_CONFIG', `--${name} must be a positive number`);
    return n;
  };
  return {
    tsv: resolve(tsv),
    modelDir: resolve(get('model') ?? defaultEvalFaceOptions.modelDir),
    fps: num('fps', defaultEvalFaceOptions.fps),
    maxFrames: Math.round(num('max-frames', defaultEvalFaceOptions.maxFrames)),
    python: get('python') ?? defaultEvalFaceOptions.python,
    out: get('out'),
  };
}

export function readTsv(file: string): Row[] {
  const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '');
  const header = (lines[0] ?? '').split('\t');
  const col = (name: string): number => {
    const i = header.indexOf(name);
    if (i < 0) throw new DfdError('ERR_CONFIG', `tsv lacks column ${name}`);
    return i;
  };
  const [ip, il, ig, ipg] = [col('path'), col('label'), col('generator'), col('pair_group')];
  const base = dirname(file);
  return lines.slice(1).map((l) => {
    const f = l.split('\t');
    const label = f[il];
    if (label !== 'real' && label !== 'fake') throw new DfdError('ERR_CONFIG', 'label must be real or fake');
    return { path: resolve(base, f[ip] ?? ''), label: label === 'fake' ? 1 : 0, generator: f[ig] ?? '', pairGroup: f[ipg] ?? '' };
  });
}

async function extractCrops(opts: EvalFaceOptions, rows: readonly Row[], rawFile: string): Promise<CropRecord[]> {
  const script = join(repoRoot, 'detectors', 'training', 'face', 'eval_crops.py');
  const child = spawn(opts.python, [script, '--out-raw', rawFile, '--fps', String(opts.fps), '--max-frames', String(opts.maxFrames)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => (out += d));
  child.stdin.end(rows.map((r) => r.path).join('\n') + '\n');
  const code = await new Promise<number | null>((res, rej) => {
    child.on('error', rej);
    child.on('close', res);
  });
  if (code !== 0) throw new DfdError('ERR_INTERNAL', 'crop helper failed', { code });
  return out
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as CropRecord);
}

async function loadModel(dir: string): Promise<{ session: ort.InferenceSession; input: string; output: string }> {
  const { manifest, session } = await openModelSession(dir);
  const input = manifest.inputs[0]?.name;
  const output = manifest.outputs[0]?.name;
  if (!input || !output) throw new DfdError('ERR_MODEL_MANIFEST', 'no input or output');
  return { session, input, output };
}

/** uint8 RGB HWC crops -> float32 NCHW in [0,1]. */
export function toNchw(raw: Uint8Array, first: number, count: number): Float32Array {
  const plane = CROP * CROP;
  const out = new Float32Array(count * 3 * plane);
  for (let n = 0; n < count; n++) {
    const src = (first + n) * plane * 3;
    const dst = n * 3 * plane;
    for (let p = 0; p < plane; p++) {
      out[dst + p] = raw[src + p * 3]! / 255;
      out[dst + plane + p] = raw[src + p * 3 + 1]! / 255;
      out[dst + 2 * plane + p] = raw[src + p * 3 + 2]! / 255;
    }
  }
  return out;
}

function summary(frames: Scored[], videos: Scored[]): Record<string, number> {
  return {
    videos: videos.length,
    realVideos: videos.filter((v) => v.label === 0).length,
    fakeVideos: videos.filter((v) => v.label === 1).length,
    frames: frames.length,
    frameAuc: rocAuc(frames),
    frameEer: eer(frames).eer,
    videoAuc: rocAuc(videos),
    videoEer: eer(videos).eer,
  };
}

export async function evalFace(opts: EvalFaceOptions): Promise<Record<string, unknown>> {
  const rows = readTsv(opts.tsv);
  const work = mkdtempSync(join(tmpdir(), 'evalface-'));
  const rawFile = join(work, 'crops.raw');
  try {
    const recs = await extractCrops(opts, rows, rawFile);
    const raw = new Uint8Array(readFileSync(rawFile));
    const { session, input, output } = await loadModel(opts.modelDir);
    const results: VideoResult[] = [];
    for (const rec of recs) {
      const row = rows[rec.index];
      if (!row) continue;
      const frameScores: number[] = [];
      for (let i = 0; i < rec.crops; i += 8) {
        const n = Math.min(8, rec.crops - i);
        const t = new ort.Tensor('float32', toNchw(raw, rec.offset + i, n), [n, 3, CROP, CROP]);
        const r = await session.run({ [input]: t });
        const data = r[output]?.data as Float32Array | undefined;
        if (!data) throw new DfdError('ERR_INFERENCE_FAILED', 'missing output');
        frameScores.push(...Array.from(data));
      }
      const score = frameScores.length ? frameScores.reduce((a, b) => a + b, 0) / frameScores.length : Number.NaN;
      results.push({ ...row, sampled: rec.sampled, crops: rec.crops, score, frameScores });
    }
    await session.release();

    const scored = results.filter((r) => r.crops > 0);
    const frameItems = (rs: VideoResult[]): Scored[] => rs.flatMap((r) => r.frameScores.map((score) => ({ score, label: r.label })));
    const videoItems = (rs: VideoResult[]): Scored[] => rs.map((r) => ({ score: r.score, label: r.label }));
    const groups = new Map<string, VideoResult[]>();
    for (const r of scored) groups.set(r.pairGroup, [...(groups.get(r.pairGroup) ?? []), r]);
    const paired = [...groups.values()].filter((g) => g.some((r) => r.label === 0) && g.some((r) => r.label === 1));
    const pairedRows = paired.flat();
    let wins = 0;
    for (const g of paired) {
      const real = g.filter((r) => r.label === 0).reduce((a, r) => a + r.score, 0) / g.filter((r) => r.label === 0).length;
      const fake = g.filter((r) => r.label === 1).reduce((a, r) => a + r.score, 0) / g.filter((r) => r.label === 1).length;
      if (fake > real) wins++;
    }
    return {
      model: opts.modelDir,
      settings: { fps: opts.fps, maxFrames: opts.maxFrames, videoScore: 'mean frame logit', faceDetector: 'OpenCV Haar (as in training)' },
      videosListed: rows.length,
      videosWithoutFace: results.filter((r) => r.crops === 0).map((r) => r.path.split('/').pop()),
      overall: summary(frameItems(scored), videoItems(scored)),
      pairs: { groups: paired.length, fakeScoresHigher: wins, ...summary(frameItems(pairedRows), videoItems(pairedRows)) },
      videos: results.map((r) => ({ file: r.path.split('/').pop(), label: r.label, pairGroup: r.pairGroup, crops: r.crops, sampled: r.sampled, score: r.score })),
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const opts = parseArgs(process.argv.slice(2));
  evalFace(opts)
    .then((res) => {
      const json = JSON.stringify(res, null, 2);
      if (opts.out) writeFileSync(opts.out, json + '\n');
      process.stdout.write(json + '\n');
    })
    .catch((err: unknown) => {
      process.stderr.write(JSON.stringify({ error: err instanceof DfdError ? err.toJSON() : String(err) }) + '\n');
      process.exitCode = 1;
    });
}

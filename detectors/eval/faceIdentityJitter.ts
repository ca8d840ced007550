/**
 * Face identity jitter: does the frame-to-frame change of the face identity descriptor tell real
 * faces from fakes of methods that nothing here was fitted on? A live face swap re-renders the
 * face on every frame, so its identity may flicker and drift; a real face keeps one identity. Issue
 * 17, item 3 (a temporal signal over the face window, measured on held-out methods), with the
 * service's own code (FaceAnalyzer crops, FaceDescriber, FaceWindower's `describableIndex`).
 *
 *   node --import tsx detectors/eval/faceIdentityJitter.ts ../shared/train/faces ../shared/train/faces-fake \
 *     [--fps 5] [--max-frames 60] [--cache descriptors.json] [--out eval-results/face/identity-jitter.json] [--seed 17]
 *
 * Clips: every clip of faces.tsv and faces-fake/manifest.tsv. Main set: the photographic ones, as
 * the face-forgery model's leave-method-out figures (paintings, statues and stylised faces left
 * out by crops_data.py's rule, faces-fake/README.md confound 4); the report also has every clip.
 * Each clip: ffmpeg frames at --fps (at most 640 px wide), FaceAnalyzer, the largest face; one
 * descriptor per face FRAME (FaceDescriber on its aligned 256x256 crop) and, as in the service,
 * one per window of 5 face frames (its most frontal crop). Two channels for the descriptors:
 * `clean` (the crop as cut from the clip) and `call` (the face-forgery recipe's held-out preset:
 * the crop at 160 px through VP8 at quantizer 40, GOP 30, back to 256; faces are found on the
 * clean frames). Only the first 5 s of each clip count (the longest fake is 5 s; the reals of
 * ../faces run up to 34 s).
 *
 * Statistics per clip, fixed before any result was seen; larger reads as more likely fake, and
 * nothing is fitted, so every method is held out. d = 1 - cosine of two descriptors; only frontal
 * faces (`describableIndex`'s pose limits) are compared, as the service compares no others:
 * - frameJitterMean, frameJitterP90: mean and 90th percentile of d between adjacent sampled frames;
 * - windowJitterMean: mean d between consecutive window descriptors;
 * - spread: mean d of each frame to the clip's mean descriptor;
 * - jitterPerMotion: the sum of frame d over the sum of head motion on the same pairs, motion being
 *   the mean displacement of the 468 mesh points inside the aligned crop (what alignment does not
 *   remove: head turns, expression), so a swap flickering on a still head reads high.
 * Shortcut features, for comparison: face side (pixels), frame area, faces per frame, sampled
 * frames, head motion. AUROC per method (its fakes against every real clip), the mean over methods,
 * a bootstrap 95 % interval of that mean, the face swaps alone (manifest generators named a face
 * swap), Spearman correlations of each statistic with face size and motion, and the pairs of a swap
 * and the real video it was made from. Nothing here reads ../shared/eval.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { setLogLevel } from '../../kernel/log.js';
import { FaceAnalyzer } from '../face/FaceAnalyzer.js';
import { describableIndex, FaceDescriber } from '../face/FaceDescriber.js';
import { largestFace } from '../face/observe.js';
import { landmarksInCrop } from '../training/face/serviceCrops.js';
import { sampleFrames } from './clipMedia.js';
import { auc } from './metrics.js';
import { prng } from '../../pipeline/testing/audioSupport.js';
import { readTsvRows } from './tsvRows.js';

const WINDOW_FRAMES = 5;
/** Seconds of each clip that count: the longest fake of faces-fake. */
const STAT_SECONDS = 5;
/** The face-forgery recipe's held-out `call` preset (detectors/training/face/forgery.py CALL_PRESET). */
const CALL_PRESET = { side: 160, q: 40, gop: 30 };
/** crops_data.py's `non_photographic` rule: paintings, statues, stylised and CG faces. */
const NON_PHOTO = /painting|painted|statue|sculpture|stylised|art_girl|terracotta|zp1/i;
/** The face-forgery model's leave-method-out mean clip AUROC (docs/models.md, face-forgery 0.2.0). */
const REFERENCE = { clean: 0.702, call: 0.698, source: 'docs/models.md, face-forgery 0.2.0 leave-method-out (5 folds, fold models, reals of the fold only)' };

const CHANNELS = ['clean', 'call'] as const;
type Channel = (typeof CHANNELS)[number];

export const JITTER_STATS = ['frameJitterMean', 'frameJitterP90', 'windowJitterMean', 'spread', 'jitterPerMotion'] as const;
export type JitterStat = (typeof JITTER_STATS)[number];
const SHORTCUTS = ['faceSide', 'frameArea', 'facesPerFrame', 'sampledFrames', 'headMotion'] as const;
type Shortcut = (typeof SHORTCUTS)[number];

interface ClipMeta {
  file: string;
  label: 'real' | 'fake';
  generator: string;
  method: string;
  swap: boolean;
  photographic: boolean;
  identity: string;
  pairGroup: string;
}

interface FaceFrameRec {
  /** Index of the sampled frame (at --fps). */
  k: number;
  /** Largest face: max(box width, height) in sampled-frame pixels. */
  side: number;
  yawDeg: number;
  pitchDeg: number;
  /** Mean displacement of the mesh points inside the aligned crop since frame k - 1 (crop pixels); null without a face and mesh in both. */
  motion: number | null;
  /** Descriptor per channel, little-endian float32, base64. */
  d: Record<Channel, string>;
}

interface ClipRec extends ClipMeta {
  width: number;
  height: number;
  /** Faces found in each sampled frame. */
  faceCounts: number[];
  frames: FaceFrameRec[];
}

/** One face frame as the statistics see it. */
export interface JitterFrame {
  k: number;
  yawDeg: number;
  pitchDeg: number;
  motion: number | null;
  d: Float32Array;
}

export function encodeDescriptor(d: Float32Array): string {
  return Buffer.from(d.buffer, d.byteOffset, d.byteLength).toString('base64');
}

export function decodeDescriptor(s: string): Float32Array {
  const b = Buffer.from(s, 'base64');
  const out = new Float32Array(b.length >>> 2);
  for (let i = 0; i < out.length; i++) out[i] = b.readFloatLE(i * 4);
  return out;
}

/** 1 - cosine of two descriptors (any length; not assumed normalised). */
export function cosDistance(a: Float32Array, b: Float32Array): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i] ?? 0;
    ab += x * y;
    aa += x * x;
    bb += y * y;
  }
  return aa > 0 && bb > 0 ? 1 - ab / Math.sqrt(aa * bb) : Number.NaN;
}

/** Nearest-rank percentile (faceContinuity.ts's rule); NaN for no values. */
export function percentile(v: readonly number[], p: number): number {
  if (v.length === 0) return Number.NaN;
  return [...v].sort((a, b) => a - b)[Math.min(v.length - 1, Math.floor(p * v.length))]!;
}

const mean = (v: readonly number[]): number => (v.length ? v.reduce((s, x) => s + x, 0) / v.length : Number.NaN);

const frontal = (f: { yawDeg: number; pitchDeg: number }): boolean => describableIndex([f]) !== undefined;

/** The per-clip statistics (see the file comment) of a clip's face frames, in frame order. */
export function jitterStats(frames: readonly JitterFrame[]): Record<JitterStat, number> {
  const pairs: number[] = [];
  let pairD = 0;
  let pairMotion = 0;
  for (let i = 1; i < frames.length; i++) {
    const a = frames[i - 1]!;
    const b = frames[i]!;
    if (b.k !== a.k + 1 || !frontal(a) || !frontal(b)) continue;
    const d = cosDistance(a.d, b.d);
    pairs.push(d);
    if (b.motion !== null) {
      pairD += d;
      pairMotion += b.motion;
    }
  }
  // The service's windows: 5 face frames in a row, described by the most frontal one (none when all are turned away).
  const windows: Float32Array[] = [];
  for (let i = 0; i + WINDOW_FRAMES <= frames.length; i += WINDOW_FRAMES) {
    const w = frames.slice(i, i + WINDOW_FRAMES);
    const k = describableIndex(w);
    if (k !== undefined) windows.push(w[k]!.d);
  }
  const windowD: number[] = [];
  for (let i = 1; i < windows.length; i++) windowD.push(cosDistance(windows[i - 1]!, windows[i]!));
  const described = frames.filter(frontal).map((f) => f.d);
  let spread = Number.NaN;
  if (described.length >= 2) {
    const m = new Float32Array(described[0]!.length);
    for (const d of described) for (let i = 0; i < m.length; i++) m[i]! += d[i]!;
    spread = mean(described.map((d) => cosDistance(d, m)));
  }
  return {
    frameJitterMean: mean(pairs),
    frameJitterP90: percentile(pairs, 0.9),
    windowJitterMean: mean(windowD),
    spread,
    jitterPerMotion: pairMotion > 0 ? pairD / pairMotion : Number.NaN,
  };
}

/** Average ranks (1-based; ties share their mean rank). */
function ranks(v: readonly number[]): number[] {
  const idx = v.map((_, i) => i).sort((a, b) => v[a]! - v[b]!);
  const r = new Array<number>(v.length);
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && v[idx[j + 1]!] === v[idx[i]!]) j++;
    for (let t = i; t <= j; t++) r[idx[t]!] = (i + j + 2) / 2;
    i = j + 1;
  }
  return r;
}

/** Spearman rank correlation over the pairs where both values are finite; NaN under 3 pairs. */
export function spearman(x: readonly number[], y: readonly number[]): number {
  const keep = x.flatMap((v, i) => (Number.isFinite(v) && Number.isFinite(y[i]) ? [i] : []));
  if (keep.length < 3) return Number.NaN;
  const rx = ranks(keep.map((i) => x[i]!));
  const ry = ranks(keep.map((i) => y[i]!));
  const mx = mean(rx);
  const my = mean(ry);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < rx.length; i++) {
    sxy += (rx[i]! - mx) * (ry[i]! - my);
    sxx += (rx[i]! - mx) ** 2;
    syy += (ry[i]! - my) ** 2;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : Number.NaN;
}

/** crops_data.py's `method_of`: the generator's name before any parenthesis; FaceForensics++ methods kept apart. */
export function methodOf(generator: string): string {
  const g = generator.trim();
  const ff = /^FaceForensics\+\+ (\w+)/.exec(g);
  if (ff) return `FF++ ${ff[1]}`;
  return g.split(/\s*\(/)[0]!.trim();
}

function listClips(facesDir: string, fakesDir: string): ClipMeta[] {
  const out: ClipMeta[] = [];
  for (const r of readTsvRows(path.join(facesDir, 'faces.tsv'))) {
    const group = r.pair_group ?? '';
    out.push({ file: path.join(facesDir, r.path ?? ''), label: 'real', generator: '-', method: 'real', swap: false, photographic: true, identity: group, pairGroup: group });
  }
  for (const r of readTsvRows(path.join(fakesDir, 'manifest.tsv'))) {
    if (r.label !== 'real' && r.label !== 'fake') continue;
    const generator = r.generator ?? '';
    const identity = r.identity ?? '';
    out.push({
      file: path.join(fakesDir, r.path ?? ''),
      label: r.label,
      generator,
      method: r.label === 'fake' ? methodOf(generator) : 'real',
      swap: r.label === 'fake' && /face swap/i.test(generator),
      photographic: !NON_PHOTO.test(identity),
      identity,
      pairGroup: r.pair_group ?? '',
    });
  }
  return out;
}

/** ffmpeg with optional stdin; resolves with stdout. */
function ffmpeg(args: string[], input?: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const p = spawn('ffmpeg', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let err = '';
    p.stdout.on('data', (c: Buffer) => chunks.push(c));
    p.stderr.on('data', (c: Buffer) => {
      err += c.toString('utf8');
    });
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve(Buffer.concat(chunks)) : reject(new Error(`ffmpeg exited ${code}: ${err.slice(-500)}`))));
    p.stdin.end(input);
  });
}

/** The `call` preset on a clip's crop sequence: down to 160 px (area), VP8 q40 GOP 30 (libvpx realtime), back up (bilinear). */
async function callChannel(crops: readonly Uint8Array[], size: number): Promise<Uint8Array[]> {
  if (crops.length === 0) return [];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'identity-jitter-'));
  const frameBytes = size * size * 3;
  try {
    const file = path.join(dir, 'c.webm');
    const { side, q, gop } = CALL_PRESET;
    await ffmpeg(
      ['-hide_banner', '-loglevel', 'error', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${size}x${size}`, '-r', '30', '-i', 'pipe:', '-vf', `scale=${side}:${side}:flags=area`, '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-qmin', String(q), '-qmax', String(q), '-b:v', '20M', '-g', String(gop), '-threads', '1', '-y', file],
      Buffer.concat(crops.map((c) => c.subarray(0, frameBytes))),
    );
    const raw = await ffmpeg(['-hide_banner', '-loglevel', 'error', '-threads', '1', '-i', file, '-vf', `scale=${size}:${size}:flags=bilinear`, '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:']);
    if (raw.length !== crops.length * frameBytes) throw new Error(`VP8 round trip changed the frame count (${raw.length / frameBytes} of ${crops.length})`);
    return crops.map((_, i) => new Uint8Array(raw.buffer, raw.byteOffset + i * frameBytes, frameBytes));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function describeClips(clips: readonly ClipMeta[], fps: number, maxFrames: number): Promise<{ clips: ClipRec[]; describeMsPerCrop: number }> {
  const analyzer = await FaceAnalyzer.create({});
  const describer = await FaceDescriber.load();
  const { cropSize, cropScale } = analyzer.options;
  const out: ClipRec[] = [];
  let describeMs = 0;
  let described = 0;
  try {
    for (const c of clips) {
      const v = await sampleFrames(c.file, fps, maxFrames, 640);
      const faceCounts: number[] = [];
      const found: { k: number; side: number; yawDeg: number; pitchDeg: number; motion: number | null; crop: Uint8Array }[] = [];
      let prev: { k: number; lm: Float32Array } | undefined;
      for (const [k, rgb] of v.frames.entries()) {
        const a = await analyzer.analyze({ width: v.width, height: v.height, rgb });
        faceCounts.push(a.faces.length);
        const face = largestFace(a.faces);
        if (!face) continue;
        const lm = landmarksInCrop(face, cropSize, cropScale);
        let motion: number | null = null;
        if (prev && prev.k === k - 1 && face.landmarks) {
          let s = 0;
          for (let i = 0; i < lm.length; i += 2) s += Math.hypot(lm[i]! - prev.lm[i]!, lm[i + 1]! - prev.lm[i + 1]!);
          motion = Number.isFinite(s) ? Math.round((s / (lm.length / 2)) * 1000) / 1000 : null;
        }
        prev = { k, lm };
        found.push({ k, side: Math.max(face.box.width, face.box.height), yawDeg: face.yawDeg, pitchDeg: face.pitchDeg, motion, crop: face.crop });
      }
      const called = await callChannel(
        found.map((f) => f.crop),
        cropSize,
      );
      const frames: FaceFrameRec[] = [];
      for (const [i, f] of found.entries()) {
        const t0 = performance.now();
        const clean = await describer.describe(f.crop, cropSize);
        describeMs += performance.now() - t0;
        described++;
        const call = await describer.describe(called[i]!, cropSize);
        const r = (x: number): number => Math.round(x * 100) / 100;
        frames.push({ k: f.k, side: r(f.side), yawDeg: r(f.yawDeg), pitchDeg: r(f.pitchDeg), motion: f.motion, d: { clean: encodeDescriptor(clean), call: encodeDescriptor(call) } });
      }
      out.push({ ...c, file: path.basename(c.file), width: v.width, height: v.height, faceCounts, frames });
      process.stderr.write(`${out.length}/${clips.length} ${c.label} ${c.method}: ${frames.length} face frames of ${v.frames.length}\n`);
    }
  } finally {
    await describer.close();
    await analyzer.close();
  }
  return { clips: out, describeMsPerCrop: Math.round((describeMs / Math.max(1, described)) * 10) / 10 };
}

type ClipValues = ClipMeta & { values: Record<Channel, Record<JitterStat, number>>; shortcut: Record<Shortcut, number> };

function clipValues(c: ClipRec, fps: number): ClipValues {
  const last = Math.round(STAT_SECONDS * fps);
  const frames = c.frames.filter((f) => f.k < last);
  const counts = c.faceCounts.slice(0, last);
  const motions = frames.flatMap((f, i) => (i > 0 && f.motion !== null ? [f.motion] : []));
  const values = Object.fromEntries(CHANNELS.map((ch) => [ch, jitterStats(frames.map((f) => ({ k: f.k, yawDeg: f.yawDeg, pitchDeg: f.pitchDeg, motion: f.motion, d: decodeDescriptor(f.d[ch]) })))])) as ClipValues['values'];
  const { frames: _f, faceCounts: _c, width, height, ...meta } = c;
  return {
    ...meta,
    values,
    shortcut: { faceSide: percentile(frames.map((f) => f.side), 0.5), frameArea: width * height, facesPerFrame: mean(counts), sampledFrames: counts.length, headMotion: mean(motions) },
  };
}

const r3 = (x: number): number | null => (Number.isFinite(x) ? Math.round(x * 1000) / 1000 : null);

/** AUROCs of one per-clip value (larger = fake): per method, mean over methods with a bootstrap 95 % interval, swaps. */
function aurocs(clips: readonly ClipValues[], value: (c: ClipValues) => number, seed: number) {
  const ok = clips.filter((c) => Number.isFinite(value(c)));
  const real = ok.filter((c) => c.label === 'real').map(value);
  const byMethod = new Map<string, number[]>();
  for (const c of ok) if (c.label === 'fake') byMethod.set(c.method, [...(byMethod.get(c.method) ?? []), value(c)]);
  const methods = [...byMethod.keys()].sort();
  const swapMethods = new Set(ok.filter((c) => c.swap).map((c) => c.method));
  const perMethod = Object.fromEntries(methods.map((m) => [m, r3(auc(real, byMethod.get(m)!))]));
  const meanOf = (rs: readonly number[], fs: ReadonlyMap<string, number[]>, only?: ReadonlySet<string>) => mean(methods.filter((m) => !only || only.has(m)).map((m) => auc(rs, fs.get(m)!)));
  const rand = prng(seed);
  const pick = (v: readonly number[]) => v.map(() => v[Math.floor(rand() * v.length)]!);
  const boot: number[] = [];
  for (let b = 0; b < 1000; b++) boot.push(meanOf(pick(real), new Map(methods.map((m) => [m, pick(byMethod.get(m)!)]))));
  const swaps = ok.filter((c) => c.swap).map(value);
  const nonSwap = new Set(methods.filter((m) => !swapMethods.has(m)));
  return {
    nReal: real.length,
    nFake: ok.length - real.length,
    meanOverMethods: r3(meanOf(real, byMethod)),
    ci95: [r3(percentile(boot, 0.025)), r3(percentile(boot, 0.975))],
    swapsPooled: r3(swaps.length && real.length ? auc(real, swaps) : Number.NaN),
    swapMethodsMean: r3(meanOf(real, byMethod, swapMethods)),
    otherMethodsMean: r3(meanOf(real, byMethod, nonSwap)),
    perMethod,
  };
}

function analyse(clips: readonly ClipValues[], seed: number) {
  const byChannel = Object.fromEntries(CHANNELS.map((ch) => [ch, Object.fromEntries(JITTER_STATS.map((s) => [s, aurocs(clips, (c) => c.values[ch][s], seed)]))])) as Record<Channel, Record<JitterStat, ReturnType<typeof aurocs>>>;
  const shortcuts = Object.fromEntries(SHORTCUTS.map((s) => [s, aurocs(clips, (c) => c.shortcut[s], seed)])) as Record<Shortcut, ReturnType<typeof aurocs>>;
  // Does a statistic merely track face size or head motion? Rank correlations, on the reals and on every clip.
  const real = clips.filter((c) => c.label === 'real');
  const correlations = Object.fromEntries(
    CHANNELS.map((ch) => [
      ch,
      Object.fromEntries(
        JITTER_STATS.map((s) => [
          s,
          Object.fromEntries(
            (['faceSide', 'headMotion'] as const).map((t) => [t, { real: r3(spearman(real.map((c) => c.values[ch][s]), real.map((c) => c.shortcut[t]))), all: r3(spearman(clips.map((c) => c.values[ch][s]), clips.map((c) => c.shortcut[t]))) }]),
          ),
        ]),
      ),
    ]),
  );
  // A fake and the real video it was made from (same pair group): same footage, so no framing or resolution shortcut.
  const pairs: { pairGroup: string; method: string; fake: string; real: string; clean: Record<JitterStat, { fake: number | null; real: number | null }> }[] = [];
  for (const f of clips.filter((c) => c.label === 'fake' && c.pairGroup)) {
    for (const r of clips.filter((c) => c.label === 'real' && c.pairGroup === f.pairGroup)) {
      pairs.push({ pairGroup: f.pairGroup, method: f.method, fake: f.file, real: r.file, clean: Object.fromEntries(JITTER_STATS.map((s) => [s, { fake: r3(f.values.clean[s]), real: r3(r.values.clean[s]) }])) as Record<JitterStat, { fake: number | null; real: number | null }> });
    }
  }
  const pairedFakeHigher = Object.fromEntries(
    CHANNELS.map((ch) => [
      ch,
      Object.fromEntries(
        JITTER_STATS.map((s) => {
          const cmp = clips.filter((c) => c.label === 'fake' && c.pairGroup).flatMap((f) => clips.filter((r) => r.label === 'real' && r.pairGroup === f.pairGroup).map((r) => ({ swap: f.swap, hi: f.values[ch][s] > r.values[ch][s], ok: Number.isFinite(f.values[ch][s]) && Number.isFinite(r.values[ch][s]) })));
          const ok = cmp.filter((x) => x.ok);
          const sw = ok.filter((x) => x.swap);
          return [s, { pairs: ok.length, fakeHigher: ok.filter((x) => x.hi).length, swapPairs: sw.length, swapHigher: sw.filter((x) => x.hi).length }];
        }),
      ),
    ]),
  );
  return { jitter: byChannel, shortcuts, correlations, pairedFakeHigher, pairs };
}

const fmt = (x: number | null | undefined): string => (x === null || x === undefined ? '  -  ' : x.toFixed(3));

function table(name: string, a: ReturnType<typeof analyse>): string {
  const lines = [`== ${name}: AUROC, larger = fake (nothing fitted: every method held out) ==`, 'statistic          channel  mean/methods [95% CI]     swaps pooled  swap methods  other methods'];
  const row = (label: string, ch: string, x: ReturnType<typeof aurocs>) =>
    lines.push(`${label.padEnd(18)} ${ch.padEnd(8)} ${fmt(x.meanOverMethods)} [${fmt(x.ci95[0])}, ${fmt(x.ci95[1])}]  ${fmt(x.swapsPooled).padStart(12)}  ${fmt(x.swapMethodsMean).padStart(12)}  ${fmt(x.otherMethodsMean).padStart(13)}`);
  for (const s of JITTER_STATS) for (const ch of CHANNELS) row(s, ch, a.jitter[ch][s]);
  for (const s of SHORTCUTS) row(s, 'shortcut', a.shortcuts[s]);
  lines.push('', `per method (clean / call)    ${JITTER_STATS.map((s) => s.slice(0, 13).padStart(13)).join(' ')}`);
  const methods = Object.keys(a.jitter.clean.frameJitterMean.perMethod);
  for (const m of methods) lines.push(`${m.slice(0, 28).padEnd(28)} ${JITTER_STATS.map((s) => `${fmt(a.jitter.clean[s].perMethod[m])}/${fmt(a.jitter.call[s].perMethod[m])}`.padStart(13)).join(' ')}`);
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { fps: { type: 'string', default: '5' }, 'max-frames': { type: 'string', default: '60' }, out: { type: 'string', default: 'eval-results/face/identity-jitter.json' }, cache: { type: 'string' }, seed: { type: 'string', default: '17' } },
  });
  const [facesDir, fakesDir] = positionals;
  if (!facesDir || !fakesDir) throw new Error('usage: faceIdentityJitter.ts <shared/train/faces> <shared/train/faces-fake> [--fps 5] [--max-frames 60] [--cache file] [--out file]');
  setLogLevel('warn');
  const fps = Number(values.fps);
  const seed = Number(values.seed);
  const t0 = performance.now();
  let described: Awaited<ReturnType<typeof describeClips>>;
  if (values.cache && fs.existsSync(values.cache)) described = JSON.parse(fs.readFileSync(values.cache, 'utf8')) as typeof described;
  else {
    described = await describeClips(listClips(facesDir, fakesDir), fps, Number(values['max-frames']));
    if (values.cache) fs.writeFileSync(values.cache, JSON.stringify(described));
  }
  const all = described.clips.map((c) => clipValues(c, fps));
  const photo = all.filter((c) => c.photographic);
  const photoResult = analyse(photo, seed);
  const result = {
    command: `node --import tsx detectors/eval/faceIdentityJitter.ts <shared/train/faces> <shared/train/faces-fake> --fps ${fps} --max-frames ${values['max-frames']} --seed ${seed}`,
    data: {
      clips: all.length,
      photographic: { real: photo.filter((c) => c.label === 'real').length, fake: photo.filter((c) => c.label === 'fake').length, methods: new Set(photo.filter((c) => c.label === 'fake').map((c) => c.method)).size },
      swaps: Object.fromEntries([...new Set(photo.filter((c) => c.swap).map((c) => c.method))].map((m) => [m, photo.filter((c) => c.swap && c.method === m).length])),
      faceFrames: described.clips.reduce((s, c) => s + c.frames.filter((f) => f.k < STAT_SECONDS * fps).length, 0),
      noFace: described.clips.filter((c) => c.frames.length === 0).map((c) => c.file),
      statSeconds: STAT_SECONDS,
      window: `${WINDOW_FRAMES} face frames at ${fps} fps, descriptor of the most frontal crop (none when all are turned away)`,
      callPreset: `faces found on the clean frames; crops at ${CALL_PRESET.side} px through VP8 (libvpx realtime) quantizer ${CALL_PRESET.q}, GOP ${CALL_PRESET.gop}, back to 256 px`,
      describeMsPerCrop: described.describeMsPerCrop,
    },
    reference: REFERENCE,
    photographic: photoResult,
    everyClip: (({ pairs: _p, ...rest }) => rest)(analyse(all, seed)),
    clipValues: all.map((c) => ({ file: c.file, label: c.label, method: c.method, swap: c.swap, photographic: c.photographic, values: Object.fromEntries(CHANNELS.map((ch) => [ch, Object.fromEntries(JITTER_STATS.map((s) => [s, r3(c.values[ch][s])]))])), shortcut: Object.fromEntries(SHORTCUTS.map((s) => [s, r3(c.shortcut[s])])) })),
    seconds: Math.round((performance.now() - t0) / 1000),
  };
  fs.mkdirSync(path.dirname(values.out), { recursive: true });
  fs.writeFileSync(values.out, `${JSON.stringify(result, null, 2)}\n`);
  const c = photoResult.correlations;
  const corr = JITTER_STATS.map((s) => `${s.padEnd(18)} faceSide ${fmt(c.clean?.[s]?.faceSide?.real)} / ${fmt(c.clean?.[s]?.faceSide?.all)}   headMotion ${fmt(c.clean?.[s]?.headMotion?.real)} / ${fmt(c.clean?.[s]?.headMotion?.all)}`);
  const paired = JITTER_STATS.map((s) => `${s.padEnd(18)} ${CHANNELS.map((ch) => `${ch} ${photoResult.pairedFakeHigher[ch]?.[s]?.fakeHigher}/${photoResult.pairedFakeHigher[ch]?.[s]?.pairs} (swaps ${photoResult.pairedFakeHigher[ch]?.[s]?.swapHigher}/${photoResult.pairedFakeHigher[ch]?.[s]?.swapPairs})`).join('   ')}`);
  process.stdout.write(
    [
      table(`photographic clips: ${result.data.photographic.real} real, ${result.data.photographic.fake} fake of ${result.data.photographic.methods} methods`, photoResult),
      '',
      `reference: face-forgery 0.2.0 leave-method-out mean AUROC ${REFERENCE.clean} clean / ${REFERENCE.call} call`,
      '',
      'Spearman (clean), real clips / every clip:',
      ...corr,
      '',
      'fake above the real video it was made from (same pair group):',
      ...paired,
      '',
      `written: ${values.out} (${result.seconds} s)`,
      '',
    ].join('\n'),
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
    process.exitCode = 1;
  });
}

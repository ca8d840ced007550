/**
 * Face continuity on real faces: chooses the face takeover rule (K, M, T) on tuning identities and
 * measures it on held-out ones, with the service's own code (FaceAnalyzer crops, FaceDescriber,
 * IdentityContinuity).
 *
 *   node --import tsx detectors/eval/faceContinuity.ts ../shared/train/faces ../shared/train/faces-fake \
 *     [--seed 17] [--fps 5] [--max-frames 60] [--out eval-results/face/continuity.json] [--cache descriptors.json]
 *
 * Clips: the real talking-face videos of both folders (faces.tsv, and the `real` rows of
 * faces-fake/manifest.tsv with their identity), and the fakes of faces-fake as "another face" in
 * splices. Each clip: ffmpeg frames at --fps, FaceAnalyzer (largest face, aligned 256x256 crop),
 * windows of 5 face frames as in the service, one descriptor per window: its most frontal crop,
 * none when every face of the window is turned away (FaceWindower's rule, `describableIndex`).
 *
 * Identities are split in two by a seeded hash of the identity (no person on both sides): TUNE
 * chooses the rule, TEST reports it. On each side:
 * - single-identity calls: each real clip alone, and all real clips of one identity back to back
 *   (different recordings of one person): any takeover is a false takeover;
 * - splices: a real clip, then a clip of another identity (real, or a fake of another identity):
 *   detected when the first takeover comes after the change; delay in windows after it.
 * Rule: for each K (enrolment windows) and M (windows in a row below T), on TUNE, tHigh = the highest
 * T (0.01 grid) with no false takeover and tLow = the lowest T that detects as many splices; T is
 * their midpoint. Then the (K, M) that detects the most TUNE splices, then the widest tHigh - tLow,
 * then the larger M. Nothing here reads ../shared/eval.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { setLogLevel } from '../../kernel/log.js';
import { IdentityContinuity } from '../../pipeline/verdict/IdentityContinuity.js';
import { FaceAnalyzer } from '../face/FaceAnalyzer.js';
import { describableIndex, FaceDescriber } from '../face/FaceDescriber.js';
import { largestFace } from '../face/observe.js';
import { sampleFrames } from './clipMedia.js';
import { readTsvRows } from './tsvRows.js';

const WINDOW_FRAMES = 5;

/** One person under two clip names in the manifests (the HDTF clip in SadTalker's repository and VideoReTalking's example). */
const SAME_PERSON: Readonly<Record<string, string>> = { sadtalker_ref_WDA_AOC: 'Alexandria Ocasio-Cortez' };

interface Clip {
  file: string;
  identity: string;
  label: 'real' | 'fake';
  /** One L2-normalised descriptor per 5-face-frame window. */
  windows: number[][];
}

function listClips(facesDir: string, fakesDir: string): Omit<Clip, 'windows'>[] {
  const out: Omit<Clip, 'windows'>[] = [];
  for (const r of readTsvRows(path.join(facesDir, 'faces.tsv'))) {
    const group = r.pair_group ?? '';
    out.push({ file: path.join(facesDir, r.path ?? ''), identity: SAME_PERSON[group] ?? group, label: 'real' });
  }
  for (const r of readTsvRows(path.join(fakesDir, 'manifest.tsv'))) {
    if (r.label !== 'real' && r.label !== 'fake') continue;
    out.push({ file: path.join(fakesDir, r.path ?? ''), identity: r.identity ?? '', label: r.label });
  }
  return out.filter((c) => c.identity !== '' && c.identity !== '-');
}

async function describeClips(clips: Omit<Clip, 'windows'>[], fps: number, maxFrames: number): Promise<{ clips: Clip[]; describeMsPerCrop: number }> {
  const analyzer = await FaceAnalyzer.create({});
  const describer = await FaceDescriber.load();
  const out: Clip[] = [];
  let describeMs = 0;
  let described = 0;
  try {
    for (const c of clips) {
      const v = await sampleFrames(c.file, fps, maxFrames, 640);
      const faces: { crop: Uint8Array; yawDeg: number; pitchDeg: number }[] = [];
      for (const rgb of v.frames) {
        const face = largestFace((await analyzer.analyze({ width: v.width, height: v.height, rgb })).faces);
        if (face) faces.push(face);
      }
      const windows: number[][] = [];
      for (let i = 0; i + WINDOW_FRAMES <= faces.length; i += WINDOW_FRAMES) {
        const w = faces.slice(i, i + WINDOW_FRAMES);
        const k = describableIndex(w);
        if (k === undefined) continue;
        const t0 = performance.now();
        const d = await describer.describe(w[k]!.crop, analyzer.options.cropSize);
        describeMs += performance.now() - t0;
        described++;
        windows.push(Array.from(d, (x) => Math.round(x * 1e6) / 1e6));
      }
      out.push({ ...c, file: path.basename(c.file), windows });
      process.stderr.write(`${c.label} ${c.identity}: ${windows.length} windows\n`);
    }
  } finally {
    await describer.close();
  }
  return { clips: out, describeMsPerCrop: Math.round((describeMs / Math.max(1, described)) * 10) / 10 };
}

function side(identity: string, seed: number): 'tune' | 'test' {
  const h = createHash('sha256').update(`${seed}:${identity}`).digest();
  return (h[0] ?? 0) % 2 === 0 ? 'tune' : 'test';
}

interface Rule {
  K: number;
  M: number;
  T: number;
}

/** Window index of the first takeover, or -1. */
function firstTakeover(seq: readonly number[][], r: Rule): number {
  const c = new IdentityContinuity({ enrolWindows: r.K, consecutive: r.M, threshold: r.T, thresholdTelephone: r.T });
  for (let i = 0; i < seq.length; i++) if (c.add(Float32Array.from(seq[i]!)).state === 'takeover') return i;
  return -1;
}

interface Sets {
  single: { name: string; windows: number[][] }[];
  splices: { name: string; kind: 'real' | 'fake'; windows: number[][]; change: number }[];
}

function buildSets(clips: Clip[], minWindows: number): Sets {
  const real = clips.filter((c) => c.label === 'real' && c.windows.length >= minWindows);
  const single: Sets['single'] = real.map((c) => ({ name: c.file, windows: c.windows }));
  const byId = new Map<string, Clip[]>();
  for (const c of real) byId.set(c.identity, [...(byId.get(c.identity) ?? []), c]);
  for (const [id, cs] of byId) if (cs.length > 1) single.push({ name: `${id} (${cs.length} clips back to back)`, windows: cs.flatMap((c) => c.windows) });
  const splices: Sets['splices'] = [];
  for (const a of real) {
    for (const b of clips) {
      if (b.identity === a.identity || b.windows.length < 2) continue;
      splices.push({ name: `${a.file} -> ${b.file}`, kind: b.label, windows: [...a.windows, ...b.windows], change: a.windows.length });
    }
  }
  return { single, splices };
}

function measure(s: Sets, r: Rule) {
  const falseCalls = s.single.filter((x) => firstTakeover(x.windows, r) >= 0);
  const perKind = (kind: 'real' | 'fake') => {
    const list = s.splices.filter((x) => x.kind === kind);
    const delays: number[] = [];
    let early = 0;
    for (const x of list) {
      const at = firstTakeover(x.windows, r);
      if (at >= x.change) delays.push(at - x.change + 1);
      else if (at >= 0) early++;
    }
    delays.sort((a, b) => a - b);
    return { splices: list.length, detected: delays.length, rate: delays.length / Math.max(1, list.length), medianDelayWindows: delays[delays.length >> 1] ?? null, takeoverBeforeTheChange: early };
  };
  return { falseTakeovers: falseCalls.length, singleCalls: s.single.length, falseTakeoverCalls: falseCalls.map((x) => x.name), anotherRealPerson: perKind('real'), anotherFace_fake: perKind('fake') };
}

function cosines(clips: Clip[]) {
  const pct = (v: number[], p: number) => (v.length ? [...v].sort((a, b) => a - b)[Math.min(v.length - 1, Math.floor(p * v.length))]! : Number.NaN);
  const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * (b[i] ?? 0), 0);
  const real = clips.filter((c) => c.label === 'real' && c.windows.length >= 2);
  const same: number[] = [];
  const diff: number[] = [];
  for (const a of real) {
    for (let i = 1; i < a.windows.length; i++) same.push(dot(a.windows[0]!, a.windows[i]!));
    for (const b of real) if (b.identity !== a.identity) for (const w of b.windows) diff.push(dot(a.windows[0]!, w));
  }
  const r = (x: number) => Math.round(x * 1000) / 1000;
  return { sameClip: { n: same.length, p1: r(pct(same, 0.01)), p5: r(pct(same, 0.05)), median: r(pct(same, 0.5)) }, otherIdentity: { n: diff.length, median: r(pct(diff, 0.5)), p95: r(pct(diff, 0.95)), p99: r(pct(diff, 0.99)), max: r(pct(diff, 1)) } };
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { seed: { type: 'string', default: '17' }, fps: { type: 'string', default: '5' }, 'max-frames': { type: 'string', default: '60' }, out: { type: 'string' }, cache: { type: 'string' } },
  });
  const [facesDir, fakesDir] = positionals;
  if (!facesDir || !fakesDir) throw new Error('usage: faceContinuity.ts <shared/train/faces> <shared/train/faces-fake> [--out file] [--cache file]');
  setLogLevel('warn');
  const seed = Number(values.seed);
  let described: Awaited<ReturnType<typeof describeClips>>;
  if (values.cache && fs.existsSync(values.cache)) described = JSON.parse(fs.readFileSync(values.cache, 'utf8')) as typeof described;
  else {
    described = await describeClips(listClips(facesDir, fakesDir), Number(values.fps), Number(values['max-frames']));
    if (values.cache) fs.writeFileSync(values.cache, JSON.stringify(described));
  }
  const { clips } = described;
  const split = { tune: clips.filter((c) => side(c.identity, seed) === 'tune'), test: clips.filter((c) => side(c.identity, seed) === 'test') };
  const rules: { rule: Rule; margin: number; tHigh: number; tLow: number; tune: ReturnType<typeof measure> }[] = [];
  for (const K of [1, 2, 3]) {
    const tuneSets = buildSets(split.tune, K + 1);
    for (const M of [1, 2]) {
      // tHigh: the highest T with no false takeover; tLow: the lowest T that still detects as many splices.
      let tHigh: number | undefined;
      for (let t = 30; t <= 95; t++) {
        if (measure(tuneSets, { K, M, T: t / 100 }).falseTakeovers === 0) tHigh = t;
        else break;
      }
      if (tHigh === undefined) continue;
      const best = measure(tuneSets, { K, M, T: tHigh / 100 }).anotherRealPerson.detected;
      let tLow = tHigh;
      while (tLow > 30 && measure(tuneSets, { K, M, T: (tLow - 1) / 100 }).anotherRealPerson.detected === best) tLow--;
      const rule = { K, M, T: Math.round((tLow + tHigh) / 2) / 100 };
      rules.push({ rule, margin: (tHigh - tLow) / 100, tHigh: tHigh / 100, tLow: tLow / 100, tune: measure(tuneSets, rule) });
    }
  }
  // The most splices detected; then the widest gap between the two kinds of error (the T in its middle); then two windows in a row over one.
  const rank = (x: (typeof rules)[number]) => [x.tune.anotherRealPerson.rate, x.margin, x.rule.M];
  const chosen = [...rules].sort((a, b) => {
    const ra = rank(a);
    const rb = rank(b);
    for (let i = 0; i < ra.length; i++) if ((rb[i] ?? 0) !== (ra[i] ?? 0)) return (rb[i] ?? 0) - (ra[i] ?? 0);
    return 0;
  })[0];
  if (!chosen) throw new Error('no rule without false takeovers on TUNE');
  const testSets = buildSets(split.test, chosen.rule.K + 1);
  const result = {
    command: `node --import tsx detectors/eval/faceContinuity.ts <shared/train/faces> <shared/train/faces-fake> --seed ${seed} --fps ${values.fps} --max-frames ${values['max-frames']}`,
    data: {
      clips: clips.length,
      real: clips.filter((c) => c.label === 'real').length,
      identities: new Set(clips.map((c) => c.identity)).size,
      windowsPerClipMedian: [...clips.map((c) => c.windows.length)].sort((a, b) => a - b)[clips.length >> 1] ?? 0,
      tuneIdentities: new Set(split.tune.map((c) => c.identity)).size,
      testIdentities: new Set(split.test.map((c) => c.identity)).size,
      window: `${WINDOW_FRAMES} face frames at ${values.fps} fps, descriptor of the most frontal crop (none when all are turned away)`,
      describeMsPerCrop: described.describeMsPerCrop,
    },
    cosines: { tune: cosines(split.tune), test: cosines(split.test) },
    rulesTried: rules.map((r) => ({ ...r.rule, tHigh: r.tHigh, tLow: r.tLow, tuneFalseTakeovers: r.tune.falseTakeovers, tuneDetected: r.tune.anotherRealPerson.rate, tuneMedianDelay: r.tune.anotherRealPerson.medianDelayWindows })),
    chosen: chosen.rule,
    tune: chosen.tune,
    test: measure(testSets, chosen.rule),
  };
  const json = JSON.stringify(result, null, 2);
  if (values.out) {
    fs.mkdirSync(path.dirname(values.out), { recursive: true });
    fs.writeFileSync(values.out, `${json}\n`);
  }
  process.stdout.write(`${json}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exitCode = 1;
});

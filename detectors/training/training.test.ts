/**
 * The two training recipes in CI: a tiny end-to-end run of each (fixtures made on the fly, the recipe's own
 * data step, leave-source-out CV of a few steps, report and final model, ONNX + manifest into a temp dir) that the ModelRegistry must accept,
 * and a preprocessing parity check between the TypeScript inference path (pipeline/inference/preprocess.ts)
 * and what the training code feeds the models.
 *
 * Needs the Python venv made by detectors/training/setup.sh from PyPI. The tests skip only when setup.sh fails
 * AND an explicit probe shows pip cannot reach its package index; any other failure fails.
 * The committed models in detectors/models/ are read (parity) and hashed before and after: never written.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { parseManifest, type Manifest } from '../registry/Manifest.js';
import { ModelRegistry } from '../registry/ModelRegistry.js';
import { preprocessAudio, preprocessImage } from '../../pipeline/inference/preprocess.js';
import { resampleClip } from '../../pipeline/audio/Resampler.js';
import { defaultParticipantVerdictOptions } from '../../pipeline/verdict/ParticipantVerdict.js';
import { parseWav } from '../../challenge-response/dsp/wav.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');
const committedModels = path.join(repo, 'detectors', 'models');
// DFD_TRAINING_VENV (also read by setup.sh) points at another venv, e.g. to time a from-scratch setup.
const venvDir = process.env['DFD_TRAINING_VENV'] ?? path.join(here, '.venv');
const venvPython = path.join(venvDir, 'bin', 'python');
const childEnv: NodeJS.ProcessEnv = { ...process.env, DFD_TRAINING_VENV: venvDir, DFD_TRAINING_PY: venvPython };
const samplePhoto = path.join(repo, 'node_modules', '@vladmandic', 'face-api', 'demo', 'sample1.jpg');

interface RunResult {
  code: number | null;
  out: string;
}

/** Runs a command; resolves with its exit code and the last 4000 characters of stdout+stderr. */
function run(cmd: string, args: string[], timeoutMs: number, env: NodeJS.ProcessEnv = childEnv): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const add = (b: Buffer): void => {
      out = (out + b.toString()).slice(-4000);
    };
    p.stdout.on('data', add);
    p.stderr.on('data', add);
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

async function mustRun(cmd: string, args: string[], timeoutMs: number): Promise<string> {
  const r = await run(cmd, args, timeoutMs);
  if (r.code !== 0) throw new Error(`${path.basename(cmd)} ${args.slice(0, 3).join(' ')} exited ${r.code}:\n${r.out}`);
  return r.out;
}

function sha256(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

function hashTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const d of fs.readdirSync(dir, { withFileTypes: true })) {
    if (!d.isDirectory()) continue;
    for (const f of fs.readdirSync(path.join(dir, d.name))) out[`${d.name}/${f}`] = sha256(path.join(dir, d.name, f));
  }
  return out;
}

function readF32(file: string): Float32Array {
  const b = fs.readFileSync(file);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

/** 16-bit PCM WAV -> float32 in [-1, 1) (the tree's one WAV parser; same scaling as soundfile's float32 read). */
function readWav16(file: string): { rate: number; samples: Float32Array } {
  const { sampleRate, samples } = parseWav(fs.readFileSync(file));
  return { rate: sampleRate, samples };
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function meanAbsDiff(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]! - b[i]!);
  return s / a.length;
}

/** Signal-to-difference ratio in dB of b against the reference a. */
function snrDb(a: Float32Array, b: Float32Array): number {
  const n = Math.min(a.length, b.length);
  let p = 0;
  let e = 0;
  for (let i = 0; i < n; i++) {
    p += a[i]! * a[i]!;
    e += (a[i]! - b[i]!) ** 2;
  }
  return 10 * Math.log10(p / Math.max(e, 1e-20));
}

async function runOnnx(file: string, name: string, data: Float32Array, dims: number[]): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(file, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  try {
    const res = await session.run({ [name]: new ort.Tensor('float32', data, dims) });
    const out = res[session.outputNames[0]!];
    expect(out).toBeDefined();
    return out!.data as Float32Array;
  } finally {
    await session.release();
  }
}

// ---------------------------------------------------------------- venv

let skipReason: string | undefined;
let tmp = '';
let committedBefore: Record<string, string> = {};
const measured: Record<string, unknown> = {};

/**
 * Runs setup.sh (idempotent). On failure, probes pip's index with the machine's pip settings: if pip cannot
 * fetch a pinned package from it, the tests are skipped with that reason; otherwise the setup failure is real.
 */
async function ensureVenv(): Promise<void> {
  const t0 = Date.now();
  const setup = await run('bash', [path.join(here, 'setup.sh')], 900_000);
  measured['setupSeconds'] = (Date.now() - t0) / 1000;
  if (setup.code === 0) return;
  if (!fs.existsSync(venvPython)) throw new Error(`setup.sh could not create the venv:\n${setup.out}`);
  const probe = await run(venvPython, ['-m', 'pip', 'download', '--no-deps', '--retries', '0', '--timeout', '15',
    '-d', path.join(tmp, 'pip-probe'), 'numpy==2.2.6'], 120_000, { ...childEnv, PIP_DISABLE_PIP_VERSION_CHECK: '1' });
  if (probe.code !== 0) {
    skipReason = `pip cannot reach its package index; training recipe tests skipped: ${probe.out.trim().split('\n').pop() ?? ''}`;
    console.warn(skipReason);
    return;
  }
  throw new Error(`setup.sh failed although pip's index answers:\n${setup.out}`);
}

function skipIfNoVenv(ctx: TestContext): void {
  if (skipReason) ctx.skip(skipReason);
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dfd-training-'));
  committedBefore = hashTree(committedModels);
  await ensureVenv();
}, 900_000);

afterAll(() => {
  // The committed models must be exactly as before: the recipes only wrote into the temp dir.
  expect(hashTree(committedModels)).toEqual(committedBefore);
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  if (Object.keys(measured).length > 0) console.log(JSON.stringify({ trainingTest: measured }));
});

// ---------------------------------------------------------------- tiny recipe runs

async function checkExported(modelsDir: string, id: string, task: Manifest['task'], steps: number | null = 3): Promise<Manifest> {
  const dir = path.join(modelsDir, id);
  const raw: unknown = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
  const m = parseManifest(raw);
  expect(m.id).toBe(id);
  expect(m.task).toBe(task);
  expect(m.sha256).toBe(sha256(path.join(dir, m.file)));
  if (steps !== null) expect((raw as { training: { steps: number } }).training.steps).toBe(steps);
  expect(Number.isFinite(m.calibration.a) && Number.isFinite(m.calibration.b)).toBe(true);
  const registry = new ModelRegistry({ dir: modelsDir, verifySession: true });
  const statuses = await registry.load();
  expect(statuses).toEqual([{ id, dir, available: true, version: m.version, task }]);
  expect(registry.get(id).modelPath).toBe(path.join(dir, m.file));
  return m;
}

describe('training recipes: tiny end-to-end runs', () => {
  it('voice: manifest of espeak/sox pages -> build_data.py -> CV folds, report, 3-step final -> ONNX + manifest the registry loads', async (ctx) => {
    skipIfNoVenv(ctx);
    const out = path.join(tmp, 'voice');
    const t0 = Date.now();
    // a hang guard, not a time budget: 12 min on two cores beside one niced training job (2026-12-07), over 20 with
    // the suite's other tests and two training jobs beside it (where a 20-minute guard killed a healthy run)
    await mustRun('bash', [path.join(here, 'ci', 'smoke.sh'), out, 'voice'], 2_400_000);
    measured['voiceSmokeSeconds'] = (Date.now() - t0) / 1000;
    const data = JSON.parse(fs.readFileSync(path.join(out, 'voice-data', 'clips.json'), 'utf8')) as {
      folds: number;
      clips: { label: number; fold: number; group: string }[];
    };
    expect(data.clips).toHaveLength(16);
    // every page held out whole, and every fold holds both classes
    for (const g of new Set(data.clips.map((c) => c.group))) expect(new Set(data.clips.filter((c) => c.group === g).map((c) => c.fold)).size).toBe(1);
    for (let f = 0; f < data.folds; f++) expect(new Set(data.clips.filter((c) => c.fold === f).map((c) => c.label))).toEqual(new Set([0, 1]));
    const report = JSON.parse(fs.readFileSync(path.join(out, 'voice-data', 'cv', 'report.json'), 'utf8')) as {
      chosen: { table: Record<string, { meanGroupEer: number }> };
      shortcut: Record<string, { meanGroupEer: number }>;
    };
    for (const ch of ['clean', 'opus24', 'opus12loss', 'g711']) {
      const e = report.chosen.table[ch]!.meanGroupEer;
      expect(e >= 0 && e <= 1, `leave-source-out EER for ${ch}`).toBe(true);
    }
    expect(Object.keys(report.shortcut)).toContain('raw clips');
    // the sender's noise suppressor (channel.py sender_ns, real WebRTC code) quiets noise and keeps a voiced tone
    const ns = JSON.parse(/^sender_ns (\{.*\})$/m.exec(fs.readFileSync(path.join(out, 'voice-ns.log'), 'utf8'))?.[1] ?? '{}') as { noiseDropDb?: number; toneDropDb?: number };
    expect(ns.noiseDropDb, 'noise floor drop (dB)').toBeGreaterThan(6);
    expect(Math.abs(ns.toneDropDb ?? 99), 'tone level change (dB)').toBeLessThan(4);
    // the known-attack spoofs: two Kokoro-82M clips (PyPI weights) on the training side of every fold, never held out
    const log = fs.readFileSync(path.join(out, 'voice-recipe.log'), 'utf8') + fs.readFileSync(path.join(out, 'voice-kokoro.log'), 'utf8');
    expect(log).toMatch(/wrote \S+kokoro-en-variants\.npz: 2 clips x 1 training channels/);
    expect(log).toMatch(/kokoro-jf_alpha\.npz: 1 clips x 1 training channels \(voices jf_alpha\)/);
    for (let f = 0; f < data.folds; f++) {
      const fold = JSON.parse(fs.readFileSync(path.join(out, 'voice-data', 'cv', 'specnet-oc', `fold${f}.json`), 'utf8')) as {
        clipIdx: number[]; extraSpoofs?: { file: string; clips: number };
      };
      expect(fold.extraSpoofs).toEqual({ file: 'kokoro-en-variants.npz', clips: 2 });
      expect(Math.max(...fold.clipIdx)).toBeLessThan(data.clips.length);
    }
    // the seed-ensemble study tool: its first run is the report's run (same numbers), the mean of both is scored too
    type StudySide = Record<string, { meanLsoEer: Record<string, number>; fourChannelMean: number; againstFirst?: { pages: number } }>;
    const study = JSON.parse(fs.readFileSync(path.join(out, 'voice-ensemble-study.json'), 'utf8')) as { asIs: StudySide; suppressed: StudySide & { evalNs: number } };
    for (const ch of ['clean', 'opus24', 'opus12loss', 'g711']) {
      expect(study.asIs['specnet-oc']!.meanLsoEer[ch]).toBeCloseTo(report.chosen.table[ch]!.meanGroupEer, 9);
      for (const side of [study.asIs, study.suppressed]) expect(side['mean']!.meanLsoEer[ch]).toBeGreaterThanOrEqual(0);
    }
    expect(study.suppressed.evalNs).toBe(2);
    // RawBoost (train.py --rawboost): the same seed, clips and windows as the plain fold-0 run, so only the boosting
    // can make its held-out scores differ, and they do; the run records its share
    type FoldRun = { rawboost?: number; pageAdversary?: number; samRho?: number; clipIdx: number[]; checkpoints: { step: number; scores: Record<string, number[]> }[] };
    const foldRun = (name: string): FoldRun => JSON.parse(fs.readFileSync(path.join(out, 'voice-data', 'cv', name, 'fold0.json'), 'utf8')) as FoldRun;
    const [plain, boosted] = [foldRun('specnet-oc'), foldRun('specnet-oc-rb')];
    expect(boosted.rawboost).toBe(0.5);
    expect(plain.rawboost).toBeUndefined();
    expect(boosted.clipIdx).toEqual(plain.clipIdx);
    const lastScores = (r: FoldRun): number[] => r.checkpoints.at(-1)!.scores['clean']!;
    expect(lastScores(boosted).every(Number.isFinite)).toBe(true);
    expect(lastScores(boosted)).not.toEqual(lastScores(plain));
    // the page adversary (train.py --page-adversary): the same clips and windows again, an adversary on the bona fide
    // windows' pages joins the loss; the run records its lambda and logs the adversary's page guess
    const adv = foldRun('specnet-oc-padv');
    expect(adv.pageAdversary).toBe(0.3);
    expect(plain.pageAdversary).toBeUndefined();
    expect(adv.clipIdx).toEqual(plain.clipIdx);
    expect(lastScores(adv).every(Number.isFinite)).toBe(true);
    expect(lastScores(adv)).not.toEqual(lastScores(plain));
    expect(fs.readFileSync(path.join(out, 'voice-padv.log'), 'utf8')).toMatch(/page adversary on bona fide windows: \d+ pages, lambda up to 0\.3/);
    // sharpness-aware minimisation (train.py --sam-rho, sam.py): one step leaves the weights, BatchNorm statistics and
    // torch generator where a plain step would and takes its gradient elsewhere; the fold run records its radius
    const samCheck = JSON.parse(fs.readFileSync(path.join(out, 'voice-sam-check.json'), 'utf8')) as Record<string, boolean | number>;
    expect(samCheck).toMatchObject({ weightsRestored: true, bnStatsKept: true, rngLikePlainStep: true });
    expect(samCheck['gradientMoved']).toBeGreaterThan(0);
    const sam = foldRun('specnet-oc-sam');
    expect(sam.samRho).toBe(0.05);
    expect(sam.clipIdx).toEqual(plain.clipIdx);
    expect(lastScores(sam).every(Number.isFinite)).toBe(true);
    expect(lastScores(sam)).not.toEqual(lastScores(plain));
    expect(study.asIs['mean']!.againstFirst?.pages).toBe(new Set(data.clips.map((c) => c.group)).size);
    const m = await checkExported(path.join(out, 'models'), 'voice-antispoof', 'voice-antispoof');
    expect(m.dataCard).toContain('Plus 2 spoof clips made here (kokoro-en-variants.npz');
    // the variants record their noise-suppressed share (prep --ns-share), and the manifest names it
    expect(m.dataCard).toContain("50% of them first behind a sender's noise suppressor");
    expect(m.training.command).toMatch(/^KOKORO_CLIPS=2 NS_SHARE=0\.5 bash detectors\/training\/voice\/run\.sh /);
    // the calibration for noise-suppressed senders, fitted on the held-out presets behind WebRTC NS level 2
    expect(m.calibration.suppressed?.fittedOn).toContain('noise suppressor (WebRTC NS level 2)');
    expect(Number.isFinite(m.calibration.suppressed?.a) && Number.isFinite(m.calibration.suppressed?.b)).toBe(true);
    expect(m.training.metrics['lsoMeanEer_suppressed_opus24']).toBeGreaterThanOrEqual(0);
    // the final model trains on what its cross-validation trained on: without the clips, or with other ones, it refuses
    const trainPy = path.join(here, 'voice', 'train.py');
    const finalArgs = [trainPy, 'final', '--data', path.join(out, 'voice-data'), '--out', path.join(out, 'refused', 'voice-antispoof'), '--batch', '4', '--steps', '1'];
    const missing = await run(venvPython, finalArgs, 120_000);
    expect(missing.code).not.toBe(0);
    expect(missing.out).toContain('the chosen run trained with 2 extra spoof clips (kokoro-en-variants.npz)');
    const other = await run(venvPython, [...finalArgs, '--extra-spoofs', path.join(out, 'voice-data', 'kokoro-jf_alpha.npz')], 120_000);
    expect(other.code).not.toBe(0);
    expect(other.out).toContain('holds 1 clips, the chosen run trained with 2');
    expect(fs.existsSync(path.join(out, 'refused'))).toBe(false);
    expect(m.audio?.sampleRate).toBe(16000);
    // the verdict weight went through the genuine-drift check (choose_weight.py -> detectors/eval/drift.ts); run.sh
    // chose it with the stage's (--pair, below); SpecNet's weight alone (run.sh STAGE=0) on a copy
    expect(m.verdict?.basis).toMatch(/held-out bona fide speakers/);
    expect(fs.existsSync(path.join(out, 'voice-weight', 'folds', 'bonafide-speakers.tsv'))).toBe(true);
    const single = (JSON.parse(fs.readFileSync(path.join(out, 'single', 'voice-antispoof', 'manifest.json'), 'utf8')) as { verdict: { weight: number; basis: string } }).verdict;
    expect(single.basis).toMatch(/^largest weight on a 0\.05 grid up to [\d.]+ \(1 - 2 x mean leave-source-out EER\) .*held-out bona fide speakers/);
    expect(single.weight).toBeGreaterThanOrEqual(0);
    // variable-length input, as the service sends it: a preprocessed fixture clip and 1.5 s of a tone
    const clip = readWav16(path.join(out, 'voice-fixtures', 'page0', 'page0__clip2.wav'));
    const a = preprocessAudio(clip.samples, clip.rate, m.audio!);
    const tone = new Float32Array(24000).map((_, i) => 0.1 * Math.sin((2 * Math.PI * 220 * i) / 16000));
    for (const x of [a, preprocessAudio(tone, 16000, m.audio!)]) {
      const y = await runOnnx(path.join(out, 'models', 'voice-antispoof', m.file), 'waveform', x, [1, x.length]);
      expect(y.length).toBe(1);
      expect(Number.isFinite(y[0])).toBe(true);
    }
    // the Inc-TSSDNet study architecture (train.py --arch tssdnet-scratch): a held-out score per clip and channel,
    // and a fold model that takes the service's variable-length windows
    const tssd = JSON.parse(fs.readFileSync(path.join(out, 'voice-data', 'cv', 'tssdnet-scratch', 'fold0.json'), 'utf8')) as {
      arch: string; clipIdx: number[]; checkpoints: { step: number; scores: Record<string, number[]> }[];
    };
    expect(tssd.arch).toBe('tssdnet-scratch');
    expect(tssd.clipIdx).toEqual(data.clips.flatMap((c, i) => (c.fold === 0 ? [i] : [])));
    const last = tssd.checkpoints.at(-1)!;
    expect(Object.keys(last.scores).sort()).toEqual(['clean', 'g711', 'opus12loss', 'opus24']);
    for (const sc of Object.values(last.scores)) {
      expect(sc).toHaveLength(tssd.clipIdx.length);
      for (const v of sc) expect(Number.isFinite(v)).toBe(true);
    }
    for (const x of [a, preprocessAudio(tone, 16000, m.audio!)]) {
      const y = await runOnnx(path.join(out, 'voice-data', 'cv', 'tssdnet-scratch', `fold0-step${last.step}.onnx`), 'waveform', x, [1, x.length]);
      expect(y.length).toBe(1);
      expect(Number.isFinite(y[0])).toBe(true);
    }
    // the second stage: Whisper-base encoder (PyPI weights) + head, a cascade stage the registry loads, built by the
    // same run.sh on the same clips and folds, from its own training variants (STAGE_NS_SHARE 0, as the shipped stage)
    const s = await checkExported(path.join(out, 'models-stage'), 'voice-whisper', 'voice-antispoof', null);
    expect(s.training.command).toMatch(/^bash detectors\/training\/voice\/run\.sh .*\(step 7: whisper_stage\.py/);
    expect(s.dataCard).toContain('1 random channel variants each');
    expect(s.dataCard).not.toContain('noise suppressor');
    expect(fs.existsSync(path.join(out, 'voice-data-stage0', 'whisper-stage-feats.npz'))).toBe(true);
    expect(s.cascade?.everyNthWindow).toBeGreaterThanOrEqual(1);
    expect(s.audio).toMatchObject({ sampleRate: 16000, minSeconds: 2, maxSeconds: 2 });
    // with its own calibration for noise-suppressed senders (whisper_stage.py suppressed)
    expect(s.calibration.suppressed?.fittedOn).toContain('noise suppressor (WebRTC NS level 2)');
    expect(Number.isFinite(s.calibration.suppressed?.a) && Number.isFinite(s.calibration.suppressed?.b)).toBe(true);
    const w = preprocessAudio(clip.samples.length >= 2 * clip.rate ? clip.samples.slice(0, 2 * clip.rate) : clip.samples, clip.rate, s.audio!);
    const two = new Float32Array(32000);
    for (let i = 0; i < two.length; i++) two[i] = w[i % w.length]!;
    const y = await runOnnx(path.join(out, 'models-stage', 'voice-whisper', s.file), 'waveform', two, [1, two.length]);
    expect(y.length).toBe(1);
    expect(Number.isFinite(y[0])).toBe(true);
    // its weight went through the two-stage drift check (choose_weight.py --stage -> drift.ts --stage2 --stage-weights),
    // on genuine speakers and spoof calls, and is a grid weight no larger than the recipe's cap
    const staged = JSON.parse(fs.readFileSync(path.join(out, 'stage-only', 'voice-whisper', 'manifest.json'), 'utf8')) as {
      verdict: { weight: number; basis: string };
    };
    expect(staged.verdict.basis).toMatch(/largest stage weight .* genuine speakers suspicious: 0: \d+.*held-out spoof calls flagged \(of \d+\): 0: \d+/);
    // chosen for the verdict's default fusion of the two stages (ParticipantVerdict detectorFusion)
    expect(staged.verdict.basis).toContain(`verdict detectorFusion ${defaultParticipantVerdictOptions.detectorFusion}`);
    const cap = Number(/up to (\d+(?:\.\d+)?)/.exec(staged.verdict.basis)?.[1]);
    expect(Number.isFinite(cap), staged.verdict.basis).toBe(true);
    expect(staged.verdict.weight).toBeGreaterThanOrEqual(0);
    expect(staged.verdict.weight).toBeLessThanOrEqual(cap + 1e-9);
    // the shipped way, run.sh's last step (choose_weight.py --pair): both weights at once, the genuine speakers also
    // behind WebRTC's noise suppressor (their clips rewritten by channel.py ns-list), every pair's counts in both
    // manifests' basis
    const pair = [['models', 'voice-antispoof'], ['models-stage', 'voice-whisper']].map(([dir, id]) => (JSON.parse(fs.readFileSync(path.join(out, dir!, id!, 'manifest.json'), 'utf8')) as { verdict: { weight: number; weightTelephone?: number; weightG722?: number; weightSipOpus?: number; basis: string } }).verdict);
    const bonaRows = fs.readFileSync(path.join(out, 'voice-weight', 'folds', 'bonafide-speakers.tsv'), 'utf8').trim().split('\n');
    const nsRows = fs.readFileSync(path.join(out, 'voice-weight', 'suppressed-ns2', 'bonafide-speakers.tsv'), 'utf8').trim().split('\n');
    expect(nsRows).toHaveLength(bonaRows.length);
    for (const r of nsRows.slice(1)) expect(fs.existsSync(r.split('\t')[0]!), r).toBe(true);
    for (const v of pair) {
      expect(v.basis).toMatch(/behind a sender's noise suppressor \(WebRTC NS level 2/);
      // run.sh's defaults: every passive path (SPEAKER_EMBED: the takeover rule in the genuine calls) and phone legs
      // with a pair of their own (PHONE=pair), chosen over G.711 passes as is and behind a handset's suppressor
      expect(v.basis).toMatch(/with the takeover rule of speaker-embed in the same verdict \(\d+ calls of several people under one corpus label left out\)/);
      expect(v.basis).toMatch(/genuine suspicious as is\/suppressed\/spoof calls flagged: \d+(\.\d+)?\/0: \d+\/\d+\/\d+/);
      expect(v.basis).toMatch(/on phone legs \(verdict\.weightTelephone, windows scored with the telephone calibration\) the pair [\d.]+\/[\d.]+ chosen the same way over the same speakers through G\.711 mu-law as is and behind the suppressor, and through AMR-NB 12\.2 kb\/s then G\.711 \(a mobile caller\) as is and behind the suppressor, judged as a phone leg, the most of the \d+ spoof calls through G\.711 flagged; genuine suspicious as is\/suppressed\/AMR as is\/AMR suppressed\/spoof calls flagged: \d+(\.\d+)?\/0: \d+\/\d+\/\d+\/\d+\/\d+/);
      expect(v.weightTelephone).toBeGreaterThanOrEqual(0);
    }
    // the phone pair written into the manifests is the one the basis names
    expect(pair[0]!.basis).toContain(`the pair ${pair[0]!.weightTelephone}/${pair[1]!.weightTelephone} chosen the same way`);
    expect(pair[0]!.basis).toMatch(/\(this model [\d.,]+ of at most [\d.]+, the stage 0[\d.,]* of at most/);
    expect(pair[1]!.basis).toMatch(/\(voice-antispoof [\d.,]+ of at most [\d.]+, this stage 0[\d.,]* of at most/);
    // the chosen pair is one of the pairs tried (or 0 / 0 when none keeps genuine speakers out)
    // the takeover rule ran in the four genuine passes (their drift reports name it, with the channel each was
    // judged on), not in the spoof passes; the phone passes go through G.711 with the telephone calibration
    type SweepReport = { speakerEmbed: { id: string; channel: string } | null; channel: string; totals: { speakers: number; takeovers?: number }; sweep: { weight: number; stageWeight: number; suspicious: number }[] };
    const sweep = (name: string): SweepReport => {
      const dir = path.join(out, 'voice-weight', 'sweeps', name);
      // command.json names the pass's drift.ts report (what --reuse-sweeps reads back)
      const stored = JSON.parse(fs.readFileSync(path.join(dir, 'command.json'), 'utf8')) as { command: { flags: string[] }; report: string };
      expect(path.dirname(stored.report)).toBe(dir);
      return JSON.parse(fs.readFileSync(stored.report, 'utf8')) as SweepReport;
    };
    expect(sweep('single-person-bonafide').speakerEmbed).toMatchObject({ id: 'speaker-embed', channel: 'wideband' });
    expect(sweep('suppressed-ns2-bonafide-ns').speakerEmbed).toMatchObject({ id: 'speaker-embed', channel: 'suppressed' });
    expect(sweep('suppressed-ns2-bonafide-g711').speakerEmbed).toMatchObject({ id: 'speaker-embed', channel: 'telephone' });
    expect(sweep('suppressed-ns2-bonafide-g711').channel).toBe('g711');
    expect(sweep('suppressed-ns2-bonafide-g711').totals.speakers).toBe(sweep('suppressed-ns2-bonafide-ns').totals.speakers);
    expect(sweep('single-person-bonafide-g711')).toMatchObject({ channel: 'g711', speakerEmbed: { id: 'speaker-embed', channel: 'telephone' } });
    expect(sweep('single-person-bonafide-g711').totals.speakers).toBe(sweep('single-person-bonafide').totals.speakers);
    expect(sweep('folds-spoof').speakerEmbed).toBeNull();
    expect(sweep('folds-spoof-g711')).toMatchObject({ channel: 'g711', speakerEmbed: null });
    expect(sweep('folds-spoof-g711').totals.speakers).toBe(sweep('folds-spoof').totals.speakers);
    expect(sweep('single-person-bonafide').totals.speakers).toBeLessThanOrEqual(bonaRows.length - 1);
    // a mobile caller (AMR-NB then G.711), as is and behind the suppressor, bounds the phone pair too
    for (const name of ['single-person-bonafide-amrg711', 'suppressed-ns2-bonafide-amrg711']) {
      expect(sweep(name)).toMatchObject({ channel: 'amrg711', speakerEmbed: { id: 'speaker-embed', channel: 'telephone' } });
      expect(sweep(name).totals.speakers).toBe(sweep('single-person-bonafide').totals.speakers);
    }
    // run.sh's step 9 (sip_legs.py --leg g722 --write): the same speakers and spoof calls through the service's G.722
    // codec, judged wideband (never as a suppressed sender); the rule's outcome in both manifests
    for (const name of ['single-person-bonafide-g722', 'suppressed-ns2-bonafide-g722']) {
      expect(sweep(name)).toMatchObject({ channel: 'g722', speakerEmbed: { id: 'speaker-embed', channel: 'wideband' } });
      expect(sweep(name).totals.speakers).toBe(sweep('single-person-bonafide').totals.speakers);
    }
    expect(sweep('folds-spoof-g722')).toMatchObject({ channel: 'g722', speakerEmbed: null });
    // ... with the same speakers as VoLTE callers too (run.sh VOLTE=1: AMR-WB 12.65 kb/s, then G.722), judged wideband
    for (const name of ['single-person-bonafide-amrwbg722', 'suppressed-ns2-bonafide-amrwbg722']) {
      expect(sweep(name)).toMatchObject({ channel: 'amrwbg722', speakerEmbed: { id: 'speaker-embed', channel: 'wideband' } });
      expect(sweep(name).totals.speakers).toBe(sweep('single-person-bonafide').totals.speakers);
    }
    // ... and (sip_legs.py --leg sip-opus) a gateway's Opus legs: the same speakers behind the suppressor through Opus
    // 24 kb/s judged wideband (a SIP leg cannot declare its suppressor), beside step 8's own Opus 24 passes
    expect(sweep('suppressed-ns2-bonafide')).toMatchObject({ channel: 'opus24', speakerEmbed: { id: 'speaker-embed', channel: 'wideband' } });
    expect(sweep('suppressed-ns2-bonafide').totals.speakers).toBe(sweep('single-person-bonafide').totals.speakers);
    type SipLegs = { leg: string; decision: 'keep' | 'own pair'; shippedPair: number[]; pairRule: { pair: number[] }; atShippedPair: Record<string, number>; calls: { genuine: number; spoof: number }; callSeparation: Record<string, { auroc: number; eer: number }> };
    const legs = (['g722', 'sip-opus'] as const).map((leg) => JSON.parse(fs.readFileSync(path.join(out, 'voice-weight', `${leg}-legs.json`), 'utf8')) as SipLegs);
    for (const [l, [leg, key, mark, name, genuinePasses]] of ([['g722', 'weightG722', '; on G.722 legs', 'G\\.722 SIP callers', ['genuine', 'genuineSuppressed', 'genuineVolte', 'genuineVolteSuppressed']], ['sip-opus', 'weightSipOpus', '; on Opus SIP legs', 'Opus SIP callers', ['genuine', 'genuineSuppressed']]] as const).entries()) {
      const r = legs[l]!;
      expect(r.leg).toBe(leg);
      expect(r.shippedPair).toEqual([pair[0]!.weight, pair[1]!.weight]);
      expect(r.calls).toEqual({ genuine: sweep('single-person-bonafide').totals.speakers, spoof: sweep('folds-spoof').totals.speakers, leftOutSeveralPeople: expect.any(Number) });
      // "keep" exactly when every genuine pass of the leg stays under 2 % at the wideband pair
      expect(Object.keys(r.atShippedPair)).toEqual([...genuinePasses, 'spoof']);
      const under = (k: string): boolean => r.atShippedPair[k]! / r.calls.genuine < 0.02;
      expect(r.decision).toBe(genuinePasses.every(under) ? 'keep' : 'own pair');
      const passesText = leg === 'g722' ? 'as is/suppressed/VoLTE as is/VoLTE suppressed/' : 'as is/suppressed/';
      const counts = Array.from({ length: genuinePasses.length + 1 }, () => '\\d+').join('/');
      for (const [i, v] of pair.entries()) {
        expect(v.basis).toMatch(new RegExp(`${mark.replace('.', '\\.')} \\(${name}, wideband calibration; sip_legs\\.py\\) .*; genuine suspicious ${passesText}spoof calls flagged: \\d+(\\.\\d+)?/\\d+(\\.\\d+)?: ${counts}`));
        expect(v.basis.split(mark)).toHaveLength(2);
        expect(v[key]).toBe(r.decision === 'keep' ? undefined : r.pairRule.pair[i]);
      }
      for (const s of Object.values(r.callSeparation)) {
        expect(s.auroc).toBeGreaterThanOrEqual(0);
        expect(s.auroc).toBeLessThanOrEqual(1);
      }
    }
    // the Opus SIP legs' genuine pass as is and spoof pass are step 8's browser passes (the same counts at the pair)
    const atPairOf = (p: readonly number[], name: string): number | undefined => sweep(name).sweep.find((r) => r.weight === p[0] && r.stageWeight === p[1])?.suspicious;
    const atPair = (name: string): number | undefined => atPairOf([pair[0]!.weight, pair[1]!.weight], name);
    expect([legs[1]!.atShippedPair.genuine, legs[1]!.atShippedPair.spoof]).toEqual([atPair('single-person-bonafide'), atPair('folds-spoof')]);
    // --reuse-sweeps: the same choice again read all sixteen passes back (eight of choose_weight.py, five for the G.722
    // legs and three for the Opus SIP legs of sip_legs.py) and wrote the same pairs and basis
    const again = fs.readFileSync(path.join(out, 'voice-weight-reuse.log'), 'utf8');
    expect(again.match(/reusing the stored pass/g)?.length).toBe(16);
    const reused = [['reuse', 'voice-antispoof'], ['reuse', 'voice-whisper']].map(([dir, id]) => (JSON.parse(fs.readFileSync(path.join(out, dir!, id!, 'manifest.json'), 'utf8')) as { verdict: { weight: number; basis: string } }).verdict);
    expect(reused).toEqual(pair);
    // ... and after a fold model's manifest changed in place, no pass stored before was read back (all read that
    // model): only the Opus SIP legs read back the two Opus 24 passes choose_weight.py had just run again
    const rebuilt = fs.readFileSync(path.join(out, 'voice-weight-rebuilt.log'), 'utf8');
    expect([...rebuilt.matchAll(/\] (\S+): reusing the stored pass/g)].map((m) => m[1]).sort()).toEqual(['folds-spoof', 'single-person-bonafide']);
    // the cascade-density study's comparison over the same stored passes on both sides: each family's choice is the
    // pair the recipe wrote for it (wideband, phone legs, and the SIP legs' pair rule), so the study compares like
    // with like
    type Choice = { pair: number[]; spoofFlagged: number; genuineSuspicious: number[]; passes: Record<string, { everyNthWindow: number[] }> };
    const cascade = JSON.parse(fs.readFileSync(path.join(out, 'voice-cascade-study.json'), 'utf8')) as { phase1: string; families: Record<string, { control: Choice; study: Choice; gain: number }> };
    expect(Object.keys(cascade.families).sort()).toEqual(['g722', 'phone', 'sip-opus', 'wideband']);
    expect(cascade.families['wideband']!.control.pair).toEqual([pair[0]!.weight, pair[1]!.weight]);
    expect(cascade.families['phone']!.control.pair).toEqual([pair[0]!.weightTelephone, pair[1]!.weightTelephone]);
    expect(cascade.families['g722']!.control.pair).toEqual(legs[0]!.pairRule.pair);
    expect(cascade.families['sip-opus']!.control.pair).toEqual(legs[1]!.pairRule.pair);
    for (const f of Object.values(cascade.families)) {
      expect(f.study).toEqual(f.control);
      expect(f.gain).toBe(0);
      // (no pair keeps the genuine passes under the bound: (0, 0), off the grid, flags none)
      expect(f.control.spoofFlagged).toBe(atPairOf(f.control.pair, Object.keys(f.control.passes).at(-1)!) ?? 0);
    }
    expect(cascade.phase1).toBe('fails');
    // the weak-evidence threshold (lean_threshold.py): three drift passes over the same fold models, the rule applied
    type LeanPass = { calls: number; suspicious: number; lean: Record<string, number> };
    const lean = JSON.parse(fs.readFileSync(path.join(out, 'voice-lean.json'), 'utf8')) as { passes: Record<'genuine' | 'genuineSuppressed' | 'spoof', LeanPass>; chosen: number; weights: Record<string, number> };
    expect(lean.weights).toEqual({ 'voice-antispoof': 0.25, 'voice-whisper': 0.1 });
    expect(lean.passes.genuine.calls).toBe(bonaRows.length - 1);
    expect(lean.passes.genuineSuppressed.calls).toBe(bonaRows.length - 1);
    const grid = Object.keys(lean.passes.genuine.lean);
    expect(grid).toEqual(['0.50', '0.51', '0.52', '0.53', '0.54', '0.55', '0.56', '0.57', '0.58', '0.59']);
    for (const p of Object.values(lean.passes)) {
      const counts = grid.map((g) => p.lean[g]!);
      // a higher threshold never challenges more calls, and never fewer than the suspicious trigger alone
      for (let i = 1; i < counts.length; i++) expect(counts[i]!).toBeLessThanOrEqual(counts[i - 1]!);
      expect(Math.min(...counts)).toBeGreaterThanOrEqual(p.suspicious);
    }
    // phone legs (--channel g711 --phone-amr, DFD_CHALLENGE_LEAN_P_TELEPHONE): judged with the telephone calibration;
    // the speakers through G.711 and through AMR-NB then G.711, each as is and behind a handset-style suppressor
    const phone = JSON.parse(fs.readFileSync(path.join(out, 'voice-lean-g711.json'), 'utf8')) as { channel: string; passes: Record<string, LeanPass>; chosen: number };
    expect(phone.channel).toBe('g711');
    const phoneGenuine = ['genuine', 'genuineAmr', 'genuineAmrSuppressed', 'genuineSuppressed'];
    expect(Object.keys(phone.passes).sort()).toEqual([...phoneGenuine, 'spoof']);
    for (const k of phoneGenuine) expect(phone.passes[k]!.calls).toBe(bonaRows.length - 1);
    // the same rule over every genuine pass of each family
    const fitsIn = (passes: LeanPass[]) => (g: string): boolean => passes.every((p) => p.lean[g]! <= 0.1 * p.calls);
    const chosenBy = (passes: LeanPass[]): number => (grid.find(fitsIn(passes)) !== undefined ? Number(grid.find(fitsIn(passes))) : 1);
    expect(lean.chosen).toBe(chosenBy([lean.passes.genuine, lean.passes.genuineSuppressed]));
    expect(phone.chosen).toBe(chosenBy(phoneGenuine.map((k) => phone.passes[k]!)));
    // a gateway's Opus legs (--undeclared, DFD_CHALLENGE_LEAN_P_SIP_OPUS): the suppressed speakers judged wideband, not
    // as a sender that says so; the same rule
    const sip = JSON.parse(fs.readFileSync(path.join(out, 'voice-lean-undeclared.json'), 'utf8')) as { channel: string; suppressedJudged: string; passes: Record<'genuine' | 'genuineSuppressed' | 'spoof', LeanPass>; chosen: number };
    expect([sip.channel, sip.suppressedJudged]).toEqual(['opus24', "as the leg's channel"]);
    expect(lean).toMatchObject({ suppressedJudged: 'suppressed' });
    expect(sip.passes.genuine).toEqual(lean.passes.genuine);
    expect(sip.passes.genuineSuppressed.calls).toBe(bonaRows.length - 1);
    expect(sip.chosen).toBe(chosenBy([sip.passes.genuine, sip.passes.genuineSuppressed]));
    const tried = [...pair[0]!.basis.matchAll(/(\d+(?:\.\d+)?)\/(\d+(?:\.\d+)?): \d+\/\d+\/\d+/g)].map((m) => `${Number(m[1])}/${Number(m[2])}`);
    expect([...tried, '0/0']).toContain(`${pair[0]!.weight}/${pair[1]!.weight}`);
    // the VoLTE check (smoke.sh "volte"): fold models under another template carry their own run's calibrations ...
    const chosenCal = (JSON.parse(fs.readFileSync(path.join(out, 'voice-data', 'cv', 'report.json'), 'utf8')) as { chosen: { calibration: Record<'wideband' | 'telephone', number[]> } }).chosen.calibration;
    const volteFold = (JSON.parse(fs.readFileSync(path.join(out, 'voice-volte', 'folds', 'voice-antispoof-fold0', 'manifest.json'), 'utf8')) as { calibration: { a: number; b: number; telephone: { a: number; b: number } } }).calibration;
    expect([volteFold.a, volteFold.b]).toEqual(chosenCal.wideband);
    expect([volteFold.telephone.a, volteFold.telephone.b]).toEqual(chosenCal.telephone);
    const shippedCal = (JSON.parse(fs.readFileSync(path.join(committedModels, 'voice-antispoof', 'manifest.json'), 'utf8')) as { calibration: { b: number } }).calibration;
    expect(volteFold.b).not.toBe(shippedCal.b);
    // ... and the G.722 leg's choice counts the speakers as VoLTE callers (AMR-WB, then G.722) as two more genuine passes
    const volte = JSON.parse(fs.readFileSync(path.join(out, 'voice-volte', 'g722-legs.json'), 'utf8')) as SipLegs & { passes: Record<string, { channel: string; label: string }>; atShippedPair: Record<string, number> };
    expect(Object.keys(volte.passes)).toEqual(['genuine', 'genuineSuppressed', 'genuineVolte', 'genuineVolteSuppressed', 'spoof']);
    expect(Object.values(volte.passes).map((p) => p.channel)).toEqual(['g722', 'g722', 'amrwbg722', 'amrwbg722', 'g722']);
    const volteSweep = (name: string): SweepReport & { settings: { judgedAs: string } } => {
      const stored = JSON.parse(fs.readFileSync(path.join(out, 'voice-volte', 'sweeps', name, 'command.json'), 'utf8')) as { report: string };
      return JSON.parse(fs.readFileSync(stored.report, 'utf8')) as SweepReport & { settings: { judgedAs: string } };
    };
    for (const name of ['single-person-bonafide-amrwbg722', 'suppressed-ns2-bonafide-amrwbg722']) {
      // judged as the service judges a G.722 leg: wideband, never as a suppressed sender
      expect(volteSweep(name)).toMatchObject({ channel: 'amrwbg722', settings: { judgedAs: 'wideband' }, speakerEmbed: { id: 'speaker-embed', channel: 'wideband' } });
      expect(volteSweep(name).totals.speakers).toBe(volte.calls.genuine);
    }
    const underAll = ['genuine', 'genuineSuppressed', 'genuineVolte', 'genuineVolteSuppressed'].every((k) => volte.atShippedPair[k]! / volte.calls.genuine < 0.02);
    expect(volte.decision).toBe(underAll ? 'keep' : 'own pair');
  }, 2_460_000);

  it('face: six clips of a sample photo -> the service\'s own crops -> variants + self-blends + cross-identity blends -> 2-fold leave-method-out CV, report, final -> ONNX + manifest the registry loads', async (ctx) => {
    skipIfNoVenv(ctx);
    const out = path.join(tmp, 'face');
    const t0 = Date.now();
    await mustRun('bash', [path.join(here, 'ci', 'smoke.sh'), out, 'face'], 600_000);
    measured['faceSmokeSeconds'] = (Date.now() - t0) / 1000;
    const data = JSON.parse(fs.readFileSync(path.join(out, 'face-data', 'data', 'clips.json'), 'utf8')) as { clips: { label: number; fold: number; frames: number }[]; summary: { fold: number; real: number; fake: number; methods: string[] }[]; xblend: number; xblendCrops: number };
    // every clip had a face cut by the service's face path; each fold holds out one method with two real identities
    expect(data.clips).toHaveLength(6);
    expect(data.clips.every((c) => c.frames > 0)).toBe(true);
    expect(data.summary.map((f) => [f.real, f.fake, f.methods.length])).toEqual([[2, 1, 1], [2, 1, 1]]);
    // one cross-identity blend per real frame (each real clip has another person in its fold; every mesh fits)
    const realFrames = data.clips.filter((c) => c.label === 0).reduce((n, c) => n + c.frames, 0);
    expect(data.xblend).toBe(1);
    expect(data.xblendCrops).toBe(realFrames);
    const report = JSON.parse(fs.readFileSync(path.join(out, 'face-data', 'data', 'cv', 'report.json'), 'utf8')) as {
      chosen: { run: string; step: number };
      calibration: { a: number; b: number };
      criterion: string;
      by_criterion: Record<string, { run: string; step: number }>;
    };
    // every selection criterion is reported; the default (mean over held-out methods) made the choice
    expect(report.criterion).toBe('mean');
    expect(Object.keys(report.by_criterion).sort()).toEqual(['mean', 'swap', 'worst-kind']);
    expect(report.by_criterion['mean']).toMatchObject(report.chosen);
    // the smoke run trains with the shipped model's sampling shares (forgery.py cv --shares): they name the run and
    // reach the final model's manifest
    expect(report.chosen.run).toBe('mnv2-imagenet-f5-s0.5-0.125-0.375');
    expect(Number.isFinite(report.calibration.a) && Number.isFinite(report.calibration.b)).toBe(true);
    const m = await checkExported(path.join(out, 'models'), 'face-forgery', 'face-forgery');
    const raw = JSON.parse(fs.readFileSync(path.join(out, 'models', 'face-forgery', 'manifest.json'), 'utf8')) as { provenance?: { samplingShares?: unknown; freeze?: unknown }; architecture?: { name?: string }; license?: string };
    expect(raw.provenance?.samplingShares).toEqual({ real: 0.5, fake: 0.125, selfBlend: 0.375, crossBlend: 0 });
    // the shipped configuration: ImageNet MobileNetV2 from npm nsfwjs, its licence shipped beside the model
    expect(raw.architecture?.name).toBe('mobilenetv2');
    expect(raw.provenance?.freeze).toBe(5);
    expect(raw.license).toMatch(/nsfwjs/);
    expect(fs.readFileSync(path.join(out, 'models', 'face-forgery', 'LICENSE-nsfwjs'), 'utf8')).toMatch(/MIT License/);
    const spec = m.image!;
    // a batch of two: a flat grey crop and a gradient crop, through the service's image preprocessing
    const plane = 3 * spec.width * spec.height;
    const input = new Float32Array(2 * plane);
    const grey = new Uint8Array(plane).fill(128);
    const grad = new Uint8Array(plane).map((_, i) => i % 256);
    preprocessImage(grey, spec.width, spec.height, spec, input, 0);
    preprocessImage(grad, spec.width, spec.height, spec, input, plane);
    const y = await runOnnx(path.join(out, 'models', 'face-forgery', m.file), 'image', input, [2, 3, spec.height, spec.width]);
    expect(y.length).toBe(2);
    expect([...y].every(Number.isFinite)).toBe(true);
  }, 660_000);
});

// ---------------------------------------------------------------- preprocessing parity

interface AudioDump {
  decodedSamples: number;
  windowSamples: number[];
  lastWindowLogit: number;
  files: { decoded: string; lastWindow: string; normalised: string };
}

interface ImageDump {
  cropSize: number;
  cases: Record<string, { sourceSide: number; logit: number; files: { source: string; input: string } }>;
}

function committedManifest(id: string): Manifest {
  return parseManifest(JSON.parse(fs.readFileSync(path.join(committedModels, id, 'manifest.json'), 'utf8')));
}

describe('preprocessing parity: TypeScript inference path vs training code', () => {
  const voiceOnnx = path.join(committedModels, 'voice-antispoof', 'model.onnx');
  const faceOnnx = path.join(committedModels, 'face-forgery', 'model.onnx');

  async function audioDump(wav: string, name: string): Promise<AudioDump> {
    const out = await mustRun(venvPython, [path.join(here, 'ci', 'parity.py'), 'audio', '--wav', wav, '--onnx', voiceOnnx,
      '--out', path.join(tmp, 'parity'), '--name', name], 120_000);
    return JSON.parse(out.trim().split('\n').pop()!) as AudioDump;
  }

  async function speech(name: string, text: string, sox: string[]): Promise<string> {
    const dir = path.join(tmp, 'parity');
    fs.mkdirSync(dir, { recursive: true });
    const raw = path.join(dir, `${name}-espeak.wav`);
    const wav = path.join(dir, `${name}.wav`);
    await mustRun('espeak-ng', ['-v', 'en-us+f2', '-s', '160', '-w', raw, text], 60_000);
    await mustRun('sox', ['-q', raw, '-b', '16', wav, ...sox], 60_000);
    return wav;
  }

  it('audio at 16 kHz: the model input and logit match (normalisation is in the graph AND in preprocess.ts)', async (ctx) => {
    skipIfNoVenv(ctx);
    const spec = committedManifest('voice-antispoof').audio!;
    const cases = [
      // 3.1 s: scored whole by training; 6.4 s: training's last window is the last 4 s, as in preprocess.ts
      { name: 'short', text: 'Please confirm the transfer of funds to the new account before noon.', sox: ['rate', '16000', 'trim', '0', '3.1', 'gain', '-12'] },
      { name: 'long', text: 'Hello, this is your bank calling about a recent payment. Could you confirm your date of birth and the last four digits of your card, please?', sox: ['rate', '16000', 'trim', '0', '6.4'] },
    ];
    for (const c of cases) {
      const wav = await speech(c.name, c.text, c.sox);
      const py = await audioDump(wav, c.name);
      const ts = readWav16(wav);
      expect(ts.rate).toBe(16000);
      expect(maxAbsDiff(ts.samples, readF32(py.files.decoded))).toBe(0); // same decode
      const x = preprocessAudio(ts.samples, ts.rate, spec);
      expect(x.length).toBe(py.windowSamples[py.windowSamples.length - 1]);
      const clipped = x.filter((v) => Math.abs(v) >= 1).length;
      expect(clipped).toBe(0);
      // preprocess.ts output vs the graph's own normalise() of the raw training window
      const dNorm = maxAbsDiff(x, readF32(py.files.normalised));
      expect(dNorm).toBeLessThan(1e-5);
      // end to end: onnxruntime-node on the TS input vs onnxruntime (Python) on the raw training window
      const [logit] = await runOnnx(voiceOnnx, 'waveform', x, [1, x.length]);
      const dLogit = Math.abs(logit! - py.lastWindowLogit);
      expect(dLogit).toBeLessThan(1e-3 * Math.max(1, Math.abs(py.lastWindowLogit)));
      measured[`audio16k_${c.name}`] = { maxAbsDiffNormalised: dNorm, logitTs: logit, logitPy: py.lastWindowLogit };
    }
  }, 300_000);

  it('audio at 48 kHz: linear resampling (TS) vs polyphase (training) differ by design; bounded', async (ctx) => {
    skipIfNoVenv(ctx);
    const spec = committedManifest('voice-antispoof').audio!;
    // espeak-ng speaks at 22.05 kHz: content up to 11 kHz, like a wideband 48 kHz tap
    const wav = await speech('wide48k', 'Can you hear me now? I am calling from the main office about the invoice.', ['rate', '48000', 'trim', '0', '3.5']);
    const py = await audioDump(wav, 'wide48k');
    const ts = readWav16(wav);
    expect(ts.rate).toBe(48000);
    const pyDecoded = readF32(py.files.decoded);
    const tsResampled = resampleClip(ts.samples, ts.rate, spec.sampleRate);
    expect(Math.abs(tsResampled.length - pyDecoded.length)).toBeLessThanOrEqual(1);
    const snr = snrDb(pyDecoded, tsResampled);
    const x = preprocessAudio(ts.samples, ts.rate, spec);
    const [logit] = await runOnnx(voiceOnnx, 'waveform', x, [1, x.length]);
    measured['audio48k'] = { resampleSnrDb: snr, logitTs: logit, logitPy: py.lastWindowLogit };
    // 48 -> 16 kHz linear interpolation is plain decimation (no anti-alias filter): 8-11 kHz folds onto the
    // speech band. Measured 32 dB here; the bound leaves room for other espeak-ng/sox builds.
    expect(snr).toBeGreaterThan(20);
    expect(Number.isFinite(logit)).toBe(true);
  }, 300_000);

  it('images: 256x256 crops match exactly; resized crops differ by the resize filter only', async (ctx) => {
    skipIfNoVenv(ctx);
    const spec = committedManifest('face-forgery').image!;
    const out = await mustRun(venvPython, [path.join(here, 'ci', 'parity.py'), 'image', '--image', samplePhoto, '--onnx', faceOnnx,
      '--out', path.join(tmp, 'parity')], 120_000);
    const py = JSON.parse(out.trim().split('\n').pop()!) as ImageDump;
    expect(py.cropSize).toBe(spec.width);
    const plane = 3 * spec.width * spec.height;
    const result: Record<string, unknown> = {};
    for (const [name, c] of Object.entries(py.cases)) {
      const src = new Uint8Array(fs.readFileSync(c.files.source));
      expect(src.length).toBe(c.sourceSide * c.sourceSide * 3);
      const x = new Float32Array(plane);
      preprocessImage(src, c.sourceSide, c.sourceSide, spec, x, 0);
      const ref = readF32(c.files.input);
      const [logit] = await runOnnx(faceOnnx, 'image', x, [1, 3, spec.height, spec.width]);
      result[name] = { side: c.sourceSide, maxAbs: maxAbsDiff(x, ref), meanAbs: meanAbsDiff(x, ref), logitTs: logit, logitPy: c.logit };
    }
    measured['image'] = result;
    const r = result as Record<string, { maxAbs: number; meanAbs: number; logitTs: number; logitPy: number }>;
    // same size: only the 1/255 scaling (float32 multiply vs divide) differs
    expect(r['exact']!.maxAbs).toBeLessThan(1e-6);
    expect(Math.abs(r['exact']!.logitTs - r['exact']!.logitPy)).toBeLessThan(1e-4);
    // enlarging: both bilinear with half-pixel centres; OpenCV rounds to uint8 (and uses fixed-point weights)
    expect(r['enlarge']!.maxAbs).toBeLessThanOrEqual(1.5 / 255);
    expect(r['enlarge']!.meanAbs).toBeLessThan(0.6 / 255);
    // shrinking: training uses INTER_AREA, preprocess.ts bilinear (no anti-aliasing) -> by design, bounded
    for (const k of ['shrink', 'detector']) expect(r[k]!.meanAbs).toBeLessThan(2 / 255);
  }, 300_000);
});

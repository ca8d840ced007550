/**
 * Per-tenant calibration on real speech: does refitting the shipped voice detector's calibration
 * from one tenant's operator decisions (decision/calibration/fitTenantCalibration.ts `fitGroup`)
 * make the tenant's LATER calls better calibrated?
 *
 *   node --import tsx detectors/eval/tenantCalibration.ts [--data <folder with manifest.tsv>]...
 *        [--pages page,page,...] [--model <dir or id>] [--channel g711] [--seed 1] [--min-per-class N]
 *        [--max-clips N] [--shuffles 50] [--bootstrap 1000] [--splits 20]
 *        [--out eval-results/tenant-calibration] [--quiet]
 *
 * Defaults: --data ../shared/train/voice-tts and ../shared/train/voice-vc (relative to the repository
 * root), the tenant pages in DEFAULT_TENANT_PAGES, the shipped `voice-antispoof`, the g711 (telephone)
 * channel. Never point --data at ../shared/eval/ (refused).
 *
 * 1. The tenant is a set of whole source pages (the first folder of a clip's path) with both labels.
 *    Each clip is one call.
 * 2. Every clip takes the eval tool's path (cli.ts / clipMedia.ts, the service's own pieces): ffmpeg to
 *    48 kHz mono, the channel (g711: Resampler 48 -> 8 kHz, G.711 mu-law, 8 -> 16 kHz), the service's
 *    Resampler to the model rate, the service's analysis windows (2 s every 1 s), the audio gate
 *    (audioWindowIssue), and scoring by the service's InferenceWorker in a worker thread (one session,
 *    one intra-op thread, WorkerInference.ts). Each window's pFake uses the manifest calibration of the
 *    channel (calibrationFor(calibration, 'telephone') for g711).
 * 3. Call-level score z, as the service's call registry makes it (api/CallRegistry.ts #addCallScore):
 *    the evidence-weighted mean over the call's scored windows of logit(pFake), each clamped to
 *    +-MAX_CALL_LOG_ODDS (10); a window's evidence is its speech seconds as InferencePool counts it
 *    (no VAD here: the whole window).
 * 4. The calls are split into a DECISIONS half (what operators decided) and a LATER half (calls that
 *    come after): split units are the connected groups of clips sharing a named speaker or a pair group
 *    (the same sentence or source recording on a page); a clip with neither is its own unit. Units are
 *    ordered by a seeded hash and dealt greedily to keep both classes balanced between the halves, so
 *    no clip, named speaker or pair group is on both sides.
 * 5. `fitGroup` runs on the DECISIONS half with the default guardrails except minPerClass (the
 *    default 30 when the half has that many calls of each class, else its smaller class count, at
 *    least 5; or --min-per-class). On the LATER half: Cllr, minCllr and EER of the shipped z against
 *    the refit a z + b (EER and minCllr depend only on the ranking, which an increasing affine map
 *    keeps: they are equal by construction; Cllr is what a calibration changes), a unit-level
 *    bootstrap of the Cllr difference, and the share of genuine (and of fake) later calls whose
 *    call-level pFake = sigmoid(z) reaches the verdict's `suspiciousEnter` (0.60) under each.
 * 6. Control, "labels carry no information": the DECISIONS half's labels are shuffled (seeded) and
 *    `fitGroup` runs again; the guardrail should refuse ('no-information' or 'no-gain'). Repeated for --shuffles seeds,
 *    with how often it applied a map whose held-out Cllr is still at or above 1 bit (no better than
 *    saying nothing).
 * 7. Steps 4-5 again for --splits further split seeds on the same scores (no rescoring): how much the
 *    guardrail's answer and the later half's gain depend on which calls the operators decided.
 *
 * Output: a one-line JSON summary on stdout; the full report (with the exact command line and every
 * call's score) in <out>/tenant-calibration-<model>-<channel>-seed<seed>[-n<max-clips>].json.
 * Progress on stderr.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DfdError, toDfdError } from '../../kernel/errors.js';
import { setLogLevel } from '../../kernel/log.js';
import { MAX_CALL_LOG_ODDS } from '../../api/CallRegistry.js';
import { cllr as cllrOf, defaultCalibrationGuardrails, fitGroup, type CalibrationGuardrails, type GroupFit, type LabelledScore } from '../../decision/calibration/fitTenantCalibration.js';
import { audioWindowIssue } from '../../pipeline/inference/audioGate.js';
import type { StreamRef } from '../../pipeline/messages.js';
import { logit, sigmoid } from '../../pipeline/verdict/EvidenceAccumulator.js';
import { defaultVerdictMachineOptions } from '../../pipeline/verdict/VerdictMachine.js';
import { seededRandom } from '../../challenge-response/eval/labelledSet.js';
import { calibrate, calibrationFor, type Manifest } from '../registry/Manifest.js';
import { minCllr } from './calibrationMetrics.js';
import { channelSpec, CODEC_RATE, type Channel, type ChannelSpec } from './channel.js';
import { defaultEvalOptions, type Failure } from './cli.js';
import { audioWindowMessages, audioWindowsOf, chainText, decodeAudio48k, scoreAudioWindows, throughChannel } from './clipMedia.js';
import { eer } from './metrics.js';
import { Progress } from './Progress.js';
import { parseEvalTsv, type EvalItem } from './report.js';
import { resolveModel } from './resolveModel.js';
import { WorkerInference } from './WorkerInference.js';

/**
 * The default tenant: every page of the training material that has both labels, a named speaker on
 * every clip (so the split can go by speaker) and at least four bona fide speakers: English read
 * speech of VCTK, LibriTTS, DAPS and web voices. Pages the leave-source-out cross-validation held out
 * together (vocos-demo + snac-demo, hierspeechpp-demo + hierspeechpp-demo-vc) stay together.
 * Single-speaker pages (LJSpeech, Thorsten) and pages without speaker names (mspeechtokenizer-demo,
 * f5tts-demo, maskgct-demo, dmcodec-readme) are left out. No page of this material was held out of
 * the shipped model's final training (manifest `training.selection`: trained on every page).
 */
export const DEFAULT_TENANT_PAGES: readonly string[] = [
  'apcodec-demo',
  'dddmvc-demo',
  'hierspeechpp-demo',
  'hierspeechpp-demo-vc',
  'languagecodec-demo',
  'quickvc-demo',
  'snac-demo',
  'tortoise-tts',
  'univnet-demo',
  'vocos-demo',
  'voicecraft-web',
  'wavefm-demo',
];

export const DEFAULT_DATA: readonly string[] = ['../shared/train/voice-tts', '../shared/train/voice-vc'];

export interface TenantCalibrationOptions {
  /** Folders holding a manifest.tsv (path, label, generator, source, speaker, ..., pair_group). */
  data: readonly string[];
  /** The tenant: page names (first folder of a clip's path). */
  pages: readonly string[];
  model: string;
  modelsDir: string;
  channel: Channel;
  seed: number;
  /** undefined: 30 (the default) when the decisions half allows, else its smaller class count (>= 5). */
  minPerClass: number | undefined;
  /** Score only this many clips (seeded choice; for timing runs). */
  maxClips: number | undefined;
  /** Label-shuffle control repetitions. */
  shuffles: number;
  /** Bootstrap resamples of the later half (by split unit). */
  bootstrap: number;
  /** Further split seeds (seed+1 ...) evaluated on the same scores. */
  splits: number;
  outDir: string;
  progress: boolean;
  /** The command line, recorded in the report. */
  command: string;
}

export const defaultTenantCalibrationOptions: Omit<TenantCalibrationOptions, 'command'> = {
  data: DEFAULT_DATA,
  pages: DEFAULT_TENANT_PAGES,
  model: 'detectors/models/voice-antispoof',
  modelsDir: defaultEvalOptions.modelsDir,
  channel: 'g711',
  seed: 1,
  minPerClass: undefined,
  maxClips: undefined,
  shuffles: 50,
  bootstrap: 1000,
  splits: 20,
  outDir: 'eval-results/tenant-calibration',
  progress: true,
};

// ------------------------------------------------------------------------------ data and split

export interface TenantClip {
  item: EvalItem;
  /** The dataset folder's name (voice-tts, voice-vc). */
  dataset: string;
  page: string;
  /** The speaker as listed; '' when unknown ('-' or '- (...)'). */
  speaker: string;
  /** The pair group as listed; '' when none. */
  pairGroup: string;
}

const known = (v: string | undefined): string => (v === undefined || v === '' || v.startsWith('-') ? '' : v);

/** Reads the lists and keeps the tenant's pages. Refuses the shared evaluation set. */
export function loadTenant(data: readonly string[], pages: readonly string[]): { clips: TenantClip[]; lists: string[] } {
  const want = new Set(pages);
  const clips: TenantClip[] = [];
  const lists: string[] = [];
  for (const dir of data) {
    const abs = path.resolve(dir);
    if (/(^|\/)shared\/eval(\/|$)/.test(abs)) throw new DfdError('ERR_CONFIG', 'the shared evaluation set is not used for tenant calibration', { dir });
    const tsv = path.join(abs, 'manifest.tsv');
    let text: string;
    try {
      text = fs.readFileSync(tsv, 'utf8');
    } catch {
      throw new DfdError('ERR_EVAL_TSV', 'the file cannot be read', { file: tsv });
    }
    lists.push(tsv);
    const list = parseEvalTsv(text, abs);
    if (list.kind !== 'audio') throw new DfdError('ERR_EVAL_TSV', 'not an audio list', { file: tsv });
    for (const item of list.items) {
      const page = item.path.split('/')[0] ?? '';
      if (!want.has(page)) continue;
      clips.push({ item, dataset: path.basename(abs), page, speaker: known(item.fields.speaker), pairGroup: known(item.fields.pair_group) });
    }
  }
  const found = new Set(clips.map((c) => c.page));
  const missing = pages.filter((p) => !found.has(p));
  if (missing.length > 0) throw new DfdError('ERR_CONFIG', 'tenant pages not found in the lists', { missing });
  return { clips, lists };
}

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

/**
 * Split units: connected groups of clips that share a named speaker (any page) or a pair group (same
 * page). Each unit is named by its first clip path in sort order.
 */
export function splitUnits(clips: readonly TenantClip[]): Map<string, string> {
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    let r = x;
    while (parent.get(r) !== r) r = parent.get(r) ?? r;
    let y = x;
    while (y !== r) {
      const next = parent.get(y)!;
      parent.set(y, r);
      y = next;
    }
    return r;
  };
  const add = (x: string): void => {
    if (!parent.has(x)) parent.set(x, x);
  };
  const union = (a: string, b: string): void => {
    add(a);
    add(b);
    const ra = find(a);
    const rb = find(b);
    if (ra !== rb) parent.set(ra, rb);
  };
  for (const c of clips) {
    const id = `clip:${c.item.path}`;
    add(id);
    if (c.speaker) union(id, `speaker:${c.speaker}`);
    if (c.pairGroup) union(id, `pair:${c.page}:${c.pairGroup}`);
  }
  const name = new Map<string, string>();
  for (const c of [...clips].sort((x, y) => (x.item.path < y.item.path ? -1 : 1))) {
    const r = find(`clip:${c.item.path}`);
    if (!name.has(r)) name.set(r, c.item.path);
  }
  return new Map(clips.map((c) => [c.item.path, name.get(find(`clip:${c.item.path}`))!]));
}

export type Half = 'decisions' | 'later';

/**
 * Deals units (ordered by a seeded hash of their name) to the half that keeps both classes most
 * balanced; ties go to the decisions half.
 */
export function splitHalves(units: ReadonlyMap<string, { fake: number; genuine: number }>, seed: number): Map<string, Half> {
  const order = [...units.keys()].sort((x, y) => (sha(`${seed}:${x}`) < sha(`${seed}:${y}`) ? -1 : 1));
  const d = { fake: 0, genuine: 0 };
  const l = { fake: 0, genuine: 0 };
  const out = new Map<string, Half>();
  for (const u of order) {
    const c = units.get(u)!;
    const toD = Math.abs(d.fake + c.fake - l.fake) + Math.abs(d.genuine + c.genuine - l.genuine);
    const toL = Math.abs(d.fake - l.fake - c.fake) + Math.abs(d.genuine - l.genuine - c.genuine);
    const side = toD <= toL ? d : l;
    side.fake += c.fake;
    side.genuine += c.genuine;
    out.set(u, side === d ? 'decisions' : 'later');
  }
  return out;
}

// ------------------------------------------------------------------------------ scoring

export interface CallScore {
  path: string;
  dataset: string;
  page: string;
  speaker: string;
  generator: string;
  fake: boolean;
  unit: string;
  half: Half;
  /** Call-level log-odds of fake under the shipped calibration (evidence-weighted, windows clamped). */
  z: number;
  /** Mean window logit of the model (before calibration). */
  meanLogit: number;
  windows: number;
  evidenceSeconds: number;
  padded: boolean;
}

const STREAM: StreamRef = { roomId: 'tenant-calibration', peerId: 'eval', producerId: 'eval', kind: 'audio' };

interface ScoreTiming {
  mediaSeconds: number;
  windows: number;
  inferenceMs: number;
}

/** One clip through the channel and the service's windows and worker: the call-level z. */
async function scoreCall(item: EvalItem, inf: WorkerInference, ch: ChannelSpec, cal: Manifest['calibration'], t: ScoreTiming): Promise<Pick<CallScore, 'z' | 'meanLogit' | 'windows' | 'evidenceSeconds' | 'padded'>> {
  const spec = inf.model.manifest.audio;
  if (!spec) throw new DfdError('ERR_CONFIG', 'the model has no audio spec');
  const o = defaultEvalOptions;
  const x = await decodeAudio48k(item.file, o.maxClipSeconds);
  t.mediaSeconds += x.length / CODEC_RATE;
  const { samples, channel } = throughChannel(x, ch, spec.sampleRate, o.lossSeed);
  const cut = audioWindowsOf(samples, spec.sampleRate, spec, o.windowSeconds, o.hopSeconds);
  // the service's last check before inference: silent, clipped or non-finite windows are not judged
  const keep = cut.windows.map((w) => audioWindowIssue(w) === undefined);
  const windows = cut.windows.filter((_, i) => keep[i]);
  const starts = cut.starts.filter((_, i) => keep[i]);
  if (windows.length === 0) throw new DfdError('ERR_EVAL_UNJUDGEABLE', 'no judgeable window', { windows: cut.windows.length });
  const now = Date.now();
  const msgs = audioWindowMessages(windows, starts, spec.sampleRate, channel, STREAM, () => now);
  // InferencePool.validate: a window's evidence is its speech seconds, else its length (read before the buffers move)
  const evidence = msgs.map((m) => (m.speechSeconds > 0 ? m.speechSeconds : m.samples.length / m.sampleRate));
  const r = await scoreAudioWindows(inf, msgs);
  t.inferenceMs += r.inferenceMs;
  t.windows += r.logits.length;
  // api/CallRegistry #addCallScore: sum of evidence x clamped logit(shipped pFake), over the evidence
  let sum = 0;
  let weight = 0;
  r.logits.forEach((l, i) => {
    const e = evidence[i]!;
    const z = Math.max(-MAX_CALL_LOG_ODDS, Math.min(MAX_CALL_LOG_ODDS, logit(calibrate(cal, l))));
    sum += e * z;
    weight += e;
  });
  if (!(weight > 0)) throw new DfdError('ERR_INFERENCE_FAILED', 'no evidence');
  return { z: sum / weight, meanLogit: r.logits.reduce((a, b) => a + b, 0) / r.logits.length, windows: r.logits.length, evidenceSeconds: weight, padded: cut.padded };
}

// ------------------------------------------------------------------------------ measures

export interface HalfMeasures {
  calls: number;
  fake: number;
  genuine: number;
  cllrBits: number;
  /** Cllr after the best monotonic recalibration of these same calls (a floor; ranking only). */
  minCllrBits: number;
  eer: number;
  /** Share of genuine calls with sigmoid(z) >= suspiciousEnter. */
  genuineSuspiciousShare: number;
  genuineSuspicious: number;
  /** Share of fake calls with sigmoid(z) >= suspiciousEnter. */
  fakeSuspiciousShare: number;
  fakeSuspicious: number;
  meanPFakeGenuine: number;
  meanPFakeFake: number;
}

export function measures(points: readonly { z: number; fake: boolean }[], threshold: number): HalfMeasures {
  const bona = points.filter((p) => !p.fake).map((p) => p.z);
  const spoof = points.filter((p) => p.fake).map((p) => p.z);
  const over = (zs: readonly number[]): number => zs.filter((z) => sigmoid(z) >= threshold).length;
  const meanP = (zs: readonly number[]): number => (zs.length ? zs.reduce((a, z) => a + sigmoid(z), 0) / zs.length : NaN);
  const both = bona.length > 0 && spoof.length > 0;
  return {
    calls: points.length,
    fake: spoof.length,
    genuine: bona.length,
    cllrBits: cllrOf(points),
    minCllrBits: both ? minCllr(bona, spoof) : NaN,
    eer: both ? eer(bona, spoof).eer : NaN,
    genuineSuspiciousShare: bona.length ? over(bona) / bona.length : NaN,
    genuineSuspicious: over(bona),
    fakeSuspiciousShare: spoof.length ? over(spoof) / spoof.length : NaN,
    fakeSuspicious: over(spoof),
    meanPFakeGenuine: meanP(bona),
    meanPFakeFake: meanP(spoof),
  };
}

const mapped = (points: readonly CallScore[], a: number, b: number): { z: number; fake: boolean }[] => points.map((p) => ({ z: a * p.z + b, fake: p.fake }));

/** Bootstrap over split units of Cllr(shipped) - Cllr(refit): 2.5, 50 and 97.5 percentiles and the share > 0. */
export function bootstrapGain(points: readonly CallScore[], a: number, b: number, resamples: number, seed: number): { resamples: number; used: number; p2_5: number; median: number; p97_5: number; shareRefitBetter: number } {
  const byUnit = new Map<string, CallScore[]>();
  for (const p of points) byUnit.set(p.unit, [...(byUnit.get(p.unit) ?? []), p]);
  const units = [...byUnit.values()];
  const rng = seededRandom(seed);
  const gains: number[] = [];
  for (let r = 0; r < resamples && units.length > 0; r++) {
    const sample: CallScore[] = [];
    for (let i = 0; i < units.length; i++) sample.push(...units[rng.int(units.length)]!);
    const g = cllrOf(sample) - cllrOf(mapped(sample, a, b));
    if (Number.isFinite(g)) gains.push(g);
  }
  gains.sort((x, y) => x - y);
  const q = (p: number): number => (gains.length ? gains[Math.min(gains.length - 1, Math.max(0, Math.round(p * (gains.length - 1))))]! : NaN);
  return { resamples, used: gains.length, p2_5: q(0.025), median: q(0.5), p97_5: q(0.975), shareRefitBetter: gains.length ? gains.filter((g) => g > 0).length / gains.length : NaN };
}

/** The decisions half with its labels permuted (Fisher-Yates, seeded): the labels carry no information. */
export function shuffledLabels(points: readonly LabelledScore[], seed: number): LabelledScore[] {
  const labels = points.map((p) => p.fake);
  const rng = seededRandom(seed);
  for (let i = labels.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [labels[i], labels[j]] = [labels[j]!, labels[i]!];
  }
  return points.map((p, i) => ({ ...p, fake: labels[i]! }));
}

export interface SplitFit {
  calls: CallScore[];
  decisions: CallScore[];
  later: CallScore[];
  dCount: { calls: number; fake: number; genuine: number; units: number };
  lCount: { calls: number; fake: number; genuine: number; units: number };
  minPerClass: number;
  minPerClassWhy: string;
  guardrails: CalibrationGuardrails;
  points: LabelledScore[];
  fit: GroupFit;
  shippedLater: HalfMeasures;
  refitLater: HalfMeasures;
}

/** Splits the scored calls with `seed`, fits on the decisions half, measures the later half. */
export function splitAndFit(scored: readonly Omit<CallScore, 'half'>[], unitCounts: ReadonlyMap<string, { fake: number; genuine: number }>, seed: number, minPerClassOption: number | undefined, threshold: number): SplitFit {
  const halfOf = splitHalves(unitCounts, seed);
  const calls: CallScore[] = scored.map((s) => ({ ...s, half: halfOf.get(s.unit)! }));
  const decisions = calls.filter((c) => c.half === 'decisions');
  const later = calls.filter((c) => c.half === 'later');
  const countOf = (cs: readonly CallScore[]): SplitFit['dCount'] => ({
    calls: cs.length,
    fake: cs.filter((c) => c.fake).length,
    genuine: cs.filter((c) => !c.fake).length,
    units: new Set(cs.map((c) => c.unit)).size,
  });
  const dCount = countOf(decisions);
  const lCount = countOf(later);
  const def = defaultCalibrationGuardrails.minPerClass;
  const smaller = Math.min(dCount.fake, dCount.genuine);
  const minPerClass = minPerClassOption ?? (smaller >= def ? def : Math.max(5, smaller));
  const minPerClassWhy =
    minPerClassOption !== undefined
      ? 'set by --min-per-class'
      : smaller >= def
        ? `the fitter's default ${def}: the decisions half has ${dCount.fake} fake and ${dCount.genuine} genuine calls`
        : `lowered from ${def} to the decisions half's smaller class count (${smaller}; at least 5) so the fit is attempted`;
  const guardrails: CalibrationGuardrails = { ...defaultCalibrationGuardrails, minPerClass };
  const points: LabelledScore[] = decisions.map((c) => ({ callId: c.path, z: c.z, fake: c.fake }));
  const fit = fitGroup(points, guardrails);
  return { calls, decisions, later, dCount, lCount, minPerClass, minPerClassWhy, guardrails, points, fit, shippedLater: measures(later, threshold), refitLater: measures(mapped(later, fit.a, fit.b), threshold) };
}

// ------------------------------------------------------------------------------ run

type Spread = { min: number; median: number; max: number };

export interface TenantCalibrationReport {
  tool: 'tenant-calibration';
  command: string;
  startedAt: string;
  model: { id: string; version: string; sha256: string; calibration: { channel: ChannelSpec['calibration']; a: number; b: number; fittedOn: string }; trainingSelection: string };
  data: { lists: string[]; tenantPages: string[]; pages: Record<string, { bonafide: number; spoof: number }>; heldOutFromShippedModel: string; selection: string };
  settings: Record<string, unknown>;
  counts: { listed: number; scored: number; failed: number; units: { total: number; severalClips: number; singleClip: number; clipsWithoutSpeakerOrPair: number }; decisions: { calls: number; fake: number; genuine: number; units: number }; later: { calls: number; fake: number; genuine: number; units: number } };
  failures: Failure[];
  guardrails: CalibrationGuardrails & { minPerClassWhy: string };
  fit: GroupFit & { deployed: 'refit' | 'shipped' };
  later: {
    shipped: HalfMeasures;
    refit: HalfMeasures & { a: number; b: number };
    deployed: HalfMeasures & { map: 'refit' | 'shipped' };
    cllrGainBits: number;
    bootstrapCllrGainBits: ReturnType<typeof bootstrapGain>;
    note: string;
  };
  decisionsHalf: { shipped: HalfMeasures; refit: HalfMeasures };
  control: {
    seed: number;
    fit: GroupFit;
    shuffles: { n: number; status: Record<string, number>; heldOutGainBits: Spread; heldOutCllrBits: Spread; appliedWithHeldOutCllrAtOrAbove1Bit: number; scaleAtLowerBound: number };
    note: string;
  };
  otherSplits: { n: number; status: Record<string, number>; laterCllrGainOfRefitBits: Spread; splits: Record<string, unknown>[] };
  timing: { wallSeconds: number; scoringSeconds: number; mediaSeconds: number; windows: number; inferenceMsPerWindow: number | null };
  files: { json: string };
  calls: CallScore[];
}

export async function runTenantCalibration(o: TenantCalibrationOptions): Promise<{ report: TenantCalibrationReport; summary: Record<string, unknown> }> {
  const t0 = performance.now();
  const startedAt = new Date().toISOString();
  const ch = channelSpec(o.channel);
  const { clips: all, lists } = loadTenant(o.data, o.pages);
  const clips = o.maxClips !== undefined ? [...all].sort((x, y) => (sha(`${o.seed}:${x.item.path}`) < sha(`${o.seed}:${y.item.path}`) ? -1 : 1)).slice(0, o.maxClips) : all;
  const model = await resolveModel(o.model, 'audio', o.modelsDir);
  const cal = calibrationFor(model.manifest.calibration, ch.calibration);

  // Score every clip (one call each).
  const unitOf = splitUnits(clips);
  const scored: Omit<CallScore, 'half'>[] = [];
  const failures: Failure[] = [];
  const timing: ScoreTiming = { mediaSeconds: 0, windows: 0, inferenceMs: 0 };
  const ts = performance.now();
  const inf = await WorkerInference.open(model);
  try {
    const progress = new Progress(clips.length, o.progress, 'tenant-calibration');
    for (const [i, c] of clips.entries()) {
      try {
        const s = await scoreCall(c.item, inf, ch, cal, timing);
        scored.push({ path: c.item.path, dataset: c.dataset, page: c.page, speaker: c.speaker || '-', generator: c.item.fields.generator ?? '-', fake: c.item.positive, unit: unitOf.get(c.item.path)!, ...s });
      } catch (e) {
        failures.push({ path: c.item.path, line: c.item.line, code: toDfdError(e).code });
      }
      progress.tick(i + 1, failures.length);
    }
  } finally {
    await inf.close();
  }
  const scoringSeconds = (performance.now() - ts) / 1000;

  const unitCounts = new Map<string, { fake: number; genuine: number }>();
  for (const s of scored) {
    const u = unitCounts.get(s.unit) ?? { fake: 0, genuine: 0 };
    if (s.fake) u.fake++;
    else u.genuine++;
    unitCounts.set(s.unit, u);
  }
  const singleClip = [...unitCounts.values()].filter((u) => u.fake + u.genuine === 1).length;
  const threshold = defaultVerdictMachineOptions.suspiciousEnter;

  // The split, the fit on the decisions half, the later half: shipped vs refit.
  const main = splitAndFit(scored, unitCounts, o.seed, o.minPerClass, threshold);
  const { calls, decisions, later, dCount, lCount, minPerClass, minPerClassWhy, guardrails, points, fit, shippedLater, refitLater } = main;
  const deployed: 'refit' | 'shipped' = fit.status === 'applied' ? 'refit' : 'shipped';
  const boot = bootstrapGain(later, fit.a, fit.b, o.bootstrap, o.seed);

  // The same with other split seeds (no rescoring): how much the answer depends on the split.
  const otherSplits = Array.from({ length: o.splits }, (_, k) => {
    const r = splitAndFit(scored, unitCounts, o.seed + 1 + k, o.minPerClass, threshold);
    const applied = r.fit.status === 'applied';
    return {
      seed: o.seed + 1 + k,
      decisions: { fake: r.dCount.fake, genuine: r.dCount.genuine },
      later: { fake: r.lCount.fake, genuine: r.lCount.genuine },
      status: r.fit.status,
      a: r.fit.a,
      b: r.fit.b,
      fitterGainBits: r.fit.cllr ? r.fit.cllr.shipped - r.fit.cllr.heldOut : NaN,
      laterCllrShipped: r.shippedLater.cllrBits,
      laterCllrRefit: r.refitLater.cllrBits,
      laterCllrDeployed: applied ? r.refitLater.cllrBits : r.shippedLater.cllrBits,
      laterGenuineSuspiciousShipped: r.shippedLater.genuineSuspiciousShare,
      laterGenuineSuspiciousRefit: r.refitLater.genuineSuspiciousShare,
    };
  });
  const splitStatus: Record<string, number> = { applied: 0, 'no-information': 0, 'no-gain': 0, 'too-few': 0 };
  for (const s of otherSplits) splitStatus[s.status] = (splitStatus[s.status] ?? 0) + 1;
  const refitGains = otherSplits.map((s) => s.laterCllrShipped - s.laterCllrRefit).sort((x, y) => x - y);

  // Control: shuffled labels.
  const control = fitGroup(shuffledLabels(points, o.seed), guardrails);
  const status: Record<string, number> = { applied: 0, 'no-information': 0, 'no-gain': 0, 'too-few': 0 };
  const controlGains: number[] = [];
  const controlHeldOut: number[] = [];
  let appliedAboveOneBit = 0;
  let scaleAtLowerBound = 0;
  for (let k = 0; k < o.shuffles; k++) {
    const f = fitGroup(shuffledLabels(points, o.seed + 1 + k), guardrails);
    status[f.status] = (status[f.status] ?? 0) + 1;
    if (f.cllr) {
      controlGains.push(f.cllr.shipped - f.cllr.heldOut);
      controlHeldOut.push(f.cllr.heldOut);
      if (f.status === 'applied' && f.cllr.heldOut >= 1) appliedAboveOneBit++;
    }
    if (f.a <= 1 / guardrails.maxScale + 1e-6) scaleAtLowerBound++;
  }
  controlGains.sort((x, y) => x - y);
  controlHeldOut.sort((x, y) => x - y);
  const spread = (xs: readonly number[]): { min: number; median: number; max: number } => ({ min: xs[0] ?? NaN, median: xs[Math.floor(xs.length / 2)] ?? NaN, max: xs[xs.length - 1] ?? NaN });

  const pages: Record<string, { bonafide: number; spoof: number }> = {};
  for (const c of clips) {
    const p = (pages[c.page] ??= { bonafide: 0, spoof: 0 });
    if (c.item.positive) p.spoof++;
    else p.bonafide++;
  }
  fs.mkdirSync(o.outDir, { recursive: true });
  const jsonFile = path.resolve(o.outDir, `tenant-calibration-${model.id}-${ch.name}-seed${o.seed}${o.maxClips !== undefined ? `-n${o.maxClips}` : ''}.json`);
  const wallSeconds = (performance.now() - t0) / 1000;
  const report: TenantCalibrationReport = {
    tool: 'tenant-calibration',
    command: o.command,
    startedAt,
    model: {
      id: model.id,
      version: model.manifest.version,
      sha256: model.manifest.sha256,
      calibration: { channel: ch.calibration, a: cal.a, b: cal.b, fittedOn: cal.fittedOn },
      // not in the manifest schema's type: read as recorded
      trainingSelection: String((model.manifest.training as Record<string, unknown>).selection ?? ''),
    },
    data: {
      lists,
      tenantPages: [...o.pages],
      pages,
      heldOutFromShippedModel:
        'none: the shipped model was trained on every page of voice-tts and voice-vc (manifest training.selection; docs/models.md). Its calibrations were fitted on out-of-fold scores of the leave-source-out cross-validation, whose fold models are not in the repository. These scores are therefore in-sample for the model and better separated than a new tenant would see.',
      selection: 'pages with both labels, a named speaker on every clip and at least four bona fide speakers (DEFAULT_TENANT_PAGES), unless --pages',
    },
    settings: {
      channel: ch.name,
      audioChain: `ffmpeg -> mono f32 48 kHz -> ${chainText(ch)}Resampler -> ${model.manifest.audio?.sampleRate ?? '?'} Hz -> windows ${defaultEvalOptions.windowSeconds} s every ${defaultEvalOptions.hopSeconds} s (no VAD) -> audioWindowIssue gate -> InferenceWorker (1 intra-op thread)`,
      callScore: `z = sum(evidence_i * clamp(logit(pFake_i), +-${MAX_CALL_LOG_ODDS})) / sum(evidence_i), pFake_i = Manifest.calibrate(calibrationFor(calibration, '${ch.calibration}'), window logit) (api/CallRegistry.ts); one clip = one call`,
      split: 'units = connected groups of clips sharing a named speaker (any page) or a pair group (same page), else the clip alone; units ordered by sha256(seed:unit) and dealt greedily to balance both classes between DECISIONS and LATER',
      seed: o.seed,
      maxClips: o.maxClips ?? null,
      suspiciousThreshold: { value: threshold, source: 'VerdictMachine suspiciousEnter; here applied to the call-level pFake = sigmoid(z), not to the fused, weighted verdict' },
      fitterFolds: 'fitGroup cross-validates by call (clip), stratified, folds dealt by a hash of the call id',
    },
    counts: {
      listed: clips.length,
      scored: calls.length,
      failed: failures.length,
      units: { total: unitCounts.size, severalClips: unitCounts.size - singleClip, singleClip, clipsWithoutSpeakerOrPair: clips.filter((c) => !c.speaker && !c.pairGroup).length },
      decisions: dCount,
      later: lCount,
    },
    failures,
    guardrails: { ...guardrails, minPerClassWhy },
    fit: { ...fit, deployed },
    later: {
      shipped: shippedLater,
      refit: { ...refitLater, a: fit.a, b: fit.b },
      deployed: { ...(deployed === 'refit' ? refitLater : shippedLater), map: deployed },
      cllrGainBits: shippedLater.cllrBits - refitLater.cllrBits,
      bootstrapCllrGainBits: boot,
      note: 'refit = the fitted map a z + b whatever the guardrail decided; deployed = what the service would use (the refit only when status is applied). EER and minCllr are unchanged by an increasing affine map (a > 0): equal by construction; Cllr is what the calibration changes.',
    },
    decisionsHalf: { shipped: measures(decisions, threshold), refit: measures(mapped(decisions, fit.a, fit.b), threshold) },
    control: {
      seed: o.seed,
      fit: control,
      shuffles: {
        n: o.shuffles,
        status,
        heldOutGainBits: spread(controlGains),
        heldOutCllrBits: spread(controlHeldOut),
        appliedWithHeldOutCllrAtOrAbove1Bit: appliedAboveOneBit,
        scaleAtLowerBound,
      },
      note: 'With shuffled labels no map can beat a constant pFake of 0.5 (Cllr 1 bit). A refit applied with a held-out Cllr at or above 1 bit has only shrunk scores that are confidently wrong on these labels toward saying nothing.',
    },
    otherSplits: {
      n: o.splits,
      status: splitStatus,
      laterCllrGainOfRefitBits: spread(refitGains),
      splits: otherSplits,
    },
    timing: { wallSeconds, scoringSeconds, mediaSeconds: timing.mediaSeconds, windows: timing.windows, inferenceMsPerWindow: timing.windows > 0 ? timing.inferenceMs / timing.windows : null },
    files: { json: jsonFile },
    calls,
  };
  fs.writeFileSync(jsonFile, JSON.stringify(report, null, 2) + '\n');
  const r4 = (x: number): number => Math.round(x * 1e4) / 1e4;
  const summary = {
    tool: 'tenant-calibration',
    pages: o.pages.length,
    calls: calls.length,
    failed: failures.length,
    decisions: { fake: dCount.fake, genuine: dCount.genuine },
    later: { fake: lCount.fake, genuine: lCount.genuine },
    minPerClass,
    status: fit.status,
    a: r4(fit.a),
    b: r4(fit.b),
    atBound: fit.atBound,
    fitterCllr: fit.cllr ? { shipped: r4(fit.cllr.shipped), heldOut: r4(fit.cllr.heldOut) } : null,
    laterCllr: { shipped: r4(shippedLater.cllrBits), refit: r4(refitLater.cllrBits), gainCi95: [r4(boot.p2_5), r4(boot.p97_5)] },
    laterMinCllr: r4(shippedLater.minCllrBits),
    laterEer: { shipped: r4(shippedLater.eer), refit: r4(refitLater.eer) },
    laterGenuineSuspicious: { shipped: r4(shippedLater.genuineSuspiciousShare), refit: r4(refitLater.genuineSuspiciousShare) },
    laterFakeSuspicious: { shipped: r4(shippedLater.fakeSuspiciousShare), refit: r4(refitLater.fakeSuspiciousShare) },
    control: { status: control.status, a: r4(control.a), heldOutCllr: control.cllr ? r4(control.cllr.heldOut) : null, shuffles: status, appliedAtOrAbove1Bit: appliedAboveOneBit },
    otherSplits: { n: o.splits, status: splitStatus, laterRefitCllrGain: { min: r4(refitGains[0] ?? NaN), median: r4(refitGains[Math.floor(refitGains.length / 2)] ?? NaN), max: r4(refitGains[refitGains.length - 1] ?? NaN) } },
    wallSeconds: Math.round(wallSeconds * 10) / 10,
    file: jsonFile,
  };
  return { report, summary };
}

// ------------------------------------------------------------------------------ main

const USAGE =
  'usage: node --import tsx detectors/eval/tenantCalibration.ts [--data <dir>]... [--pages p,q,...] [--model <dir or id>] [--channel clean|opus24|opus12loss|g711] [--seed N] [--min-per-class N] [--max-clips N] [--shuffles N] [--bootstrap N] [--splits N] [--out <dir>] [--quiet] [--verbose]';

export function parseTenantArgs(argv: readonly string[], command: string): TenantCalibrationOptions {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      data: { type: 'string', multiple: true },
      pages: { type: 'string' },
      model: { type: 'string' },
      channel: { type: 'string' },
      seed: { type: 'string' },
      'min-per-class': { type: 'string' },
      'max-clips': { type: 'string' },
      shuffles: { type: 'string' },
      bootstrap: { type: 'string' },
      splits: { type: 'string' },
      out: { type: 'string' },
      quiet: { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
    },
  });
  if (positionals.length > 0) throw new DfdError('ERR_CONFIG', USAGE);
  const int = (v: string | undefined, name: string, min: number): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new DfdError('ERR_CONFIG', `${name} must be an integer >= ${min}`);
    return n;
  };
  const d = defaultTenantCalibrationOptions;
  const pages = values.pages !== undefined ? values.pages.split(',').map((p) => p.trim()).filter(Boolean) : d.pages;
  if (pages.length === 0) throw new DfdError('ERR_CONFIG', '--pages names no page');
  return {
    ...d,
    data: values.data ?? d.data,
    pages,
    model: values.model ?? d.model,
    channel: values.channel !== undefined ? (channelSpec(values.channel).name as Channel) : d.channel,
    seed: int(values.seed, '--seed', 0) ?? d.seed,
    minPerClass: int(values['min-per-class'], '--min-per-class', 1),
    maxClips: int(values['max-clips'], '--max-clips', 1),
    shuffles: int(values.shuffles, '--shuffles', 0) ?? d.shuffles,
    bootstrap: int(values.bootstrap, '--bootstrap', 0) ?? d.bootstrap,
    splits: int(values.splits, '--splits', 0) ?? d.splits,
    outDir: values.out ?? d.outDir,
    progress: !values.quiet,
    command,
  };
}

const isMain = process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const argv = process.argv.slice(2);
  setLogLevel(argv.includes('--verbose') ? 'info' : 'error');
  const command = ['node', ...process.execArgv, path.relative(process.cwd(), process.argv[1]!), ...argv].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
  (async () => {
    const { summary } = await runTenantCalibration(parseTenantArgs(argv, command));
    process.stdout.write(JSON.stringify(summary) + '\n');
  })().catch((e: unknown) => {
    const err = toDfdError(e);
    process.stderr.write(JSON.stringify({ error: err.toJSON() }) + '\n');
    process.exitCode = err.code === 'ERR_EVAL_TSV' || err.code === 'ERR_CONFIG' ? 2 : 1;
  });
}

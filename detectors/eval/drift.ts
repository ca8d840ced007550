/**
 * Genuine-caller drift: what share of real speakers would the voice detector alone make
 * `suspicious` in a call of `--seconds` without any challenge? And, with `--label spoof`, the
 * other side of the same operating point: what share of calls speaking one generator's fakes
 * does it flag (call-level detection)?
 *
 *   node --import tsx detectors/eval/drift.ts <list.tsv> [--model <dir or id>]... [--stage2 <dir or id>]...
 *        [--label bonafide|spoof] [--weights 0.2,0.25,...] [--stage-weights 0.4,0.55,...] [--fusions pooled,per-detector]
 *        [--stage-thin 1,2,4] [--speaker-embed <dir or id>]
 *        [--channel clean|opus24|opus12loss|g711|amrg711|g722|amrwbg722|amrwbg711] [--suppressed] [--sip-leg] [--seconds 60] [--out <dir>] [--judge-narrowband] [--quiet] [--verbose]
 *
 * The list is the eval tool's TSV (report.ts) with a `speaker` column and optionally a `model`
 * column: only the rows of `--label` (default `bonafide`) are used, grouped into one call per
 * `speaker` cell (for spoof rows, name the generator and the target, e.g. `vits / p225@page`);
 * rows with speaker `-` or empty are each their own
 * speaker (named by the clip's path); `model` is a 0-based index into the --model list (default
 * 0), so each speaker can be judged by a cross-validation fold model that never saw them. All
 * clips of a speaker must name the same model. --model defaults to `voice-antispoof`.
 *
 * Per speaker, through the eval tool's code (cli.ts):
 *   1. every clip is decoded by ffmpeg to mono float 48 kHz (decodeAudio48k), the clips are
 *      concatenated in list order and looped (or cut) to `--seconds`: one call;
 *   2. the call goes through the channel once (channel.ts: one codec session, one loss schedule
 *      over the whole call), then the service's Resampler to the model rate (throughChannel);
 *   3. it is cut into the service's analysis windows, an early first window of 1 s, then 2 s
 *      every 1 s (MediaWorkerPool defaults, which the service hands to its SpeechWindower;
 *      `--first-window 0` leaves the early one out), with no VAD gate, as the eval tool does
 *      (every window counts as 2 s of speech); the window quality is what the service would
 *      measure on the channel's packets (channelQuality);
 *   4. the windows are scored by the service's InferenceWorker (WorkerInference) with that
 *      speaker's model; the logit becomes pFake with Manifest.calibrate and the channel's
 *      calibration (calibrationFor: `calibration.telephone` for g711, amrg711 and amrwbg711 when the manifest has it);
 *   5. in time order, each window goes into a fresh ParticipantVerdict (service defaults) as the
 *      pipeline does for an audio-only participant: observe(window), then addScore with the
 *      WindowScore InferencePool builds (task, the manifest's verdict weight for the channel's
 *      family: `verdict.weightTelephone` for g711, amrg711 and amrwbg711 when the manifest has it; evidence = the
 *      window's speech seconds), the clock at the window's end (advancing 1 s per window).
 * With --stage2 (one per --model, same order: a cascade stage, manifest `cascade`), the stage
 * model of the speaker's fold also scores the windows the service would give it (windows at
 * least its minSeconds long, the 1st, (N+1)th, ... of them: pipeline/inference/cascade.ts), and
 * its WindowScore goes into the same verdict right after the first stage's score of that window.
 * Recorded: whether the state was ever `suspicious` or `deepfake-likely`, when first, the
 * final state and reason, the largest fused pFake, and the mean window pFake before the verdict
 * weight (what the detector said even when its weight keeps it out of the verdict).
 *
 * `--speaker-embed`: the speaker-embedding model (task speaker-embed, default off) also embeds
 * every window, as the service's pool does, and each vector goes into the same verdict
 * (ParticipantVerdict.addSpeakerEmbedding, the manifest's `takeover` rule with the channel's
 * threshold) right after the window's scores: a false takeover (the same speaker taken for a new
 * voice) then makes the call `suspicious` too, as it would live. Each speaker's `takeovers` and the
 * totals' `suspiciousByTakeover` count them; the weight sweep replays them as well.
 *
 * `--suppressed`: the list's audio already passed a sender's noise suppressor (channel.py
 * ns-list rewrites it so); its logits are calibrated as the service calibrates a suppressed
 * sender's windows (AudioStreamProcessor senderNoiseSuppression -> quality.channel
 * 'suppressed'): with the manifests' `calibration.suppressed` where they have one, else their
 * wideband one. Wideband channels only.
 *
 * Every window carries the quality.channel the service would give it (channelQuality): a phone
 * channel's (g711, amrg711, amrwbg711) windows are 'telephone', as a PCMU leg's are, so the verdict judges
 * them as it judges a SIP or Twilio caller; with --suppressed, 'suppressed'. A G.722 leg (g722) is
 * wideband, as the service judges one, and never 'suppressed' (a SIP leg never says); so is
 * amrwbg722 (a VoLTE caller on a G.722 trunk). `--sip-leg`
 * judges an Opus channel as a gateway's Opus leg (SIP or plain RTP): wideband, its windows marked
 * `codec: 'sip-opus'` (the manifests' verdict.weightSipOpus), never with --suppressed. The report's
 * `settings.judgedAs` names that family (the calibration and verdict weight it picks). On a
 * wideband channel the verdict takes narrowband audio (Opus bandwidth NB/MB) as too poor to judge
 * and stays `collecting` (reason audio:narrowband), as the service does for a WebRTC sender;
 * `--judge-narrowband` lifts that one quality rule (poorBandwidths = []); the report says when it
 * was used. (Before 2026-12-06 the phone channels' windows carried no channel and were set aside
 * as narrowband unless --judge-narrowband was given, which the recipes always gave.)
 *
 * Weight sweep: every call is scored once; `--weights` (first stage) and `--stage-weights`
 * (cascade stage; default: the manifests' weights) replay the same scores into fresh verdicts
 * with those verdict weights in place of the manifests', and `sweep` lists the share of calls
 * ever `suspicious` for every pair; `--fusions` replays each pair under each of those
 * ParticipantVerdict `detectorFusion` rules (default: the service's default only), and
 * `--stage-thin` k keeps only one in k of the windows the stage scored (its 1st, (k+1)th, ...):
 * a stage that yielded the rest to a backlog (InferencePool cascadeYieldFill), i.e. partial
 * stage coverage. Choose the weights on held-out folds' bona fide and spoof
 * lists together: the most spoof calls flagged while bona fide speakers stay under the target.
 *
 * Output: JSON on stdout and in <out>/drift-<first model id>-<channel>[-spoof].json: per speaker
 * {speaker, model, clips, seconds, windows, everSuspicious, firstSuspiciousSeconds, firstSuspiciousReason, takeovers, finalState,
 * finalReason, maxPFake, maxGenuinePFake, meanWindowPFake, meanStagePFake}, totals {speakers, suspicious, suspiciousShare,
 * suspiciousByTakeover, callsWithTakeover, finalStates}, lean (calls an automatic challenge would reach at each weak-evidence threshold), sweep; clips that
 * cannot be decoded are listed under `failures` (a speaker left without audio is not counted).
 * A bad list is ERR_EVAL_TSV (exit code 2), bad options ERR_CONFIG (exit code 2).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { legCodecOf } from '../../pipeline/audio/audioCodec.js';
import { audioWindowIssue } from '../../pipeline/inference/audioGate.js';
import { DfdError, toDfdError } from '../../kernel/errors.js';
import { setLogLevel } from '../../kernel/log.js';
import { calibrate, calibrationFor, verdictWeightFor, type CalibrationChannel, type Manifest } from '../registry/Manifest.js';
import type { AvailableModel } from '../registry/ModelRegistry.js';
import type { DetectorScore } from '../../pipeline/inference/InferenceBackend.js';
import type { AudioWindow, StreamRef } from '../../pipeline/messages.js';
import { continuityOptionsFrom, type ContinuityChannel } from '../../pipeline/verdict/IdentityContinuity.js';
import { DETECTOR_FUSIONS, ParticipantVerdict, defaultParticipantVerdictOptions, defaultQualityThresholds, type DetectorFusion, type ParticipantVerdictOptions } from '../../pipeline/verdict/ParticipantVerdict.js';
import type { VerdictState } from '../../pipeline/verdict/VerdictMachine.js';
import { CODEC_RATE, channelSpec, trunkCodec, type Channel, type ChannelSpec } from './channel.js';
import { defaultEvalOptions, type Failure } from './cli.js';
import { audioWindowMessages, audioWindowsOf, chainText, decodeAudio48k, embedAudioWindows, scoreAudioWindows, throughChannel } from './clipMedia.js';
import { Progress } from './Progress.js';
import { resolveModel, resolveModelOf } from './resolveModel.js';
import { WorkerInference } from './WorkerInference.js';
import { CascadeSampler } from '../../pipeline/inference/cascade.js';
import { parseEvalTsv, type EvalItem } from './report.js';
import { defaultMediaWorkerPoolOptions } from '../../pipeline/media/MediaWorkerPool.js';

export interface DriftOptions {
  /** The TSV list. */
  tsv: string;
  /** Model folders (holding manifest.json) or ids under `modelsDir`; the TSV's `model` column indexes them. */
  models: string[];
  /** Cascade stage models, one per entry of `models` (empty: none). */
  stage2: string[];
  /** Which rows make the calls: bona fide speakers (drift) or spoof "speakers" (detection). */
  label: DriftLabel;
  /** First-stage verdict weights to replay besides the manifest's (empty: none). */
  weights: number[];
  /** Cascade-stage verdict weights to replay (empty: the stage manifest's). */
  stageWeights: number[];
  /** Detector fusions to replay every weight pair under (empty: the service default's only). */
  fusions: DetectorFusion[];
  /** Stage thinning to replay: keep one in k of the stage's scored windows (empty: all of them). */
  stageThin: number[];
  modelsDir: string;
  channel: Channel;
  /** Length of each speaker's call, seconds. */
  seconds: number;
  outDir: string;
  /** Analysis window and hop, seconds (the service's MediaWorkerPool defaults). */
  windowSeconds: number;
  hopSeconds: number;
  /** The early first window of the call (seconds, 0 = none), as the service's SpeechWindower emits it. */
  firstWindowSeconds: number;
  /** Longest part of a file decoded, seconds. */
  maxClipSeconds: number;
  /** Seed of the opus12loss packet-loss schedule. */
  lossSeed: number;
  /** Judge narrowband audio instead of the service's "too poor" rule. */
  judgeNarrowband: boolean;
  /** The audio passed a sender's noise suppressor: score it with `calibration.suppressed`. */
  suppressed: boolean;
  /** An Opus channel judged as a gateway's Opus leg (windows marked 'sip-opus': verdict.weightSipOpus). */
  sipLeg: boolean;
  /** A speaker-embedding model (folder or id) whose takeover rule joins the verdict; '' = none. */
  speakerEmbed: string;
  progress: boolean;
}

export const defaultDriftOptions: Omit<DriftOptions, 'tsv'> = {
  models: ['voice-antispoof'],
  stage2: [],
  label: 'bonafide',
  weights: [],
  stageWeights: [],
  fusions: [],
  stageThin: [],
  modelsDir: defaultEvalOptions.modelsDir,
  channel: 'clean',
  seconds: 60,
  outDir: defaultEvalOptions.outDir,
  windowSeconds: defaultEvalOptions.windowSeconds,
  hopSeconds: defaultEvalOptions.hopSeconds,
  firstWindowSeconds: defaultMediaWorkerPoolOptions.firstWindowSeconds,
  maxClipSeconds: defaultEvalOptions.maxClipSeconds,
  lossSeed: defaultEvalOptions.lossSeed,
  judgeNarrowband: false,
  suppressed: false,
  sipLeg: false,
  speakerEmbed: '',
  progress: true,
};

export type DriftLabel = 'bonafide' | 'spoof';

/** One replay of every call with other verdict weights: how many calls ever became `suspicious`. */
export interface SweepRow {
  weight: number;
  /** null: no cascade stage. */
  stageWeight: number | null;
  /** The verdict's detectorFusion of this replay. */
  fusion: DetectorFusion;
  /** One in this many of the stage's scored windows was kept (1: all). */
  stageThin: number;
  suspicious: number;
  share: number | null;
}

/** Weak-evidence thresholds the report counts challenged calls for. */
export const LEAN_GRID: readonly number[] = [0.5, 0.51, 0.52, 0.53, 0.54, 0.55, 0.56, 0.57, 0.58, 0.59];

export interface LeanRow {
  pFake: number;
  /** Calls challenged automatically: ever suspicious, or likely-genuine at pFake >= this. */
  challenged: number;
  share: number | null;
}

/** The lean table of a set of call outcomes (see DriftReport.lean). */
export function leanRows(calls: readonly Pick<CallOutcome, 'everSuspicious' | 'maxGenuinePFake'>[], grid: readonly number[] = LEAN_GRID): LeanRow[] {
  return grid.map((l) => {
    const challenged = calls.filter((c) => c.everSuspicious || (c.maxGenuinePFake !== null && c.maxGenuinePFake >= l)).length;
    return { pFake: l, challenged, share: calls.length > 0 ? challenged / calls.length : null };
  });
}

/** One speaker's clips, in list order, and the model that judges them. */
export interface SpeakerGroup {
  speaker: string;
  model: number;
  items: EvalItem[];
}

export interface SpeakerDrift extends CallOutcome {
  speaker: string;
  /** Index into the report's `models`. */
  model: number;
  /** The clips used (TSV paths), in the order they were concatenated. */
  clips: string[];
  /** Decoded length of those clips before looping, seconds. */
  seconds: number;
  windows: number;
}

export interface DriftReport {
  tool: 'dfd-drift';
  tsv: string;
  channel: string;
  seconds: number;
  models: { index: number; id: string; version: string; sha256: string; weight: number; calibration: Manifest['calibration'] }[];
  stage2: { index: number; id: string; version: string; sha256: string; weight: number; everyNthWindow: number; calibration: Manifest['calibration'] }[];
  settings: Record<string, unknown>;
  label: DriftLabel;
  counts: { bonafideClips: number; spoofClips: number; ignoredRows: number; failedClips: number };
  failures: Failure[];
  /**
   * suspiciousByTakeover: calls whose first alarm was a voice takeover; callsWithTakeover: calls with at least one
   * (a takeover turns the verdict suspicious whatever the verdict weights, so this counts for every sweep row too).
   */
  totals: { speakers: number; suspicious: number; suspiciousShare: number | null; suspiciousByTakeover: number; callsWithTakeover: number; finalStates: Partial<Record<VerdictState, number>> };
  /** The speaker-embedding model whose takeover rule joined the verdicts (null: none). */
  speakerEmbed: { id: string; version: string; sha256: string; takeover: Manifest['takeover'] | null; channel: ContinuityChannel } | null;
  /**
   * Automatic challenges with a weak-evidence threshold L (the service's DFD_CHALLENGE_LEAN_P):
   * calls that ever became `suspicious` or whose `likely-genuine` verdict reached pFake >= L, for L
   * on LEAN_GRID (manifest weights).
   */
  lean: LeanRow[];
  /** Empty unless --weights or --stage-weights. */
  sweep: SweepRow[];
  files: { json: string };
  /** windows: first-stage windows scored; stageWindows: the cascade stage's (0 without one). */
  timing: { wallSeconds: number; windows: number; stageWindows: number; inferenceMsPerWindow: number | null };
  speakers: SpeakerDrift[];
}

/** Speaker cells that mean "unknown speaker": each such clip is its own speaker. */
const NO_SPEAKER = new Set(['', '-']);

/**
 * Groups the rows of `label` by speaker (first-appearance order) and reads each row's model
 * index. ERR_EVAL_TSV: no `speaker` column, a bad `model` cell, or one speaker on two models.
 */
export function groupSpeakers(items: readonly EvalItem[], columns: readonly string[], modelCount: number, label: DriftLabel = 'bonafide'): { groups: SpeakerGroup[]; ignored: number } {
  if (!columns.includes('speaker')) throw new DfdError('ERR_EVAL_TSV', 'the header needs a speaker column');
  const hasModel = columns.includes('model');
  const groups = new Map<string, SpeakerGroup>();
  let ignored = 0;
  for (const it of items) {
    if (it.positive !== (label === 'spoof')) {
      ignored++;
      continue;
    }
    const cell = hasModel ? (it.fields['model'] ?? '') : '';
    const model = cell === '' ? 0 : Number(cell);
    if (!Number.isInteger(model) || model < 0 || model >= modelCount) {
      throw new DfdError('ERR_EVAL_TSV', `model must be an index into the --model list (0..${modelCount - 1})`, { line: it.line, column: 'model' });
    }
    const named = it.fields['speaker'] ?? '';
    const key = NO_SPEAKER.has(named) ? `\u0000${it.line}` : named;
    const g = groups.get(key);
    if (!g) groups.set(key, { speaker: NO_SPEAKER.has(named) ? it.path : named, model, items: [it] });
    else if (g.model !== model) throw new DfdError('ERR_EVAL_TSV', 'all clips of a speaker must name the same model', { line: it.line, column: 'model' });
    else g.items.push(it);
  }
  return { groups: [...groups.values()], ignored };
}

/** `x` repeated (or cut) to exactly `n` samples. */
export function loopTo(x: Float32Array, n: number): Float32Array {
  if (x.length === 0) throw new DfdError('ERR_DECODE_FAILED', 'no audio samples');
  if (x.length >= n) return x.slice(0, n);
  const y = new Float32Array(n);
  for (let o = 0; o < n; o += x.length) y.set(x.subarray(0, Math.min(x.length, n - o)), o);
  return y;
}

export interface CallOutcome {
  everSuspicious: boolean;
  /** Call time (window end) at which `suspicious` or `deepfake-likely` was first reached. */
  firstSuspiciousSeconds: number | null;
  /** The verdict's reason then (e.g. `takeover:voice`); null if never. */
  firstSuspiciousReason: string | null;
  /** Voice takeovers the continuity rule raised (0 without --speaker-embed). */
  takeovers: number;
  /** The first state other than `collecting`, and when (call seconds); null if none. */
  firstVerdict: { state: VerdictState; seconds: number } | null;
  finalState: VerdictState;
  finalReason: string | null;
  /** Largest fused pFake of the verdict over the call. */
  maxPFake: number;
  /**
   * Largest fused pFake while the verdict was `likely-genuine` (null: never): what the service's
   * weak-evidence challenge (DFD_CHALLENGE_LEAN_P) compares with its threshold.
   */
  maxGenuinePFake: number | null;
  /** Mean calibrated pFake of the windows, before the verdict weight (what the detector said). */
  meanWindowPFake: number | null;
  /** The same for the cascade stage's windows (null: no stage, or it scored none). */
  meanStagePFake: number | null;
}

const ALARM: readonly VerdictState[] = ['suspicious', 'deepfake-likely'];

export interface StageScores {
  model: AvailableModel;
  calibration: Manifest['calibration'];
  /** Window index -> the stage's logit, for the windows it scored. */
  logits: ReadonlyMap<number, number>;
}

/** A speaker-embedding model's vectors for the call's windows (undefined: none for that window), and their channel. */
export interface VoiceEmbeddings {
  vectors: readonly (Float32Array | undefined)[];
  channel: ContinuityChannel;
}

/** Verdict weights in place of the manifests' (a weight sweep). */
export interface WeightOverride {
  weight?: number;
  stageWeight?: number;
  /** The verdict's detectorFusion in place of the default. */
  fusion?: DetectorFusion;
  /** Keep one in this many of the stage's scored windows (default 1: all). */
  stageThin?: number;
}

/** One call to replay: the first stage's model, calibration and per-window logits, and what else joins the verdict. */
export interface ReplayCallInput {
  model: AvailableModel;
  calibration: Manifest['calibration'];
  windows: readonly AudioWindow[];
  /** The model's logit for each window (NaN or missing: the score was dropped). */
  logits: readonly number[];
  /** ParticipantVerdict options in place of the defaults. */
  verdict?: Partial<ParticipantVerdictOptions>;
  /** A cascade stage's logits on the windows it scored. */
  stage?: StageScores;
  /** Verdict weights in place of the manifests' (default: the manifests'). */
  weights?: WeightOverride;
  /** Speaker embeddings, for the takeover rule. */
  voice?: VoiceEmbeddings;
  /** The calibration channel the windows are judged as (default wideband): picks the manifests' weight of that family. */
  channel?: CalibrationChannel;
}

/**
 * Replays one audio-only participant: for each window in order, the clock is set to its end,
 * then ParticipantVerdict.observe(window) and addScore(the WindowScore InferencePool would emit
 * for `logits[i]`: calibrated with `calibration`, the manifest's task and verdict weight,
 * evidence = speech seconds). Windows may have given their sample buffers away.
 */
export function replayCall({ model, calibration, windows, logits, verdict = {}, stage, weights = {}, voice, channel = 'wideband' }: ReplayCallInput): CallOutcome {
  let clock = 0;
  const first = windows[0];
  const pv = new ParticipantVerdict({ roomId: first?.stream.roomId ?? 'drift', peerId: first?.stream.peerId ?? 'drift' }, { ...verdict, ...(weights.fusion ? { detectorFusion: weights.fusion } : {}), now: () => clock });
  let maxPFake = 0;
  let maxGenuinePFake: number | null = null;
  let sumPFake = 0;
  let scored = 0;
  let stageSum = 0;
  let stageScored = 0;
  let stageSeen = 0;
  let firstSuspicious: number | null = null;
  let firstSuspiciousReason: string | null = null;
  let firstVerdict: CallOutcome['firstVerdict'] = null;
  windows.forEach((w, i) => {
    clock = w.wallEnd;
    pv.observe(w);
    const logit = logits[i];
    const vector = voice?.vectors[i];
    if (logit === undefined || !Number.isFinite(logit)) {
      // InferencePool drops the score ('inference-error'); the embedding has its own job
      if (vector) pv.addSpeakerEmbedding({ vector, channel: voice!.channel });
      return;
    }
    const score = windowScore(model, calibration, w, logit, weights.weight ?? verdictWeightFor(model.manifest.verdict, channel, w.quality.codec));
    pv.addScore(score);
    sumPFake += score.pFake;
    scored++;
    const s2 = stage?.logits.get(i);
    if (stage && s2 !== undefined && Number.isFinite(s2) && stageSeen++ % (weights.stageThin ?? 1) === 0) {
      const sc = windowScore(stage.model, stage.calibration, w, s2, weights.stageWeight ?? verdictWeightFor(stage.model.manifest.verdict, channel, w.quality.codec));
      pv.addScore(sc);
      stageSum += sc.pFake;
      stageScored++;
    }
    if (vector) pv.addSpeakerEmbedding({ vector, channel: voice!.channel });
    const v = pv.current();
    maxPFake = Math.max(maxPFake, v.pFake);
    if (v.state === 'likely-genuine') maxGenuinePFake = Math.max(maxGenuinePFake ?? 0, v.pFake);
    if (firstSuspicious === null && ALARM.includes(v.state)) {
      firstSuspicious = clock / 1000;
      firstSuspiciousReason = v.reason ?? null;
    }
    if (firstVerdict === null && v.state !== 'collecting') firstVerdict = { state: v.state, seconds: clock / 1000 };
  });
  const v = pv.current();
  return {
    everSuspicious: firstSuspicious !== null,
    firstSuspiciousSeconds: firstSuspicious,
    firstSuspiciousReason,
    takeovers: pv.takeovers,
    firstVerdict,
    finalState: v.state,
    finalReason: v.reason ?? null,
    maxPFake,
    maxGenuinePFake,
    meanWindowPFake: scored > 0 ? sumPFake / scored : null,
    meanStagePFake: stageScored > 0 ? stageSum / stageScored : null,
  };
}

/** The WindowScore InferencePool emits for `logit` of `model` on window `w`, weighted by `weight` (the manifest's for the window's channel family). */
function windowScore(model: AvailableModel, calibration: Manifest['calibration'], w: AudioWindow, logit: number, weight: number): DetectorScore {
  return {
    type: 'score',
    stream: w.stream,
    seq: w.seq,
    detector: model.id,
    task: model.manifest.task,
    weight,
    modelVersion: model.manifest.version,
    pFake: calibrate(calibration, logit),
    // InferencePool: the window's speech seconds, else its length (a whole window here).
    evidence: w.speechSeconds,
    wallEnd: w.wallEnd,
    queueMs: 0,
    inferenceMs: 0,
  };
}

function concat(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export async function runDrift(options: Partial<DriftOptions> & { tsv: string }): Promise<DriftReport> {
  const o: DriftOptions = { ...defaultDriftOptions, ...options };
  const ch: ChannelSpec = channelSpec(o.channel);
  if (o.models.length === 0) throw new DfdError('ERR_CONFIG', 'at least one --model');
  if (!(Number.isFinite(o.seconds) && o.seconds >= o.windowSeconds)) throw new DfdError('ERR_CONFIG', '--seconds must be at least one analysis window', { windowSeconds: o.windowSeconds });
  const tsvPath = path.resolve(o.tsv);
  let text: string;
  try {
    text = fs.readFileSync(tsvPath, 'utf8');
  } catch {
    throw new DfdError('ERR_EVAL_TSV', 'the file cannot be read');
  }
  const list = parseEvalTsv(text, path.dirname(tsvPath));
  if (list.kind !== 'audio') throw new DfdError('ERR_EVAL_TSV', 'drift needs an audio list (bonafide/spoof labels)');
  const { groups, ignored } = groupSpeakers(list.items, list.columns, o.models.length, o.label);
  for (const w of [...o.weights, ...o.stageWeights]) {
    if (!(Number.isFinite(w) && w >= 0 && w <= 1)) throw new DfdError('ERR_CONFIG', 'verdict weights lie in [0, 1]', { weight: w });
  }
  const models: AvailableModel[] = [];
  for (const m of o.models) models.push(await resolveModel(m, 'audio', o.modelsDir));
  for (const m of models) {
    if (o.firstWindowSeconds > 0 && (o.firstWindowSeconds < m.manifest.audio!.minSeconds || o.firstWindowSeconds > o.windowSeconds)) {
      throw new DfdError('ERR_CONFIG', 'the first window must lie between the model\'s shortest input and the analysis window', { id: m.id, minSeconds: m.manifest.audio!.minSeconds, firstWindowSeconds: o.firstWindowSeconds });
    }
    if (o.windowSeconds < m.manifest.audio!.minSeconds) throw new DfdError('ERR_CONFIG', 'the analysis window is shorter than the model accepts', { id: m.id, minSeconds: m.manifest.audio!.minSeconds });
  }
  if (o.suppressed && ch.calibration !== 'wideband') throw new DfdError('ERR_CONFIG', '--suppressed is for wideband channels (a noise-suppressed sender is not a phone leg)', { channel: ch.name });
  // a G.722 SIP leg never says whether its far end suppressed noise: the service judges it wideband
  if (o.suppressed && trunkCodec(ch.codec) === 'g722') throw new DfdError('ERR_CONFIG', '--suppressed is for senders that say they suppress noise; a G.722 SIP leg never does (give the suppressed list without --suppressed)', { channel: ch.name });
  if (o.sipLeg && ch.codec !== 'opus') throw new DfdError('ERR_CONFIG', '--sip-leg is for Opus channels (a G.722 or G.711 leg is judged as one already)', { channel: ch.name });
  if (o.sipLeg && o.suppressed) throw new DfdError('ERR_CONFIG', '--suppressed is for senders that say they suppress noise; a SIP leg never does (give the suppressed list without --suppressed)', { channel: ch.name });
  const calChannel = o.suppressed ? 'suppressed' : ch.calibration;
  // a gateway leg's windows carry the manifests' verdict.weightG722 / weightSipOpus (channelQuality marks them, as the service does)
  const legCodec = legCodecOf(trunkCodec(ch.codec), o.sipLeg);
  // what the service's AudioStreamProcessor would mark the windows with (quality.channel, quality.codec)
  const sender = { noiseSuppression: o.suppressed, gatewayLeg: o.sipLeg };
  const cals = models.map((m) => calibrationFor(m.manifest.calibration, calChannel));
  if (o.stage2.length > 0 && o.stage2.length !== models.length) throw new DfdError('ERR_CONFIG', 'give one --stage2 per --model (the same fold order), or none', { models: models.length, stage2: o.stage2.length });
  const stages: AvailableModel[] = [];
  for (const m of o.stage2) {
    const st = await resolveModel(m, 'audio', o.modelsDir);
    if (!st.manifest.cascade) throw new DfdError('ERR_CONFIG', '--stage2 must be a cascade stage (manifest cascade)', { id: st.id });
    if (st.manifest.audio!.sampleRate !== models[stages.length]!.manifest.audio!.sampleRate) throw new DfdError('ERR_CONFIG', 'a stage must take the sample rate of its first stage', { id: st.id });
    stages.push(st);
  }
  const stageCals = stages.map((m) => calibrationFor(m.manifest.calibration, calChannel));
  if (o.stageWeights.length > 0 && stages.length === 0) throw new DfdError('ERR_CONFIG', '--stage-weights needs --stage2');
  // the pairs to replay: every --weights value (default: the manifest's) with every --stage-weights value
  for (const f of o.fusions) if (!DETECTOR_FUSIONS.includes(f)) throw new DfdError('ERR_CONFIG', `fusions are ${DETECTOR_FUSIONS.join(', ')}`, { fusion: String(f) });
  for (const k of o.stageThin) if (!(Number.isInteger(k) && k >= 1)) throw new DfdError('ERR_CONFIG', 'stage thinning keeps one in k windows, k a positive integer', { k });
  if (o.stageThin.length > 0 && stages.length === 0) throw new DfdError('ERR_CONFIG', '--stage-thin needs --stage2');
  const pairs: WeightOverride[] = [];
  if (o.weights.length > 0 || o.stageWeights.length > 0 || o.fusions.length > 0 || o.stageThin.length > 0) {
    // an axis not given is one "default" value (undefined: the manifest's weight, the default fusion, every window)
    const axis = <T>(xs: readonly T[]): (T | undefined)[] => (xs.length > 0 ? [...xs] : [undefined]);
    for (const k of axis(o.stageThin)) {
      for (const f of axis(o.fusions)) {
        for (const w of axis(o.weights)) {
          for (const s of axis(o.stageWeights)) pairs.push({ ...(w !== undefined ? { weight: w } : {}), ...(s !== undefined ? { stageWeight: s } : {}), ...(f !== undefined ? { fusion: f } : {}), ...(k !== undefined ? { stageThin: k } : {}) });
        }
      }
    }
  }
  const sweepHits = pairs.map(() => 0);
  let speakerModel: AvailableModel | undefined;
  if (o.speakerEmbed !== '') {
    speakerModel = await resolveModelOf(o.speakerEmbed, ['speaker-embed'], o.modelsDir, '--speaker-embed must be a speaker-embedding model');
    if (speakerModel.manifest.audio!.sampleRate !== models[0]!.manifest.audio!.sampleRate) throw new DfdError('ERR_CONFIG', 'the speaker model must take the sample rate of the voice model', { id: speakerModel.id });
  }
  // the continuity rule is the speaker model's own, as AnalysisPipeline wires it; the threshold follows the channel
  const voiceChannel: ContinuityChannel = calChannel;
  const verdictOptions: Partial<ParticipantVerdictOptions> = {
    ...(o.judgeNarrowband ? { quality: { ...defaultQualityThresholds, poorBandwidths: [] } } : {}),
    ...(speakerModel ? { speaker: continuityOptionsFrom(speakerModel.manifest.takeover) } : {}),
  };

  const t0 = performance.now();
  const speakers: SpeakerDrift[] = [];
  const failures: Failure[] = [];
  let windowsScored = 0;
  let stageWindows = 0;
  let inferenceMs = 0;
  // One worker per model that judges somebody.
  const used = [...new Set(groups.map((g) => g.model))];
  const infs = new Map<number, WorkerInference>();
  const stageInfs = new Map<number, WorkerInference>();
  let speakerInf: WorkerInference | undefined;
  try {
    if (speakerModel) speakerInf = await WorkerInference.open(speakerModel);
    for (const i of used) infs.set(i, await WorkerInference.open(models[i]!));
    if (stages.length > 0) for (const i of used) stageInfs.set(i, await WorkerInference.open(stages[i]!));
    const progress = new Progress(groups.length, o.progress, 'drift');
    for (const [gi, g] of groups.entries()) {
      const model = models[g.model]!;
      const spec = model.manifest.audio!;
      const parts: Float32Array[] = [];
      const clips: string[] = [];
      for (const it of g.items) {
        try {
          parts.push(await decodeAudio48k(it.file, o.maxClipSeconds));
          clips.push(it.path);
        } catch (e) {
          failures.push({ path: it.path, line: it.line, code: toDfdError(e).code });
        }
      }
      if (parts.length > 0) {
        const source = concat(parts);
        const call = loopTo(source, Math.round(o.seconds * CODEC_RATE));
        const { samples, channel } = throughChannel(call, ch, spec.sampleRate, o.lossSeed);
        const cut = audioWindowsOf(samples, spec.sampleRate, spec, o.windowSeconds, o.hopSeconds);
        // The service scores an early first window of the call before the first whole one (SpeechWindower).
        const first = Math.round(o.firstWindowSeconds * spec.sampleRate);
        if (first > 0 && first < (cut.windows[0]?.length ?? 0)) {
          cut.windows.unshift(samples.slice(0, first));
          cut.starts.unshift(0);
        }
        // as the inference pool does: silent, clipped or non-finite windows are not judged
        const keep = cut.windows.map((w) => audioWindowIssue(w) === undefined);
        const windows = cut.windows.filter((_, i) => keep[i]);
        const starts = cut.starts.filter((_, i) => keep[i]);
        const stream: StreamRef = { roomId: 'drift', peerId: g.speaker, producerId: `drift-${gi}`, kind: 'audio' };
        // The stage's windows are picked (and copied) before the first stage scores: scoring hands the
        // sample buffers to the worker, which leaves `windows` empty.
        const st = stages[g.model];
        let picked: number[] = [];
        let stageMsgs: AudioWindow[] = [];
        if (st) {
          // the windows the service's pool would give the stage: long enough, then one in N (cascade.ts)
          const sampler = new CascadeSampler(st.manifest.cascade!.everyNthWindow);
          const minLen = Math.round(st.manifest.audio!.minSeconds * spec.sampleRate);
          picked = windows.map((w, i) => (w.length >= minLen && sampler.take('call', 0) ? i : -1)).filter((i) => i >= 0);
          stageMsgs = audioWindowMessages(picked.map((i) => windows[i]!.slice()), picked.map((i) => starts[i]!), spec.sampleRate, channel, stream, (x) => Math.round(x * 1000), sender);
        }
        // the speaker model embeds every window the voice model scores that is long enough for it (the pool skips the
        // rest, e.g. the early first window), from copies for the same reason
        let embedIdx: number[] = [];
        let embedMsgs: AudioWindow[] = [];
        if (speakerInf && speakerModel) {
          const minLen = Math.round(speakerModel.manifest.audio!.minSeconds * spec.sampleRate);
          embedIdx = windows.map((w, i) => (w.length >= minLen ? i : -1)).filter((i) => i >= 0);
          embedMsgs = audioWindowMessages(embedIdx.map((i) => windows[i]!.slice()), embedIdx.map((i) => starts[i]!), spec.sampleRate, channel, stream, (s) => Math.round(s * 1000), sender);
        }
        const msgs = audioWindowMessages(windows, starts, spec.sampleRate, channel, stream, (s) => Math.round(s * 1000), sender);
        const r = await scoreAudioWindows(infs.get(g.model)!, msgs);
        windowsScored += r.logits.length;
        inferenceMs += r.inferenceMs;
        let stage: StageScores | undefined;
        if (st) {
          const sr = await scoreAudioWindows(stageInfs.get(g.model)!, stageMsgs);
          inferenceMs += sr.inferenceMs;
          stageWindows += sr.logits.length;
          stage = { model: st, calibration: stageCals[g.model]!, logits: new Map(picked.map((wi, k) => [wi, sr.logits[k]!])) };
        }
        let voice: VoiceEmbeddings | undefined;
        if (speakerInf) {
          const er = await embedAudioWindows(speakerInf, embedMsgs);
          inferenceMs += er.inferenceMs;
          const vectors = new Array<Float32Array | undefined>(msgs.length);
          embedIdx.forEach((wi, k) => {
            vectors[wi] = er.vectors[k];
          });
          voice = { vectors, channel: voiceChannel };
        }
        const outcome = replayCall({ model, calibration: cals[g.model]!, windows: msgs, logits: r.logits, verdict: verdictOptions, stage, voice, channel: calChannel });
        pairs.forEach((p, k) => {
          if (replayCall({ model, calibration: cals[g.model]!, windows: msgs, logits: r.logits, verdict: verdictOptions, stage, weights: p, voice, channel: calChannel }).everSuspicious) sweepHits[k]!++;
        });
        speakers.push({ speaker: g.speaker, model: g.model, clips, seconds: source.length / CODEC_RATE, windows: msgs.length, ...outcome });
      }
      progress.tick(gi + 1, failures.length);
    }
  } finally {
    for (const inf of [...infs.values(), ...stageInfs.values(), ...(speakerInf ? [speakerInf] : [])]) await inf.close();
  }

  const suspicious = speakers.filter((s) => s.everSuspicious).length;
  const finalStates: Partial<Record<VerdictState, number>> = {};
  for (const s of speakers) finalStates[s.finalState] = (finalStates[s.finalState] ?? 0) + 1;
  fs.mkdirSync(o.outDir, { recursive: true });
  const judges = speakerModel ? 'voice detector and the voice takeover rule' : 'voice detector only';
  const jsonFile = path.resolve(o.outDir, `drift-${models[0]!.id}-${ch.name}${o.label === 'spoof' ? '-spoof' : ''}.json`);
  const report: DriftReport = {
    tool: 'dfd-drift',
    tsv: path.basename(tsvPath),
    channel: ch.name,
    seconds: o.seconds,
    models: models.map((m, index) => ({ index, id: m.id, version: m.manifest.version, sha256: m.manifest.sha256, weight: verdictWeightFor(m.manifest.verdict, calChannel, legCodec), calibration: cals[index]! })),
    stage2: stages.map((m, index) => ({ index, id: m.id, version: m.manifest.version, sha256: m.manifest.sha256, weight: verdictWeightFor(m.manifest.verdict, calChannel, legCodec), everyNthWindow: m.manifest.cascade!.everyNthWindow, calibration: stageCals[index]! })),
    settings: {
      question: o.label === 'bonafide'
        ? `share of bona fide speakers whose verdict reaches suspicious (or deepfake-likely) within a ${o.seconds} s call, ${judges}, no challenge`
        : `share of spoof calls (one list speaker each: a generator speaking one target) whose verdict reaches suspicious (or deepfake-likely) within ${o.seconds} s, ${judges}, no challenge`,
      call: "the speaker's clips concatenated in list order, looped or cut to the call length, through the channel once",
      audioChain: `ffmpeg -> mono f32 48 kHz -> ${chainText(ch)}Resampler -> model rate`,
      windows: `${o.firstWindowSeconds > 0 ? `a first window of ${o.firstWindowSeconds} s, then ` : ''}${o.windowSeconds} s every ${o.hopSeconds} s (MediaWorkerPool defaults), no VAD gate (whole windows count as speech)`,
      scoring: 'InferenceWorker logit -> Manifest.calibrate(calibrationFor(calibration, channel)) -> WindowScore (task, verdict weight, evidence)',
      verdict: `ParticipantVerdict with the service defaults (detectorFusion ${defaultParticipantVerdictOptions.detectorFusion}), observe(window) then addScore, clock at each window end`,
      judgeNarrowband: o.judgeNarrowband,
      suppressed: o.suppressed,
      judgedAs: calChannel,
      ...(o.sipLeg ? { sipLeg: true } : {}),
      lossSeed: ch.lossRate > 0 ? o.lossSeed : null,
      maxClipSeconds: o.maxClipSeconds,
    },
    label: o.label,
    counts: {
      bonafideClips: list.items.filter((it) => !it.positive).length,
      spoofClips: list.items.filter((it) => it.positive).length,
      ignoredRows: ignored,
      failedClips: failures.length,
    },
    failures,
    totals: { speakers: speakers.length, suspicious, suspiciousShare: speakers.length > 0 ? suspicious / speakers.length : null, suspiciousByTakeover: speakers.filter((s) => s.firstSuspiciousReason?.startsWith('takeover:') === true).length, callsWithTakeover: speakers.filter((s) => s.takeovers > 0).length, finalStates },
    speakerEmbed: speakerModel ? { id: speakerModel.id, version: speakerModel.manifest.version, sha256: speakerModel.manifest.sha256, takeover: speakerModel.manifest.takeover ?? null, channel: voiceChannel } : null,
    lean: leanRows(speakers),
    sweep: pairs.map((p, k) => ({
      weight: p.weight ?? verdictWeightFor(models[0]!.manifest.verdict, calChannel, legCodec),
      stageWeight: stages.length === 0 ? null : (p.stageWeight ?? verdictWeightFor(stages[0]!.manifest.verdict, calChannel, legCodec)),
      fusion: p.fusion ?? verdictOptions.detectorFusion ?? defaultParticipantVerdictOptions.detectorFusion,
      stageThin: p.stageThin ?? 1,
      suspicious: sweepHits[k]!,
      share: speakers.length > 0 ? sweepHits[k]! / speakers.length : null,
    })),
    files: { json: jsonFile },
    timing: { wallSeconds: (performance.now() - t0) / 1000, windows: windowsScored, stageWindows, inferenceMsPerWindow: windowsScored > 0 ? inferenceMs / windowsScored : null },
    speakers,
  };
  fs.writeFileSync(jsonFile, JSON.stringify(report, null, 2) + '\n');
  return report;
}

// -------------------------------------------------------------------------------- main

const USAGE =
  'usage: node --import tsx detectors/eval/drift.ts <list.tsv> [--model <dir or id>]... [--stage2 <dir or id>]... [--label bonafide|spoof] [--weights w,...] [--stage-weights w,...] [--fusions pooled,per-detector] [--stage-thin k,...] [--speaker-embed <dir or id>] [--channel clean|opus24|opus12loss|g711|amrg711|g722|amrwbg722|amrwbg711] [--suppressed] [--sip-leg] [--seconds 60] [--first-window 1] [--out <dir>] [--judge-narrowband] [--quiet] [--verbose]';

export function parseDriftArgs(argv: readonly string[]): Partial<DriftOptions> & { tsv: string } {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      model: { type: 'string', multiple: true },
      stage2: { type: 'string', multiple: true },
      label: { type: 'string' },
      weights: { type: 'string' },
      'stage-weights': { type: 'string' },
      fusions: { type: 'string' },
      'stage-thin': { type: 'string' },
      channel: { type: 'string' },
      seconds: { type: 'string' },
      'first-window': { type: 'string' },
      out: { type: 'string' },
      'judge-narrowband': { type: 'boolean', default: false },
      suppressed: { type: 'boolean', default: false },
      'sip-leg': { type: 'boolean', default: false },
      'speaker-embed': { type: 'string' },
      quiet: { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
    },
  });
  const tsv = positionals[0];
  if (tsv === undefined || tsv === '' || positionals.length > 1) throw new DfdError('ERR_CONFIG', USAGE);
  const channel = values.channel !== undefined ? (channelSpec(values.channel).name as Channel) : undefined;
  let seconds: number | undefined;
  if (values.seconds !== undefined) {
    seconds = Number(values.seconds);
    if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 3600) throw new DfdError('ERR_CONFIG', '--seconds must be a number of seconds in (0, 3600]');
  }
  let firstWindowSeconds: number | undefined;
  if (values['first-window'] !== undefined) {
    firstWindowSeconds = Number(values['first-window']);
    if (!Number.isFinite(firstWindowSeconds) || firstWindowSeconds < 0 || firstWindowSeconds > 10) throw new DfdError('ERR_CONFIG', '--first-window must be seconds in [0, 10] (0: no early first window)');
  }
  if (values.label !== undefined && values.label !== 'bonafide' && values.label !== 'spoof') throw new DfdError('ERR_CONFIG', '--label is bonafide or spoof');
  const weights = values.weights !== undefined ? weightList(values.weights, '--weights') : undefined;
  const stageWeights = values['stage-weights'] !== undefined ? weightList(values['stage-weights'], '--stage-weights') : undefined;
  let fusions: DetectorFusion[] | undefined;
  if (values.fusions !== undefined) {
    const f = values.fusions.split(',').map((x) => x.trim());
    if (f.some((x) => !(DETECTOR_FUSIONS as readonly string[]).includes(x))) throw new DfdError('ERR_CONFIG', `--fusions is a comma-separated list of ${DETECTOR_FUSIONS.join(', ')}`);
    fusions = f as DetectorFusion[];
  }
  let stageThin: number[] | undefined;
  if (values['stage-thin'] !== undefined) {
    stageThin = values['stage-thin'].split(',').map((x) => (x.trim() === '' ? NaN : Number(x)));
    if (stageThin.some((k) => !(Number.isInteger(k) && k >= 1 && k <= 1000))) throw new DfdError('ERR_CONFIG', '--stage-thin is a comma-separated list of integers k >= 1 (keep one in k stage windows)');
  }
  return {
    tsv,
    ...(fusions !== undefined ? { fusions } : {}),
    ...(stageThin !== undefined ? { stageThin } : {}),
    ...(values.label !== undefined ? { label: values.label as DriftLabel } : {}),
    ...(weights !== undefined ? { weights } : {}),
    ...(stageWeights !== undefined ? { stageWeights } : {}),
    ...(firstWindowSeconds !== undefined ? { firstWindowSeconds } : {}),
    ...(values.model !== undefined && values.model.length > 0 ? { models: values.model } : {}),
    ...(values.stage2 !== undefined && values.stage2.length > 0 ? { stage2: values.stage2 } : {}),
    ...(channel !== undefined ? { channel } : {}),
    ...(seconds !== undefined ? { seconds } : {}),
    ...(values.out !== undefined ? { outDir: values.out } : {}),
    judgeNarrowband: values['judge-narrowband'],
    suppressed: values.suppressed,
    sipLeg: values['sip-leg'],
    ...(values['speaker-embed'] !== undefined ? { speakerEmbed: values['speaker-embed'] } : {}),
    progress: !values.quiet,
  };
}

/** "0.2,0.25" -> [0.2, 0.25]; every value a verdict weight in [0, 1]. */
function weightList(text: string, flag: string): number[] {
  const out = text.split(',').map((x) => (x.trim() === '' ? NaN : Number(x)));
  if (out.length === 0 || out.some((w) => !(Number.isFinite(w) && w >= 0 && w <= 1))) throw new DfdError('ERR_CONFIG', `${flag} is a comma-separated list of verdict weights in [0, 1]`);
  return out;
}

const isMain = process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const argv = process.argv.slice(2);
  setLogLevel(argv.includes('--verbose') ? 'info' : 'error');
  (async () => {
    const report = await runDrift(parseDriftArgs(argv));
    process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  })().catch((e: unknown) => {
    const err = toDfdError(e);
    process.stderr.write(JSON.stringify({ error: err.toJSON() }) + '\n');
    process.exitCode = err.code === 'ERR_EVAL_TSV' || err.code === 'ERR_CONFIG' ? 2 : 1;
  });
}

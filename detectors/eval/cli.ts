/**
 * `npm run eval -- <list.tsv> [--model <dir or id>] [--channel clean|opus24|opus12loss|g711|amrg711|g722|amrwbg722|amrwbg711 | --opus <bitrate>] [--out <dir>]`
 *
 * Scores a labelled list of clips with one detector through the SAME code the service runs:
 *   - the model is loaded and checked by ModelRegistry (manifest schema, sha256, tensor names);
 *   - windows are scored by pipeline/inference/InferenceWorker in a worker thread
 *     (preprocess.ts + onnxruntime-node, one session, one intra-op thread);
 *   - the logit becomes pFake with the manifest's logistic calibration (Manifest.calibrate).
 *
 * Audio (voice-antispoof; labels bonafide/spoof): ffmpeg decodes every file (wav, flac, mp3,
 * mp4, ...) to mono float at 48 kHz, the service's codec rate; then the transmission channel
 * (channel.ts):
 *   --channel clean       no codec (the default when neither option is given);
 *   --channel opus24      libopus (@discordjs/opus) at 24 kb/s, 20 ms frames, the service's OpusDecoder;
 *   --channel opus12loss  the same at 12 kb/s with 5 % of the packets lost (seeded, never the
 *                         first), each concealed by OpusDecoder.conceal (libopus PLC) as the
 *                         service's AudioStreamProcessor does for a gap;
 *   --channel g711        telephone: Resampler 48 -> 8 kHz, G.711 mu-law (pipeline/audio/G711.ts),
 *                         Resampler 8 -> 16 kHz; scores use the manifest's `calibration.telephone`
 *                         when it has one (Manifest.calibrationFor), else the main calibration;
 *   --channel amrg711     a mobile caller on a G.711 trunk: AMR-NB 12.2 kb/s (sox) before the G.711
 *                         step, scored as g711 is (channel.ts);
 *   --channel g722        an HD-voice SIP leg: Resampler 48 -> 16 kHz, G.722 64 kb/s
 *                         (pipeline/audio/G722.ts), scored with the main (wideband) calibration,
 *                         as the service scores a G.722 leg;
 *   --channel amrwbg722   a VoLTE caller on an HD-voice trunk: AMR-WB 12.65 kb/s (Debian's
 *                         libvo-amrwbenc through amrwb_encode.py, sox decoding) before the G.722 step,
 *                         scored as g722 is;
 *   --channel amrwbg711   a VoLTE caller on a G.711 trunk: the same AMR-WB step, then 8 kHz and G.711,
 *                         scored as g711 is;
 *   --opus <bitrate>      Opus at that bitrate, no loss (older option; not with --channel: ERR_CONFIG).
 * Then the service's Resampler brings it to the model rate. Every clip of both classes takes
 * this same chain. The clip is cut into the service's analysis windows (MediaWorkerPool
 * defaults: 2 s every 1 s; a clip shorter than one window is one window; shorter than the
 * model's minSeconds it is repeated up to it).
 * No VAD: the eval clips are speech.
 *
 * Video (face-forgery; labels real/fake): ffmpeg samples frames at the service's analysis rate
 * (5 fps, at most --max-frames, frames scaled to at most 640 px wide), FaceAnalyzer (BlazeFace
 * + FaceMesh + FaceAligner, as in the media worker) finds faces, the largest face's aligned
 * 256x256 crop is kept, and crops are grouped into the service's face windows (5 frames). A
 * face-forgery model scores 2 frames of each window, rotating, as the service does
 * (--forgery-frames K, the service's DFD_FACE_FORGERY_FRAMES; 0: every frame).
 * --opus and --channel do not apply to video and are reported as ignored.
 *
 * Clip score: mean window logit (the worker's per-window logit; a face window's is the mean
 * of its frames). Since calibration is affine in the logit, the calibrated log-odds of the
 * clip, z = a * mean + b, equal the mean of the windows' calibrated log-odds.
 *
 * Output: JSON on stdout and in <out>/eval-<model>[-<channel> | -opus<bitrate>].json, e.g.
 * eval-voice-antispoof-g711.json (the report's `channel` names the channel, the calibration it
 * used, its packets and losses), ROC and DET PNGs beside it, a progress bar on stderr. A file
 * that cannot be decoded (or a video without a face) is counted and listed under `failures`;
 * the run goes on. A bad TSV is a typed ERR_EVAL_TSV error, a bad option (e.g. --channel with
 * --opus) ERR_CONFIG (exit code 2 for both).
 *
 * The clip's media path is clipMedia.ts (decode, channel, resampling, windows, scoring), the
 * inference thread WorkerInference.ts, the model choice resolveModel.ts, `--bench`
 * benchModel.ts; drift.ts (genuine-caller drift through a real ParticipantVerdict) uses the
 * same files.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DfdError, toDfdError } from '../../kernel/errors.js';
import { setLogLevel } from '../../kernel/log.js';
import { calibrate, calibrationFor, type Manifest } from '../registry/Manifest.js';
import { defaultModelRegistryOptions } from '../registry/ModelRegistry.js';
import { FaceAnalyzer } from '../face/FaceAnalyzer.js';
import { FaceTrack } from '../face/FaceTrack.js';
import { faceMotion, faceWindowIssue, frameFaceIssue } from '../../pipeline/video/faceGate.js';
import { scoredFrameCount, subsampleFaceWindow } from '../../pipeline/inference/frameSubsample.js';
import { largestFace } from '../face/observe.js';
import { defaultMediaWorkerPoolOptions } from '../../pipeline/media/MediaWorkerPool.js';
import { defaultVerdictMachineOptions } from '../../pipeline/verdict/VerdictMachine.js';
import type { FaceWindow, FaceWindowIssue, StreamRef } from '../../pipeline/messages.js';
import { audioWindowIssue } from '../../pipeline/inference/audioGate.js';
import { channelSpec, CODEC_RATE, type Channel, type ChannelSpec } from './channel.js';
import { audioWindowMessages, audioWindowsOf, chainText, decodeAudio48k, resolveChannel, sampleFrames, scoreAudioWindows, throughChannel } from './clipMedia.js';
import { benchModel } from './benchModel.js';
import { Progress } from './Progress.js';
import { resolveModel } from './resolveModel.js';
import { WorkerInference } from './WorkerInference.js';
import { asvspoof5DcfParams } from './metrics.js';
import { bayesThreshold } from './calibrationMetrics.js';
import { detPng, rocPng } from './plots.js';
import { breakdownMetrics, parseEvalTsv, selectBreakdowns, subsetMetrics, type EvalItem, type EvalList, type ScoredItem, type SubsetResult, type Threshold } from './report.js';

export interface EvalOptions {
  /** The TSV list. */
  tsv: string;
  /** Model folder (holding manifest.json) or model id under `modelsDir`; default by the list's kind. */
  model: string | undefined;
  modelsDir: string;
  /** Opus bitrate in bit/s for the codec round trip (no loss); undefined = no codec. Not with `channel`. */
  opusBitrate: number | undefined;
  /** Transmission channel (channel.ts); undefined = clean, or `opusBitrate`. */
  channel: Channel | undefined;
  /** Seed of the opus12loss packet-loss schedule. */
  lossSeed: number;
  outDir: string;
  /** Audio analysis window and hop, seconds (the service's MediaWorkerPool defaults). */
  windowSeconds: number;
  hopSeconds: number;
  /** Longest part of a file decoded, seconds (keeps memory bounded). */
  maxClipSeconds: number;
  /** Video frames sampled per second (the service's videoFps). */
  videoFps: number;
  /** Most frames sampled per video. */
  maxFrames: number;
  /** Face crops per face window (the service's faceWindowFrames). */
  faceWindowFrames: number;
  /** Face detector on one sampled frame in N, the face track in between (the service's faceRedetectEvery). */
  faceRedetectEvery: number;
  /**
   * Frames of each face window a face-forgery model scores (the service's DFD_FACE_FORGERY_FRAMES,
   * pipeline/inference/frameSubsample.ts; 0: every frame). Other video models score every frame.
   */
  faceForgeryFrames: number;
  /** Frames wider than this are scaled down before face detection. */
  maxFrameWidth: number;
  /** Progress bar on stderr. */
  progress: boolean;
}

export const defaultEvalOptions: Omit<EvalOptions, 'tsv'> = {
  model: undefined,
  modelsDir: defaultModelRegistryOptions.dir,
  opusBitrate: undefined,
  channel: undefined,
  lossSeed: 1,
  outDir: 'eval-results',
  windowSeconds: defaultMediaWorkerPoolOptions.windowSeconds,
  hopSeconds: defaultMediaWorkerPoolOptions.hopSeconds,
  maxClipSeconds: 120,
  videoFps: defaultMediaWorkerPoolOptions.videoFps,
  maxFrames: 40,
  faceWindowFrames: defaultMediaWorkerPoolOptions.faceWindowFrames,
  faceRedetectEvery: defaultMediaWorkerPoolOptions.faceRedetectEvery,
  // the service's default (src/config.ts DFD_FACE_FORGERY_FRAMES; cli.test.ts checks they agree)
  faceForgeryFrames: 2,
  maxFrameWidth: 640,
  progress: true,
};

/** The thresholds actDCF is reported at. The first is the one the service acts on. */
export function deployedThresholds(): Threshold[] {
  return [
    { value: defaultVerdictMachineOptions.suspiciousEnter, source: 'VerdictMachine suspiciousEnter (state "suspicious" is entered at this fused pFake)' },
    { value: 0.5, source: 'pFake 0.5 (calibrated even odds)' },
    { value: defaultVerdictMachineOptions.deepfakeEnter, source: 'VerdictMachine deepfakeEnter' },
    { value: bayesThreshold(asvspoof5DcfParams), source: 'Bayes threshold for the ASVspoof 5 costs, if scores were LLRs' },
  ];
}

// ------------------------------------------------------------------------------ scoring

export interface ClipResult {
  path: string;
  label: string;
  line: number;
  /** Mean window logit. */
  logit: number;
  /** Calibrated log-odds a * logit + b. */
  z: number;
  pFake: number;
  windows: number;
  /** Audio: clip repeated up to minSeconds. Video: frames with a face / frames sampled. */
  padded?: boolean;
  facesFound?: number;
  framesSampled?: number;
  /** Video: face windows the face gate set aside, by issue (pipeline/video/faceGate.ts), as the service would. */
  abstained?: Partial<Record<FaceWindowIssue, number>>;
}

export interface Failure {
  path: string;
  line: number;
  /** DfdError code, NO_FACE when no frame held a face, UNJUDGEABLE_VIDEO when the face gate set every window aside. */
  code: string;
  /** UNJUDGEABLE_VIDEO: the windows set aside, by the face gate's reason. */
  abstained?: Partial<Record<FaceWindowIssue, number>>;
}

interface Timing {
  mediaSeconds: number;
  /** Codec packets sent, lost, and 48 kHz samples concealed (audio channels with a codec). */
  packets: number;
  lostPackets: number;
  concealedSamples: number;
  windows: number;
  frames: number;
  inferenceMs: number;
  faceAnalysisMs: number;
}

const STREAM: StreamRef = { roomId: 'eval', peerId: 'eval', producerId: 'eval', kind: 'audio' };

async function scoreAudio(it: EvalItem, inf: WorkerInference, o: EvalOptions, ch: ChannelSpec, t: Timing): Promise<Omit<ClipResult, 'z' | 'pFake'>> {
  const spec = inf.model.manifest.audio!;
  const x = await decodeAudio48k(it.file, o.maxClipSeconds);
  const { samples: y, channel } = throughChannel(x, ch, spec.sampleRate, o.lossSeed);
  t.mediaSeconds += x.length / CODEC_RATE;
  t.packets += channel.packets.length;
  t.lostPackets += channel.packets.filter((p) => p.lost).length;
  t.concealedSamples += channel.concealedSamples;
  const cut = audioWindowsOf(y, spec.sampleRate, spec, o.windowSeconds, o.hopSeconds);
  // the service's last check before inference: silent, clipped or non-finite windows are not judged
  const keep = cut.windows.map((w) => audioWindowIssue(w) === undefined);
  const windows = cut.windows.filter((_, i) => keep[i]);
  const starts = cut.starts.filter((_, i) => keep[i]);
  const padded = cut.padded;
  if (windows.length === 0) throw new DfdError('ERR_EVAL_UNJUDGEABLE', 'no judgeable window', { windows: cut.windows.length });
  const now = Date.now();
  const msgs = audioWindowMessages(windows, starts, spec.sampleRate, channel, STREAM, () => now);
  // Windows of one clip share a length except a single short one: one job per distinct length.
  const r = await scoreAudioWindows(inf, msgs);
  t.inferenceMs += r.inferenceMs;
  t.windows += r.logits.length;
  return { path: it.path, label: it.label, line: it.line, logit: mean(r.logits), windows: r.logits.length, padded };
}

async function scoreVideo(
  it: EvalItem,
  inf: WorkerInference,
  faces: FaceAnalyzer,
  o: EvalOptions,
  t: Timing,
): Promise<Omit<ClipResult, 'z' | 'pFake'> | 'NO_FACE' | { code: 'UNJUDGEABLE_VIDEO'; abstained: Partial<Record<FaceWindowIssue, number>> }> {
  const v = await sampleFrames(it.file, o.videoFps, o.maxFrames, o.maxFrameWidth);
  t.mediaSeconds += v.frames.length / o.videoFps;
  const crops: Uint8Array[] = [];
  const frameIssues: (FaceWindowIssue | undefined)[] = [];
  /** Per crop: the face region's change from the frame before (NaN when that frame had no face). */
  const motion: number[] = [];
  let prev: Uint8Array | undefined;
  let cropSize = 0;
  // One track per clip, as the media worker keeps one per stream.
  const track = new FaceTrack({ redetectEvery: o.faceRedetectEvery });
  for (const rgb of v.frames) {
    const a = await faces.analyze({ width: v.width, height: v.height, rgb }, track);
    t.faceAnalysisMs += a.timings.detectMs + a.timings.landmarksMs + a.timings.alignMs;
    t.frames++;
    // The media worker keeps the largest face of each frame.
    const face = largestFace(a.faces);
    if (face) {
      crops.push(face.crop);
      frameIssues.push(frameFaceIssue(a.faces, face, v.width, v.height));
      // the face gate's motion: this frame's face region in this frame and the last one (as FaceWindower)
      const size = { width: v.width, height: v.height };
      motion.push(prev ? faceMotion({ ...size, rgb: prev }, { ...size, rgb }, face.box) : Number.NaN);
      prev = rgb;
      cropSize = faces.options.cropSize;
    } else prev = undefined;
  }
  if (crops.length === 0) return 'NO_FACE';
  const bytes = cropSize * cropSize * 3;
  const windows: FaceWindow[] = [];
  const abstained: Partial<Record<FaceWindowIssue, number>> = {};
  const now = Date.now();
  for (let s = 0; s < crops.length; s += o.faceWindowFrames) {
    const part = crops.slice(s, s + o.faceWindowFrames);
    // The media worker's face gate: such a window is not judged in a call, so not here either.
    const issue = faceWindowIssue(
      part,
      bytes,
      new Set(frameIssues.slice(s, s + o.faceWindowFrames).filter((x): x is FaceWindowIssue => x !== undefined)),
      motion.slice(s, s + o.faceWindowFrames).filter((d) => !Number.isNaN(d)),
    );
    if (issue) {
      abstained[issue] = (abstained[issue] ?? 0) + 1;
      continue;
    }
    const buf = new Uint8Array(part.length * bytes);
    part.forEach((c, i) => buf.set(c.subarray(0, bytes), i * bytes));
    windows.push({
      type: 'face-window',
      stream: { ...STREAM, kind: 'video' },
      seq: windows.length,
      width: cropSize,
      height: cropSize,
      crops: buf,
      frames: part.length,
      wallStart: now,
      wallEnd: now,
      quality: { frameRate: o.videoFps, faceSize: 0, packetLoss: 0 },
    });
  }
  if (windows.length === 0) return { code: 'UNJUDGEABLE_VIDEO', abstained };
  // As the inference pool does: a face-forgery model scores faceForgeryFrames of each window, rotating.
  const scored = inf.model.manifest.task === 'face-forgery' ? windows.map((w) => subsampleFaceWindow(w, o.faceForgeryFrames)) : windows;
  const r = await inf.run(scored);
  t.inferenceMs += r.inferenceMs;
  t.windows += r.logits.length;
  return {
    path: it.path,
    label: it.label,
    line: it.line,
    logit: mean(r.logits),
    windows: r.logits.length,
    facesFound: crops.length,
    framesSampled: v.frames.length,
    ...(Object.keys(abstained).length > 0 ? { abstained } : {}),
  };
}

function mean(a: readonly number[]): number {
  if (a.length === 0) throw new DfdError('ERR_INFERENCE_FAILED', 'no window was scored');
  return a.reduce((x, y) => x + y, 0) / a.length;
}

// ------------------------------------------------------------------------------- run

export interface EvalReport {
  tool: 'dfd-eval';
  tsv: string;
  kind: EvalList['kind'];
  model: { id: string; version: string; task: string; sha256: string; calibration: Manifest['calibration'] };
  settings: Record<string, unknown>;
  dcf: typeof asvspoof5DcfParams & { normalisation: string };
  thresholds: Threshold[];
  counts: { listed: number; scored: number; failed: number };
  failures: Failure[];
  overall: SubsetResult;
  breakdowns: Record<string, unknown>;
  skippedColumns: Record<string, number>;
  /** Audio: the transmission channel and what it did; null for video. */
  channel: ChannelReport | null;
  files: { json: string; roc: string | null; det: string | null };
  timing: { wallSeconds: number; mediaSeconds: number; windows: number; inferenceMsPerWindow: number | null; frames: number; faceAnalysisMsPerFrame: number | null };
  clips: ClipResult[];
}

export interface ChannelReport {
  name: string;
  codec: ChannelSpec['codec'];
  bitrate: number;
  lossRate: number;
  lossSeed: number | null;
  /** Which manifest calibration scored it, and its (a, b). */
  calibration: { channel: ChannelSpec['calibration']; a: number; b: number; fittedOn: string };
  packets: number;
  lostPackets: number;
  concealedSeconds: number;
}

export async function runEval(options: Partial<EvalOptions> & { tsv: string }): Promise<EvalReport> {
  const o: EvalOptions = { ...defaultEvalOptions, ...options };
  const ch = resolveChannel(o);
  const tsvPath = path.resolve(o.tsv);
  let text: string;
  try {
    text = fs.readFileSync(tsvPath, 'utf8');
  } catch {
    throw new DfdError('ERR_EVAL_TSV', 'the file cannot be read');
  }
  const list = parseEvalTsv(text, path.dirname(tsvPath));
  const model = await resolveModel(o.model, list.kind, o.modelsDir);
  const thresholds = deployedThresholds();
  const t0 = performance.now();
  const timing: Timing = { mediaSeconds: 0, packets: 0, lostPackets: 0, concealedSamples: 0, windows: 0, frames: 0, inferenceMs: 0, faceAnalysisMs: 0 };
  const cal = calibrationFor(model.manifest.calibration, list.kind === 'audio' ? ch.calibration : 'wideband');
  const clips: ClipResult[] = [];
  const failures: Failure[] = [];
  const inf = await WorkerInference.open(model);
  let faces: FaceAnalyzer | undefined;
  try {
    if (list.kind === 'video') faces = await FaceAnalyzer.create({});
    const progress = new Progress(list.items.length, o.progress);
    for (const [i, it] of list.items.entries()) {
      try {
        const r = list.kind === 'audio' ? await scoreAudio(it, inf, o, ch, timing) : await scoreVideo(it, inf, faces!, o, timing);
        if (r === 'NO_FACE') failures.push({ path: it.path, line: it.line, code: r });
        else if ('code' in r) failures.push({ path: it.path, line: it.line, code: r.code, abstained: r.abstained });
        else clips.push({ ...r, z: cal.a * r.logit + cal.b, pFake: calibrate(cal, r.logit) });
      } catch (e) {
        failures.push({ path: it.path, line: it.line, code: toDfdError(e).code });
      }
      progress.tick(i + 1, failures.length);
    }
  } finally {
    await faces?.close();
    await inf.close();
  }
  const wallSeconds = (performance.now() - t0) / 1000;

  const byPath = new Map(list.items.map((it) => [it.line, it]));
  const scored: ScoredItem[] = clips.map((c) => ({ item: byPath.get(c.line)!, z: c.z, pFake: c.pFake }));
  const choice = selectBreakdowns({ items: scored.map((s) => s.item), columns: list.columns });
  const overall = subsetMetrics(scored, thresholds);

  // The file names carry the channel when one was asked for (--channel, or the older --opus).
  const named = list.kind === 'audio' && (o.channel !== undefined || o.opusBitrate !== undefined);
  const tag = `${model.id}${named ? `-${ch.name}` : ''}`;
  fs.mkdirSync(o.outDir, { recursive: true });
  const jsonFile = path.resolve(o.outDir, `eval-${tag}.json`);
  let roc: string | null = null;
  let det: string | null = null;
  if (!('error' in overall)) {
    const bz = scored.filter((s) => !s.item.positive).map((s) => s.z);
    const sz = scored.filter((s) => s.item.positive).map((s) => s.z);
    const title = `${model.id}${!named ? '' : o.opusBitrate !== undefined ? ` OPUS ${o.opusBitrate / 1000}K` : ` ${ch.name.toUpperCase()}`}`;
    roc = path.resolve(o.outDir, `roc-${tag}.png`);
    det = path.resolve(o.outDir, `det-${tag}.png`);
    fs.writeFileSync(roc, rocPng(bz, sz, { title: `ROC ${title} AUC ${overall.auroc.toFixed(3)}` }));
    fs.writeFileSync(det, detPng(bz, sz, { title: `DET ${title} EER ${(overall.eer * 100).toFixed(1)}%`, eer: overall.eer }));
  }

  const report: EvalReport = {
    tool: 'dfd-eval',
    tsv: path.basename(tsvPath),
    kind: list.kind,
    model: { id: model.id, version: model.manifest.version, task: model.manifest.task, sha256: model.manifest.sha256, calibration: model.manifest.calibration },
    settings: {
      path: 'ModelRegistry -> InferenceWorker (preprocess.ts + onnxruntime-node, 1 thread) -> Manifest.calibrate(Manifest.calibrationFor(calibration, channel))',
      clipScore: 'mean window logit; z = a * logit + b; pFake = sigmoid(z); metrics on z (actDCF on pFake)',
      labels: list.kind === 'audio' ? 'positive = spoof, negative = bonafide' : 'positive = fake, negative = real',
      ...(list.kind === 'audio'
        ? {
            audioChain: `ffmpeg -> mono f32 48 kHz -> ${chainText(ch)}Resampler -> ${model.manifest.audio!.sampleRate} Hz`,
            channel: ch.name,
            opusBitrate: o.opusBitrate ?? null,
            windowSeconds: o.windowSeconds,
            hopSeconds: o.hopSeconds,
            maxClipSeconds: o.maxClipSeconds,
            vad: 'none (whole clip)',
          }
        : {
            videoChain: `ffmpeg fps=${o.videoFps}, width <= ${o.maxFrameWidth} -> FaceAnalyzer (BlazeFace on 1 frame in ${o.faceRedetectEvery}, FaceMesh following the face in between, aligner), largest face -> ${o.faceWindowFrames}-frame windows, the face gate's windows (several faces, face cut off, frozen, dark) set aside, ${model.manifest.task === 'face-forgery' && scoredFrameCount(o.faceWindowFrames, o.faceForgeryFrames) < o.faceWindowFrames ? `${o.faceForgeryFrames} frames of each window scored (rotating)` : 'every frame scored'}`,
            videoFps: o.videoFps,
            maxFrames: o.maxFrames,
            faceWindowFrames: o.faceWindowFrames,
            faceForgeryFrames: o.faceForgeryFrames,
            opusBitrate: o.opusBitrate !== undefined ? 'ignored for video' : null,
            channel: o.channel !== undefined ? 'ignored for video' : null,
          }),
    },
    dcf: { ...asvspoof5DcfParams, normalisation: 'DCF / min(cMiss*(1-pSpoof), cFa*pSpoof); pMiss = bona fide flagged, pFa = spoof passed' },
    thresholds,
    counts: { listed: list.items.length, scored: clips.length, failed: failures.length },
    failures,
    overall,
    breakdowns: breakdownMetrics(scored, choice, thresholds),
    skippedColumns: choice.skipped,
    channel:
      list.kind === 'audio'
        ? {
            name: ch.name,
            codec: ch.codec,
            bitrate: ch.bitrate,
            lossRate: ch.lossRate,
            lossSeed: ch.lossRate > 0 ? o.lossSeed : null,
            calibration: { channel: ch.calibration, a: cal.a, b: cal.b, fittedOn: cal.fittedOn },
            packets: timing.packets,
            lostPackets: timing.lostPackets,
            concealedSeconds: timing.concealedSamples / CODEC_RATE,
          }
        : null,
    files: { json: jsonFile, roc, det },
    timing: {
      wallSeconds,
      mediaSeconds: timing.mediaSeconds,
      windows: timing.windows,
      inferenceMsPerWindow: timing.windows > 0 ? timing.inferenceMs / timing.windows : null,
      frames: timing.frames,
      faceAnalysisMsPerFrame: timing.frames > 0 ? timing.faceAnalysisMs / timing.frames : null,
    },
    clips,
  };
  fs.writeFileSync(jsonFile, JSON.stringify(report, null, 2) + '\n');
  return report;
}

// -------------------------------------------------------------------------------- main

const USAGE = 'usage: npm run eval -- <list.tsv> [--model <dir or id>] [--channel clean|opus24|opus12loss|g711|amrg711|g722|amrwbg722|amrwbg711 | --opus <bitrate>] [--out <dir>] [--window S] [--hop S] [--max-frames N] [--forgery-frames K] [--quiet] [--verbose]   |   npm run eval -- --bench <iterations> --model <dir or id> [--window S]';

export function parseCliArgs(argv: readonly string[]): Partial<EvalOptions> & { tsv: string; bench?: number } {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      model: { type: 'string' },
      opus: { type: 'string' },
      channel: { type: 'string' },
      out: { type: 'string' },
      'max-frames': { type: 'string' },
      'forgery-frames': { type: 'string' },
      window: { type: 'string' },
      hop: { type: 'string' },
      quiet: { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
      bench: { type: 'string' },
    },
  });
  const tsv = values.bench !== undefined ? '' : positionals[0];
  if (tsv === undefined || (values.bench === undefined && tsv === '') || positionals.length > 1) throw new DfdError('ERR_CONFIG', USAGE);
  const num = (v: string | undefined, name: string): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new DfdError('ERR_CONFIG', `${name} must be a positive integer`);
    return n;
  };
  const seconds = (v: string | undefined, name: string): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0 || n > 60) throw new DfdError('ERR_CONFIG', `${name} must be a number of seconds in (0, 60]`);
    return n;
  };
  const windowSeconds = seconds(values.window, '--window');
  const hopSeconds = seconds(values.hop, '--hop');
  const opusBitrate = num(values.opus, '--opus');
  const channel = values.channel !== undefined ? (channelSpec(values.channel).name as Channel) : undefined;
  resolveChannel({ channel, opusBitrate });
  const bench = num(values.bench, '--bench');
  const maxFrames = num(values['max-frames'], '--max-frames');
  const forgeryFrames = values['forgery-frames'] === undefined ? undefined : Number(values['forgery-frames']);
  if (forgeryFrames !== undefined && !(Number.isInteger(forgeryFrames) && forgeryFrames >= 0 && forgeryFrames <= 300)) throw new DfdError('ERR_CONFIG', '--forgery-frames must be an integer in [0, 300] (0: every frame)');
  return {
    tsv,
    ...(values.model !== undefined ? { model: values.model } : {}),
    ...(opusBitrate !== undefined ? { opusBitrate } : {}),
    ...(channel !== undefined ? { channel } : {}),
    ...(values.out !== undefined ? { outDir: values.out } : {}),
    ...(maxFrames !== undefined ? { maxFrames } : {}),
    ...(forgeryFrames !== undefined ? { faceForgeryFrames: forgeryFrames } : {}),
    ...(windowSeconds !== undefined ? { windowSeconds } : {}),
    ...(hopSeconds !== undefined ? { hopSeconds } : {}),
    ...(bench !== undefined ? { bench } : {}),
    progress: !values.quiet,
  };
}

const isMain = process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const argv = process.argv.slice(2);
  setLogLevel(argv.includes('--verbose') ? 'info' : 'error');
  (async () => {
    const args = parseCliArgs(argv);
    if (args.bench !== undefined) {
      if (args.model === undefined) throw new DfdError('ERR_CONFIG', '--bench needs --model');
      const r = await benchModel(args.model, args.modelsDir ?? defaultEvalOptions.modelsDir, args.bench, { ...defaultEvalOptions, ...args });
      process.stdout.write(JSON.stringify(r) + '\n');
      return;
    }
    const report = await runEval(args);
    process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  })().catch((e: unknown) => {
    const err = toDfdError(e);
    process.stderr.write(JSON.stringify({ error: err.toJSON() }) + '\n');
    process.exitCode = err.code === 'ERR_EVAL_TSV' || err.code === 'ERR_CONFIG' ? 2 : 1;
  });
}

/**
 * `npm run eval -- <list.tsv> [--model <dir or id>] [--channel clean|opus24|opus12loss|g711 | --opus <bitrate>] [--out <dir>]`
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
 * 256x256 crop is kept, and crops are grouped into the service's face windows (5 frames).
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
 * drift.ts (genuine-caller drift through a real ParticipantVerdict) reuses the audio chain
 * exported here: decodeAudio48k, throughChannel, audioWindowsOf, audioWindowMessages,
 * scoreAudioWindows, WorkerInference, resolveModel.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Worker } from 'node:worker_threads';
import { DfdError, toDfdError } from '../../kernel/errors.js';
import { setLogLevel } from '../../kernel/log.js';
import { startWorker } from '../../kernel/workerThread.js';
import { calibrate, calibrationFor, type AudioSpec, type Manifest } from '../registry/Manifest.js';
import { ModelRegistry, defaultModelRegistryOptions, type AvailableModel } from '../registry/ModelRegistry.js';
import { FaceAnalyzer } from '../face/FaceAnalyzer.js';
import { largestFace } from '../face/observe.js';
import { Resampler } from '../../pipeline/audio/Resampler.js';
import { defaultMediaWorkerPoolOptions } from '../../pipeline/media/MediaWorkerPool.js';
import { defaultVerdictMachineOptions } from '../../pipeline/verdict/VerdictMachine.js';
import type { AnalysisWindow, AudioWindow, FaceWindow, StreamRef } from '../../pipeline/messages.js';
import type { FromWorker, ToWorker } from '../../pipeline/inference/protocol.js';
import { audioWindowIssue } from '../../pipeline/inference/audioGate.js';
import { applyChannel, channelQuality, channelSpec, CODEC_RATE, opusSpec, type Channel, type ChannelOutput, type ChannelSpec } from './channel.js';
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

// ------------------------------------------------------------------------- inference

/** One InferenceWorker thread, driven with the pool's protocol, one job at a time. */
export class WorkerInference {
  private readonly worker: Worker;
  private nextJob = 1;
  private pending = new Map<number, { resolve: (r: { logits: number[]; inferenceMs: number }) => void; reject: (e: unknown) => void }>();
  private readyWait: { resolve: () => void; reject: (e: unknown) => void } | undefined;
  private exited = false;

  private constructor(readonly model: AvailableModel) {
    const ext = path.extname(fileURLToPath(import.meta.url));
    this.worker = startWorker(new URL(`../../pipeline/inference/InferencePool${ext}`, import.meta.url).href, 'InferenceWorker');
    this.worker.on('message', (m: FromWorker) => this.onMessage(m));
    this.worker.on('error', (e) => this.failAll(e));
    this.worker.on('exit', () => {
      this.exited = true;
      this.failAll(new DfdError('ERR_WORKER_DIED', 'inference worker exited'));
    });
  }

  static async open(model: AvailableModel): Promise<WorkerInference> {
    const w = new WorkerInference(model);
    await new Promise<void>((resolve, reject) => {
      w.readyWait = { resolve, reject };
      const init: ToWorker = { type: 'init', models: [{ id: model.id, modelPath: model.modelPath, manifest: model.manifest }], intraOpNumThreads: 1, interOpNumThreads: 1, executionProvider: 'cpu' };
      w.worker.postMessage(init);
    });
    return w;
  }

  private onMessage(m: FromWorker): void {
    if (m.type === 'ready') {
      const f = m.failed[0];
      if (f) this.readyWait?.reject(new DfdError('ERR_MODEL_UNAVAILABLE', 'the inference worker cannot open the model', { id: f.id }));
      else this.readyWait?.resolve();
      this.readyWait = undefined;
      return;
    }
    const p = this.pending.get(m.jobId);
    if (!p) return;
    this.pending.delete(m.jobId);
    if (m.type === 'result') p.resolve({ logits: m.logits, inferenceMs: m.inferenceMs });
    else p.reject(new DfdError('ERR_INFERENCE_FAILED', 'the worker rejected the batch'));
  }

  private failAll(e: unknown): void {
    this.readyWait?.reject(e);
    this.readyWait = undefined;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  /** Scores windows (all of one kind and, for audio, one length). Transfers their buffers. */
  run(windows: AnalysisWindow[]): Promise<{ logits: number[]; inferenceMs: number }> {
    if (this.exited) return Promise.reject(new DfdError('ERR_CLOSED', 'inference worker'));
    const jobId = this.nextJob++;
    return new Promise((resolve, reject) => {
      this.pending.set(jobId, { resolve, reject });
      const msg: ToWorker = { type: 'run', jobId, modelId: this.model.id, windows };
      this.worker.postMessage(msg, windows.map((w) => (w.type === 'audio-window' ? w.samples.buffer : w.crops.buffer) as ArrayBuffer));
    });
  }

  async close(): Promise<void> {
    if (this.exited) return;
    const done = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    const msg: ToWorker = { type: 'close' };
    this.worker.postMessage(msg);
    const timer = setTimeout(() => void this.worker.terminate(), 10_000);
    await done;
    clearTimeout(timer);
  }
}

// --------------------------------------------------------------------------- decoding

/** Runs ffmpeg and collects stdout up to `maxBytes` (the rest is cut off). */
function ffmpegRead(args: string[], maxBytes: number, bin = 'ffmpeg'): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const p = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let len = 0;
    let cut = false;
    p.stdout.on('data', (c: Buffer) => {
      if (cut) return;
      const take = Math.min(c.length, maxBytes - len);
      chunks.push(take === c.length ? c : c.subarray(0, take));
      len += take;
      if (len >= maxBytes) {
        cut = true;
        p.kill('SIGKILL');
      }
    });
    p.stderr.resume();
    p.on('error', (e) => reject(new DfdError('ERR_DECODE_FAILED', `${bin} could not start`, undefined, { cause: e })));
    p.on('close', (code) => {
      if (code !== 0 && !cut) reject(new DfdError('ERR_DECODE_FAILED', `${bin} failed`, { exitCode: code }));
      else resolve(Buffer.concat(chunks, len));
    });
  });
}

/** Any ffmpeg-readable file -> mono float32 at 48 kHz, at most `maxSeconds`. */
export async function decodeAudio48k(file: string, maxSeconds: number): Promise<Float32Array> {
  const buf = await ffmpegRead(['-hide_banner', '-loglevel', 'error', '-nostdin', '-i', file, '-vn', '-ac', '1', '-ar', String(CODEC_RATE), '-f', 'f32le', '-'], Math.round(maxSeconds * CODEC_RATE) * 4);
  const n = buf.length >>> 2;
  if (n === 0) throw new DfdError('ERR_DECODE_FAILED', 'no audio samples');
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = buf.readFloatLE(i * 4);
  return out;
}

/** The service's band-limited resampler, one shot (from the 48 kHz codec rate unless told). */
export function resampleTo(x: Float32Array, rate: number, fromRate = CODEC_RATE): Float32Array {
  if (rate === fromRate) return x;
  const r = new Resampler({ inRate: fromRate, outRate: rate });
  const a = r.process(x);
  const b = r.flush();
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Cuts a clip into analysis windows (copies); `starts` are their first samples. */
export function audioWindowsOf(x: Float32Array, rate: number, spec: AudioSpec, windowSeconds: number, hopSeconds: number): { windows: Float32Array[]; starts: number[]; padded: boolean } {
  const w = Math.round(windowSeconds * rate);
  const h = Math.max(1, Math.round(hopSeconds * rate));
  const min = Math.ceil(spec.minSeconds * rate);
  if (x.length < min) {
    const y = new Float32Array(min);
    for (let i = 0; i < min; i++) y[i] = x[i % x.length]!;
    return { windows: [y], starts: [0], padded: true };
  }
  if (x.length <= w) return { windows: [x.slice()], starts: [0], padded: false };
  const starts: number[] = [];
  for (let s = 0; s + w <= x.length; s += h) starts.push(s);
  if (starts[starts.length - 1]! + w < x.length) starts.push(x.length - w);
  return { windows: starts.map((s) => x.slice(s, s + w)), starts, padded: false };
}

/** The channel a run uses: `--channel`, else `--opus <bitrate>`, else clean. Both: ERR_CONFIG. */
export function resolveChannel(o: Pick<EvalOptions, 'channel' | 'opusBitrate'>): ChannelSpec {
  if (o.channel !== undefined && o.opusBitrate !== undefined) throw new DfdError('ERR_CONFIG', '--channel and --opus cannot be combined (--channel opus24 is --opus 24000)');
  if (o.channel !== undefined) return channelSpec(o.channel);
  if (o.opusBitrate !== undefined) {
    if (!(Number.isInteger(o.opusBitrate) && o.opusBitrate >= 6000 && o.opusBitrate <= 510000)) throw new DfdError('ERR_CONFIG', '--opus must be a bitrate between 6000 and 510000 bit/s');
    return opusSpec(o.opusBitrate);
  }
  return channelSpec('clean');
}

/** A 48 kHz clip through the channel, then the service's Resampler to the model rate. */
export function throughChannel(x48: Float32Array, spec: ChannelSpec, modelRate: number, lossSeed: number): { samples: Float32Array; channel: ChannelOutput } {
  const channel = applyChannel(x48, spec, lossSeed);
  return { samples: resampleTo(channel.samples, modelRate, channel.sampleRate), channel };
}

/**
 * Wraps cut windows (at `rate`, starting at the given samples of the channel output) as the
 * AudioWindow messages the media worker sends: whole windows count as speech (no VAD), the
 * quality is what the service would measure on the channel's packets.
 */
export function audioWindowMessages(windows: readonly Float32Array[], starts: readonly number[], rate: number, channel: ChannelOutput, stream: StreamRef, wallAt: (endSeconds: number) => number): AudioWindow[] {
  return windows.map((samples, seq) => {
    const t0 = starts[seq]! / rate;
    const t1 = t0 + samples.length / rate;
    return {
      type: 'audio-window',
      stream,
      seq,
      sampleRate: rate,
      samples,
      rtpStart: Math.round(t0 * CODEC_RATE),
      rtpEnd: Math.round(t1 * CODEC_RATE) - 1,
      wallStart: wallAt(t0),
      wallEnd: wallAt(t1),
      speechSeconds: samples.length / rate,
      quality: channelQuality(channel, t0, t1),
    };
  });
}

/**
 * Scores audio windows through the worker, one job per distinct length; the logits come back
 * in the windows' order. Transfers the windows' buffers.
 */
export async function scoreAudioWindows(inf: WorkerInference, msgs: readonly AudioWindow[]): Promise<{ logits: number[]; inferenceMs: number }> {
  const logits = new Array<number>(msgs.length);
  let inferenceMs = 0;
  for (const len of [...new Set(msgs.map((m) => m.samples.length))]) {
    const idx = msgs.flatMap((m, i) => (m.samples.length === len ? [i] : []));
    const r = await inf.run(idx.map((i) => msgs[i]!));
    idx.forEach((i, k) => {
      logits[i] = r.logits[k]!;
    });
    inferenceMs += r.inferenceMs;
  }
  return { logits, inferenceMs };
}

interface VideoFrames {
  width: number;
  height: number;
  frames: Uint8Array[];
}

async function probeSize(file: string): Promise<{ width: number; height: number }> {
  const out = (await ffmpegRead(['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height', '-of', 'csv=p=0', file], 4096, 'ffprobe')).toString('utf8');
  const [w, h] = out.trim().split('\n')[0]!.split(',').map(Number);
  if (!w || !h || !Number.isFinite(w) || !Number.isFinite(h)) throw new DfdError('ERR_DECODE_FAILED', 'no video stream');
  return { width: w, height: h };
}

export async function sampleFrames(file: string, fps: number, maxFrames: number, maxWidth: number): Promise<VideoFrames> {
  const src = await probeSize(file);
  const width = Math.min(maxWidth, src.width - (src.width % 2));
  const height = Math.max(16, 2 * Math.round((src.height * width) / src.width / 2));
  const size = width * height * 3;
  const buf = await ffmpegRead(
    ['-hide_banner', '-loglevel', 'error', '-nostdin', '-i', file, '-an', '-vf', `fps=${fps},scale=${width}:${height}`, '-frames:v', String(maxFrames), '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'],
    size * maxFrames,
  );
  const frames: Uint8Array[] = [];
  for (let off = 0; off + size <= buf.length; off += size) frames.push(new Uint8Array(buf.buffer, buf.byteOffset + off, size));
  if (frames.length === 0) throw new DfdError('ERR_DECODE_FAILED', 'no video frames');
  return { width, height, frames };
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
}

export interface Failure {
  path: string;
  line: number;
  /** DfdError code, or NO_FACE when no frame held a face. */
  code: string;
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

async function scoreVideo(it: EvalItem, inf: WorkerInference, faces: FaceAnalyzer, o: EvalOptions, t: Timing): Promise<Omit<ClipResult, 'z' | 'pFake'> | 'NO_FACE'> {
  const v = await sampleFrames(it.file, o.videoFps, o.maxFrames, o.maxFrameWidth);
  t.mediaSeconds += v.frames.length / o.videoFps;
  const crops: Uint8Array[] = [];
  let cropSize = 0;
  for (const rgb of v.frames) {
    const a = await faces.analyze({ width: v.width, height: v.height, rgb });
    t.faceAnalysisMs += a.timings.detectMs + a.timings.landmarksMs + a.timings.alignMs;
    t.frames++;
    // The media worker keeps the largest face of each frame.
    const face = largestFace(a.faces);
    if (face) {
      crops.push(face.crop);
      cropSize = faces.options.cropSize;
    }
  }
  if (crops.length === 0) return 'NO_FACE';
  const bytes = cropSize * cropSize * 3;
  const windows: FaceWindow[] = [];
  const now = Date.now();
  for (let s = 0; s < crops.length; s += o.faceWindowFrames) {
    const part = crops.slice(s, s + o.faceWindowFrames);
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
  const r = await inf.run(windows);
  t.inferenceMs += r.inferenceMs;
  t.windows += r.logits.length;
  return { path: it.path, label: it.label, line: it.line, logit: mean(r.logits), windows: r.logits.length, facesFound: crops.length, framesSampled: v.frames.length };
}

function mean(a: readonly number[]): number {
  if (a.length === 0) throw new DfdError('ERR_INFERENCE_FAILED', 'no window was scored');
  return a.reduce((x, y) => x + y, 0) / a.length;
}

// ------------------------------------------------------------------------------- model

const TASK_FOR: Record<EvalList['kind'], string> = { audio: 'voice-antispoof', video: 'face-forgery' };
/** Tasks a model may have for each list kind: face-pad models take the same face windows as face-forgery. */
const TASKS_FOR: Record<EvalList['kind'], readonly string[]> = { audio: ['voice-antispoof'], video: ['face-forgery', 'face-pad'] };

/** `spec`: a model folder (with manifest.json) or an id under `modelsDir`. Checked by ModelRegistry. */
export async function resolveModel(spec: string | undefined, kind: EvalList['kind'], modelsDir: string): Promise<AvailableModel> {
  let dir = modelsDir;
  let id = spec ?? TASK_FOR[kind];
  if (spec !== undefined && fs.existsSync(path.join(spec, 'manifest.json'))) {
    const abs = path.resolve(spec);
    dir = path.dirname(abs);
    id = path.basename(abs);
  }
  const registry = new ModelRegistry({ dir });
  const statuses = await registry.load();
  const st = statuses.find((s) => s.id === id);
  if (!st) throw new DfdError('ERR_MODEL_UNAVAILABLE', 'no such model folder', { id, dir });
  if (!st.available) throw new DfdError('ERR_MODEL_UNAVAILABLE', st.error?.message ?? 'model failed its checks', { id, cause: st.error?.code });
  const model = registry.get(id);
  if (!TASKS_FOR[kind].includes(model.manifest.task)) throw new DfdError('ERR_CONFIG', `the list holds ${kind} labels but the model's task is ${model.manifest.task}`, { id });
  return model;
}

// ------------------------------------------------------------------------------ progress

/** A progress bar on stderr (a line every 10 % when stderr is not a terminal). */
export class Progress {
  private last = -1;
  private readonly tty = process.stderr.isTTY === true;
  private readonly t0 = performance.now();
  constructor(
    private readonly total: number,
    private readonly enabled: boolean,
    private readonly label = 'eval',
  ) {}

  tick(done: number, failed: number): void {
    if (!this.enabled || this.total === 0) return;
    const pct = Math.floor((100 * done) / this.total);
    const elapsed = (performance.now() - this.t0) / 1000;
    const eta = done > 0 ? (elapsed / done) * (this.total - done) : 0;
    if (this.tty) {
      const width = 30;
      const fill = Math.round((width * done) / this.total);
      process.stderr.write(`\r[${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${done}/${this.total} ${pct}% failed ${failed} eta ${eta.toFixed(0)}s `);
      if (done === this.total) process.stderr.write('\n');
    } else if (Math.floor(pct / 10) !== this.last || done === this.total) {
      this.last = Math.floor(pct / 10);
      process.stderr.write(`${this.label}: ${done}/${this.total} (${pct}%) failed ${failed} elapsed ${elapsed.toFixed(0)}s eta ${eta.toFixed(0)}s\n`);
    }
  }
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
        if (r === 'NO_FACE') failures.push({ path: it.path, line: it.line, code: 'NO_FACE' });
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
            videoChain: `ffmpeg fps=${o.videoFps}, width <= ${o.maxFrameWidth} -> FaceAnalyzer (BlazeFace + FaceMesh + aligner), largest face -> ${o.faceWindowFrames}-frame windows`,
            videoFps: o.videoFps,
            maxFrames: o.maxFrames,
            faceWindowFrames: o.faceWindowFrames,
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

/** The channel part of the audio chain, for the report. */
export function chainText(ch: ChannelSpec): string {
  if (ch.codec === 'none') return '';
  if (ch.codec === 'g711') return 'Resampler -> 8 kHz -> G.711 mu-law encode/decode -> Resampler -> 16 kHz -> ';
  const loss = ch.lossRate > 0 ? `, ${ch.lossRate * 100} % of 20 ms packets lost (seeded), concealed by OpusDecoder.conceal (libopus PLC)` : '';
  return `Opus ${ch.bitrate} bit/s (libopus encode, 20 ms frames, OpusDecoder${loss}) -> `;
}

// ------------------------------------------------------------------------------- bench

export interface BenchResult {
  model: string;
  version: string;
  window: string;
  iterations: number;
  /** Worker compute per window (preprocessing + onnxruntime run, as WindowScore.inferenceMs). */
  medianMs: number;
  p90Ms: number;
  meanMs: number;
}

/**
 * Inference cost per service window of one model through the InferenceWorker: audio windows of
 * `windowSeconds` at the model rate, or face windows of `faceWindowFrames` 256x256 crops, filled
 * with seeded noise (the cost does not depend on content). Three warm-up runs are not counted.
 */
export async function benchModel(spec: string, modelsDir: string, iterations: number, o: Pick<EvalOptions, 'windowSeconds' | 'faceWindowFrames'> = defaultEvalOptions): Promise<BenchResult> {
  let model: AvailableModel;
  try {
    model = await resolveModel(spec, 'audio', modelsDir);
  } catch (e) {
    if (!(e instanceof DfdError && e.code === 'ERR_CONFIG')) throw e;
    model = await resolveModel(spec, 'video', modelsDir);
  }
  let seed = 12345;
  const rnd = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const audio = model.manifest.audio;
  const make = (): AnalysisWindow => {
    if (audio) {
      const n = Math.round(o.windowSeconds * audio.sampleRate);
      const samples = new Float32Array(n);
      for (let i = 0; i < n; i++) samples[i] = 0.1 * Math.sin(i * 0.05) + 0.05 * (rnd() - 0.5);
      return { type: 'audio-window', stream: STREAM, seq: 0, sampleRate: audio.sampleRate, samples, rtpStart: 0, rtpEnd: 0, wallStart: 0, wallEnd: 0, speechSeconds: o.windowSeconds, quality: { packetLoss: 0, concealed: 0, bitrate: 0, bandwidth: 'none' } };
    }
    const crops = new Uint8Array(o.faceWindowFrames * 256 * 256 * 3);
    for (let i = 0; i < crops.length; i++) crops[i] = (rnd() * 256) | 0;
    return { type: 'face-window', stream: { ...STREAM, kind: 'video' }, seq: 0, width: 256, height: 256, crops, frames: o.faceWindowFrames, wallStart: 0, wallEnd: 0, quality: { frameRate: 5, faceSize: 0, packetLoss: 0 } };
  };
  const inf = await WorkerInference.open(model);
  const ms: number[] = [];
  try {
    for (let i = 0; i < iterations + 3; i++) {
      const r = await inf.run([make()]);
      if (i >= 3) ms.push(r.inferenceMs);
    }
  } finally {
    await inf.close();
  }
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return {
    model: model.id,
    version: model.manifest.version,
    window: audio ? `${o.windowSeconds} s audio at ${audio.sampleRate} Hz` : `${o.faceWindowFrames} face crops 256x256`,
    iterations,
    medianMs: at(0.5),
    p90Ms: at(0.9),
    meanMs: ms.reduce((a, b) => a + b, 0) / ms.length,
  };
}

// -------------------------------------------------------------------------------- main

const USAGE = 'usage: npm run eval -- <list.tsv> [--model <dir or id>] [--channel clean|opus24|opus12loss|g711 | --opus <bitrate>] [--out <dir>] [--window S] [--hop S] [--max-frames N] [--quiet] [--verbose]   |   npm run eval -- --bench <iterations> --model <dir or id> [--window S]';

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
  return {
    tsv,
    ...(values.model !== undefined ? { model: values.model } : {}),
    ...(opusBitrate !== undefined ? { opusBitrate } : {}),
    ...(channel !== undefined ? { channel } : {}),
    ...(values.out !== undefined ? { outDir: values.out } : {}),
    ...(maxFrames !== undefined ? { maxFrames } : {}),
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

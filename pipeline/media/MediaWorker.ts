/**
 * A media worker thread: hosts the audio and video stream processors of the taps assigned
 * to it. Everything CPU-heavy between an RTP packet and a score happens here (Opus decode,
 * resampling, Silero VAD, VP8 depacketizing, ffmpeg supervision, face detection and
 * alignment, and, in the default media-threads placement, the detectors), never on the
 * thread that carries signalling and media.
 *
 *   main --open/rtp/close--> MediaWorker --window/score/dropped/face-observation/keyframe-needed/stats--> main
 *
 * Per stream: audio/AudioStreamProcessor.ts (RTP -> PCM -> VAD -> AudioWindow), or
 * video/VideoStreamProcessor.ts (RTP -> VP8 frames) -> video/FaceWindower.ts (faces -> FaceWindow);
 * then, with `inference` set, this worker's in-thread InferencePool (a bounded fair queue per
 * detector over this worker's streams) -> scores. Without it (remote analysis, or dedicated
 * inference threads) the windows themselves go to the main thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { AudioStreamProcessor } from '../audio/AudioStreamProcessor.js';
import { SileroVadModel } from '../audio/SileroVad.js';
import { VideoStreamProcessor } from '../video/VideoStreamProcessor.js';
import { FaceWindower } from '../video/FaceWindower.js';
import { FaceAnalyzer } from '../../detectors/face/FaceAnalyzer.js';
import { FaceDescriber } from '../../detectors/face/FaceDescriber.js';
import type { AnalysisWindow, StreamRef } from '../messages.js';
import type { ColocatedInferenceConfig, FromMediaWorker, ToMediaWorker, OpenStream } from './protocol.js';
import { setLogLevel, createLogger, type LogLevel } from '../../kernel/log.js';
import { registry } from '../../kernel/metrics.js';
import { InferencePool, TASK_KIND } from '../inference/InferencePool.js';
import type { DetectorInfo } from '../inference/InferenceBackend.js';

export interface MediaWorkerConfig {
  /** Which streams this worker hosts: audio workers load the VAD, video workers the face models. */
  kind: 'audio' | 'video';
  logLevel: LogLevel;
  windowSeconds: number;
  hopSeconds: number;
  minSpeechSeconds: number;
  /** Early first window of a speech segment, seconds (0 = none): SpeechWindower's firstWindowSeconds. */
  firstWindowSeconds: number;
  videoFps: number;
  faceWindowFrames: number;
  /** Face detector on one analysed frame in N; the mesh follows the face in between (FaceTrack). */
  faceRedetectEvery: number;
  cropSize: number;
  statsIntervalMs: number;
  faceAnalysis: boolean;
  /** Describe each face window (model face-embed) for face continuity; needs faceAnalysis. */
  faceContinuity: boolean;
  /** Score windows here (media-threads placement); undefined: post the windows to the main thread. */
  inference: ColocatedInferenceConfig | undefined;
}

const cfg = workerData as MediaWorkerConfig;
setLogLevel(cfg.logLevel);
const log = createLogger('pipeline.media-worker');
const port = parentPort!;

const post = (msg: FromMediaWorker, transfer: ArrayBuffer[] = []): void => port.postMessage(msg, transfer);

interface AudioEntry {
  kind: 'audio';
  stream: StreamRef;
  proc: AudioStreamProcessor;
}

interface VideoEntry {
  kind: 'video';
  stream: StreamRef;
  proc: VideoStreamProcessor;
  /** Face analysis and windows; absent when the worker has no face models. */
  faces: FaceWindower | undefined;
}

type Entry = AudioEntry | VideoEntry;

const entries = new Map<string, Entry>();
let vad: SileroVadModel | undefined;
let faces: FaceAnalyzer | undefined;
let describer: FaceDescriber | undefined;
let pool: InferencePool | undefined;
/** Face analyses running now (all streams, closed ones included): shutdown waits for them. */
const faceRuns = new Set<Promise<void>>();

async function init(): Promise<void> {
  if (cfg.kind === 'audio') vad = await SileroVadModel.load();
  let error: string | undefined;
  if (cfg.faceAnalysis) {
    try {
      faces = await FaceAnalyzer.create({});
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
      log.error('face analysis unavailable', { error: e });
    }
    if (faces && cfg.faceContinuity) {
      try {
        describer = await FaceDescriber.load();
      } catch (e) {
        // Face continuity is off; face analysis and the face detectors go on without it.
        log.error('face continuity unavailable', { error: e });
      }
    }
  }
  let detectors: DetectorInfo[] | undefined;
  if (cfg.inference) {
    // The score detectors of this worker's kind (the pipeline keeps the speaker model on the inference thread).
    const models = cfg.inference.models.filter((m) => TASK_KIND[m.manifest.task] === cfg.kind);
    pool = new InferencePool(models, { ...cfg.inference.pool, placement: 'in-thread', workers: 1 });
    pool.on('score', (score) => post({ type: 'score', score }));
    pool.on('dropped', (drop) => post({ type: 'dropped', drop }));
    await pool.ready();
    detectors = pool.detectors();
  }
  post({ type: 'ready', faceAnalysis: faces !== undefined, ...(detectors ? { detectors } : {}), ...(error ? { error } : {}) });
}

/**
 * A window leaves the stream's stages. Scored here: the main thread gets what the verdict
 * observes first (audio with a copy of its samples for the challenge checkers, faces without
 * their crops), then this worker's pool queues the window and answers with scores later.
 * Otherwise the window itself goes to the main thread (buffers transferred, not copied).
 */
function windowOut(w: AnalysisWindow): void {
  if (!pool) {
    post({ type: 'window', window: w }, [(w.type === 'audio-window' ? w.samples : w.crops).buffer as ArrayBuffer]);
    return;
  }
  if (w.type === 'audio-window') {
    const samples = w.samples.slice();
    post({ type: 'window', window: { ...w, samples } }, [samples.buffer]);
  } else post({ type: 'window', window: { ...w, crops: new Uint8Array(0) } });
  pool.submit(w);
}

function open(m: OpenStream): void {
  if (entries.has(m.tapId)) return;
  if (m.stream.kind === 'audio') {
    if (!vad) throw new Error('audio stream sent to a video worker');
    const proc = new AudioStreamProcessor(m.stream, vad, {
      codec: m.codec ?? 'opus',
      senderNoiseSuppression: m.senderNoiseSuppression === true,
      gatewayLeg: m.gatewayLeg === true,
      payloadType: m.payloadType,
      clockRate: m.clockRate,
      windower: { windowSeconds: cfg.windowSeconds, hopSeconds: cfg.hopSeconds, minSpeechSeconds: cfg.minSpeechSeconds, firstWindowSeconds: cfg.firstWindowSeconds },
    });
    proc.on('window', windowOut);
    entries.set(m.tapId, { kind: 'audio', stream: m.stream, proc });
  } else {
    const { tapId, stream } = m;
    const proc = new VideoStreamProcessor({ payloadType: m.payloadType, decoder: { maxFps: cfg.videoFps } });
    const windower = faces ? new FaceWindower(stream, faces, () => proc.stats(), { faceWindowFrames: cfg.faceWindowFrames, cropSize: cfg.cropSize, redetectEvery: cfg.faceRedetectEvery }, describer) : undefined;
    proc.on('keyframe-needed', () => post({ type: 'keyframe-needed', tapId }));
    if (windower) {
      windower.on('observation', (observation) => post({ type: 'face-observation', tapId, stream, observation }));
      windower.on('window', windowOut);
      proc.on('frame', (f) => {
        if (shuttingDown) return;
        const run = windower.push(f);
        faceRuns.add(run);
        void run.finally(() => faceRuns.delete(run));
      });
    }
    entries.set(tapId, { kind: 'video', stream, proc, faces: windower });
  }
  post({ type: 'opened', tapId: m.tapId });
}

function close(tapId: string): void {
  const e = entries.get(tapId);
  if (!e) return;
  entries.delete(tapId);
  e.proc.close();
  if (e.kind === 'video') e.faces?.close();
}

function onRtp(m: Extract<ToMediaWorker, { type: 'rtp' }>): void {
  let start = 0;
  for (let i = 0; i < m.ends.length; i++) {
    const end = m.ends[i]!;
    const e = entries.get(m.tapIds[m.tapIndex[i]!]!);
    // Each packet gets its own copy: the audio path holds payload views while reordering.
    if (e) e.proc.push(m.data.slice(start, end), m.arrivals[i]!);
    start = end;
  }
}

let shuttingDown = false;

/**
 * Graceful exit: the thread must never be terminated while onnxruntime or libopus is inside
 * a native call (that aborts the whole process), so it closes its streams, waits for the
 * model runs in flight, releases the sessions, and only then exits on its own.
 */
async function shutdown(): Promise<void> {
  shuttingDown = true;
  for (const id of [...entries.keys()]) close(id);
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.allSettled([...faceRuns]), new Promise((r) => (timer = setTimeout(r, 5000)))]);
  clearTimeout(timer);
  // Windows still queued are answered `dropped` (closed); the batch in progress finishes first.
  await pool?.close();
  await vad?.close();
  await faces?.close();
  await describer?.close();
  post({ type: 'closed' });
  port.close();
  process.exit(0);
}

port.on('message', (m: ToMediaWorker) => {
  if (shuttingDown) return;
  switch (m.type) {
    case 'open':
      open(m);
      break;
    case 'rtp':
      onRtp(m);
      post({ type: 'batch-done' });
      break;
    case 'close':
      close(m.tapId);
      break;
    case 'shutdown':
      void shutdown();
      break;
  }
});

// Reorder buffers release held packets on time even when no new packet arrives.
setInterval(() => {
  const now = Date.now();
  for (const e of entries.values()) if (e.kind === 'audio') e.proc.poll(now);
}, 20).unref();

setInterval(() => {
  for (const [tapId, e] of entries) {
    if (e.kind === 'audio') post({ type: 'stats', tapId, stream: e.stream, audio: { ...e.proc.stats(), codec: e.proc.options.codec, clockRate: e.proc.options.clockRate } });
    else {
      const f = e.faces?.stats() ?? { analysed: 0, skipped: 0, faceSize: 0 };
      post({ type: 'stats', tapId, stream: e.stream, video: { ...e.proc.stats(), faceFramesAnalysed: f.analysed, faceFramesSkipped: f.skipped, faceSize: f.faceSize } });
    }
  }
  void registry.getMetricsAsJSON().then((metrics) => post({ type: 'metrics', metrics }));
}, cfg.statsIntervalMs).unref();

init().catch((e: unknown) => {
  post({ type: 'ready', faceAnalysis: false, error: e instanceof Error ? e.message : String(e) });
});

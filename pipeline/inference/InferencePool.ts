/**
 * Local inference service: worker threads that own onnxruntime-node sessions, fed from
 * one bounded, fairly-thinned queue per detector.
 *
 *   submit(window) ──► per-detector FairQueue ──► idle worker (one batch at a time)
 *        │ (sync, never blocks)        │ full: evict oldest of the largest stream
 *        ▼                             ▼
 *   'dropped' events + dfd_windows_dropped_total{detector,reason}
 *   worker result ──► calibrated pFake (manifest logistic) ──► 'score' WindowScore (+ task)
 *
 * Detectors: every available model whose task is in TASK_KIND; `voice-antispoof` gets the
 * audio windows, `face-forgery` and `face-pad` each get every face window. `face-forgery` may
 * score only `faceForgeryFrames` of its frames (frameSubsample.ts; the rest counted in
 * dfd_face_frames_not_scored_total, not dropped).
 * Cascade: a model whose manifest has `cascade.everyNthWindow` N (a dearer second voice stage,
 * e.g. `voice-whisper`) takes only one window in N of each stream (the 1st, the (N+1)th, ...,
 * counting the windows it could take); the others are counted in
 * dfd_cascade_windows_skipped_total{reason="sampled"}, not dropped. Its windows are due
 * `embeddingSlackMs` after they were queued, like speaker embeddings, so the first stage's windows
 * go first. Under backlog it yields first: while any queue of this pool is at least
 * `cascadeYieldFill` full, the stage leaves its sampled window to the first stage
 * ({reason="backlog"}) and takes the stream's next window instead, so an overloaded pool thins
 * the dear optional stage before it drops speaker embeddings or score windows. The verdict's
 * evidence is weighted by each detector's weight, so fewer stage windows mean less evidence and a
 * lower confidence; every score names its detector. Past that its queue thins and drops like any
 * other (counted, and in the verdict's coverage).
 *
 * Batching: faces (fixed-shape input) are micro-batched across streams up to
 * `maxBatchFrames` frames, waiting at most `maxWaitMs` for a fuller batch. Audio windows of
 * equal model length queued together run as one batch of up to `maxAudioBatch` (never waiting
 * for one: an idle worker takes what is there); the speaker-embedding LSTM costs about half as
 * much per window in batches of 8 as alone (docs/performance.md, "Inference worker").
 * Order: a free worker takes the ready detector whose next window is due first; speaker
 * embeddings (not on the score path) are due `embeddingSlackMs` after they were queued, so
 * score batches go first unless the embeddings fall that far behind.
 * Speaker embeddings under backlog: while the speaker-embed queue is at least
 * `embeddingThinFill` full, a stream whose voice is enrolled and whose last embedding matched
 * it (a shadow IdentityContinuity per stream, with the model's takeover rule) skips every other
 * window; never two in a row, never while enrolling or after a window below the threshold, so
 * the M-in-a-row takeover rule still sees consecutive windows once the voice changes (see
 * thinEmbedding). Skipped windows are counted (dfd_speaker_embeddings_skipped_total), not dropped.
 * A crashed worker is restarted; its in-flight windows are counted as dropped
 * (reason "worker-crash").
 */
import { inheritedPriority, type ThreadPriority } from '../../kernel/threadPriority.js';
import { SupervisedWorker } from '../../kernel/SupervisedWorker.js';
import { DfdError } from '../../kernel/errors.js';
import { createLogger } from '../../kernel/log.js';
import { counter, gauge, histogram, latencyBuckets } from '../../kernel/metrics.js';
import { calibrate, calibrationFor, verdictWeightFor, type CalibrationChannel, type LegCodec, type ModelTask } from '../../detectors/registry/Manifest.js';
import type { AvailableModel } from '../../detectors/registry/ModelRegistry.js';
import { streamKey, type AnalysisWindow, type AudioWindow, type FaceWindow, type StreamRef } from '../messages.js';
import { FairQueue, type QueuedItem } from './FairQueue.js';
import { WINDOWS_DROPPED_METRIC, type DetectorInfo, type DetectorScore, type DropEvent, type DropReason, type InferenceBackend, type InferenceBackendEvents } from './InferenceBackend.js';
import { audioWindowIssue } from './audioGate.js';
import { CascadeSampler } from './cascade.js';
import { subsampleFaceWindow } from './frameSubsample.js';
import { audioModelLength } from './preprocess.js';
import type { ExecutionProvider, FromWorker, RunMessage, ToWorker, WorkerModel } from './protocol.js';
import { TypedEmitter } from '../../kernel/TypedEmitter.js';
import type { InferenceRunner } from './InferenceRunner.js';
import { InThreadRunner } from './InThreadRunner.js';
import { continuityOptionsFrom, IdentityContinuity, type ContinuityResult } from '../verdict/IdentityContinuity.js';

const log = createLogger('inference-pool');

export interface InferencePoolOptions {
  /**
   * Where batches run: `threads`, `workers` inference worker threads (each runs one batch at a
   * time; the pool on the main thread ships windows to them); or `in-thread`, one InThreadRunner
   * on the pool's own thread (a pool that lives in a media worker thread: `workers` must be 1).
   */
  placement: 'threads' | 'in-thread';
  /** Executors (threads, or 1 in-thread); each runs one batch at a time. */
  workers: number;
  /** onnxruntime intra-op threads per session. */
  intraOpNumThreads: number;
  /** onnxruntime inter-op threads per session. */
  interOpNumThreads: number;
  /** onnxruntime execution provider of the sessions (protocol.ts ExecutionProvider). */
  executionProvider: ExecutionProvider;
  /**
   * Model ids whose sessions stay on the CPU whatever `executionProvider` says: a model slower on the GPU
   * than on one CPU thread (the speaker model's LSTM on WebGPU; docs/performance.md, "GPU path").
   */
  cpuModels: readonly string[];
  /** Windows queued per detector before fair thinning starts. */
  queueCapacity: number;
  /** Most face frames in one micro-batch (across streams). */
  maxBatchFrames: number;
  /**
   * Frames of each face window the face-forgery model scores (frameSubsample.ts: consecutive,
   * rotating from one window to the next); 0 scores every frame. The face-pad models always
   * score every frame. The window's evidence (its seconds) is unchanged.
   */
  faceForgeryFrames: number;
  /** Most audio windows (of equal model length) in one batch. */
  maxAudioBatch: number;
  /**
   * Speaker embeddings and cascade-stage windows are due this long after they were queued (score
   * windows at once): a free worker takes first-stage batches first unless one of those has waited
   * this much longer, ms.
   */
  embeddingSlackMs: number;
  /**
   * From this fill of the speaker-embed queue (0-1; 1 never thins: full queues drop), enrolled
   * streams whose last embedding matched their voice skip every other window (see thinEmbedding).
   */
  embeddingThinFill: number;
  /**
   * A cascade stage yields its sampled window (counted, not dropped) while any queue of this pool
   * is at least this full (0-1; 1 never yields: the stage queues and, when full, drops like any other).
   */
  cascadeYieldFill: number;
  /** Longest wait for a fuller face batch, ms. */
  maxWaitMs: number;
  /** Windows queued longer than this are dropped as stale, ms. */
  maxQueueAgeMs: number;
  /** Warn when analysis lags real time by more than this, ms. */
  lagWarnMs: number;
  /** At most one lag warning per detector per this interval, ms. */
  lagWarnIntervalMs: number;
  /** First restart delay after a worker crash (doubles while it keeps crashing), ms. */
  restartDelayMs: number;
  /** How long close() waits for a worker to finish its job and exit, ms. */
  closeTimeoutMs: number;
  /** Transfer window buffers to the worker instead of copying them. */
  transfer: boolean;
  /** Nice value and scheduling policy of the worker threads, inherited by onnxruntime's threads (kernel/threadPriority.ts). */
  threadPriority: ThreadPriority;
  /** Wall clock (Date.now by default); window wallEnd uses the same clock. */
  now: () => number;
}

export const defaultInferencePoolOptions: InferencePoolOptions = {
  placement: 'threads',
  workers: 1,
  intraOpNumThreads: 1,
  executionProvider: 'cpu',
  cpuModels: [],
  interOpNumThreads: 1,
  queueCapacity: 64,
  maxBatchFrames: 8,
  faceForgeryFrames: 0,
  maxAudioBatch: 8,
  embeddingSlackMs: 1_000,
  embeddingThinFill: 0.5,
  cascadeYieldFill: 0.25,
  maxWaitMs: 5,
  maxQueueAgeMs: 10_000,
  lagWarnMs: 3_000,
  lagWarnIntervalMs: 10_000,
  restartDelayMs: 200,
  closeTimeoutMs: 10_000,
  transfer: true,
  threadPriority: inheritedPriority,
  now: Date.now,
};

export interface InferencePoolDump {
  workers: { index: number; ready: boolean; busy: boolean; restarts: number }[];
  detectors: { id: string; usable: boolean; queued: number; streams: number }[];
}

/** What the pool remembers of a window once its buffer has gone to a worker. */
interface WindowMeta {
  stream: StreamRef;
  seq: number;
  wallEnd: number;
  evidence: number;
  frames: number;
  /** Model input length for audio (batching key), frames for faces. */
  rows: number;
  /** The channel the window came through: picks the manifest's telephone or suppressed calibration. */
  channel: CalibrationChannel;
  /** A gateway leg's window (AudioQuality.codec): picks the manifest's `verdict.weightG722` / `weightSipOpus`. */
  codec?: LegCodec;
}

interface Entry {
  window: AnalysisWindow;
  meta: WindowMeta;
}

interface Detector {
  model: AvailableModel;
  kind: 'audio' | 'video';
  queue: FairQueue<Entry>;
  frames: number;
  usable: boolean;
  lastLagWarn: number;
  /** A cascade stage's sampler (manifest `cascade.everyNthWindow`). */
  cascade?: CascadeSampler;
}

/** What the pool knows of one stream's voice, to thin its speaker embeddings under backlog. */
interface VoiceTrack {
  continuity: IdentityContinuity;
  /** The shadow tracker's answer to the stream's latest embedding. */
  last: ContinuityResult['state'] | undefined;
  /** Whether the stream's previous window skipped the embedding. */
  skippedLast: boolean;
  seenAt: number;
}

/** Voice tracks of streams not seen for this long are forgotten (a returning stream enrols again, at full rate). */
const VOICE_TRACK_TTL_MS = 120_000;

interface Job {
  id: number;
  detector: Detector;
  items: QueuedItem<Entry>[];
  dispatchedAt: number;
}

interface Slot {
  index: number;
  worker: InferenceRunner;
  /** The current thread has opened its sessions. */
  ready: boolean;
  job: Job | undefined;
  /** This slot has counted toward ready() (its first thread was ready, or gave up). */
  counted: boolean;
}

const metrics = {
  queueWait: histogram<'detector'>({ name: 'dfd_inference_queue_wait_seconds', help: 'Time a window waited in the inference queue', labelNames: ['detector'], buckets: latencyBuckets }),
  inference: histogram<'detector'>({ name: 'dfd_inference_seconds', help: 'Worker compute time per batch (preprocessing + onnxruntime run)', labelNames: ['detector'], buckets: latencyBuckets }),
  depth: gauge<'detector'>({ name: 'dfd_inference_queue_depth', help: 'Windows queued per detector', labelNames: ['detector'] }),
  dropped: counter(WINDOWS_DROPPED_METRIC),
  processed: counter<'detector'>({ name: 'dfd_windows_processed_total', help: 'Windows scored', labelNames: ['detector'] }),
  lag: histogram<'detector'>({ name: 'dfd_analysis_lag_seconds', help: 'Score time minus window wallEnd', labelNames: ['detector'], buckets: latencyBuckets }),
  lagNow: gauge<'detector'>({ name: 'dfd_analysis_lag_current_seconds', help: 'Analysis lag behind real time of the latest score', labelNames: ['detector'] }),
  restarts: counter({ name: 'dfd_inference_worker_restarts_total', help: 'Inference worker restarts after a crash' }),
  shorterThanModel: counter<'detector'>({
    name: 'dfd_windows_shorter_than_model_total',
    help: "Speech windows a model did not take because they are shorter than its manifest's minSeconds (the early first window of a segment, for models that need longer input); not a drop",
    labelNames: ['detector'],
  }),
  cascadeSkipped: counter<'detector' | 'reason'>({
    name: 'dfd_cascade_windows_skipped_total',
    help: 'Speech windows a cascade stage left to the first stage, not dropped: reason "sampled" (not its one window in N, manifest cascade.everyNthWindow) or "backlog" (yielded while a queue of its pool was backed up)',
    labelNames: ['detector', 'reason'],
  }),
  framesNotScored: counter<'detector'>({
    name: 'dfd_face_frames_not_scored_total',
    help: 'Face frames of scored windows the face-forgery model left out by design (faceForgeryFrames, DFD_FACE_FORGERY_FRAMES); not a drop',
    labelNames: ['detector'],
  }),
  embeddingsSkipped: counter<'detector'>({ name: 'dfd_speaker_embeddings_skipped_total', help: 'Speech windows not embedded by the speaker model because its queue was backed up (enrolled, matching voices only; every other window at most)', labelNames: ['detector'] }),
};

export type InferencePoolEvents = InferenceBackendEvents & {
  workercrash: [{ index: number; code: number }];
};

/** A well-formed audio window shorter than the model's minimum input. */
function isShorterThanModel(d: Detector, a: AudioWindow): boolean {
  const spec = d.model.manifest.audio;
  return spec !== undefined && a.samples instanceof Float32Array && a.samples.length > 0 && a.sampleRate > 0 && a.samples.length / a.sampleRate < spec.minSeconds;
}

/**
 * Which manifest tasks the pool runs, on which windows. `face-pad` (presentation-attack
 * models) takes the same face windows as `face-forgery`; every score and drop carries the
 * task so the verdict can weigh the two threats differently. `speaker-embed` (a speaker-embedding
 * model) takes the speech windows too, but answers `embedding` events (a vector), never scores.
 */
export const TASK_KIND: Readonly<Partial<Record<ModelTask, 'audio' | 'video'>>> = { 'voice-antispoof': 'audio', 'face-forgery': 'video', 'face-pad': 'video', 'speaker-embed': 'audio' };


export class InferencePool extends TypedEmitter<InferencePoolEvents> implements InferenceBackend {
  readonly options: InferencePoolOptions;
  private readonly detectorsById = new Map<string, Detector>();
  private readonly slots: Slot[] = [];
  private nextJobId = 1;
  private rr = 0;
  private closed = false;
  private batchTimer: NodeJS.Timeout | undefined;
  private readonly voices = new Map<string, VoiceTrack>();
  private lastVoiceSweep = 0;
  private readonly readyPromise: Promise<void>;
  private resolveReady!: () => void;
  private pendingFirstReady: number;

  constructor(models: readonly AvailableModel[], options: Partial<InferencePoolOptions> = {}) {
    super();
    this.options = { ...defaultInferencePoolOptions, ...options };
    const o = this.options;
    if (!Number.isInteger(o.workers) || o.workers < 1) throw new DfdError('ERR_CONFIG', 'workers must be a positive integer');
    if (o.placement === 'in-thread' && o.workers !== 1) throw new DfdError('ERR_CONFIG', 'an in-thread pool has exactly one executor');
    if (o.maxBatchFrames < 1 || o.maxAudioBatch < 1) throw new DfdError('ERR_CONFIG', 'batch sizes must be at least 1');
    if (!Number.isInteger(o.faceForgeryFrames) || o.faceForgeryFrames < 0) throw new DfdError('ERR_CONFIG', 'faceForgeryFrames must be a non-negative integer');
    if (!(o.embeddingSlackMs >= 0) || !(o.embeddingThinFill > 0 && o.embeddingThinFill <= 1)) throw new DfdError('ERR_CONFIG', 'embeddingSlackMs must be >= 0 and embeddingThinFill in (0, 1]');
    if (!(o.cascadeYieldFill > 0 && o.cascadeYieldFill <= 1)) throw new DfdError('ERR_CONFIG', 'cascadeYieldFill must be in (0, 1]');
    for (const model of models) {
      const kind = TASK_KIND[model.manifest.task];
      if (!kind) continue; // VAD / face detection run elsewhere
      const every = model.manifest.cascade?.everyNthWindow;
      this.detectorsById.set(model.id, {
        model,
        kind,
        queue: new FairQueue(o.queueCapacity),
        frames: 0,
        usable: true,
        lastLagWarn: -Infinity,
        ...(every !== undefined ? { cascade: new CascadeSampler(every) } : {}),
      });
    }
    this.pendingFirstReady = o.workers;
    this.readyPromise = new Promise((resolve) => (this.resolveReady = resolve));
    for (let i = 0; i < o.workers; i++) this.slots.push(this.supervise(i));
  }

  ready(): Promise<void> {
    return this.readyPromise;
  }

  detectors(): DetectorInfo[] {
    return [...this.detectorsById.values()].filter((d) => d.usable).map((d) => ({ id: d.model.id, version: d.model.manifest.version, task: d.model.manifest.task, kind: d.kind }));
  }

  dump(): InferencePoolDump {
    return {
      workers: this.slots.map((s) => ({ index: s.index, ready: s.ready, busy: s.job !== undefined, restarts: s.worker.restarts })),
      detectors: [...this.detectorsById.values()].map((d) => ({ id: d.model.id, usable: d.usable, queued: d.queue.size, streams: d.queue.streamCount })),
    };
  }

  submit(window: AnalysisWindow): boolean {
    return this.enqueue(window) > 0;
  }

  /**
   * As submit(), returning how many detectors queued the window: each of those answers it later with
   * exactly one `score`, `embedding` or `dropped` event. Detectors that did not queue it have already
   * emitted their `dropped` event (or take no part: a window shorter than the model, a thinned embedding).
   */
  enqueue(window: AnalysisWindow): number {
    if (this.closed) return 0;
    const kind = window.type === 'audio-window' ? 'audio' : 'video';
    const targets = [...this.detectorsById.values()].filter((d) => d.kind === kind);
    const now = this.options.now();
    let queued = 0;
    let first = true;
    // judged once per window, not once per detector
    const unjudgeable = window.type === 'audio-window' && targets.length > 0 && audioWindowIssue(window.samples) !== undefined;
    // The media worker's face gate marked the window (several faces, face cut off, frozen, dark).
    const unjudgeableVideo = window.type === 'face-window' && window.quality?.issue !== undefined;
    for (const d of targets) {
      const stream = window.stream;
      if (!d.usable) {
        this.drop(d, stream, window.seq, 'model-unavailable');
        continue;
      }
      if (window.type === 'audio-window' && isShorterThanModel(d, window)) {
        // A valid window this model cannot take (e.g. the 1 s early window for the 1.6 s speaker model):
        // the other detectors score it; nothing is dropped.
        metrics.shorterThanModel.inc({ detector: d.model.id });
        continue;
      }
      const meta = this.validate(d, window);
      if (!meta) {
        this.drop(d, stream, window.seq, 'bad-input');
        continue;
      }
      if (unjudgeable) {
        this.drop(d, stream, window.seq, 'unjudgeable-audio');
        continue;
      }
      if (unjudgeableVideo) {
        this.drop(d, stream, window.seq, 'unjudgeable-video');
        continue;
      }
      if (isEmbedding(d) && this.thinEmbedding(d, stream, now)) {
        metrics.embeddingsSkipped.inc({ detector: d.model.id });
        continue;
      }
      if (d.cascade) {
        const key = streamKey(stream);
        if (!d.cascade.take(key, now)) {
          metrics.cascadeSkipped.inc({ detector: d.model.id, reason: 'sampled' });
          continue;
        }
        if (this.backlogged(this.options.cascadeYieldFill)) {
          d.cascade.defer(key);
          metrics.cascadeSkipped.inc({ detector: d.model.id, reason: 'backlog' });
          continue;
        }
      }
      let w: AnalysisWindow = window;
      const sub = window.type === 'face-window' && d.model.manifest.task === 'face-forgery' ? subsampleFaceWindow(window, this.options.faceForgeryFrames) : undefined;
      if (sub && sub !== window) {
        // A copy with only the scored frames: it owns its buffer, and the original stays for the next detector.
        w = sub;
        metrics.framesNotScored.inc({ detector: d.model.id }, meta.frames - sub.frames);
        meta.frames = sub.frames;
        meta.rows = sub.frames;
      } else {
        // Each queued copy must own its buffer when buffers are transferred to worker threads.
        w = first || this.options.placement === 'in-thread' ? window : cloneWindow(window);
        first = false;
      }
      const { evicted } = d.queue.push(streamKey(stream), { window: w, meta }, now);
      d.frames += meta.frames;
      if (evicted) {
        d.frames -= evicted.item.meta.frames;
        this.drop(d, evicted.item.meta.stream, evicted.item.meta.seq, 'queue-full');
      }
      metrics.depth.set({ detector: d.model.id }, d.queue.size);
      queued++;
    }
    if (queued > 0) this.dispatch();
    return queued;
  }

  /**
   * Chaos hook: makes one worker exit abruptly after its current job, as a crash would.
   * Whatever the pool has sent it by then is dropped as "worker-crash".
   */
  crashWorker(index: number): void {
    this.slots[index]?.worker.post({ type: 'crash' });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.batchTimer) clearTimeout(this.batchTimer);
    for (const d of this.detectorsById.values()) {
      for (const it of d.queue.drain()) this.drop(d, it.item.meta.stream, it.item.meta.seq, 'closed');
      d.frames = 0;
      metrics.depth.set({ detector: d.model.id }, 0);
    }
    await Promise.all(
      this.slots.map(async (s) => {
        if (s.job) this.failJob(s, 'closed');
        s.ready = false;
        await s.worker.close();
      }),
    );
    this.resolveReady();
  }

  // -------------------------------------------------------------------------------------

  /** Whether this queue holds at least `fill` (0-1] of the queue capacity (at least one window). */
  private isFilled(d: Detector, fill: number): boolean {
    return d.queue.size >= Math.max(1, Math.ceil(this.options.queueCapacity * fill));
  }

  /** Whether any detector's queue in this pool is at least `fill` full (never, for fill 1). */
  private backlogged(fill: number): boolean {
    return fill < 1 && [...this.detectorsById.values()].some((d) => this.isFilled(d, fill));
  }

  /**
   * Whether this window skips the speaker embedding. Only while the speaker-embed queue is at
   * least `embeddingThinFill` full, and only for a stream whose voice is enrolled, whose last
   * embedding matched it ('same' in a shadow of the verdict's IdentityContinuity, with the
   * model's K/M/T) and whose previous window was embedded. So at most every other window is
   * skipped, none while enrolling, and after a window below the threshold every window is
   * embedded until the voice matches again (or a takeover re-enrols): a change of voice is
   * still caught by M windows in a row, at most one hop later than at full rate (two when the
   * queue waits longer than a hop, as the 'below' answer then comes after the next window).
   */
  private thinEmbedding(d: Detector, stream: StreamRef, now: number): boolean {
    const t = this.voiceTrack(d, stream, now);
    const backlog = this.isFilled(d, this.options.embeddingThinFill);
    const skip = this.options.embeddingThinFill < 1 && backlog && t.continuity.enrolled && t.last === 'same' && !t.skippedLast;
    t.skippedLast = skip;
    return skip;
  }

  private voiceTrack(d: Detector, stream: StreamRef, now: number): VoiceTrack {
    if (now - this.lastVoiceSweep > VOICE_TRACK_TTL_MS / 4) {
      this.lastVoiceSweep = now;
      for (const [k, t] of this.voices) if (now - t.seenAt > VOICE_TRACK_TTL_MS) this.voices.delete(k);
    }
    const key = `${d.model.id}\u0000${streamKey(stream)}`;
    let t = this.voices.get(key);
    if (!t) {
      const rule = d.model.manifest.takeover;
      const continuity = new IdentityContinuity(continuityOptionsFrom(rule));
      t = { continuity, last: undefined, skippedLast: false, seenAt: now };
      this.voices.set(key, t);
    }
    t.seenAt = now;
    return t;
  }

  private validate(d: Detector, w: AnalysisWindow): WindowMeta | undefined {
    if (w.type === 'audio-window') {
      const a: AudioWindow = w;
      const spec = d.model.manifest.audio;
      if (!spec || !(a.samples instanceof Float32Array) || a.samples.length === 0 || !(a.sampleRate > 0)) return undefined;
      const evidence = a.speechSeconds > 0 ? a.speechSeconds : a.samples.length / a.sampleRate;
      const channel = a.quality?.channel ?? 'wideband';
      const codec = a.quality?.codec !== undefined ? { codec: a.quality.codec } : {};
      return { stream: a.stream, seq: a.seq, wallEnd: a.wallEnd, evidence, frames: 0, rows: audioModelLength(a.samples.length, a.sampleRate, spec), channel, ...codec };
    }
    const f: FaceWindow = w;
    if (!d.model.manifest.image || !(f.crops instanceof Uint8Array)) return undefined;
    if (!(f.frames >= 1) || !(f.width >= 1) || !(f.height >= 1) || f.crops.length !== f.frames * f.width * f.height * 3) return undefined;
    const fps = f.quality && f.quality.frameRate > 0 ? f.quality.frameRate : f.wallEnd > f.wallStart ? f.frames / ((f.wallEnd - f.wallStart) / 1000) : 15;
    return { stream: f.stream, seq: f.seq, wallEnd: f.wallEnd, evidence: f.frames / fps, frames: f.frames, rows: f.frames, channel: 'wideband' };
  }

  private drop(d: Detector, stream: StreamRef, seq: number, reason: DropReason): void {
    metrics.dropped.inc({ detector: d.model.id, reason });
    const ev: DropEvent = { stream, seq, detector: d.model.id, task: d.model.manifest.task, modelVersion: d.model.manifest.version, reason };
    this.safeEmit('dropped', ev);
  }

  private supervise(index: number): Slot {
    const worker: InferenceRunner =
      this.options.placement === 'in-thread'
        ? new InThreadRunner()
        : new SupervisedWorker<ToWorker, FromWorker>({
            name: `inference-${index}`,
            callerUrl: import.meta.url,
            entry: 'InferenceWorker',
            priority: this.options.threadPriority,
            restartDelayMs: this.options.restartDelayMs,
            closeMessage: { type: 'close' } satisfies ToWorker,
            closeTimeoutMs: this.options.closeTimeoutMs,
          });
    const slot: Slot = { index, worker, ready: false, job: undefined, counted: false };
    worker.on('started', () => {
      slot.ready = false;
      const models: WorkerModel[] = [...this.detectorsById.values()].map((d) => ({ id: d.model.id, dir: d.model.dir, modelPath: d.model.modelPath, manifest: d.model.manifest }));
      const { intraOpNumThreads, interOpNumThreads, executionProvider, cpuModels } = this.options;
      worker.post({ type: 'init', models, intraOpNumThreads, interOpNumThreads, executionProvider, cpuModels: [...cpuModels] });
    });
    worker.on('message', (msg) => this.onMessage(slot, msg));
    worker.on('exited', (exit) => this.onExit(slot, exit.code, exit.expected));
    worker.start();
    return slot;
  }

  /** A slot's first thread is ready or gave up: ready() resolves once every slot has been counted. */
  private firstReady(slot: Slot): void {
    if (slot.counted) return;
    slot.counted = true;
    this.pendingFirstReady--;
    if (this.pendingFirstReady === 0) this.resolveReady();
  }

  private onMessage(slot: Slot, msg: FromWorker): void {
    if (this.closed) return;
    if (msg.type === 'ready') {
      for (const f of msg.failed) {
        const d = this.detectorsById.get(f.id);
        if (!d || !d.usable) continue;
        d.usable = false;
        log.error('detector cannot be opened by the inference worker', { id: f.id, error: f.message });
        for (const it of d.queue.drain()) this.drop(d, it.item.meta.stream, it.item.meta.seq, 'model-unavailable');
        d.frames = 0;
        metrics.depth.set({ detector: d.model.id }, 0);
      }
      slot.ready = true;
      slot.worker.healthy();
      this.firstReady(slot);
      this.dispatch();
      return;
    }
    const job = slot.job;
    if (!job || job.id !== msg.jobId) return;
    slot.job = undefined;
    const d = job.detector;
    if (msg.type === 'job-error') {
      log.warn('inference batch failed', { detector: d.model.id, windows: job.items.length, error: msg.message });
      for (const it of job.items) this.drop(d, it.item.meta.stream, it.item.meta.seq, 'inference-error');
    } else {
      const now = this.options.now();
      metrics.inference.observe({ detector: d.model.id }, msg.inferenceMs / 1000);
      const queueDone = job.dispatchedAt;
      if (msg.vectors && msg.dim) {
        this.emitEmbeddings(d, job.items.map((it) => it.item.meta), msg.vectors, msg.dim);
        this.dispatch();
        return;
      }
      job.items.forEach((it, i) => {
        const logit = msg.logits[i];
        const meta = it.item.meta;
        if (logit === undefined || !Number.isFinite(logit)) {
          this.drop(d, meta.stream, meta.seq, 'inference-error');
          return;
        }
        const lagMs = now - meta.wallEnd;
        metrics.processed.inc({ detector: d.model.id });
        metrics.lag.observe({ detector: d.model.id }, Math.max(0, lagMs) / 1000);
        metrics.lagNow.set({ detector: d.model.id }, lagMs / 1000);
        if (lagMs > this.options.lagWarnMs && now - d.lastLagWarn >= this.options.lagWarnIntervalMs) {
          d.lastLagWarn = now;
          log.warn('analysis lags behind real time', { detector: d.model.id, lagMs: Math.round(lagMs), queued: d.queue.size });
        }
        const score: DetectorScore = {
          type: 'score',
          stream: meta.stream,
          seq: meta.seq,
          detector: d.model.id,
          task: d.model.manifest.task,
          // the weight of the window's leg family (phone, G.722 and Opus SIP legs may carry their own)
          weight: verdictWeightFor(d.model.manifest.verdict, meta.channel, meta.codec),
          modelVersion: d.model.manifest.version,
          pFake: calibrate(calibrationFor(d.model.manifest.calibration, meta.channel), logit),
          evidence: meta.evidence,
          wallEnd: meta.wallEnd,
          queueMs: queueDone - it.enqueuedAt,
          inferenceMs: msg.inferenceMs,
        };
        this.safeEmit('score', score);
      });
    }
    this.dispatch();
  }

  /** A speaker-embedding model's answers: one vector per window, in order. */
  private emitEmbeddings(d: Detector, metas: readonly WindowMeta[], vectors: Float32Array, dim: number): void {
    metas.forEach((meta, i) => {
      const vector = vectors.slice(i * dim, (i + 1) * dim);
      if (vector.length !== dim || !vector.every(Number.isFinite)) {
        this.drop(d, meta.stream, meta.seq, 'inference-error');
        return;
      }
      metrics.processed.inc({ detector: d.model.id });
      const track = this.voices.get(`${d.model.id}\u0000${streamKey(meta.stream)}`);
      if (track) track.last = track.continuity.add(vector, meta.channel).state;
      this.safeEmit('embedding', {
        type: 'embedding',
        stream: meta.stream,
        seq: meta.seq,
        detector: d.model.id,
        modelVersion: d.model.manifest.version,
        vector,
        // the continuity rule has a threshold per channel (the manifest's takeover T, T_telephone, T_suppressed)
        channel: meta.channel,
        wallEnd: meta.wallEnd,
      });
    });
  }

  private onExit(slot: Slot, code: number, expected: boolean): void {
    slot.ready = false;
    if (this.closed || expected) return;
    log.error('inference worker exited; restarting', { index: slot.index, code });
    this.safeEmit('workercrash', { index: slot.index, code });
    if (slot.job) this.failJob(slot, 'worker-crash');
    this.firstReady(slot);
    metrics.restarts.inc();
    this.dispatch();
  }

  private failJob(slot: Slot, reason: DropReason): void {
    const job = slot.job;
    slot.job = undefined;
    if (!job) return;
    for (const it of job.items) this.drop(job.detector, it.item.meta.stream, it.item.meta.seq, reason);
  }

  private shift(d: Detector): QueuedItem<Entry> | undefined {
    const it = d.queue.shift();
    if (it) d.frames -= it.item.meta.frames;
    return it;
  }

  /** Drops stale heads; returns whether the detector has a batch worth running now, or the ms to wait. */
  private readiness(d: Detector, now: number): true | number | undefined {
    for (let head = d.queue.peek(); head && now - head.enqueuedAt > this.options.maxQueueAgeMs; head = d.queue.peek()) {
      this.shift(d);
      this.drop(d, head.item.meta.stream, head.item.meta.seq, 'stale');
    }
    const head = d.queue.peek();
    if (!head || !d.usable) return undefined;
    if (d.kind === 'audio' || d.frames >= this.options.maxBatchFrames) return true;
    const waited = now - head.enqueuedAt;
    return waited >= this.options.maxWaitMs ? true : this.options.maxWaitMs - waited;
  }

  private dispatch(): void {
    if (this.closed) return;
    const now = this.options.now();
    const detectors = [...this.detectorsById.values()];
    let wait = Infinity;
    for (const slot of this.slots) {
      if (!slot.ready || slot.job || !slot.worker.running) continue;
      // The ready detector whose next window is due first; ties go round-robin.
      let chosen: Detector | undefined;
      let chosenK = 0;
      let due = Infinity;
      for (let k = 0; k < detectors.length; k++) {
        const d = detectors[(this.rr + k) % detectors.length]!;
        const r = this.readiness(d, now);
        if (r === true) {
          const at = d.queue.peek()!.enqueuedAt + (isEmbedding(d) || d.cascade ? this.options.embeddingSlackMs : 0);
          if (at < due) {
            due = at;
            chosen = d;
            chosenK = k;
          }
        } else if (typeof r === 'number') wait = Math.min(wait, r);
      }
      if (!chosen) break;
      this.rr = (this.rr + chosenK + 1) % detectors.length;
      this.runBatch(slot, chosen, now);
    }
    for (const d of detectors) metrics.depth.set({ detector: d.model.id }, d.queue.size);
    if (this.batchTimer) clearTimeout(this.batchTimer);
    this.batchTimer = undefined;
    if (Number.isFinite(wait) && this.slots.some((s) => s.ready && !s.job)) {
      this.batchTimer = setTimeout(() => {
        this.batchTimer = undefined;
        this.dispatch();
      }, Math.max(1, Math.ceil(wait)));
    }
  }

  private runBatch(slot: Slot, d: Detector, now: number): void {
    const first = this.shift(d)!;
    const items = [first];
    if (d.kind === 'video') {
      let frames = first.item.meta.frames;
      for (let next = d.queue.peek(); next && frames + next.item.meta.frames <= this.options.maxBatchFrames; next = d.queue.peek()) {
        frames += next.item.meta.frames;
        items.push(this.shift(d)!);
      }
    } else {
      const rows = first.item.meta.rows;
      for (let next = d.queue.peek(); next && items.length < this.options.maxAudioBatch && next.item.meta.rows === rows; next = d.queue.peek()) {
        items.push(this.shift(d)!);
      }
    }
    const job: Job = { id: this.nextJobId++, detector: d, items, dispatchedAt: now };
    slot.job = job;
    for (const it of items) metrics.queueWait.observe({ detector: d.model.id }, Math.max(0, now - it.enqueuedAt) / 1000);
    const windows = items.map((it) => it.item.window);
    const msg: RunMessage = { type: 'run', jobId: job.id, modelId: d.model.id, windows };
    const transfer: ArrayBuffer[] = [];
    if (this.options.transfer) {
      for (const w of windows) {
        const arr = w.type === 'audio-window' ? w.samples : w.crops;
        if (arr.buffer instanceof ArrayBuffer && arr.byteOffset === 0 && arr.byteLength === arr.buffer.byteLength) transfer.push(arr.buffer);
      }
    }
    if (!slot.worker.post(msg, transfer)) {
      log.error('cannot post a batch to the inference worker', { detector: d.model.id });
      this.failJob(slot, 'inference-error');
    }
  }
}

function isEmbedding(d: Detector): boolean {
  return d.model.manifest.task === 'speaker-embed';
}

function cloneWindow(w: AnalysisWindow): AnalysisWindow {
  return w.type === 'audio-window' ? { ...w, samples: w.samples.slice() } : { ...w, crops: w.crops.slice() };
}

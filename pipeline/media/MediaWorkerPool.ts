/**
 * Main-thread side of the media workers. Taps are assigned to the worker with the fewest
 * streams; RTP packets are copied into a per-worker batch and posted every `batchMs`, so
 * the main loop spends microseconds per packet and never waits for analysis. A worker
 * that dies is replaced; its streams are re-opened there (their windows in flight are
 * lost and counted).
 */
import { inheritedPriority, type ThreadPriority } from '../../kernel/threadPriority.js';
import { SupervisedWorker } from '../../kernel/SupervisedWorker.js';
import { TypedEmitter } from '../../kernel/TypedEmitter.js';
import { createLogger, currentLogLevel } from '../../kernel/log.js';
import { counter, gauge, setThreadMetrics } from '../../kernel/metrics.js';
import type { StreamRef, AudioWindow, FaceWindow, MediaKind } from '../messages.js';
import type { FromMediaWorker, OpenStream, ToMediaWorker, StreamMedia, StreamStats } from './protocol.js';
import type { MediaWorkerConfig } from './MediaWorker.js';
import type { FaceObservation } from '../../detectors/face/FaceObservation.js';
import { ColocatedInference } from '../inference/ColocatedInference.js';

const log = createLogger('pipeline.media');

export interface MediaWorkerPoolOptions extends Omit<MediaWorkerConfig, 'kind'> {
  /** Worker threads for audio streams (decode, resample, VAD). */
  audioWorkers: number;
  /** Worker threads for video streams (VP8 decode supervision, face detection). Kept apart so faces never starve audio. */
  videoWorkers: number;
  /** How often batched RTP is posted to the workers. */
  batchMs: number;
  /** Nice value and scheduling policy of the worker threads and the decoders they start (kernel/threadPriority.ts). */
  threadPriority: ThreadPriority;
  /** Packets buffered per worker between posts; beyond it packets are dropped (counted). */
  maxBatchPackets: number;
  /**
   * RTP batches posted to a worker and not yet processed. A worker that falls this far behind
   * (about maxInFlightBatches * batchMs of media) gets no more packets until it catches up:
   * analysis of its streams sees the gap as loss, nothing queues without bound.
   */
  maxInFlightBatches: number;
  /** How long shutdown waits for a worker to exit on its own before terminating it. */
  closeTimeoutMs: number;
}

export const defaultMediaWorkerPoolOptions: MediaWorkerPoolOptions = {
  audioWorkers: 1,
  videoWorkers: 1,
  batchMs: 10,
  threadPriority: inheritedPriority,
  maxBatchPackets: 20_000,
  maxInFlightBatches: 100,
  closeTimeoutMs: 10_000,
  /** The media workers' log level (default: the level this thread logs at when the pool starts). */
  logLevel: 'info',
  windowSeconds: 2,
  hopSeconds: 1,
  minSpeechSeconds: 0.5,
  firstWindowSeconds: 1,
  videoFps: 5,
  faceWindowFrames: 5,
  faceRedetectEvery: 5,
  cropSize: 256,
  statsIntervalMs: 1000,
  faceAnalysis: true,
  faceContinuity: true,
  inference: undefined,
};

export interface MediaWorkerPoolEvents {
  window: [w: AudioWindow | FaceWindow];
  'face-observation': [stream: StreamRef, o: FaceObservation];
  'keyframe-needed': [tapId: string];
  stats: [s: StreamStats];
}

const droppedPackets = counter<'reason'>({
  name: 'dfd_pipeline_rtp_dropped_total',
  help: 'RTP packets not handed to a media worker: backlog (worker behind), batch-full, worker-down',
  labelNames: ['reason'],
});
const workerRestarts = counter({ name: 'dfd_pipeline_media_worker_restarts_total', help: 'Media worker threads that died and were replaced' });
const activeStreams = gauge<'kind'>({ name: 'dfd_pipeline_active_streams', help: 'Streams being analysed', labelNames: ['kind'] });

interface Batch {
  tapIds: string[];
  tapIndexOf: Map<string, number>;
  tapIndex: number[];
  arrivals: number[];
  ends: number[];
  chunks: Buffer[];
  bytes: number;
}

interface Slot {
  index: number;
  kind: MediaKind;
  worker: SupervisedWorker<ToMediaWorker, FromMediaWorker>;
  /** The current thread's models are loaded (renewed when a thread is replaced). */
  ready: Promise<{ faceAnalysis: boolean }>;
  resolveReady: (r: { faceAnalysis: boolean }) => void;
  streams: Map<string, OpenStream>;
  batch: Batch;
  alive: boolean;
  /** Batches posted and not yet processed. */
  inFlight: number;
}

const emptyBatch = (): Batch => ({ tapIds: [], tapIndexOf: new Map(), tapIndex: [], arrivals: [], ends: [], chunks: [], bytes: 0 });

export class MediaWorkerPool extends TypedEmitter<MediaWorkerPoolEvents> {
  readonly options: MediaWorkerPoolOptions;
  /** With `options.inference`: the workers' scores, embeddings and drops (media-threads placement). */
  readonly inference: ColocatedInference | undefined;
  readonly #slots: Slot[] = [];
  readonly #slotOf = new Map<string, Slot>();
  readonly #opened = new Map<string, () => void>();
  readonly #timer: NodeJS.Timeout;
  #closed = false;
  #forced = 0;

  constructor(options: Partial<MediaWorkerPoolOptions> = {}) {
    super();
    this.options = { ...defaultMediaWorkerPoolOptions, logLevel: currentLogLevel(), ...options };
    const { audioWorkers, videoWorkers } = this.options;
    this.inference = this.options.inference ? new ColocatedInference(() => this.ready()) : undefined;
    for (let i = 0; i < audioWorkers + videoWorkers; i++) this.#slots.push(this.#supervise(i, i < audioWorkers ? 'audio' : 'video'));
    this.#timer = setInterval(() => this.#flush(), this.options.batchMs);
    this.#timer.unref();
  }

  /** Resolves once every worker loaded its models. */
  async ready(): Promise<{ faceAnalysis: boolean }> {
    const video = this.#slots.filter((s) => s.kind === 'video');
    await Promise.all(this.#slots.map((s) => s.ready));
    const r = await Promise.all(video.map((s) => s.ready));
    return { faceAnalysis: r.length > 0 && r.every((x) => x.faceAnalysis) };
  }

  /** Opens a stream on the least-loaded worker; resolves when the worker is ready for its packets. */
  open(tapId: string, stream: StreamRef, media: StreamMedia): Promise<void> {
    const mine = this.#slots.filter((s) => s.kind === stream.kind);
    const slot = mine.filter((s) => s.alive).sort((a, b) => a.streams.size - b.streams.size)[0] ?? mine[0]!;
    const { payloadType, clockRate, codec, senderNoiseSuppression, gatewayLeg } = media;
    const msg: OpenStream = { type: 'open', tapId, stream, payloadType, clockRate, ...(codec ? { codec } : {}), ...(senderNoiseSuppression ? { senderNoiseSuppression } : {}), ...(gatewayLeg ? { gatewayLeg } : {}) };
    slot.streams.set(tapId, msg);
    this.#slotOf.set(tapId, slot);
    activeStreams.inc({ kind: stream.kind });
    const opened = new Promise<void>((resolve) => this.#opened.set(tapId, resolve));
    void slot.ready.then(() => slot.worker.post(msg));
    return opened;
  }

  /** Hot path: called for every tapped RTP packet. Copies and returns at once. */
  push(tapId: string, packet: Buffer, arrivalMs: number): void {
    const slot = this.#slotOf.get(tapId);
    if (!slot || !slot.alive) {
      droppedPackets.inc({ reason: 'worker-down' });
      return;
    }
    if (slot.inFlight >= this.options.maxInFlightBatches) {
      droppedPackets.inc({ reason: 'backlog' });
      return;
    }
    if (slot.batch.ends.length >= this.options.maxBatchPackets) {
      droppedPackets.inc({ reason: 'batch-full' });
      return;
    }
    const b = slot.batch;
    let idx = b.tapIndexOf.get(tapId);
    if (idx === undefined) {
      idx = b.tapIds.push(tapId) - 1;
      b.tapIndexOf.set(tapId, idx);
    }
    b.tapIndex.push(idx);
    b.arrivals.push(arrivalMs);
    b.chunks.push(packet);
    b.bytes += packet.length;
    b.ends.push(b.bytes);
  }

  close(tapId: string): void {
    const slot = this.#slotOf.get(tapId);
    if (!slot) return;
    const s = slot.streams.get(tapId);
    if (s) activeStreams.dec({ kind: s.stream.kind });
    slot.streams.delete(tapId);
    this.#slotOf.delete(tapId);
    this.#opened.delete(tapId);
    if (slot.alive) slot.worker.post({ type: 'close', tapId });
  }

  /** Posts every pending batch now instead of at the next `batchMs` tick. */
  flush(): void {
    this.#flush();
  }

  /** Workers that had to be terminated at shutdown instead of exiting on their own. */
  get forcedTerminations(): number {
    return this.#forced;
  }

  /** For tests: kill a worker thread as a crash would. */
  async crash(index: number): Promise<void> {
    await this.#slots[index]?.worker.terminate();
  }

  async shutdown(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    await Promise.all(
      this.#slots.map(async (s) => {
        s.alive = false;
        // The worker exits by itself once its model runs are done (SupervisedWorker.close).
        const { forced } = await s.worker.close();
        if (forced) this.#forced++;
      }),
    );
  }

  #supervise(index: number, kind: MediaKind): Slot {
    const faceAnalysis = kind === 'video' && this.options.faceAnalysis;
    const config: MediaWorkerConfig = { ...this.options, kind, faceAnalysis, faceContinuity: faceAnalysis && this.options.faceContinuity };
    const worker = new SupervisedWorker<ToMediaWorker, FromMediaWorker>({
      name: `media-${index}`,
      callerUrl: import.meta.url,
      entry: 'MediaWorker',
      workerData: config,
      priority: this.options.threadPriority,
      closeMessage: { type: 'shutdown' } satisfies ToMediaWorker,
      closeTimeoutMs: this.options.closeTimeoutMs,
    });
    const slot: Slot = { index, kind, worker, ready: Promise.resolve({ faceAnalysis: false }), resolveReady: () => undefined, streams: new Map(), batch: emptyBatch(), alive: false, inFlight: 0 };
    worker.on('started', (generation) => {
      slot.ready = new Promise((r) => (slot.resolveReady = r));
      slot.batch = emptyBatch();
      slot.inFlight = 0;
      slot.alive = true;
      if (generation === 1) return;
      // A replacement: re-open the streams the dead thread had; video needs a keyframe to restart decoding.
      for (const msg of slot.streams.values()) void slot.ready.then(() => worker.post(msg));
      for (const [tapId, msg] of slot.streams) if (msg.stream.kind === 'video') this.safeEmit('keyframe-needed', tapId);
    });
    worker.on('exited', ({ expected, code }) => {
      slot.alive = false;
      if (expected || this.#closed) return;
      workerRestarts.inc();
      log.error('media worker exited; replacing it', { index, code });
    });
    worker.on('message', (m) => this.#onMessage(slot, m));
    worker.start();
    return slot;
  }

  #onMessage(slot: Slot, m: FromMediaWorker): void {
    switch (m.type) {
      case 'ready':
        if (m.error) log.warn('media worker degraded', { index: slot.index, error: m.error });
        slot.worker.healthy();
        if (m.detectors) this.inference?.workerReady(slot.index, m.detectors);
        slot.resolveReady({ faceAnalysis: m.faceAnalysis });
        break;
      case 'opened':
        this.#opened.get(m.tapId)?.();
        this.#opened.delete(m.tapId);
        break;
      case 'window':
        this.safeEmit('window', m.window);
        break;
      case 'score':
        this.inference?.score(m.score);
        break;
      case 'dropped':
        this.inference?.dropped(m.drop);
        break;
      case 'face-observation':
        this.safeEmit('face-observation', m.stream, m.observation);
        break;
      case 'keyframe-needed':
        this.safeEmit('keyframe-needed', m.tapId);
        break;
      case 'stats':
        this.safeEmit('stats', m);
        break;
      case 'batch-done':
        slot.inFlight = Math.max(0, slot.inFlight - 1);
        break;
      case 'closed':
        break;
      case 'metrics':
        setThreadMetrics(`media-${slot.index}`, m.metrics as Parameters<typeof setThreadMetrics>[1]);
        break;
    }
  }

  #flush(): void {
    for (const slot of this.#slots) {
      const b = slot.batch;
      if (b.ends.length === 0 || !slot.alive) continue;
      const data = new Uint8Array(b.bytes);
      let off = 0;
      for (const c of b.chunks) {
        data.set(c, off);
        off += c.length;
      }
      const msg: ToMediaWorker = {
        type: 'rtp',
        tapIds: b.tapIds,
        tapIndex: Uint16Array.from(b.tapIndex),
        arrivals: Float64Array.from(b.arrivals),
        ends: Uint32Array.from(b.ends),
        // One copy we own, so it can be transferred.
        data,
      };
      slot.batch = emptyBatch();
      slot.inFlight++;
      slot.worker.post(msg, [msg.data.buffer as ArrayBuffer, msg.tapIndex.buffer as ArrayBuffer, msg.arrivals.buffer as ArrayBuffer, msg.ends.buffer as ArrayBuffer]);
    }
  }
}

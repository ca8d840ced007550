/**
 * Service side of remote analysis (`DFD_ANALYSIS=remote`): an InferenceBackend whose windows are
 * scored by analysis workers (`npm run worker`, cluster/AnalysisWorkerNode.ts) over NATS instead
 * of local threads. The pipeline cannot tell the difference: same windows in, same `score`,
 * `embedding` and `dropped` events out.
 *
 *   submit(window) ──► FairQueue (bounded; full: the oldest window of the largest stream is dropped,
 *        │              'queue-full', as the local pool thins)
 *        ▼
 *   at most `maxInFlight` requests ──► NATS request <prefix>_work.v1.infer (queue group: one worker)
 *        │ reply: results ──► score / embedding / dropped events (validated, with the window's own stream)
 *        │ no reply in `timeoutMs` (worker died, stalled or overloaded) or ERR_WORKER_BUSY:
 *        ▼        retried up to `retries` times (NATS picks a worker again), then dropped 'remote-timeout'
 *   no worker subscribed: dropped 'no-workers' at once
 *
 * Decode, VAD and windowing stay on the service node (that is where RTP arrives); what crosses
 * the network is windows of PCM or face crops (events/workWire.ts) and their results. Every drop
 * reaches the verdict, whose confidence counts it, exactly as local drops do.
 */
import type { NatsConnection } from 'nats';
import { DfdError, isDfdError } from '../kernel/errors.js';
import { createLogger } from '../kernel/log.js';
import { counter, gauge, histogram, latencyBuckets } from '../kernel/metrics.js';
import { TypedEmitter } from '../kernel/TypedEmitter.js';
import type { AvailableModel } from '../detectors/registry/ModelRegistry.js';
import { FairQueue } from '../pipeline/inference/FairQueue.js';
import { TASK_KIND } from '../pipeline/inference/InferencePool.js';
import { DROP_REASONS, WINDOWS_DROPPED_METRIC, type DetectorInfo, type DropReason, type InferenceBackend, type InferenceBackendEvents } from '../pipeline/inference/InferenceBackend.js';
import { streamKey, type AnalysisWindow } from '../pipeline/messages.js';
import { decodeWorkReply, encodeWorkRequest, pcmToS16, type WorkRequestHeader, type WorkResult } from '../events/workWire.js';
import { workSubjects } from './workSubjects.js';

const log = createLogger('cluster.remote-inference');

const metrics = {
  requests: counter<'outcome'>({ name: 'dfd_remote_requests_total', help: 'Remote analysis requests by outcome (ok, timeout, busy, no-workers, bad-reply, error)', labelNames: ['outcome'] }),
  retries: counter({ name: 'dfd_remote_retries_total', help: 'Remote analysis requests sent again after a timeout or a busy worker' }),
  latency: histogram({ name: 'dfd_remote_request_seconds', help: 'Remote analysis round trip (request to reply), successful requests', buckets: latencyBuckets }),
  inFlight: gauge({ name: 'dfd_remote_in_flight', help: 'Remote analysis requests awaiting a reply' }),
  queued: gauge({ name: 'dfd_remote_queue_depth', help: 'Windows waiting to be sent to an analysis worker' }),
  // The windows this side drops (a worker counts the ones it drops on its own /metrics).
  dropped: counter(WINDOWS_DROPPED_METRIC),
};

export interface RemoteInferenceOptions {
  /** Subject prefix (DFD_SUBJECT_PREFIX); the work subject is `<prefix>_work.v1.infer`. */
  subjectPrefix: string;
  /** A request not answered in this time is retried or dropped, ms. */
  timeoutMs: number;
  /** Times a request is sent again after a timeout or a busy worker. */
  retries: number;
  /** Requests awaiting replies at most; more windows wait in the fair queue. */
  maxInFlight: number;
  /** Windows waiting at most before fair thinning. */
  queueCapacity: number;
  /** A window older than this is not sent (or sent again): dropped as stale, ms. */
  maxQueueAgeMs: number;
  now: () => number;
}

export const defaultRemoteInferenceOptions: RemoteInferenceOptions = {
  subjectPrefix: 'dfd.v1',
  timeoutMs: 2_000,
  retries: 1,
  maxInFlight: 32,
  queueCapacity: 128,
  maxQueueAgeMs: 10_000,
  now: Date.now,
};

interface Pending {
  window: AnalysisWindow;
  /** When the window was submitted (age for staleness). */
  at: number;
}

/** The request header and body of a window (the header is the window without its buffer). */
export function workRequestOf(w: AnalysisWindow): { header: WorkRequestHeader; body: Uint8Array } {
  if (w.type === 'audio-window') {
    const { samples, type, stream, seq, sampleRate, rtpStart, rtpEnd, wallStart, wallEnd, speechSeconds, quality } = w;
    const q = {
      packetLoss: quality.packetLoss,
      concealed: quality.concealed,
      bitrate: quality.bitrate,
      bandwidth: quality.bandwidth,
      ...(quality.channel ? { channel: quality.channel } : {}),
      // the worker's verdict weight depends on it (a gateway leg's own, Manifest verdict.weightG722 / weightSipOpus)
      ...(quality.codec !== undefined ? { codec: quality.codec } : {}),
    };
    const header: WorkRequestHeader = { v: 1, type, stream, seq, sampleRate, samples: samples.length, encoding: 's16', rtpStart, rtpEnd, wallStart, wallEnd, speechSeconds, quality: q };
    // int16: half the bytes of float32, and the precision the audio was decoded at.
    return { header, body: pcmToS16(samples) };
  }
  const { crops, type, stream, seq, width, height, frames, wallStart, wallEnd, quality } = w;
  return { header: { v: 1, type, stream, seq, width, height, frames, wallStart, wallEnd, quality }, body: crops };
}

export class RemoteInference extends TypedEmitter<InferenceBackendEvents> implements InferenceBackend {
  readonly options: RemoteInferenceOptions;
  readonly #nc: NatsConnection;
  readonly #subject: string;
  readonly #detectors: DetectorInfo[];
  readonly #queue: FairQueue<Pending>;
  #inFlight = 0;
  #closed = false;
  readonly #settled = new Set<Promise<void>>();

  /** `models`: the detectors the workers run (the service's own registry: same files, same manifests). */
  constructor(nc: NatsConnection, models: readonly AvailableModel[], options: Partial<RemoteInferenceOptions> = {}) {
    super();
    this.options = { ...defaultRemoteInferenceOptions, ...options };
    if (!(this.options.maxInFlight >= 1) || !(this.options.timeoutMs > 0) || !(this.options.retries >= 0)) throw new DfdError('ERR_CONFIG', 'maxInFlight >= 1, timeoutMs > 0 and retries >= 0 are required');
    this.#nc = nc;
    this.#subject = workSubjects(this.options.subjectPrefix).infer;
    this.#queue = new FairQueue(this.options.queueCapacity);
    this.#detectors = models.flatMap((m): DetectorInfo[] => {
      const kind = TASK_KIND[m.manifest.task];
      return kind ? [{ id: m.id, version: m.manifest.version, task: m.manifest.task, kind }] : [];
    });
  }

  /** Ready at once: workers may come and go; until one answers, windows are retried or dropped and counted. */
  ready(): Promise<void> {
    return Promise.resolve();
  }

  detectors(): DetectorInfo[] {
    return [...this.#detectors];
  }

  submit(window: AnalysisWindow): boolean {
    if (this.#closed) return false;
    const kind = window.type === 'audio-window' ? 'audio' : 'video';
    if (!this.#detectors.some((d) => d.kind === kind)) return false;
    const ok = window.type === 'audio-window' ? window.samples instanceof Float32Array && window.samples.length > 0 : window.crops instanceof Uint8Array && window.crops.length === window.frames * window.width * window.height * 3;
    if (!ok) {
      this.#dropAll(window, 'bad-input');
      return false;
    }
    const now = this.options.now();
    const { evicted } = this.#queue.push(streamKey(window.stream), { window, at: now }, now);
    if (evicted) this.#dropAll(evicted.item.window, 'queue-full');
    metrics.queued.set(this.#queue.size);
    this.#pump();
    return true;
  }

  /** Stops sending; windows still queued are dropped as closed; resolves when every request in flight has settled. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const it of this.#queue.drain()) this.#dropAll(it.item.window, 'closed');
    metrics.queued.set(0);
    await Promise.allSettled([...this.#settled]);
  }

  #pump(): void {
    while (!this.#closed && this.#inFlight < this.options.maxInFlight) {
      const next = this.#queue.shift();
      if (!next) break;
      const p = this.#send(next.item);
      this.#settled.add(p);
      void p.finally(() => this.#settled.delete(p));
    }
    metrics.queued.set(this.#queue.size);
  }

  async #send(item: Pending): Promise<void> {
    this.#inFlight++;
    metrics.inFlight.set(this.#inFlight);
    const { header, body } = workRequestOf(item.window);
    const data = encodeWorkRequest(header, body);
    try {
      for (let attempt = 0; ; attempt++) {
        if (this.options.now() - item.at > this.options.maxQueueAgeMs) {
          this.#dropAll(item.window, 'stale');
          return;
        }
        const t0 = performance.now();
        const outcome = await this.#request(data);
        if (outcome.kind === 'ok') {
          metrics.requests.inc({ outcome: 'ok' });
          metrics.latency.observe((performance.now() - t0) / 1000);
          this.#deliver(item.window, outcome.results);
          return;
        }
        metrics.requests.inc({ outcome: outcome.kind });
        if (outcome.kind === 'no-workers') {
          this.#dropAll(item.window, 'no-workers');
          return;
        }
        if ((outcome.kind === 'timeout' || outcome.kind === 'busy') && attempt < this.options.retries && !this.#closed) {
          metrics.retries.inc();
          continue;
        }
        this.#dropAll(item.window, outcome.kind === 'bad-reply' || outcome.kind === 'error' ? 'inference-error' : 'remote-timeout');
        return;
      }
    } finally {
      this.#inFlight--;
      metrics.inFlight.set(this.#inFlight);
      this.#pump();
    }
  }

  async #request(data: Uint8Array): Promise<{ kind: 'ok'; results: WorkResult[] } | { kind: 'timeout' | 'busy' | 'no-workers' | 'bad-reply' | 'error' }> {
    let reply;
    try {
      reply = await this.#nc.request(this.#subject, data, { timeout: this.options.timeoutMs });
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === '503') return { kind: 'no-workers' };
      if (code === 'TIMEOUT') return { kind: 'timeout' };
      log.warn('remote analysis request failed', { error: e });
      return { kind: 'error' };
    }
    try {
      const r = decodeWorkReply(reply.data);
      if ('error' in r) {
        if (r.error.code === 'ERR_WORKER_BUSY') return { kind: 'busy' };
        log.warn('analysis worker refused a window', { code: r.error.code, message: r.error.message });
        return { kind: 'error' };
      }
      return { kind: 'ok', results: r.results };
    } catch (e) {
      if (!isDfdError(e, 'ERR_WORK_MESSAGE')) throw e;
      log.warn('remote analysis reply rejected', { error: e });
      return { kind: 'bad-reply' };
    }
  }

  /** Results carry the window's own stream, seq and wall clock; only detectors this service knows are believed. */
  #deliver(w: AnalysisWindow, results: readonly WorkResult[]): void {
    for (const r of results) {
      const d = this.#detectors.find((x) => x.id === r.detector);
      if (!d) continue;
      if (r.type === 'score') {
        this.safeEmit('score', { type: 'score', stream: w.stream, seq: w.seq, detector: d.id, task: d.task, weight: r.weight, modelVersion: r.modelVersion, pFake: r.pFake, evidence: r.evidence, wallEnd: w.wallEnd, queueMs: r.queueMs, inferenceMs: r.inferenceMs });
      } else if (r.type === 'embedding') {
        const vector = Float32Array.from(r.vector);
        if (!vector.every(Number.isFinite)) continue;
        // a noise-suppressed sender's window is marked on this side (the wire's channel is wideband or telephone)
        const channel = r.channel === 'wideband' && w.type === 'audio-window' && w.quality?.channel === 'suppressed' ? 'suppressed' : r.channel;
        this.safeEmit('embedding', { type: 'embedding', stream: w.stream, seq: w.seq, detector: d.id, modelVersion: r.modelVersion, vector, channel, wallEnd: w.wallEnd });
      } else {
        const reason = DROP_REASONS.find((x) => x === r.reason) ?? 'inference-error';
        // the worker's own model version; a worker from before the field existed: the one this service lists
        this.safeEmit('dropped', { stream: w.stream, seq: w.seq, detector: d.id, task: d.task, modelVersion: r.modelVersion ?? d.version, reason });
      }
    }
  }

  #dropAll(w: AnalysisWindow, reason: DropReason): void {
    const kind = w.type === 'audio-window' ? 'audio' : 'video';
    for (const d of this.#detectors) {
      if (d.kind !== kind) continue;
      metrics.dropped.inc({ detector: d.id, reason });
      this.safeEmit('dropped', { stream: w.stream, seq: w.seq, detector: d.id, task: d.task, modelVersion: d.version, reason });
    }
  }
}

/**
 * Worker side of remote analysis (`npm run worker`): joins the work queue group on NATS and
 * scores each window it is handed with a local InferencePool (the same worker threads,
 * onnxruntime sessions, fair queues and calibration as a service running analysis itself).
 *
 *   <prefix>_work.v1.infer (queue group) ──► decodeWorkRequest (bad: ERR_WORK_MESSAGE reply, counted)
 *        ──► InferencePool.enqueue ──► one score / embedding / dropped per detector ──► reply
 *
 * Back-pressure: more than `maxPending` windows in progress answers ERR_WORKER_BUSY at once, so
 * the service sends the window again (NATS picks a worker again) instead of waiting for a
 * timeout. A worker that dies simply stops answering: its windows time out on the service and
 * are retried elsewhere or counted as dropped; nothing here has to survive it.
 */
import type { Msg, NatsConnection, Subscription } from 'nats';
import { DfdError, isDfdError, toDfdError } from '../kernel/errors.js';
import { createLogger } from '../kernel/log.js';
import { counter, gauge, histogram, latencyBuckets } from '../kernel/metrics.js';
import type { InferencePool } from '../pipeline/inference/InferencePool.js';
import { streamKey, type AnalysisWindow, type StreamRef } from '../pipeline/messages.js';
import { decodeWorkRequest, encodeWorkReply, pcmOf, type WorkRequestHeader, type WorkResult } from '../events/workWire.js';
import { workSubjects } from './workSubjects.js';

const log = createLogger('cluster.worker');

const metrics = {
  handled: counter<'outcome'>({ name: 'dfd_worker_requests_total', help: 'Work requests handled by this analysis worker, by outcome (ok, busy, rejected, duplicate)', labelNames: ['outcome'] }),
  pending: gauge({ name: 'dfd_worker_pending_windows', help: 'Windows this analysis worker is scoring now' }),
  latency: histogram({ name: 'dfd_worker_request_seconds', help: 'Time from a work request arriving to its reply', buckets: latencyBuckets }),
};

export interface AnalysisWorkerNodeOptions {
  subjectPrefix: string;
  /** Windows in progress at most; beyond it requests are answered ERR_WORKER_BUSY. */
  maxPending: number;
}

export const defaultAnalysisWorkerNodeOptions: AnalysisWorkerNodeOptions = { subjectPrefix: 'dfd.v1', maxPending: 256 };

interface InProgress {
  msg: Msg;
  started: number;
  results: WorkResult[];
  /** Results still to come from the pool (set once enqueue returned). */
  awaiting: number | undefined;
}

const keyOf = (s: StreamRef, seq: number): string => `${streamKey(s)}\u0000${seq}`;

/** The window a request describes; the body's bytes become its samples (float32 as sent, int16 scaled) or crops (no copy). */
export function windowOf(header: WorkRequestHeader, body: Uint8Array): AnalysisWindow {
  if (header.type === 'audio-window') {
    const { v: _v, samples: _n, encoding, ...rest } = header;
    return { ...rest, samples: pcmOf(encoding, body) };
  }
  const { v: _v, ...rest } = header;
  return { ...rest, crops: body };
}

export class AnalysisWorkerNode {
  readonly options: AnalysisWorkerNodeOptions;
  readonly #nc: NatsConnection;
  readonly #pool: InferencePool;
  readonly #inProgress = new Map<string, InProgress>();
  #sub: Subscription | undefined;
  #loop: Promise<void> | undefined;

  constructor(nc: NatsConnection, pool: InferencePool, options: Partial<AnalysisWorkerNodeOptions> = {}) {
    this.options = { ...defaultAnalysisWorkerNodeOptions, ...options };
    this.#nc = nc;
    this.#pool = pool;
    pool.on('score', (s) => this.#result(s.stream, s.seq, { type: 'score', detector: s.detector, task: s.task, weight: s.weight, modelVersion: s.modelVersion, pFake: s.pFake, evidence: s.evidence, queueMs: s.queueMs, inferenceMs: s.inferenceMs }));
    // The wire keeps wideband/telephone (service nodes of any version accept it); the node that sent the window knows
    // whether its sender suppresses noise and picks that threshold itself (RemoteInference).
    pool.on('embedding', (e) => this.#result(e.stream, e.seq, { type: 'embedding', detector: e.detector, modelVersion: e.modelVersion, vector: [...e.vector], channel: e.channel === 'telephone' ? 'telephone' : 'wideband' }));
    pool.on('dropped', (d) => this.#result(d.stream, d.seq, { type: 'dropped', detector: d.detector, ...(d.task ? { task: d.task } : {}), modelVersion: d.modelVersion, reason: d.reason }));
  }

  /** Joins the queue group; requests are served until close(). */
  start(): void {
    if (this.#sub) return;
    const { infer, queue } = workSubjects(this.options.subjectPrefix);
    const sub = this.#nc.subscribe(infer, { queue });
    this.#sub = sub;
    this.#loop = (async () => {
      for await (const msg of sub) this.#handle(msg);
    })();
    log.info('serving analysis work', { subject: infer, queue });
  }

  /** Windows in progress now. */
  get pending(): number {
    return this.#inProgress.size;
  }

  /** Stops taking work (the queue group hands new requests to other workers); pending windows still get their replies. */
  async close(): Promise<void> {
    const sub = this.#sub;
    if (!sub) return;
    this.#sub = undefined;
    await sub.drain().catch(() => undefined);
    await this.#loop;
  }

  #handle(msg: Msg): void {
    if (!msg.reply) {
      metrics.handled.inc({ outcome: 'rejected' });
      return;
    }
    let window: AnalysisWindow;
    try {
      const { header, body } = decodeWorkRequest(msg.data);
      window = windowOf(header, body);
    } catch (e) {
      metrics.handled.inc({ outcome: 'rejected' });
      if (!isDfdError(e)) log.error('work request failed unexpectedly', { error: e });
      this.#replyError(msg, isDfdError(e) ? e : toDfdError(e));
      return;
    }
    if (this.#inProgress.size >= this.options.maxPending) {
      metrics.handled.inc({ outcome: 'busy' });
      this.#replyError(msg, new DfdError('ERR_WORKER_BUSY', undefined, { pending: this.#inProgress.size }));
      return;
    }
    const key = keyOf(window.stream, window.seq);
    if (this.#inProgress.has(key)) {
      // The same window again (the service retried while this worker still holds it): the first answers.
      metrics.handled.inc({ outcome: 'duplicate' });
      this.#replyError(msg, new DfdError('ERR_WORKER_BUSY', 'window already in progress here'));
      return;
    }
    const entry: InProgress = { msg, started: performance.now(), results: [], awaiting: undefined };
    this.#inProgress.set(key, entry);
    metrics.pending.set(this.#inProgress.size);
    // Drops for detectors that cannot take the window are emitted during enqueue, into entry.results.
    entry.awaiting = this.#pool.enqueue(window);
    this.#finishIfDone(key, entry);
  }

  /**
   * A result for a window in progress. Drops emitted during enqueue (awaiting still undefined) are only collected;
   * every later result answers one of the detectors that queued the window.
   */
  #result(stream: StreamRef, seq: number, r: WorkResult): void {
    const key = keyOf(stream, seq);
    const entry = this.#inProgress.get(key);
    if (!entry) return;
    entry.results.push(r);
    if (entry.awaiting !== undefined && entry.awaiting > 0) entry.awaiting--;
    this.#finishIfDone(key, entry);
  }

  #finishIfDone(key: string, entry: InProgress): void {
    if (entry.awaiting === undefined || entry.awaiting > 0) return;
    this.#inProgress.delete(key);
    metrics.pending.set(this.#inProgress.size);
    metrics.handled.inc({ outcome: 'ok' });
    metrics.latency.observe((performance.now() - entry.started) / 1000);
    entry.msg.respond(encodeWorkReply({ v: 1, results: entry.results }));
  }

  #replyError(msg: Msg, e: DfdError): void {
    msg.respond(encodeWorkReply({ v: 1, error: { code: e.code, message: e.message.slice(0, 500) } }));
  }
}

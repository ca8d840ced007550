/**
 * Runs the audio measurement pass in a worker thread, so a long challenge response or a
 * baseline update never blocks the event loop that paces RTP and answers signalling.
 * One worker, one request on the thread at a time, a per-request deadline; pass
 * `worker.analyse` as the ChallengeManager's `analyser`.
 *
 * Two kinds of work share the thread, and they are not equal:
 *   response  a challenge's answer, waited on by an open challenge: served first, bounded
 *             by `maxQueue`;
 *   baseline  a caller's normal speech for the personal baseline: served when no response
 *             waits, callers without a personal baseline yet before refreshes, oldest first
 *             within each; bounded by `maxBaselineQueue`.
 * So a join storm (every caller's first baseline chunks at once) can never push a challenge's
 * answer out of the queue. The baseline queue stays 16 deep: a deeper one (128) gave every
 * caller of an 80-stream storm a personal baseline 5-6 s sooner, and was not adopted under two
 * rules fixed before their runs (its runs dropped a few more speaker embeddings, within the
 * bench's spread; docs/performance.md, "Challenge analysis under a join storm").
 */
import { inheritedPriority, type ThreadPriority } from '../../kernel/threadPriority.js';
import { SupervisedWorker } from '../../kernel/SupervisedWorker.js';
import { DfdError, type ErrorCode, ErrorCodes } from '../../kernel/errors.js';
import { histogram } from '../../kernel/metrics.js';
import type { AnalyseOptions, AudioAnalysis } from './analyse.js';

/** What a request is for (AnalysisWorker's file comment). */
export type AnalysisJob = { kind: 'response' } | { kind: 'baseline'; /** The caller's baseline is already personal (a refresh). */ personal: boolean };

const waitSeconds = histogram({
  name: 'dfd_challenge_analysis_wait_seconds',
  help: 'Time a challenge-analysis request waited for the analysis thread, by kind (response, baseline)',
  labelNames: ['kind'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40],
});

export interface AnalysisWorkerOptions {
  /** Challenge responses waiting or running at most; more are refused with ERR_QUEUE_FULL. */
  maxQueue: number;
  /** Baseline chunks waiting or running at most (each holds its samples); more are refused with ERR_QUEUE_FULL. */
  maxBaselineQueue: number;
  /** A request the thread does not answer this long after taking it is rejected (and the thread restarted), ms. */
  timeoutMs: number;
  /** Extra Node flags for the worker. */
  execArgv: string[];
  /** Nice value and scheduling policy of the worker thread (kernel/threadPriority.ts). */
  threadPriority: ThreadPriority;
}

export const defaultAnalysisWorkerOptions: AnalysisWorkerOptions = {
  maxQueue: 16,
  maxBaselineQueue: 16,
  timeoutMs: 20_000,
  execArgv: [],
  threadPriority: inheritedPriority,
};

interface Request {
  id: number;
  samples: Float32Array;
  options: Partial<AnalyseOptions>;
}

interface Reply {
  id: number;
  analysis?: AudioAnalysis;
  error?: { message: string; code?: string };
}

interface Pending {
  id: number;
  job: AnalysisJob;
  samples: Float32Array;
  options: Partial<AnalyseOptions>;
  queuedAt: number;
  resolve: (a: AudioAnalysis) => void;
  reject: (e: DfdError) => void;
}

/** One thread, started on the first request; a thread that dies or hangs fails its request and is replaced for the next. */
export class AnalysisWorker {
  private readonly options: AnalysisWorkerOptions;
  private readonly worker: SupervisedWorker<Request, Reply>;
  /** Waiting, in arrival order per kind; `running` is on the thread. */
  private readonly responses: Pending[] = [];
  private readonly baselines: Pending[] = [];
  private running: { pending: Pending; timer: NodeJS.Timeout } | undefined;
  private nextId = 1;
  private closed = false;

  constructor(options: Partial<AnalysisWorkerOptions> = {}) {
    this.options = { ...defaultAnalysisWorkerOptions, ...options };
    this.worker = new SupervisedWorker<Request, Reply>({
      name: 'challenge-analysis',
      callerUrl: import.meta.url,
      entry: 'analysisWorkerMain',
      priority: this.options.threadPriority,
      ...(this.options.execArgv.length > 0 ? { execArgv: this.options.execArgv } : {}),
      restart: 'on-demand',
      unref: true,
    });
    this.worker.on('message', (msg) => this.onReply(msg));
    // The thread died or was ended: the request on it fails; the waiting ones go to a new thread.
    this.worker.on('exited', ({ expected }) => {
      if (expected) return;
      const run = this.running;
      this.running = undefined;
      if (run) {
        clearTimeout(run.timer);
        run.pending.reject(new DfdError('ERR_INTERNAL', 'analysis worker failed'));
      }
      this.dispatch();
    });
  }

  /**
   * Same contract as analyseAudio, asynchronous; `job` says what the request is for (a
   * challenge response unless said otherwise). The caller's samples are copied once (they
   * stay usable); the copy is transferred to the worker, not cloned a second time.
   */
  readonly analyse = (samples: Float32Array, options: Partial<AnalyseOptions> = {}, job: AnalysisJob = { kind: 'response' }): Promise<AudioAnalysis> => {
    if (this.closed) return Promise.reject(new DfdError('ERR_CLOSED', 'analysis worker is closed'));
    const running = this.running?.pending.job.kind === job.kind ? 1 : 0;
    const [queue, max] = job.kind === 'response' ? [this.responses, this.options.maxQueue] : [this.baselines, this.options.maxBaselineQueue];
    if (queue.length + running >= max) return Promise.reject(new DfdError('ERR_QUEUE_FULL', `audio analysis (${job.kind})`, { max }));
    return new Promise<AudioAnalysis>((resolve, reject) => {
      queue.push({ id: this.nextId++, job, samples: samples.slice(), options, queuedAt: performance.now(), resolve, reject });
      this.dispatch();
    });
  };

  /** Requests waiting or running. */
  get queued(): number {
    return this.responses.length + this.baselines.length + (this.running ? 1 : 0);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.failAll(new DfdError('ERR_CLOSED', 'analysis worker is closed'));
    await this.worker.close();
  }

  /** Puts the next request on the idle thread: a response, else a first baseline, else a refresh. */
  private dispatch(): void {
    if (this.running || this.closed) return;
    const next = this.responses.shift() ?? this.takeBaseline();
    if (!next) return;
    this.worker.start();
    const timer = setTimeout(() => {
      if (this.running?.pending !== next) return;
      this.running = undefined;
      next.reject(new DfdError('ERR_INTERNAL', 'audio analysis timed out', { timeoutMs: this.options.timeoutMs }));
      // The thread may be stuck in a long computation: replace it; the waiting requests go to the new one.
      void this.worker.terminate();
      this.dispatch();
    }, this.options.timeoutMs);
    this.running = { pending: next, timer };
    waitSeconds.observe({ kind: next.job.kind }, (performance.now() - next.queuedAt) / 1000);
    const { samples } = next;
    if (!this.worker.post({ id: next.id, samples, options: next.options }, [samples.buffer as ArrayBuffer])) {
      clearTimeout(timer);
      this.running = undefined;
      next.reject(new DfdError('ERR_INTERNAL', 'analysis worker is not running'));
      // Nothing else can start now either: the thread is gone until the next request restarts it.
      this.failAll(new DfdError('ERR_INTERNAL', 'analysis worker is not running'));
    }
  }

  /** The oldest baseline of a caller who has no personal baseline yet, else the oldest refresh. */
  private takeBaseline(): Pending | undefined {
    const first = this.baselines.findIndex((p) => p.job.kind === 'baseline' && !p.job.personal);
    return this.baselines.splice(first >= 0 ? first : 0, 1)[0];
  }

  private onReply(msg: Reply): void {
    const run = this.running;
    if (!run || run.pending.id !== msg.id) return;
    this.running = undefined;
    clearTimeout(run.timer);
    if (msg.analysis) run.pending.resolve(msg.analysis);
    else {
      const code: ErrorCode = msg.error?.code !== undefined && msg.error.code in ErrorCodes ? (msg.error.code as ErrorCode) : 'ERR_INTERNAL';
      run.pending.reject(new DfdError(code, msg.error?.message));
    }
    this.dispatch();
  }

  private failAll(e: DfdError): void {
    if (this.running) {
      clearTimeout(this.running.timer);
      this.running.pending.reject(e);
      this.running = undefined;
    }
    for (const p of this.responses.splice(0)) p.reject(e);
    for (const p of this.baselines.splice(0)) p.reject(e);
  }
}

/**
 * Runs the audio measurement pass in a worker thread, so a long challenge response or a
 * baseline update never blocks the event loop that paces RTP and answers signalling.
 * One worker, a bounded queue, a per-request deadline; pass `worker.analyse` as the
 * ChallengeManager's `analyser`.
 */
import { inheritedPriority, type ThreadPriority } from '../../kernel/threadPriority.js';
import { SupervisedWorker } from '../../kernel/SupervisedWorker.js';
import { DfdError, type ErrorCode, ErrorCodes } from '../../kernel/errors.js';
import type { AnalyseOptions, AudioAnalysis } from './analyse.js';

export interface AnalysisWorkerOptions {
  /** Requests waiting or running at most; more are refused with ERR_QUEUE_FULL. */
  maxQueue: number;
  /** A request not answered by then is rejected (and the worker restarted), ms. */
  timeoutMs: number;
  /** Extra Node flags for the worker. */
  execArgv: string[];
  /** Nice value and scheduling policy of the worker thread (kernel/threadPriority.ts). */
  threadPriority: ThreadPriority;
}

export const defaultAnalysisWorkerOptions: AnalysisWorkerOptions = {
  maxQueue: 16,
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
  resolve: (a: AudioAnalysis) => void;
  reject: (e: DfdError) => void;
  timer: NodeJS.Timeout;
}

/** One thread, started on the first request; a thread that dies or hangs is replaced by the next request. */
export class AnalysisWorker {
  private readonly options: AnalysisWorkerOptions;
  private readonly worker: SupervisedWorker<Request, Reply>;
  private readonly pending = new Map<number, Pending>();
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
    this.worker.on('exited', ({ expected }) => {
      if (!expected) this.failAll(new DfdError('ERR_INTERNAL', 'analysis worker failed'));
    });
  }

  /**
   * Same contract as analyseAudio, asynchronous. The caller's samples are copied once (they
   * stay usable); the copy is transferred to the worker, not cloned a second time.
   */
  readonly analyse = (samples: Float32Array, options: Partial<AnalyseOptions> = {}): Promise<AudioAnalysis> => {
    if (this.closed) return Promise.reject(new DfdError('ERR_CLOSED', 'analysis worker is closed'));
    if (this.pending.size >= this.options.maxQueue) return Promise.reject(new DfdError('ERR_QUEUE_FULL', 'audio analysis', { max: this.options.maxQueue }));
    this.worker.start();
    const id = this.nextId++;
    return new Promise<AudioAnalysis>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new DfdError('ERR_INTERNAL', 'audio analysis timed out', { timeoutMs: this.options.timeoutMs }));
        this.restart();
      }, this.options.timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      const copy = samples.slice();
      if (!this.worker.post({ id, samples: copy, options }, [copy.buffer as ArrayBuffer])) {
        this.pending.delete(id);
        clearTimeout(timer);
        reject(new DfdError('ERR_INTERNAL', 'analysis worker is not running'));
      }
    });
  };

  get queued(): number {
    return this.pending.size;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.failAll(new DfdError('ERR_CLOSED', 'analysis worker is closed'));
    await this.worker.close();
  }

  private onReply(msg: Reply): void {
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    clearTimeout(p.timer);
    if (msg.analysis) p.resolve(msg.analysis);
    else {
      const code: ErrorCode = msg.error?.code !== undefined && msg.error.code in ErrorCodes ? (msg.error.code as ErrorCode) : 'ERR_INTERNAL';
      p.reject(new DfdError(code, msg.error?.message));
    }
  }

  /** A request timed out: the thread may be stuck in a long computation; replace it (the next request starts one). */
  private restart(): void {
    this.failAll(new DfdError('ERR_INTERNAL', 'analysis worker restarted'));
    void this.worker.terminate();
  }

  private failAll(e: DfdError): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(e);
      this.pending.delete(id);
    }
  }
}

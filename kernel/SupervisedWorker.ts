/**
 * One supervised worker thread: the start, restart and stop logic every pool of worker
 * threads shares (media workers, inference workers, the challenge's audio analysis).
 *
 *   start() ──► 'started' (post your init) ──► 'message'* ──► exit
 *                                                              │
 *        expected (close()) ◄──────────────────────────────────┤
 *        unexpected: 'exited' {expected: false} ──► restart: 'always'    → start again after a backoff
 *                                                    restart: 'on-demand' → the next start() does
 *
 * - Messages of a worker that has already been replaced are never delivered: a consumer sees
 *   one generation at a time and needs no "is this still my worker" checks.
 * - Backoff: the n-th crash in a row waits `restartDelayMs × 2^(n-1)` (at least 50 ms from the
 *   second on, at most `maxRestartDelayMs`); `healthy()` (the worker said it is ready) ends the run.
 * - close(): posts `closeMessage` and waits up to `closeTimeoutMs` for the worker to exit by
 *   itself (terminating it inside a native call, e.g. onnxruntime's run(), can abort the
 *   process); terminating is the last resort and is reported as `forced`.
 */
import type { Transferable, Worker } from 'node:worker_threads';
import { createLogger } from './log.js';
import { TypedEmitter } from './TypedEmitter.js';
import type { ThreadPriority } from './threadPriority.js';
import { startWorker } from './workerThread.js';

const log = createLogger('worker');

export interface SupervisedWorkerOptions {
  /** For logs: which worker this is (e.g. "media-0"). */
  name: string;
  /** `import.meta.url` of the module beside the entry. */
  callerUrl: string;
  /** Entry module name without extension, beside `callerUrl`. */
  entry: string;
  workerData?: unknown;
  /** Node flags for the worker (default: the parent's). */
  execArgv?: readonly string[];
  /** Nice value, policy and CPUs the thread gives itself before its entry runs. */
  priority?: ThreadPriority;
  /** After an unexpected exit: start again by itself (`always`), or only when start() is called next. */
  restart: 'always' | 'on-demand';
  /** Delay before the first restart of a run of crashes, ms (0: at once). */
  restartDelayMs: number;
  /** Longest restart delay, ms. */
  maxRestartDelayMs: number;
  /** Asks the worker to finish and exit; without one close() terminates at once. */
  closeMessage?: unknown;
  /** How long close() waits for the worker to exit after `closeMessage`, ms. */
  closeTimeoutMs: number;
  /** Whether the thread may keep the process alive. */
  unref: boolean;
}

export const defaultSupervisedWorkerOptions = {
  restart: 'always',
  restartDelayMs: 0,
  maxRestartDelayMs: 10_000,
  closeTimeoutMs: 10_000,
  unref: false,
} as const satisfies Partial<SupervisedWorkerOptions>;

export interface WorkerExit {
  code: number;
  /** Whether close() asked for it. */
  expected: boolean;
  /** Unexpected exits with `restart: 'always'`: when the next worker starts, ms from now. */
  restartInMs?: number;
}

export interface SupervisedWorkerEvents<FromWorker> {
  /** A new thread started (the first, or a replacement): post its initial messages here. */
  started: [generation: number];
  message: [msg: FromWorker];
  /** The current thread exited; whatever it held is lost. */
  exited: [exit: WorkerExit];
}

type Options = Omit<SupervisedWorkerOptions, keyof typeof defaultSupervisedWorkerOptions> & Partial<SupervisedWorkerOptions>;

export class SupervisedWorker<ToWorker, FromWorker> extends TypedEmitter<SupervisedWorkerEvents<FromWorker>> {
  readonly options: SupervisedWorkerOptions;
  #worker: Worker | undefined;
  #generation = 0;
  #restarts = 0;
  #crashesInARow = 0;
  #restartTimer: NodeJS.Timeout | undefined;
  #closing = false;

  constructor(options: Options) {
    super();
    this.options = { ...defaultSupervisedWorkerOptions, ...options };
  }

  /** Whether a thread is running now (it may still be loading). */
  get running(): boolean {
    return this.#worker !== undefined;
  }

  /** Threads started so far (1 after the first start). */
  get generation(): number {
    return this.#generation;
  }

  /** Replacements started after unexpected exits. */
  get restarts(): number {
    return this.#restarts;
  }

  /** Starts a thread unless one runs or the worker is closed; a pending restart happens now instead. */
  start(): void {
    if (this.#worker || this.#closing) return;
    if (this.#restartTimer) clearTimeout(this.#restartTimer);
    this.#restartTimer = undefined;
    if (this.#generation > 0) this.#restarts++;
    this.#generation++;
    const { callerUrl, entry, workerData, execArgv, priority } = this.options;
    const w = startWorker(callerUrl, entry, {
      ...(workerData !== undefined ? { workerData } : {}),
      ...(execArgv ? { execArgv: [...execArgv] } : {}),
      ...(priority ? { priority } : {}),
    });
    this.#worker = w;
    if (this.options.unref) w.unref();
    w.on('message', (m: FromWorker) => {
      if (this.#worker === w) this.safeEmit('message', m);
    });
    w.on('error', (error) => log.error('worker thread failed', { name: this.options.name, error }));
    w.on('exit', (code) => this.#onExit(w, code));
    this.safeEmit('started', this.#generation);
  }

  /** Posts to the current thread; false when there is none (or it is gone), the message is then not delivered. */
  post(msg: ToWorker, transfer?: readonly Transferable[]): boolean {
    const w = this.#worker;
    if (!w) return false;
    try {
      w.postMessage(msg, transfer as Transferable[] | undefined);
      return true;
    } catch (error) {
      log.error('cannot post to a worker thread', { name: this.options.name, error });
      return false;
    }
  }

  /** The thread is ready: ends the current run of crashes, so the next one restarts without backoff. */
  healthy(): void {
    this.#crashesInARow = 0;
  }

  /**
   * Ends the current thread as a crash would (a hung job, chaos tests): it is detached at once
   * (its messages are no longer delivered, the next start() or restart gets a new thread) and
   * the restart policy applies; resolves when the old thread is gone.
   */
  async terminate(): Promise<void> {
    const w = this.#worker;
    if (!w) return;
    const gone = w.terminate();
    this.#onExit(w, 1);
    await gone;
  }

  /** Stops for good. `forced`: the thread did not exit by itself within `closeTimeoutMs` and was terminated. */
  async close(): Promise<{ forced: boolean }> {
    if (this.#closing) return { forced: false };
    this.#closing = true;
    if (this.#restartTimer) clearTimeout(this.#restartTimer);
    this.#restartTimer = undefined;
    const w = this.#worker;
    if (!w) return { forced: false };
    const exited = new Promise<void>((resolve) => w.once('exit', () => resolve()));
    if (this.options.closeMessage === undefined || !this.post(this.options.closeMessage as ToWorker)) {
      await w.terminate();
      await exited;
      return { forced: false };
    }
    let timer: NodeJS.Timeout | undefined;
    const late = await Promise.race([exited.then(() => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(true), this.options.closeTimeoutMs)))]);
    clearTimeout(timer);
    if (late) {
      log.warn('worker thread did not exit after close; terminating it', { name: this.options.name, timeoutMs: this.options.closeTimeoutMs });
      await w.terminate();
    }
    return { forced: late };
  }

  #onExit(w: Worker, code: number): void {
    if (this.#worker !== w) return;
    this.#worker = undefined;
    if (this.#closing) {
      this.safeEmit('exited', { code, expected: true });
      return;
    }
    if (this.options.restart === 'on-demand') {
      this.safeEmit('exited', { code, expected: false });
      return;
    }
    this.#crashesInARow++;
    const n = this.#crashesInARow;
    const base = n === 1 ? this.options.restartDelayMs : Math.max(50, this.options.restartDelayMs);
    const delay = Math.min(this.options.maxRestartDelayMs, base * 2 ** (n - 1));
    log.error('worker thread exited; restarting it', { name: this.options.name, code, inMs: delay });
    this.safeEmit('exited', { code, expected: false, restartInMs: delay });
    if (this.#closing) return; // a listener closed it
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      this.start();
    }, delay);
  }
}

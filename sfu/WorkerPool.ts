/**
 * A pool of mediasoup workers, one per core by default. Rooms are spread over workers
 * round-robin (by current load). A worker that dies is replaced; the pool emits
 * `workerdied` so the room manager can close the rooms it hosted.
 *
 * mediasoup spawns its workers in the service's process group, so a signal to the group
 * (Ctrl-C, `kill -- -PGID`) stops them at the same moment it asks the service to shut down.
 * The service calls `stopSupervising()` from its signal handler, before any such exit is
 * seen (the kernel delivers SIGTERM/SIGINT before the SIGCHLD of a worker that exits on
 * it): from then on a worker exit is expected, logged at info, and never replaced.
 */
import os from 'node:os';
import { mediasoup, type types } from './mediasoup.js';
import { TypedEmitter } from '../kernel/TypedEmitter.js';
import { createLogger } from '../kernel/log.js';
import { counter, gauge } from '../kernel/metrics.js';
import { DfdError } from '../kernel/errors.js';
import { setAffinity, setRealtime, type RealtimePolicy } from '../kernel/threadPriority.js';

const log = createLogger('sfu.workers');

export interface WorkerPoolOptions {
  numWorkers: number;
  rtcMinPort: number;
  rtcMaxPort: number;
  logLevel: types.WorkerLogLevel;
  /** How often worker CPU usage is sampled for metrics. */
  usageIntervalMs: number;
  /**
   * Nice value given to each worker process once started (0: leave it). Negative raises the
   * forwarding's priority over analysis and needs CAP_SYS_NICE; refused, the worker runs on at
   * the default and a warning says so.
   */
  nice: number;
  /** CPUs every thread of each worker process may run on (empty: any); refused, a warning. */
  cpus: readonly number[];
  /**
   * Scheduling policy of each worker process: 'normal', or real time ('fifo', 'rr') at `rtPriority`:
   * a packet to forward wakes the worker at once, whatever analysis or anything else keeps the
   * CPUs busy. Needs CAP_SYS_NICE or RLIMIT_RTPRIO; refused, the worker runs on at the default and a
   * warning says so. The service's default is 'fifo' (DFD_SFU_SCHED); the pool's own is 'normal'.
   */
  sched: 'normal' | RealtimePolicy;
  /** Real-time priority (1-99) with `sched` fifo or rr. */
  rtPriority: number;
}

export const defaultWorkerPoolOptions: WorkerPoolOptions = {
  numWorkers: 1,
  rtcMinPort: 40000,
  rtcMaxPort: 49999,
  logLevel: 'warn',
  usageIntervalMs: 10_000,
  nice: 0,
  cpus: [],
  sched: 'normal',
  rtPriority: 10,
};

export interface WorkerSlot {
  readonly index: number;
  worker: types.Worker;
  /** Routers (rooms) currently hosted. */
  load: number;
}

export interface WorkerPoolEvents {
  workerdied: [slot: WorkerSlot, oldWorker: types.Worker, error: Error];
  workerreplaced: [slot: WorkerSlot];
}

const workerRestarts = counter({ name: 'dfd_sfu_worker_restarts_total', help: 'mediasoup workers that died and were replaced' });
const workerCpu = gauge<'worker'>({ name: 'dfd_sfu_worker_cpu_seconds', help: 'CPU seconds (user+system) used by each mediasoup worker', labelNames: ['worker'] });
const workersAlive = gauge({ name: 'dfd_sfu_workers_alive', help: 'mediasoup workers alive' });

export class WorkerPool extends TypedEmitter<WorkerPoolEvents> {
  readonly options: WorkerPoolOptions;
  readonly #slots: WorkerSlot[] = [];
  #closed = false;
  #supervising = true;
  #usageTimer: NodeJS.Timeout | undefined;

  private constructor(options: WorkerPoolOptions) {
    super();
    this.options = options;
  }

  static async create(options: Partial<WorkerPoolOptions> = {}): Promise<WorkerPool> {
    const pool = new WorkerPool({ ...defaultWorkerPoolOptions, ...options });
    for (let i = 0; i < pool.options.numWorkers; i++) {
      const slot: WorkerSlot = { index: i, worker: await pool.#spawn(i), load: 0 };
      pool.#slots.push(slot);
    }
    workersAlive.set(pool.#slots.length);
    pool.#usageTimer = setInterval(() => void pool.#sampleUsage(), pool.options.usageIntervalMs);
    pool.#usageTimer.unref();
    return pool;
  }

  get slots(): readonly WorkerSlot[] {
    return this.#slots;
  }

  /** The least-loaded worker (ties broken by index: round-robin as rooms are added). */
  pick(): WorkerSlot {
    if (this.#closed) throw new DfdError('ERR_CLOSED', 'worker pool');
    let best: WorkerSlot | undefined;
    for (const s of this.#slots) if (!s.worker.closed && (!best || s.load < best.load)) best = s;
    if (!best) throw new DfdError('ERR_WORKER_DIED', 'no live mediasoup worker');
    return best;
  }

  alive(): number {
    return this.#slots.filter((s) => !s.worker.closed).length;
  }

  async #spawn(index: number): Promise<types.Worker> {
    const { numWorkers, rtcMinPort, rtcMaxPort, logLevel } = this.options;
    // Each worker gets its own slice of the port range so they never compete for ports.
    const span = Math.floor((rtcMaxPort - rtcMinPort + 1) / numWorkers);
    const worker = await mediasoup.createWorker({
      logLevel,
      rtcMinPort: rtcMinPort + index * span,
      rtcMaxPort: rtcMinPort + (index + 1) * span - 1,
      appData: { index },
    });
    worker.on('died', (error: Error) => this.#onDied(index, worker, error));
    if (this.options.nice !== 0) {
      try {
        os.setPriority(worker.pid, this.options.nice);
      } catch (e) {
        log.warn('mediasoup worker keeps the default priority', { index, pid: worker.pid, nice: this.options.nice, error: e instanceof Error ? e.message : String(e) });
      }
    }
    if (this.options.sched !== 'normal') {
      try {
        setRealtime(worker.pid, this.options.sched, this.options.rtPriority);
      } catch (e) {
        log.warn('mediasoup worker keeps the default scheduling policy', { index, pid: worker.pid, sched: this.options.sched, error: e instanceof Error ? e.message : String(e) });
      }
    }
    if (this.options.cpus.length > 0) {
      try {
        setAffinity(worker.pid, this.options.cpus, true);
      } catch (e) {
        log.warn('mediasoup worker keeps its CPU affinity', { index, pid: worker.pid, cpus: [...this.options.cpus], error: e instanceof Error ? e.message : String(e) });
      }
    }
    log.info('worker started', { index, pid: worker.pid });
    return worker;
  }

  #onDied(index: number, worker: types.Worker, error: Error): void {
    const slot = this.#slots[index];
    if (!slot || slot.worker !== worker || this.#closed) return;
    if (!this.#supervising) {
      log.info('worker stopped during shutdown', { index, pid: worker.pid });
      workersAlive.set(this.alive());
      return;
    }
    workerRestarts.inc();
    log.error('worker died', { index, pid: worker.pid, error });
    workersAlive.set(this.alive());
    this.safeEmit('workerdied', slot, worker, error);
    slot.load = 0;
    const respawn = async (attempt: number): Promise<void> => {
      if (this.#closed || !this.#supervising) return;
      try {
        slot.worker = await this.#spawn(index);
        workersAlive.set(this.alive());
        this.safeEmit('workerreplaced', slot);
      } catch (e) {
        log.error('worker respawn failed', { index, attempt, error: e });
        setTimeout(() => void respawn(attempt + 1), Math.min(30_000, 500 * 2 ** attempt)).unref();
      }
    };
    void respawn(0);
  }

  async #sampleUsage(): Promise<void> {
    for (const s of this.#slots) {
      if (s.worker.closed) continue;
      try {
        const u = await s.worker.getResourceUsage();
        workerCpu.set({ worker: String(s.index) }, (u.ru_utime + u.ru_stime) / 1000);
      } catch {
        /* worker closing */
      }
    }
  }

  /**
   * The service is shutting down: from now on a worker that exits is expected (logged at
   * info, not replaced, no `workerdied`). close() still stops them all. Idempotent.
   */
  stopSupervising(): void {
    this.#supervising = false;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#usageTimer);
    for (const s of this.#slots) s.worker.close();
    workersAlive.set(0);
  }
}

/**
 * What the inference pool runs its batches on: one slot's executor. Two placements:
 * - `threads`: a kernel/SupervisedWorker running InferenceWorker.ts (its own thread, restarted
 *   after a crash); the pool lives on the main thread and ships windows to it.
 * - `in-thread`: InThreadRunner.ts, an InferenceEngine on the pool's own thread; used where the
 *   pool itself lives in a worker thread (a media worker scoring the windows it makes).
 * Both speak the same messages (protocol.ts) and events (SupervisedWorkerEvents).
 */
import type { SupervisedWorkerEvents } from '../../kernel/SupervisedWorker.js';
import type { FromWorker, ToWorker } from './protocol.js';

export type InferenceRunnerEvents = SupervisedWorkerEvents<FromWorker>;

export interface InferenceRunner {
  on<K extends keyof InferenceRunnerEvents>(event: K, listener: (...args: InferenceRunnerEvents[K]) => void): unknown;
  /** Starts the executor: `started` follows, then the pool posts `init`. */
  start(): void;
  /** Queues one message; false when the executor cannot take it. */
  post(msg: ToWorker, transfer?: readonly Transferable[]): boolean;
  /** The executor answered `ready`: its restart backoff (if any) resets. */
  healthy(): void;
  /** Finishes the job in progress, releases the sessions, and stops. */
  close(): Promise<{ forced: boolean }>;
  readonly running: boolean;
  readonly restarts: number;
}

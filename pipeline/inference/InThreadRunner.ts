/**
 * The `in-thread` placement of an inference pool slot: an InferenceEngine on the calling
 * thread, driven by the same messages as an inference worker thread (protocol.ts), one job
 * at a time. Only for pools that live in a worker thread themselves (a media worker scoring
 * its own windows): ORT's `run()` blocks the thread that calls it.
 *
 * There is no thread to crash or restart: a failing batch is a `job-error`, as in a worker.
 */
import { TypedEmitter } from '../../kernel/TypedEmitter.js';
import { InferenceEngine } from './InferenceEngine.js';
import type { InferenceRunner, InferenceRunnerEvents } from './InferenceRunner.js';
import type { ToWorker } from './protocol.js';

export class InThreadRunner extends TypedEmitter<InferenceRunnerEvents> implements InferenceRunner {
  #engine: InferenceEngine | undefined;
  #chain: Promise<void> = Promise.resolve();
  #running = false;
  #closed = false;

  get running(): boolean {
    return this.#running;
  }

  get restarts(): number {
    return 0;
  }

  start(): void {
    if (this.#running || this.#closed) return;
    this.#running = true;
    queueMicrotask(() => this.safeEmit('started', 1));
  }

  healthy(): void {}

  post(msg: ToWorker): boolean {
    if (!this.#running) return false;
    this.#chain = this.#chain.then(() => this.#handle(msg));
    return true;
  }

  async close(): Promise<{ forced: boolean }> {
    if (this.#closed) return { forced: false };
    this.#closed = true;
    this.#running = false;
    await this.#chain;
    await this.#engine?.close();
    this.#engine = undefined;
    this.safeEmit('exited', { code: 0, expected: true });
    return { forced: false };
  }

  async #handle(msg: ToWorker): Promise<void> {
    switch (msg.type) {
      case 'init': {
        await this.#engine?.close();
        const opened = await InferenceEngine.open(msg);
        this.#engine = opened.engine;
        this.safeEmit('message', { type: 'ready', failed: opened.failed });
        return;
      }
      case 'run': {
        const answer = this.#engine ? await this.#engine.run(msg) : ({ type: 'job-error', jobId: msg.jobId, message: 'engine not open' } as const);
        // The pool may have closed while the batch ran: it ignores answers then.
        this.safeEmit('message', answer);
        return;
      }
      case 'close':
      case 'crash':
        // No thread to end: close() releases the sessions; a crash cannot be simulated in-thread.
        return;
    }
  }
}

/**
 * Turns process signals into one orderly shutdown of the service (`npm start`).
 *
 *   first SIGTERM / SIGINT / SIGHUP -> service.beginShutdown() at once, in the handler
 *                                      (supervision off, joins refused, participants told,
 *                                      rooms closed), then service.close() in order
 *   close() resolves                -> exit 0
 *   close() rejects                 -> exit 1
 *   still running after timeoutMs   -> exit 1 (DFD_SHUTDOWN_TIMEOUT_MS)
 *   a second signal                 -> exit at once, 128 + the signal number
 *
 * Handlers are installed before the service starts; a signal during start-up is honoured as
 * soon as the service is attached (the timeout runs from the signal).
 */
import { constants } from 'node:os';
import { createLogger } from '../kernel/log.js';

const log = createLogger('shutdown');

/** What the controller stops (the Service). */
export interface Stoppable {
  beginShutdown(): void;
  close(): Promise<void>;
}

/** The part of `process` the controller uses (tests pass an EventEmitter). */
export interface SignalSource {
  on(signal: NodeJS.Signals, listener: () => void): unknown;
  off(signal: NodeJS.Signals, listener: () => void): unknown;
}

export interface ShutdownOptions {
  /** Longest the shutdown may take before the process exits with status 1. */
  timeoutMs: number;
  signals: readonly NodeJS.Signals[];
  source: SignalSource;
  exit: (code: number) => void;
}

export const defaultShutdownOptions: ShutdownOptions = {
  timeoutMs: 15_000,
  signals: ['SIGTERM', 'SIGINT', 'SIGHUP'],
  source: process,
  exit: (code) => process.exit(code),
};

export class ShutdownController {
  readonly options: ShutdownOptions;
  readonly #handlers = new Map<NodeJS.Signals, () => void>();
  #service: Stoppable | undefined;
  #signal: NodeJS.Signals | undefined;
  #started = false;
  #exited = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: Partial<ShutdownOptions> = {}) {
    this.options = { ...defaultShutdownOptions, ...options };
  }

  /** The signal that started the shutdown, if any. */
  get signal(): NodeJS.Signals | undefined {
    return this.#signal;
  }

  /** Listens for the signals. Call first thing, before the service starts. */
  install(): this {
    for (const sig of this.options.signals) {
      const handler = (): void => this.#onSignal(sig);
      this.#handlers.set(sig, handler);
      this.options.source.on(sig, handler);
    }
    return this;
  }

  /** The service to stop; shuts it down at once if a signal came during start-up. */
  attach(service: Stoppable): void {
    this.#service = service;
    if (this.#signal) this.#start(service);
  }

  uninstall(): void {
    for (const [sig, handler] of this.#handlers) this.options.source.off(sig, handler);
    this.#handlers.clear();
    clearTimeout(this.#timer);
  }

  #onSignal(sig: NodeJS.Signals): void {
    if (this.#signal) {
      log.warn('second signal: exiting without finishing the shutdown', { signal: sig, first: this.#signal });
      this.#exit(128 + (constants.signals[sig] ?? 0));
      return;
    }
    this.#signal = sig;
    log.info('shutting down', { signal: sig, timeoutMs: this.options.timeoutMs });
    this.#timer = setTimeout(() => {
      log.error('shutdown did not finish in time; exiting', { timeoutMs: this.options.timeoutMs });
      this.#exit(1);
    }, this.options.timeoutMs);
    this.#timer.unref();
    if (this.#service) this.#start(this.#service);
  }

  #start(service: Stoppable): void {
    if (this.#started) return;
    this.#started = true;
    // Synchronous, before any other event is handled: a signal to the whole process group
    // also stops the mediasoup workers, and their exits must already be expected.
    service.beginShutdown();
    service.close().then(
      () => {
        log.info('shut down', { signal: this.#signal });
        this.#exit(0);
      },
      (e: unknown) => {
        log.error('shutdown failed', { error: e });
        this.#exit(1);
      },
    );
  }

  #exit(code: number): void {
    if (this.#exited) return;
    this.#exited = true;
    clearTimeout(this.#timer);
    this.options.exit(code);
  }
}

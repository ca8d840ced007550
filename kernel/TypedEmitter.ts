/**
 * An event emitter with a typed event map (`{ event: [arg1, arg2] }`, as Node's own
 * EventEmitter<T>). `safeEmit` runs every listener in its own try/catch, as mediasoup's
 * safeEmit does: a listener that throws is logged and counted, the other listeners still
 * run, and the exception never reaches the media object that emitted. The log line is
 * throttled per emitter (the first failure, then every 100th: a listener that always throws
 * on a per-window event must not flood the log); the counter counts every one.
 *
 * More than MAX_LISTENERS listeners on one event prints Node's MaxListenersExceededWarning:
 * no object here legitimately has that many, so it points at a listener leak.
 */
import { EventEmitter } from 'node:events';
import { createLogger } from './log.js';
import { counter } from './metrics.js';

const log = createLogger('emitter');
const listenerErrors = counter({ name: 'dfd_listener_errors_total', help: 'Exceptions thrown by event listeners (caught)' });

export type EventMap<E> = { [K in keyof E]: unknown[] };

/** Listeners per event before Node warns of a probable leak. */
export const MAX_LISTENERS = 100;

export class TypedEmitter<E extends EventMap<E>> {
  readonly #ee = new EventEmitter();
  #listenerErrors = 0;

  constructor() {
    this.#ee.setMaxListeners(MAX_LISTENERS);
  }

  on<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    this.#ee.on(event, listener as (...args: unknown[]) => void);
    return this;
  }

  once<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    this.#ee.once(event, listener as (...args: unknown[]) => void);
    return this;
  }

  off<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    this.#ee.off(event, listener as (...args: unknown[]) => void);
    return this;
  }

  removeAllListeners(): void {
    this.#ee.removeAllListeners();
  }

  listenerCount<K extends keyof E & string>(event: K): number {
    return this.#ee.listenerCount(event);
  }

  /** Exceptions thrown by this emitter's listeners (caught by `safeEmit`), for a subclass's stats. */
  protected get listenerErrorCount(): number {
    return this.#listenerErrors;
  }

  /** Calls every listener; returns whether there was any. Never throws. */
  protected safeEmit<K extends keyof E & string>(event: K, ...args: E[K]): boolean {
    const listeners = this.#ee.rawListeners(event);
    for (const l of listeners) {
      try {
        (l as (...a: unknown[]) => void).apply(this, args);
      } catch (err) {
        this.#listenerErrors++;
        listenerErrors.inc();
        if (this.#listenerErrors % 100 === 1) log.error('event listener threw', { event, error: err, failures: this.#listenerErrors });
      }
    }
    return listeners.length > 0;
  }
}

/**
 * An event emitter with a typed event map (`{ event: [arg1, arg2] }`, as Node's own
 * EventEmitter<T>). `safeEmit` runs every listener in its own try/catch, as mediasoup's
 * safeEmit does: a listener that throws is logged and counted, the other listeners still
 * run, and the exception never reaches the media object that emitted.
 */
import { EventEmitter } from 'node:events';
import { createLogger } from './log.js';
import { counter } from './metrics.js';

const log = createLogger('emitter');
const listenerErrors = counter({ name: 'dfd_listener_errors_total', help: 'Exceptions thrown by event listeners (caught)' });

export type EventMap<E> = { [K in keyof E]: unknown[] };

export class TypedEmitter<E extends EventMap<E>> {
  readonly #ee = new EventEmitter();

  constructor() {
    this.#ee.setMaxListeners(Infinity);
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

  /** Calls every listener; returns whether there was any. Never throws. */
  protected safeEmit<K extends keyof E & string>(event: K, ...args: E[K]): boolean {
    const listeners = this.#ee.rawListeners(event);
    for (const l of listeners) {
      try {
        (l as (...a: unknown[]) => void).apply(this, args);
      } catch (err) {
        listenerErrors.inc();
        log.error('event listener threw', { event, error: err });
      }
    }
    return listeners.length > 0;
  }
}

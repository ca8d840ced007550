/**
 * A typed event emitter whose `safeEmit` never lets a listener's exception escape into the
 * media path (the mediasoup `safeEmit` idea): the error is logged and counted, and the
 * remaining listeners for that event still run.
 */
import { EventEmitter } from 'node:events';
import { createLogger } from '../../src/log.js';
import { counter } from '../../src/metrics.js';

const log = createLogger('video.emitter');
const listenerErrors = counter({ name: 'dfd_video_listener_errors_total', help: 'Exceptions thrown by video pipeline event listeners' });

export type EventMap<E> = { [K in keyof E]: unknown[] };

export class SafeEmitter<E extends EventMap<E>> {
  readonly #ee = new EventEmitter();

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

  protected safeEmit<K extends keyof E & string>(event: K, ...args: E[K]): void {
    for (const l of this.#ee.rawListeners(event)) {
      try {
        (l as (...a: unknown[]) => void).apply(this, args);
      } catch (err) {
        listenerErrors.inc();
        log.error('event listener threw', { event, error: err });
      }
    }
  }
}

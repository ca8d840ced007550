import { EventEmitter } from 'node:events';
import { createLogger } from './log.js';

const log = createLogger('emitter');

/**
 * An EventEmitter with a typed event map. `safeEmit` catches listener errors so one bad
 * listener cannot break a media object (as mediasoup does).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export class TypedEmitter<E extends { [K in keyof E]: (...args: any[]) => void }> {
  readonly #ee = new EventEmitter();

  constructor() {
    this.#ee.setMaxListeners(Infinity);
  }

  on<K extends keyof E & string>(event: K, listener: E[K]): this {
    this.#ee.on(event, listener);
    return this;
  }

  once<K extends keyof E & string>(event: K, listener: E[K]): this {
    this.#ee.once(event, listener);
    return this;
  }

  off<K extends keyof E & string>(event: K, listener: E[K]): this {
    this.#ee.off(event, listener);
    return this;
  }

  listenerCount<K extends keyof E & string>(event: K): number {
    return this.#ee.listenerCount(event);
  }

  removeAllListeners(): void {
    this.#ee.removeAllListeners();
  }

  protected safeEmit<K extends keyof E & string>(event: K, ...args: Parameters<E[K]>): boolean {
    try {
      return this.#ee.emit(event, ...args);
    } catch (error) {
      log.error('listener threw', { event, error });
      return false;
    }
  }
}

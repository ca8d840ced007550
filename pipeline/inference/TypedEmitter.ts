/**
 * A small typed event emitter. Listener errors are caught and logged (like mediasoup's
 * `safeEmit`) so one bad listener cannot break the emitting object or skip the others.
 */
import { createLogger } from '../../src/log.js';

const log = createLogger('emitter');

export type EventMap = { [event: string]: unknown[] };
type Listener<A extends unknown[]> = (...args: A) => void;

export class TypedEmitter<E extends EventMap> {
  private readonly listeners = new Map<keyof E, Listener<never[]>[]>();

  on<K extends keyof E & string>(event: K, listener: Listener<E[K]>): this {
    const list = this.listeners.get(event) ?? [];
    list.push(listener as unknown as Listener<never[]>);
    this.listeners.set(event, list);
    return this;
  }

  once<K extends keyof E & string>(event: K, listener: Listener<E[K]>): this {
    const wrapped: Listener<E[K]> = (...args) => {
      this.off(event, wrapped);
      listener(...args);
    };
    return this.on(event, wrapped);
  }

  off<K extends keyof E & string>(event: K, listener: Listener<E[K]>): this {
    const list = this.listeners.get(event);
    if (!list) return this;
    const i = list.indexOf(listener as unknown as Listener<never[]>);
    if (i >= 0) list.splice(i, 1);
    return this;
  }

  listenerCount<K extends keyof E & string>(event: K): number {
    return this.listeners.get(event)?.length ?? 0;
  }

  removeAllListeners(): void {
    this.listeners.clear();
  }

  /** Calls every listener; returns whether there was any. Never throws. */
  protected safeEmit<K extends keyof E & string>(event: K, ...args: E[K]): boolean {
    const list = this.listeners.get(event);
    if (!list || list.length === 0) return false;
    for (const l of [...list]) {
      try {
        (l as unknown as Listener<E[K]>)(...args);
      } catch (e) {
        log.error('event listener threw', { event, error: e });
      }
    }
    return true;
  }
}

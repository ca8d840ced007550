/**
 * Call summaries kept across restarts: a JetStream key-value bucket (`DFD_CALLS`, one key per
 * call id, latest value only, same retention as the audit trail). Values are JSON the caller
 * defines; every value read back is checked with the caller's `validate` (NATS is a boundary).
 * Loaded into memory once at start (bounded) and written through.
 */
import type { KV, NatsConnection } from 'nats';
import { DfdError } from '../kernel/errors.js';
import { createLogger } from '../kernel/log.js';
import { assertSubjectToken } from './schema.js';
import { kvJson } from './kvJson.js';

const log = createLogger('events.calls');

export interface CallStoreOptions<T> {
  bucket: string;
  /** Summaries older than this are removed by the server; 0 keeps them. */
  maxAgeMs: number;
  maxBytes: number;
  /** Copies the JetStream cluster keeps (1 on a single nats-server; 3 in a 3-node cluster survives losing a node). */
  replicas: number;
  /** At most this many summaries are loaded at start. */
  maxLoad: number;
  timeoutMs: number;
  /** Returns the value when it is a valid summary, else undefined (logged and skipped). */
  validate: (value: unknown) => T | undefined;
}

export class CallStore<T extends { callId: string }> {
  readonly options: CallStoreOptions<T>;
  readonly #kv: KV;
  readonly #writes = new Set<Promise<unknown>>();
  #closed = false;

  private constructor(options: CallStoreOptions<T>, kv: KV) {
    this.options = options;
    this.#kv = kv;
  }

  static async open<T extends { callId: string }>(nc: NatsConnection, options: Partial<CallStoreOptions<T>> & Pick<CallStoreOptions<T>, 'validate'>): Promise<CallStore<T>> {
    const o: CallStoreOptions<T> = { bucket: 'DFD_CALLS', maxAgeMs: 30 * 86_400_000, maxBytes: 128 * 1024 * 1024, replicas: 1, maxLoad: 10_000, timeoutMs: 5_000, ...options };
    try {
      const kv = await nc.jetstream().views.kv(o.bucket, { history: 1, ttl: o.maxAgeMs, max_bytes: o.maxBytes, replicas: o.replicas, timeout: o.timeoutMs });
      return new CallStore(o, kv);
    } catch (e) {
      throw new DfdError('ERR_CONFIG', 'cannot open the call history bucket', { bucket: o.bucket }, { cause: e });
    }
  }

  /** Every stored summary that validates (at most maxLoad). */
  async loadAll(): Promise<T[]> {
    const out: T[] = [];
    const keys: string[] = [];
    for await (const k of await this.#kv.keys()) {
      keys.push(k);
      if (keys.length >= this.options.maxLoad) break;
    }
    for (const k of keys) {
      const v = await this.get(k);
      if (v) out.push(v);
    }
    return out;
  }

  async get(callId: string): Promise<T | undefined> {
    assertSubjectToken(callId, 'callId');
    const e = await this.#kv.get(callId);
    if (!e || e.operation !== 'PUT') return undefined;
    const v = this.options.validate(kvJson(e));
    if (!v || v.callId !== callId) {
      log.warn('stored call summary skipped: invalid', { bucket: this.options.bucket });
      return undefined;
    }
    return v;
  }

  /** Stores a summary; never throws (a failed write is logged). Resolves when written. */
  put(summary: T): Promise<void> {
    if (this.#closed) return Promise.resolve();
    const w = (async () => {
      try {
        assertSubjectToken(summary.callId, 'callId');
        await this.#kv.put(summary.callId, JSON.stringify(summary));
      } catch (e) {
        log.warn('call summary not stored', { err: e });
      }
    })();
    this.#writes.add(w);
    void w.finally(() => this.#writes.delete(w));
    return w;
  }

  /** Writes started and not finished yet. */
  get pending(): number {
    return this.#writes.size;
  }

  /**
   * Waits for pending writes, including puts made while it waits, for at most `timeoutMs`
   * (default: the store's timeout); later puts are ignored. Resolves true when nothing was left
   * pending (the connection may close), false when writes were still pending at the deadline.
   */
  async close(timeoutMs = this.options.timeoutMs): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.#writes.size > 0) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all(this.#writes), new Promise<void>((r) => (timer = setTimeout(r, left)))]);
      clearTimeout(timer);
    }
    this.#closed = true;
    if (this.#writes.size > 0) log.warn('call summaries still pending at close', { bucket: this.options.bucket, pending: this.#writes.size, timeoutMs });
    return this.#writes.size === 0;
  }
}

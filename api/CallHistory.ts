/**
 * The call history: live and recent calls from the CallRegistry, older ones from the DFD_CALLS
 * bucket (written when a call ends, read back at start), filtered and paged for `GET /v1/calls`;
 * a call's detail from its events in the audit trail.
 */
import { DfdError } from '../kernel/errors.js';
import { createLogger } from '../kernel/log.js';
import type { AuditBundle } from '../events/AuditLog.js';
import type { CallStore } from '../events/CallStore.js';
import type { CallRecord, CallRegistry } from './CallRegistry.js';
import { historyEntry } from './HistoryEntry.js';
import type { CallDetail, CallList, HistoryEntry } from './historyWire.js';
import { matchesQuery, type CallQuery } from './callQuery.js';
import { detailFromEvents, detailFromRecord } from './callDetail.js';

const log = createLogger('api.history');

export interface CallHistoryDeps {
  registry: CallRegistry;
  /** Summaries kept across restarts (events on). */
  store?: CallStore<HistoryEntry> | undefined;
  /** A call's audit records (events on). */
  readEvents?: ((roomId: string, callId: string) => Promise<AuditBundle>) | undefined;
}

export interface CallHistoryOptions {
  /** Stored summaries held in memory at most (oldest dropped). */
  maxStored: number;
  /** A call updated after it ended (a late verdict) is stored again after this delay. */
  rewriteDelayMs: number;
}

export const defaultCallHistoryOptions: CallHistoryOptions = { maxStored: 10_000, rewriteDelayMs: 1_000 };

export class CallHistory {
  readonly options: CallHistoryOptions;
  readonly #deps: CallHistoryDeps;
  readonly #stored = new Map<string, HistoryEntry>();
  readonly #rewrite = new Map<string, NodeJS.Timeout>();
  readonly #onEnded = (call: CallRecord): void => this.#persist(call);
  readonly #onUpdated = (call: CallRecord): void => {
    if (this.#rewrite.has(call.callId)) return;
    const t = setTimeout(() => {
      this.#rewrite.delete(call.callId);
      this.#persist(call);
    }, this.options.rewriteDelayMs);
    t.unref();
    this.#rewrite.set(call.callId, t);
  };

  constructor(deps: CallHistoryDeps, options: Partial<CallHistoryOptions> = {}) {
    this.options = { ...defaultCallHistoryOptions, ...options };
    this.#deps = deps;
    deps.registry.on('callended', this.#onEnded);
    deps.registry.on('callupdated', this.#onUpdated);
  }

  /** Loads the stored summaries (events on). */
  async load(): Promise<number> {
    const store = this.#deps.store;
    if (!store) return 0;
    const all = await store.loadAll();
    all.sort((a, b) => (a.startedAt < b.startedAt ? -1 : a.startedAt > b.startedAt ? 1 : 0));
    for (const e of all.slice(-this.options.maxStored)) this.#stored.set(e.callId, e);
    log.info('call history loaded', { calls: this.#stored.size });
    return this.#stored.size;
  }

  #persist(call: CallRecord): void {
    if (call.participants.size === 0) return;
    const entry = historyEntry(call);
    this.#stored.delete(entry.callId);
    this.#stored.set(entry.callId, entry);
    while (this.#stored.size > this.options.maxStored) {
      const oldest = this.#stored.keys().next().value;
      if (oldest === undefined) break;
      this.#stored.delete(oldest);
    }
    void this.#deps.store?.put(entry);
  }

  /** Every known call with at least one participant, newest first. */
  entries(now: number = Date.now()): HistoryEntry[] {
    const out = new Map<string, HistoryEntry>(this.#stored);
    for (const call of this.#deps.registry.calls()) {
      if (call.participants.size > 0) out.set(call.callId, historyEntry(call, now));
    }
    return [...out.values()].sort((a, b) => (a.startedAt > b.startedAt ? -1 : a.startedAt < b.startedAt ? 1 : a.callId < b.callId ? -1 : 1));
  }

  list(q: CallQuery, now: number = Date.now()): CallList {
    const matching = this.entries(now).filter((e) => matchesQuery(e, q, now));
    return { calls: matching.slice(q.offset, q.offset + q.limit), total: matching.length, limit: q.limit, offset: q.offset };
  }

  entry(callId: string): HistoryEntry | undefined {
    const call = this.#deps.registry.call(callId);
    if (call && call.participants.size > 0) return historyEntry(call);
    return this.#stored.get(callId);
  }

  /** Throws ERR_NOT_FOUND for an unknown call. */
  async detail(callId: string): Promise<CallDetail> {
    const entry = this.entry(callId);
    if (!entry) throw new DfdError('ERR_NOT_FOUND', 'unknown call');
    if (this.#deps.readEvents) {
      const audit = await this.#deps.readEvents(entry.roomId, entry.callId);
      return detailFromEvents(entry, audit.records);
    }
    const call = this.#deps.registry.call(callId);
    return call ? detailFromRecord(entry, call) : { ...entry, source: 'memory', events: 0, participants: entry.participants.map((p) => ({ ...p, models: [], timeline: [], challenges: [], decisions: [] })) };
  }

  /** Call summaries being written to the store (0 when everything is stored). */
  get pendingWrites(): number {
    return this.#deps.store?.pending ?? 0;
  }

  /**
   * Stores what is pending (calls updated after they ended), stops listening and waits for
   * every summary write to finish, for at most `timeoutMs` (default: the store's timeout).
   * The service calls it at shutdown after every call ended and before the event bus (whose
   * NATS connection the store writes through) closes.
   */
  async close(timeoutMs?: number): Promise<void> {
    this.#deps.registry.off('callended', this.#onEnded);
    this.#deps.registry.off('callupdated', this.#onUpdated);
    for (const [callId, t] of this.#rewrite) {
      clearTimeout(t);
      const call = this.#deps.registry.call(callId);
      if (call) this.#persist(call);
    }
    this.#rewrite.clear();
    await this.#deps.store?.close(timeoutMs);
  }
}

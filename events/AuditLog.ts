/**
 * Hash-chained audit trail on JetStream.
 *
 * Every event published on `<prefix>.>` is stored in one JetStream stream (file storage). Before
 * it is sent, the EventBus seals it here: it gets a `callId` and an `audit` link
 * `{ index, prevHash, hash }` where `hash = sha256(canonicalJson(record without audit.hash))` and
 * `prevHash` is the hash of the previous record of the same call (room + call id), 64 zeros for
 * the first. Changing, removing or reordering any record breaks the chain from that record on.
 * Records never contain media: the schema has no field for it.
 */
import { createHash, randomUUID } from 'node:crypto';
import { StorageType, nanos, type JetStreamClient, type JetStreamManager } from 'nats';
import { DfdError } from '../kernel/errors.js';
import { createLogger } from '../kernel/log.js';
import { ensureStream, type EnsuredStreamConfig } from './ensureStream.js';
import { canonicalJson } from './canonicalJson.js';
import { assertSubjectPrefix, assertSubjectToken, parseEvent, DEFAULT_SUBJECT_PREFIX, type DfdEvent, type EventType } from './schema.js';

const log = createLogger('events.audit');

export const GENESIS_HASH = '0'.repeat(64);

export interface AuditLogOptions {
  /** JetStream stream name. */
  streamName: string;
  /** Subject prefix; the stream captures `<prefix>.>`. */
  subjectPrefix: string;
  /** Records older than this are removed by the server; 0 keeps them until maxBytes. */
  maxAgeMs: number;
  /** Upper bound on the stream's size in bytes; -1 unlimited. Oldest records go first. */
  maxBytes: number;
  /** JetStream de-duplication window for retried publishes (msg id = event id). */
  duplicateWindowMs: number;
  /** Copies the JetStream cluster keeps (1 on a single nats-server; 3 in a 3-node cluster survives losing a node). */
  replicas: number;
  /** Calls whose chain head is kept in memory; the least recently used call is forgotten beyond this. */
  maxOpenCalls: number;
  /** Upper bound on records one export reads. */
  maxExportRecords: number;
  /** Time limit for one export. */
  exportTimeoutMs: number;
}

export const defaultAuditLogOptions: AuditLogOptions = {
  streamName: 'DFD_AUDIT',
  subjectPrefix: DEFAULT_SUBJECT_PREFIX,
  maxAgeMs: 30 * 24 * 3600 * 1000,
  maxBytes: 1024 * 1024 * 1024,
  duplicateWindowMs: 2 * 60 * 1000,
  replicas: 1,
  maxOpenCalls: 10_000,
  maxExportRecords: 200_000,
  exportTimeoutMs: 30_000,
};

export interface AuditBundle {
  format: 'dfd-audit-bundle';
  version: 1;
  call: { roomId: string; callId: string; records: number; firstTs: string | null; lastTs: string | null };
  records: DfdEvent[];
  /** Hash of the last record (GENESIS_HASH when empty). Compare it with a head hash kept elsewhere. */
  headHash: string;
  exportedAt: string;
}

export type VerifyResult = { ok: true; records: number; headHash: string } | { ok: false; brokenAt: number; reason: string };

export function hashRecord(record: DfdEvent): string {
  if (!record.audit) throw new DfdError('ERR_BAD_REQUEST', 'record has no audit link');
  const { hash: _omit, ...link } = record.audit;
  return createHash('sha256').update(canonicalJson({ ...record, audit: link })).digest('hex');
}

/**
 * Checks a bundle: records in index order 0..n-1, each of the bundle's call, each linked to the
 * previous by prevHash, each hash recomputed from its content, and headHash equal to the last hash.
 * `brokenAt` is the index of the first record that fails (records.length for a bad headHash).
 */
export function verifyBundle(bundle: unknown): VerifyResult {
  const b = bundle as Partial<AuditBundle> | null;
  if (!b || typeof b !== 'object' || b.format !== 'dfd-audit-bundle' || !Array.isArray(b.records) || !b.call) {
    return { ok: false, brokenAt: 0, reason: 'not an audit bundle' };
  }
  let prev = GENESIS_HASH;
  for (let i = 0; i < b.records.length; i++) {
    let rec: DfdEvent;
    try {
      rec = parseEvent(JSON.stringify(b.records[i]));
    } catch {
      return { ok: false, brokenAt: i, reason: 'record does not match the event schema' };
    }
    if (!rec.audit) return { ok: false, brokenAt: i, reason: 'record has no audit link' };
    if (rec.roomId !== b.call.roomId || rec.callId !== b.call.callId) return { ok: false, brokenAt: i, reason: 'record belongs to another call' };
    if (rec.audit.index !== i) return { ok: false, brokenAt: i, reason: rec.audit.index > i ? 'record missing before this one' : 'record out of order or duplicated' };
    if (rec.audit.prevHash !== prev) return { ok: false, brokenAt: i, reason: 'prevHash does not match the previous record' };
    if (hashRecord(rec) !== rec.audit.hash) return { ok: false, brokenAt: i, reason: 'hash does not match the record content' };
    prev = rec.audit.hash;
  }
  if (b.headHash !== prev) return { ok: false, brokenAt: b.records.length, reason: 'headHash does not match the last record' };
  return { ok: true, records: b.records.length, headHash: prev };
}

interface ChainHead {
  index: number;
  hash: string;
}

export class AuditLog {
  readonly options: AuditLogOptions;
  /** Current call per room, for events that carry no callId. */
  readonly #currentCall = new Map<string, string>();
  /** Chain heads by `room/call`, in least-recently-used order (Map iteration order). */
  readonly #heads = new Map<string, ChainHead>();

  constructor(options: Partial<AuditLogOptions> = {}) {
    this.options = { ...defaultAuditLogOptions, ...options };
    assertSubjectPrefix(this.options.subjectPrefix);
  }

  streamConfig(): EnsuredStreamConfig {
    const o = this.options;
    return {
      name: o.streamName,
      subjects: [`${o.subjectPrefix}.>`],
      storage: StorageType.File,
      max_age: nanos(o.maxAgeMs),
      max_bytes: o.maxBytes,
      duplicate_window: nanos(o.duplicateWindowMs),
      num_replicas: o.replicas,
    };
  }

  /** Creates the stream or updates its limits. */
  async ensureStream(jsm: JetStreamManager): Promise<void> {
    await ensureStream(jsm, this.streamConfig(), 'audit', log);
  }

  /** Starts a new call in a room (new chain). Returns its id. */
  beginCall(roomId: string, callId: string = randomUUID()): string {
    assertSubjectToken(roomId, 'roomId');
    assertSubjectToken(callId, 'callId');
    this.#currentCall.set(roomId, callId);
    return callId;
  }

  /** The call that events of this room without a callId belong to, if one was begun. */
  currentCall(roomId: string): string | undefined {
    return this.#currentCall.get(roomId);
  }

  /** The room's current call, begun now if there is none. */
  callFor(roomId: string): string {
    return this.#currentCall.get(roomId) ?? this.beginCall(roomId);
  }

  /**
   * Ends the room's current call: later events of the room start a new call. The chain head is
   * kept (events of the call may still be queued) until it ages out of the `maxOpenCalls` LRU.
   */
  endCall(roomId: string): void {
    this.#currentCall.delete(roomId);
  }

  /**
   * Continues an existing chain (e.g. after a process restart) from its last stored record, and
   * makes the call current for its room. Use EventBus.resumeCall, which reads the head from JetStream.
   */
  restoreHead(roomId: string, callId: string, head: { index: number; hash: string } | undefined): void {
    this.beginCall(roomId, callId);
    if (head) this.#heads.set(`${roomId}/${callId}`, { index: head.index, hash: head.hash });
  }

  /** Index and hash of the last record sealed in a call's chain, while the head is kept. */
  head(roomId: string, callId: string): { index: number; hash: string } | undefined {
    const h = this.#heads.get(`${roomId}/${callId}`);
    // Index -1: every record of the call was taken back (unseal).
    return h && h.index >= 0 ? { index: h.index, hash: h.hash } : undefined;
  }

  /** Head hash of a call's chain as sealed so far (what a verified export must end with). */
  headHash(roomId: string, callId: string): string | undefined {
    return this.head(roomId, callId)?.hash;
  }

  /**
   * Links a validated event into its call's chain. Events without callId join the room's current
   * call (a call is begun automatically on the first event of a room). Returns a new object.
   */
  seal(event: DfdEvent): DfdEvent {
    const callId = event.callId ?? this.callFor(event.roomId);
    const key = `${event.roomId}/${callId}`;
    const head = this.#heads.get(key);
    this.#heads.delete(key);
    const index = head ? head.index + 1 : 0;
    const prevHash = head ? head.hash : GENESIS_HASH;
    const { audit: _old, ...rest } = event;
    const unsealed = { ...rest, callId, audit: { index, prevHash, hash: GENESIS_HASH } } as DfdEvent;
    const hash = hashRecord(unsealed);
    const sealed = { ...unsealed, audit: { index, prevHash, hash } } as DfdEvent;
    this.#heads.set(key, { index, hash });
    while (this.#heads.size > this.options.maxOpenCalls) {
      const oldest = this.#heads.keys().next().value;
      if (oldest === undefined) break;
      this.#heads.delete(oldest);
    }
    return sealed;
  }

  /**
   * Takes back a sealed record that was never stored (the store refused it): its call's chain
   * continues from the record before it, so the next record links to the last one stored. Records
   * sealed after it go with it (the store refuses those too: it processes a stream in order). A
   * no-op when the chain is already before it, or its head was forgotten.
   */
  unseal(record: DfdEvent): void {
    const link = record.audit;
    if (!link || record.callId === undefined) return;
    const key = `${record.roomId}/${record.callId}`;
    const head = this.#heads.get(key);
    if (!head || head.index < link.index) return;
    // Index -1: nothing stored yet; the next record is sealed as the first (index 0, genesis prevHash).
    this.#heads.set(key, { index: link.index - 1, hash: link.prevHash });
  }

  /**
   * A record was stored whose chain had been taken back before it (unseal of an earlier record,
   * and space came back in between): the chain continues from it, leaving the refused record as a
   * gap rather than two records with one index. Returns whether that happened.
   */
  restoreIfBehind(record: DfdEvent): boolean {
    const link = record.audit;
    if (!link || record.callId === undefined) return false;
    const key = `${record.roomId}/${record.callId}`;
    const head = this.#heads.get(key);
    // No head: forgotten (LRU), nothing to keep.
    if (!head || head.index >= link.index) return false;
    this.#heads.set(key, { index: link.index, hash: link.hash });
    return true;
  }

  /**
   * Reads a call's records back from JetStream (ordered consumer on `<prefix>.<room>.>`), drops
   * retried duplicates (same event id), sorts by chain index. Without callId, the call of the most
   * recently stored record in the room is exported.
   */
  async exportBundle(js: JetStreamClient, roomId: string, callId?: string): Promise<AuditBundle> {
    assertSubjectToken(roomId, 'roomId');
    if (callId !== undefined) assertSubjectToken(callId, 'callId');
    const o = this.options;
    const byId = new Map<string, DfdEvent>();
    let latestCall: string | undefined;
    await this.#read(js, `${o.subjectPrefix}.${roomId}.>`, o.maxExportRecords, (ev) => {
      if (ev.audit && ev.callId !== undefined && ev.roomId === roomId) {
        latestCall = ev.callId;
        if ((callId === undefined || ev.callId === callId) && !byId.has(ev.id)) byId.set(ev.id, ev);
      }
    });
    const chosen = callId ?? latestCall;
    const records = [...byId.values()]
      .filter((r) => r.callId === chosen)
      .sort((a, b) => (a.audit?.index ?? 0) - (b.audit?.index ?? 0));
    const last = records.at(-1);
    return {
      format: 'dfd-audit-bundle',
      version: 1,
      call: { roomId, callId: chosen ?? '', records: records.length, firstTs: records[0]?.ts ?? null, lastTs: last?.ts ?? null },
      records,
      headHash: last?.audit?.hash ?? GENESIS_HASH,
      exportedAt: new Date().toISOString(),
    };
  }

  /**
   * Every stored event of one type, oldest first (at most `maxRecords`; more is ERR_MESSAGE_TOO_LARGE):
   * the per-tenant calibration job reads the operators' decisions with it. Invalid records are skipped.
   */
  async scan(js: JetStreamClient, type: EventType, visit: (event: DfdEvent) => void, maxRecords = this.options.maxExportRecords): Promise<{ read: number }> {
    return { read: await this.#read(js, `${this.options.subjectPrefix}.*.*.${type}`, maxRecords, visit) };
  }

  /** Reads the stream's records on `filterSubject` with an ordered consumer, to its end; returns how many were read. */
  async #read(js: JetStreamClient, filterSubject: string, maxRecords: number, visit: (event: DfdEvent) => void): Promise<number> {
    const o = this.options;
    const deadline = Date.now() + o.exportTimeoutMs;
    const consumer = await js.consumers.get(o.streamName, { filterSubjects: filterSubject });
    let read = 0;
    for (;;) {
      if (Date.now() > deadline) throw new DfdError('ERR_INTERNAL', 'audit read timed out', { read });
      // An ordered consumer has no info before its first fetch; an empty fetch (expiry) means "nothing left".
      const batch = await consumer.fetch({ max_messages: 500, expires: 1000 });
      let got = 0;
      let pending = 0;
      for await (const m of batch) {
        got++;
        read++;
        pending = m.info.pending;
        if (read > maxRecords) throw new DfdError('ERR_MESSAGE_TOO_LARGE', 'audit read exceeds its record limit', { max: maxRecords });
        let ev: DfdEvent | undefined;
        try {
          ev = parseEvent(m.data);
        } catch {
          log.warn('audit record skipped: invalid', { seq: m.seq });
        }
        if (ev) visit(ev);
        // A pull fetch waits for max_messages or its expiry: stop at the end of the stream instead.
        if (pending === 0) break;
      }
      if (got === 0 || pending === 0) break;
    }
    return read;
  }
}

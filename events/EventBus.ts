/**
 * The event bus: validated events out to NATS (and into the audit stream), validated events in.
 *
 * Publishing never blocks and never throws. Events wait in one bounded in-memory queue and a
 * pump sends at most `maxInFlight` of them at a time as JetStream publishes, each awaiting its
 * PubAck. A failed or unacknowledged publish is retried (same event id = JetStream msg id, so a
 * retry that did reach the server is de-duplicated). nats.js's own reconnect buffer therefore
 * never holds more than `maxInFlight` messages: the bound is ours, and nothing leaves our queue
 * before the server acknowledged it. Losses happen only on queue overflow, on a publish rejected
 * `maxAttempts` times while connected, or at close(); each is counted in
 * `dfd_events_dropped_total{reason}`.
 *
 * A full JetStream store (the server answers a publish with insufficient resources, or a store
 * failure) is not a lost connection: the server took the message and delivered it to every live
 * subscriber; only its audit record was not stored. Such a record is not retried (a retry would
 * deliver the event again and be refused again): it is counted in
 * `dfd_audit_write_failures_total{reason="store-full"}` and `auditStatus`, and taken back from its
 * call's chain (AuditLog.unseal), so that the next record links to the last one stored and what is
 * stored stays one chain that verifies. While the store refuses, one publish is in flight at a time
 * (no record is sealed on top of one whose fate is open) and there is no backoff: live delivery goes
 * on at full speed. The first record the store accepts again ends the episode.
 */
import { connect, Events, type JetStreamClient, type NatsConnection, type Subscription } from 'nats';
import { DfdError, toDfdError } from '../kernel/errors.js';
import { createLogger } from '../kernel/log.js';
import { counter, gauge } from '../kernel/metrics.js';
import { TypedEmitter } from '../kernel/TypedEmitter.js';
import { AuditLog, defaultAuditLogOptions, type AuditBundle, type AuditLogOptions } from './AuditLog.js';
import { AnchorStore, type AnchorStoreOptions } from './AnchorStore.js';
import { signAnchor, type AnchorReason, type AuditAnchor } from './auditAnchor.js';
import type { EvidenceKey } from './EvidenceKey.js';
import { NatsServerProcess, type NatsAuth, type NatsServerProcessOptions } from './NatsServerProcess.js';
import {
  assertEvent,
  assertSubjectPrefix,
  parseEvent,
  subjectFilter,
  subjectFor,
  DEFAULT_SUBJECT_PREFIX,
  type DfdEvent,
  type EventType,
  type SubjectFilter,
} from './schema.js';

const log = createLogger('events.bus');

export interface EventBusOptions {
  /** NATS URLs; empty starts an embedded nats-server (see `embedded`). */
  servers: string[];
  /**
   * Credentials to connect with. With the embedded server they become its credentials: the
   * `service` user's name and password, or its token (all empty: a generated password).
   */
  user: string;
  pass: string;
  token: string;
  /** Connection name shown by the server. */
  name: string;
  subjectPrefix: string;
  /** Publish through JetStream with acks and keep the audit chain. false: core NATS, no audit. */
  jetstream: boolean;
  /** Events waiting to be sent (not counting in-flight). Beyond this, events are dropped. */
  maxBuffered: number;
  /** Unacknowledged JetStream publishes at a time (also bounds nats.js's reconnect buffer). */
  maxInFlight: number;
  /** How long one publish waits for its PubAck. */
  ackTimeoutMs: number;
  /** Failed attempts while connected before an event is dropped (reason "rejected"). */
  maxAttempts: number;
  /** Retry backoff after a failed publish: min * 2^n, capped. */
  retryBackoffMinMs: number;
  retryBackoffMaxMs: number;
  /** nats.js reconnect wait between attempts. */
  reconnectTimeWaitMs: number;
  /** How long close() waits for the queue to drain before dropping what is left. */
  closeTimeoutMs: number;
  /** Largest consumed message accepted, in bytes. */
  maxEventBytes: number;
  audit: Partial<AuditLogOptions>;
  /** Signs audit anchors; without it no anchors are written (see auditAnchor.ts). */
  anchorKey: EvidenceKey | undefined;
  /** An anchor after every this many records of a call (and one when the call ends); 0: only at call end. */
  anchorEvery: number;
  anchors: Partial<AnchorStoreOptions>;
  /** Options of the embedded server (its `readerPassword` adds the read-only `reader` user). */
  embedded: Partial<NatsServerProcessOptions>;
}

export const defaultEventBusOptions: EventBusOptions = {
  servers: [],
  user: '',
  pass: '',
  token: '',
  name: 'dfd',
  subjectPrefix: DEFAULT_SUBJECT_PREFIX,
  jetstream: true,
  maxBuffered: 10_000,
  maxInFlight: 64,
  ackTimeoutMs: 2_000,
  maxAttempts: 20,
  retryBackoffMinMs: 50,
  retryBackoffMaxMs: 2_000,
  reconnectTimeWaitMs: 250,
  closeTimeoutMs: 5_000,
  maxEventBytes: 64 * 1024,
  audit: {},
  anchorKey: undefined,
  anchorEvery: 100,
  anchors: {},
  embedded: {},
};

export type DropReason = 'buffer-full' | 'rejected' | 'closed';

/** Why an audit record sent to JetStream was not stored: the store refused it for lack of space, or it was dropped after `maxAttempts`. */
export type AuditWriteFailureReason = 'store-full' | 'rejected';

export interface AuditStatus {
  /** false from a record the store refused (full) until it stores one again. */
  storing: boolean;
  /** Audit records of this bus not stored (store-full or rejected); their events may still have been delivered live. */
  writeFailures: number;
  /** The last failure, if any. */
  lastFailure: { at: string; reason: AuditWriteFailureReason } | undefined;
}

export type PublishResult = { accepted: true; id: string; subject: string; callId: string | undefined } | { accepted: false; error: DfdError };

export interface EventBusEvents {
  connected: [];
  disconnected: [];
  /** An event was dropped (already counted). */
  dropped: [{ id: string | undefined; type: EventType | undefined; reason: DropReason }];
  /** The audit store started refusing records (storing: false) or stores them again (storing: true). */
  audit: [AuditStatus];
}

const publishedTotal = counter<'type'>({ name: 'dfd_events_published_total', help: 'Events acknowledged by NATS, by type', labelNames: ['type'] });
const droppedTotal = counter<'reason'>({ name: 'dfd_events_dropped_total', help: 'Events lost before reaching NATS, by reason', labelNames: ['reason'] });
const invalidTotal = counter<'direction'>({ name: 'dfd_events_invalid_total', help: 'Events that failed schema validation (out: not published; in: not delivered)', labelNames: ['direction'] });
const retriesTotal = counter({ name: 'dfd_events_publish_retries_total', help: 'Publish attempts that failed and were retried' });
const reconnectsTotal = counter({ name: 'dfd_events_reconnects_total', help: 'Reconnections of the event bus to NATS' });
const bufferedGauge = gauge({ name: 'dfd_events_buffered', help: 'Events queued or in flight, not yet acknowledged' });
const connectedGauge = gauge({ name: 'dfd_events_connected', help: '1 while the event bus is connected to NATS' });
const anchorsTotal = counter<'result'>({ name: 'dfd_audit_anchors_total', help: 'Audit anchors written (ok) or lost (failed)', labelNames: ['result'] });
const auditWriteFailuresTotal = counter<'reason'>({
  name: 'dfd_audit_write_failures_total',
  help: 'Audit records not stored in JetStream, by reason (store-full: refused for lack of space, the event was still delivered live; rejected: dropped after maxAttempts)',
  labelNames: ['reason'],
});
const auditStoringGauge = gauge({ name: 'dfd_audit_storing', help: '0 while the JetStream store refuses audit records (full), 1 otherwise' });

/**
 * JetStream API errors of a publish that mean the store refused the message for lack of space:
 * insufficient resources (10023: the server's or account's storage limit is reached), storage
 * resources exceeded (10047), store failed (10077: e.g. a stream limit with discard "new").
 */
const STORE_FULL_ERR_CODES: ReadonlySet<number> = new Set([10023, 10047, 10077]);

function isStoreFull(e: unknown): boolean {
  const code = (e as { api_error?: { err_code?: unknown } } | null | undefined)?.api_error?.err_code;
  return typeof code === 'number' && STORE_FULL_ERR_CODES.has(code);
}

/**
 * JetStream store an embedded server gets beyond the audit stream's byte limit: the anchor
 * stream (64 MiB) and the call history bucket (128 MiB), whose limits must fit beside it.
 */
export const EMBEDDED_STORE_HEADROOM_BYTES = 256 * 1024 * 1024;

/** Critical events survive an overflow at the expense of the oldest score/quality event. */
const CRITICAL: ReadonlySet<EventType> = new Set(['verdict', 'challenge', 'decision']);

interface Pending {
  event: DfdEvent;
  subject: string;
  /** Present once sealed into the audit chain; retries resend these exact bytes. */
  data?: Uint8Array;
  attempts: number;
}

export interface BusSubscription {
  unsubscribe(): void;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class EventBus extends TypedEmitter<EventBusEvents> {
  readonly options: EventBusOptions;
  readonly audit: AuditLog;
  readonly anchors: AnchorStore;
  readonly #anchorWrites = new Set<Promise<unknown>>();
  /** anchorCall()s in progress (they flush first); close() waits for them. */
  readonly #anchorCalls = new Set<Promise<unknown>>();
  readonly #nc: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #server: NatsServerProcess | undefined;
  /** Unsealed events waiting; retries go to #retry, which is drained first. */
  #queue: Pending[] = [];
  #retry: Pending[] = [];
  #inFlight = 0;
  #connected = true;
  #closed = false;
  #pumping = false;
  #failStreak = 0;
  #wake: (() => void) | undefined;
  #idleWaiters: (() => void)[] = [];
  readonly #counts = { published: 0, dropped: 0, invalid: 0, retries: 0, auditWriteFailures: 0 };
  /** The store refuses records (full): one publish at a time until it stores one again. */
  #storeRefusing = false;
  /** Records refused in the current store-full episode. */
  #refusedInEpisode = 0;
  #lastAuditFailure: AuditStatus['lastFailure'];

  private constructor(options: EventBusOptions, nc: NatsConnection, server: NatsServerProcess | undefined) {
    super();
    this.options = options;
    this.#nc = nc;
    this.#js = nc.jetstream();
    this.#server = server;
    this.audit = new AuditLog({ ...options.audit, subjectPrefix: options.subjectPrefix });
    this.anchors = new AnchorStore({ maxAgeMs: this.audit.options.maxAgeMs, ...options.anchors, subjectPrefix: options.subjectPrefix });
    connectedGauge.set(1);
    auditStoringGauge.set(1);
    void this.#watchStatus();
    void this.#pump();
  }

  /** Connects to `servers` (or starts an embedded nats-server) and prepares the audit stream. */
  static async connect(options: Partial<EventBusOptions> = {}): Promise<EventBus> {
    const o: EventBusOptions = { ...defaultEventBusOptions, ...options };
    assertSubjectPrefix(o.subjectPrefix);
    if (o.maxBuffered < 1 || o.maxInFlight < 1) throw new DfdError('ERR_CONFIG', 'event bus limits must be positive');
    let server: NatsServerProcess | undefined;
    let servers = o.servers;
    let auth: Partial<NatsAuth> = o.token ? { token: o.token } : o.user ? { user: o.user, pass: o.pass } : {};
    if (servers.length === 0) {
      const auditBytes = o.audit.maxBytes ?? defaultAuditLogOptions.maxBytes;
      server = await NatsServerProcess.start({
        ...(auditBytes > 0 ? { maxFileStore: auditBytes + EMBEDDED_STORE_HEADROOM_BYTES } : {}),
        // The bus's credentials are the server's; none: it generates the service user's password.
        token: o.token,
        user: o.user,
        pass: o.pass,
        subjectPrefix: o.subjectPrefix,
        ...o.embedded,
      });
      servers = [server.url];
      auth = server.serviceAuth;
    }
    try {
      const nc = await connect({
        servers,
        name: o.name,
        reconnect: true,
        maxReconnectAttempts: -1,
        reconnectTimeWait: o.reconnectTimeWaitMs,
        waitOnFirstConnect: false,
        ...auth,
      });
      const bus = new EventBus(o, nc, server);
      if (o.jetstream) {
        try {
          const jsm = await nc.jetstreamManager();
          await bus.audit.ensureStream(jsm);
          if (o.anchorKey) await bus.anchors.ensureStream(jsm);
        } catch (e) {
          await bus.close();
          throw e;
        }
      }
      return bus;
    } catch (e) {
      await server?.close();
      if (e instanceof DfdError) throw e;
      throw new DfdError('ERR_CONFIG', 'cannot connect to NATS', undefined, { cause: e });
    }
  }

  /** The embedded server, when this bus started one (tests restart it). */
  get server(): NatsServerProcess | undefined {
    return this.#server;
  }

  get connection(): NatsConnection {
    return this.#nc;
  }

  get connected(): boolean {
    return this.#connected;
  }

  /** Queued plus in-flight events. */
  get buffered(): number {
    return this.#queue.length + this.#retry.length + this.#inFlight;
  }

  /** Counters of this instance (the prom-client metrics aggregate all instances). */
  get stats(): { published: number; dropped: number; invalid: number; retries: number; auditWriteFailures: number; buffered: number } {
    return { ...this.#counts, buffered: this.buffered };
  }

  /** Whether the audit store takes records, and how many it did not (for a health check). */
  get auditStatus(): AuditStatus {
    return { storing: !this.#storeRefusing, writeFailures: this.#counts.auditWriteFailures, lastFailure: this.#lastAuditFailure };
  }

  /**
   * Validates and queues an event. Never throws and never waits: an invalid event comes back as
   * `{ accepted: false, error }` (ERR_BAD_REQUEST, counted); a full queue drops (counted).
   */
  publish(event: DfdEvent): PublishResult {
    let subject: string;
    try {
      if (this.#closed) throw new DfdError('ERR_CLOSED');
      assertEvent(event);
      subject = subjectFor(this.options.subjectPrefix, event);
    } catch (e) {
      const error = toDfdError(e);
      if (error.code !== 'ERR_CLOSED') {
        invalidTotal.inc({ direction: 'out' });
        this.#counts.invalid++;
      } else this.#drop(event, 'closed');
      return { accepted: false, error };
    }
    if (this.#queue.length >= this.options.maxBuffered) {
      const victim = CRITICAL.has(event.type) ? this.#queue.findIndex((p) => !CRITICAL.has(p.event.type)) : -1;
      if (victim < 0) {
        this.#drop(event, 'buffer-full');
        return { accepted: false, error: new DfdError('ERR_QUEUE_FULL', 'event buffer is full') };
      }
      const [evicted] = this.#queue.splice(victim, 1);
      if (evicted) {
        this.#drop(evicted.event, 'buffer-full');
        bufferedGauge.dec();
      }
    }
    // The call is fixed now, in publish order; the chain link is added at send time.
    const queued = this.options.jetstream && event.callId === undefined ? ({ ...event, callId: this.audit.callFor(event.roomId) } as DfdEvent) : event;
    this.#queue.push({ event: queued, subject, attempts: 0 });
    bufferedGauge.inc();
    this.#wake?.();
    return { accepted: true, id: event.id, subject, callId: queued.callId };
  }

  /**
   * Delivers validated events matching the filter. Invalid messages are counted
   * (`dfd_events_invalid_total{direction="in"}`) and skipped; handler errors are logged.
   * Core NATS delivery: at most once. Consumers that must not miss events read the audit stream.
   */
  subscribe(filter: SubjectFilter, handler: (event: DfdEvent) => void | Promise<void>): BusSubscription {
    if (this.#closed) throw new DfdError('ERR_CLOSED');
    const subject = subjectFilter(this.options.subjectPrefix, filter);
    const sub: Subscription = this.#nc.subscribe(subject, {
      callback: (err, msg) => {
        if (err) {
          log.warn('subscription error', { err });
          return;
        }
        let ev: DfdEvent;
        try {
          ev = parseEvent(msg.data, this.options.maxEventBytes);
          if (subjectFor(this.options.subjectPrefix, ev) !== msg.subject) throw new DfdError('ERR_BAD_REQUEST', 'subject does not match the event');
        } catch (e) {
          invalidTotal.inc({ direction: 'in' });
          this.#counts.invalid++;
          log.warn('consumed event rejected', { code: toDfdError(e).code });
          return;
        }
        try {
          const r = handler(ev);
          if (r instanceof Promise) r.catch((e: unknown) => log.warn('event handler failed', { err: e }));
        } catch (e) {
          log.warn('event handler failed', { err: e });
        }
      },
    });
    return { unsubscribe: () => sub.unsubscribe() };
  }

  /** Reads a call's audit records back from JetStream. */
  async exportBundle(roomId: string, callId?: string): Promise<AuditBundle> {
    if (!this.options.jetstream) throw new DfdError('ERR_CONFIG', 'audit needs jetstream');
    return this.audit.exportBundle(this.#js, roomId, callId);
  }

  /** Every stored event of one type from the audit trail, oldest first (events/AuditLog.ts `scan`). */
  async scanAudit(type: EventType, visit: (event: DfdEvent) => void, maxRecords?: number): Promise<{ read: number }> {
    if (!this.options.jetstream) throw new DfdError('ERR_CONFIG', 'audit needs jetstream');
    return this.audit.scan(this.#js, type, visit, maxRecords);
  }

  /**
   * Writes a signed anchor of the call's chain head as sealed so far, after the queue drained
   * (bounded by `timeoutMs`). Returns it, or undefined without a key, jetstream or records.
   * Never throws: a failed write is logged and counted.
   */
  async anchorCall(roomId: string, callId: string, reason: AnchorReason = 'call-end', timeoutMs = 5_000): Promise<AuditAnchor | undefined> {
    if (!this.options.anchorKey || !this.options.jetstream || this.#closed) return undefined;
    const call = this.flush(timeoutMs).then(() => this.#writeAnchor(roomId, callId, reason));
    this.#anchorCalls.add(call);
    void call.finally(() => this.#anchorCalls.delete(call));
    return call;
  }

  /** Waits for anchorCall()s in progress, then flushes: what an export must see is stored. */
  async settle(timeoutMs = 10_000): Promise<boolean> {
    await Promise.all(this.#anchorCalls);
    return this.flush(timeoutMs);
  }

  /** A call's anchors as stored (empty without anchors). */
  async readAnchors(roomId: string, callId: string): Promise<AuditAnchor[]> {
    if (!this.options.anchorKey || !this.options.jetstream) return [];
    return this.anchors.read(this.#js, roomId, callId);
  }

  #writeAnchor(roomId: string, callId: string, reason: AnchorReason, at?: { index: number; hash: string }): Promise<AuditAnchor | undefined> {
    const key = this.options.anchorKey;
    const head = at ?? this.audit.head(roomId, callId);
    if (!key || !head) return Promise.resolve(undefined);
    const anchor = signAnchor(key, { roomId, callId, index: head.index, hash: head.hash, reason });
    const write = this.anchors
      .publish(this.#js, anchor, this.options.ackTimeoutMs)
      .then(() => {
        anchorsTotal.inc({ result: 'ok' });
        return anchor;
      })
      .catch((e: unknown) => {
        anchorsTotal.inc({ result: 'failed' });
        log.warn('audit anchor not written', { err: e, reason });
        return undefined;
      });
    this.#anchorWrites.add(write);
    void write.finally(() => this.#anchorWrites.delete(write));
    return write;
  }

  /**
   * Makes `callId` the room's current call and continues its chain from the last record stored
   * in JetStream (after a restart of this process), so the call still verifies as one chain.
   * Returns the number of records found.
   */
  async resumeCall(roomId: string, callId: string): Promise<number> {
    const bundle = await this.exportBundle(roomId, callId);
    const last = bundle.records.at(-1)?.audit;
    this.audit.restoreHead(roomId, callId, last ? { index: last.index, hash: last.hash } : undefined);
    return bundle.records.length;
  }

  /** Resolves when everything queued so far was acknowledged or dropped, or after timeoutMs (false). */
  async flush(timeoutMs = 10_000): Promise<boolean> {
    let ok = true;
    if (this.buffered > 0) {
      let timer: NodeJS.Timeout | undefined;
      const idle = new Promise<boolean>((r) => this.#idleWaiters.push(() => r(true)));
      const timeout = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs)));
      ok = await Promise.race([idle, timeout]);
      clearTimeout(timer);
    }
    // Anchor writes are short and bounded by ackTimeoutMs; they finish before flush reports idle.
    if (this.#anchorWrites.size > 0) await Promise.all(this.#anchorWrites);
    return ok;
  }

  /** Flushes (bounded by closeTimeoutMs), counts what is left as dropped, closes NATS and the embedded server. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await Promise.all(this.#anchorCalls);
    await this.flush(this.options.closeTimeoutMs);
    this.#closed = true;
    for (const p of [...this.#retry, ...this.#queue]) this.#drop(p.event, 'closed');
    bufferedGauge.dec(this.#retry.length + this.#queue.length);
    this.#retry = [];
    this.#queue = [];
    this.#wake?.();
    try {
      await this.#nc.drain();
    } catch {
      await this.#nc.close().catch(() => undefined);
    }
    connectedGauge.set(0);
    await this.#server?.close();
  }

  #auditWriteFailed(reason: AuditWriteFailureReason): void {
    auditWriteFailuresTotal.inc({ reason });
    this.#counts.auditWriteFailures++;
    this.#lastAuditFailure = { at: new Date().toISOString(), reason };
  }

  /** The store refused a sealed record for lack of space: count it, take it back from its chain. */
  #auditRefused(record: DfdEvent): void {
    this.#auditWriteFailed('store-full');
    this.audit.unseal(record);
    this.#refusedInEpisode++;
    if (this.#storeRefusing) return;
    this.#storeRefusing = true;
    auditStoringGauge.set(0);
    // Once per episode, not per event.
    log.error('JetStream store full: audit records are not stored, events are still delivered live', { stream: this.audit.options.streamName });
    if (this.listenerCount('audit') > 0) this.safeEmit('audit', this.auditStatus);
  }

  /** A record was stored: ends a store-full episode; keeps the chain on a record stored after it was taken back. */
  #auditStored(record: DfdEvent): void {
    if (this.audit.restoreIfBehind(record)) {
      // Space came back between two records in flight: the one refused before it is a gap in the stored chain.
      log.warn('audit record stored after an earlier record of its call was refused: the stored chain has a gap', { roomId: record.roomId, callId: record.callId, index: record.audit?.index });
    }
    if (!this.#storeRefusing) return;
    this.#storeRefusing = false;
    auditStoringGauge.set(1);
    log.warn('JetStream store accepts audit records again', { refused: this.#refusedInEpisode });
    this.#refusedInEpisode = 0;
    if (this.listenerCount('audit') > 0) this.safeEmit('audit', this.auditStatus);
  }

  #drop(event: DfdEvent | null | undefined, reason: DropReason): void {
    droppedTotal.inc({ reason });
    this.#counts.dropped++;
    const ev = event as Partial<DfdEvent> | null | undefined;
    log.warn('event dropped', { reason, type: ev?.type });
    if (this.listenerCount('dropped') > 0) this.safeEmit('dropped', { id: ev?.id, type: ev?.type, reason });
  }

  async #watchStatus(): Promise<void> {
    for await (const s of this.#nc.status()) {
      if (s.type === Events.Disconnect) {
        this.#connected = false;
        connectedGauge.set(0);
        log.warn('event bus disconnected');
        this.safeEmit('disconnected');
      } else if (s.type === Events.Reconnect) {
        this.#connected = true;
        this.#failStreak = 0;
        connectedGauge.set(1);
        reconnectsTotal.inc();
        log.info('event bus reconnected');
        this.safeEmit('connected');
        this.#wake?.();
      }
    }
  }

  #next(): Pending | undefined {
    const p = this.#retry.shift() ?? this.#queue.shift();
    if (p && !p.data) {
      // Seal at send time, in queue order: a dropped (never sent) event leaves no gap in the chain.
      const record = this.options.jetstream ? this.audit.seal(p.event) : p.event;
      p.event = record;
      p.data = Buffer.from(JSON.stringify(record));
    }
    return p;
  }

  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    while (!this.#closed) {
      const maxInFlight = this.#storeRefusing ? 1 : this.options.maxInFlight;
      const ready = this.#connected && this.#retry.length + this.#queue.length > 0 && this.#inFlight < maxInFlight;
      if (!ready) {
        if (this.buffered === 0) for (const w of this.#idleWaiters.splice(0)) w();
        await new Promise<void>((r) => (this.#wake = r));
        this.#wake = undefined;
        continue;
      }
      if (this.#failStreak > 0) {
        await sleep(Math.min(this.options.retryBackoffMaxMs, this.options.retryBackoffMinMs * 2 ** Math.min(this.#failStreak - 1, 16)));
        if (this.#closed || !this.#connected) continue;
      }
      const p = this.#next();
      if (!p) continue;
      this.#inFlight++;
      void this.#send(p);
    }
    this.#pumping = false;
  }

  async #send(p: Pending): Promise<void> {
    const data = p.data ?? new Uint8Array();
    try {
      if (this.options.jetstream) {
        await this.#js.publish(p.subject, data, { msgID: p.event.id, timeout: this.options.ackTimeoutMs });
      } else {
        this.#nc.publish(p.subject, data);
      }
      this.#failStreak = 0;
      const link = p.event.audit;
      if (link && this.options.jetstream) this.#auditStored(p.event);
      const every = this.options.anchorEvery;
      if (link && p.event.callId && every > 0 && this.options.anchorKey && (link.index + 1) % every === 0 && !this.#closed) {
        // The record just acknowledged, not the newest sealed one (that may still be lost).
        void this.#writeAnchor(p.event.roomId, p.event.callId, 'periodic', { index: link.index, hash: link.hash });
      }
      publishedTotal.inc({ type: p.event.type });
      this.#counts.published++;
      bufferedGauge.dec();
    } catch (e) {
      if (this.options.jetstream && isStoreFull(e)) {
        // The server is there and answered: no backoff, no retry (see the header).
        this.#failStreak = 0;
        this.#auditRefused(p.event);
        bufferedGauge.dec();
        return;
      }
      this.#failStreak++;
      if (this.#connected) p.attempts++;
      if (this.#closed) {
        this.#drop(p.event, 'closed');
        bufferedGauge.dec();
      } else if (p.attempts >= this.options.maxAttempts) {
        log.warn('event publish rejected', { err: e, attempts: p.attempts });
        this.#drop(p.event, 'rejected');
        if (this.options.jetstream) this.#auditWriteFailed('rejected');
        bufferedGauge.dec();
      } else {
        retriesTotal.inc();
        this.#counts.retries++;
        this.#retry.push(p);
      }
    } finally {
      this.#inFlight--;
      this.#wake?.();
    }
  }
}

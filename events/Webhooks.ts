/**
 * Webhook deliveries of bus events to HTTP subscribers.
 *
 * Each delivery is a POST of the event JSON, signed with HMAC-SHA256 over `<timestamp>.<body>`
 * (`X-DFD-Timestamp`, `X-DFD-Signature: sha256=<hex>`), so a receiver can reject replays older
 * than a tolerance. Each attempt has a timeout; failures (network, timeout, 408/425/429/5xx) are
 * retried with exponential backoff and full jitter up to `maxAttempts`, then dead-lettered
 * (counted, kept in a bounded list). Other 4xx and 3xx are dead-lettered at once.
 *
 * Concurrency is bounded globally and per subscriber, and a subscriber's queue is bounded, so a
 * hanging endpoint holds at most `perSubscriberConcurrency` slots and never delays other
 * subscribers or the caller: `dispatch()` only queues and returns.
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { DfdError } from '../kernel/errors.js';
import { createLogger } from '../kernel/log.js';
import { counter, gauge, histogram, latencyBuckets } from '../kernel/metrics.js';
import { TypedEmitter } from '../kernel/TypedEmitter.js';
import { EVENT_TYPES, SUBJECT_TOKEN_RE, type DfdEvent, type EventType } from './schema.js';

const log = createLogger('events.webhooks');

export interface WebhookSubscriber {
  /** Stable id, [A-Za-z0-9_-]. */
  id: string;
  /** http(s) URL that receives POSTs. */
  url: string;
  /** Shared HMAC secret, at least 16 characters. */
  secret: string;
  /** Event types to deliver; empty or absent: all. */
  events?: EventType[];
}

export interface WebhooksOptions {
  subscribers: WebhookSubscriber[];
  /** Per-attempt timeout (connect + response + body). */
  timeoutMs: number;
  /** Attempts per delivery, first included. */
  maxAttempts: number;
  /** Backoff before attempt n+1: random(0, min(max, min * 2^(n-1))) (full jitter). */
  backoffMinMs: number;
  backoffMaxMs: number;
  /** Deliveries in progress at once, all subscribers together. */
  maxConcurrency: number;
  /** Deliveries in progress at once for one subscriber. */
  perSubscriberConcurrency: number;
  /** Deliveries waiting (or backing off) per subscriber; beyond this new ones are dropped (counted). */
  maxQueuedPerSubscriber: number;
  /** Dead letters kept in memory for inspection (oldest forgotten first). */
  maxDeadLetters: number;
  userAgent: string;
}

export const defaultWebhooksOptions: WebhooksOptions = {
  subscribers: [],
  timeoutMs: 5_000,
  maxAttempts: 6,
  backoffMinMs: 500,
  backoffMaxMs: 30_000,
  maxConcurrency: 16,
  perSubscriberConcurrency: 2,
  maxQueuedPerSubscriber: 1_000,
  maxDeadLetters: 100,
  userAgent: 'dfd-webhooks/1',
};

export interface DeadLetter {
  subscriberId: string;
  eventId: string;
  eventType: EventType;
  attempts: number;
  /** Last HTTP status, or 0 for network errors and timeouts. */
  lastStatus: number;
  reason: 'timeout' | 'network' | 'http-status' | 'closed';
  at: string;
}

export interface WebhooksEvents {
  delivered: [{ subscriberId: string; eventId: string; attempts: number; status: number }];
  deadLetter: [DeadLetter];
}

export const SIGNATURE_HEADER = 'x-dfd-signature';
export const TIMESTAMP_HEADER = 'x-dfd-timestamp';

const deliveriesTotal = counter<'result'>({
  name: 'dfd_webhook_deliveries_total',
  help: 'Webhook delivery attempts by result (delivered, retry, dead-letter, dropped)',
  labelNames: ['result'],
});
const deadLetterTotal = counter({ name: 'dfd_webhook_dead_letter_total', help: 'Webhook deliveries given up after retries or a permanent error' });
const attemptSeconds = histogram({ name: 'dfd_webhook_attempt_seconds', help: 'Duration of one webhook attempt', buckets: latencyBuckets });
const queuedGauge = gauge({ name: 'dfd_webhook_queued', help: 'Webhook deliveries queued, backing off or in progress' });

/** `sha256=<hex>` of HMAC-SHA256(secret, `${timestamp}.${body}`). */
export function signPayload(secret: string, timestamp: number | string, body: string): string {
  return 'sha256=' + createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

export interface VerifySignatureInput {
  secret: string;
  /** Raw request body exactly as received. */
  body: string | Buffer;
  /** Value of X-DFD-Signature. */
  signature: string | undefined;
  /** Value of X-DFD-Timestamp (unix seconds). */
  timestamp: string | undefined;
  /** Largest accepted age (and clock skew) in seconds. */
  toleranceSec?: number;
  /** Current unix time in seconds (tests). */
  nowSec?: number;
}

/** For receivers: true when the signature matches and the timestamp is within the tolerance. */
export function verifySignature(input: VerifySignatureInput): boolean {
  const { secret, signature, timestamp } = input;
  if (!signature || !timestamp || !/^\d{1,12}$/.test(timestamp)) return false;
  const now = input.nowSec ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - Number(timestamp)) > (input.toleranceSec ?? 300)) return false;
  const body = typeof input.body === 'string' ? input.body : input.body.toString('utf8');
  const expected = Buffer.from(signPayload(secret, timestamp, body));
  const got = Buffer.from(signature);
  return got.length === expected.length && timingSafeEqual(got, expected);
}

interface Delivery {
  id: string;
  event: DfdEvent;
  body: string;
  attempts: number;
}

interface SubscriberState {
  sub: WebhookSubscriber;
  queue: Delivery[];
  /** Deliveries queued, backing off or in progress (bounded by maxQueuedPerSubscriber). */
  held: number;
  active: number;
  timers: Set<NodeJS.Timeout>;
}

function validateSubscriber(s: WebhookSubscriber): void {
  if (!SUBJECT_TOKEN_RE.test(s.id)) throw new DfdError('ERR_CONFIG', 'invalid webhook subscriber id');
  let u: URL;
  try {
    u = new URL(s.url);
  } catch {
    throw new DfdError('ERR_CONFIG', 'invalid webhook url', { subscriber: s.id });
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new DfdError('ERR_CONFIG', 'webhook url must be http or https', { subscriber: s.id });
  if (typeof s.secret !== 'string' || s.secret.length < 16) throw new DfdError('ERR_CONFIG', 'webhook secret must have at least 16 characters', { subscriber: s.id });
  for (const t of s.events ?? []) if (!EVENT_TYPES.includes(t)) throw new DfdError('ERR_CONFIG', 'unknown event type in webhook filter', { subscriber: s.id });
}

export class Webhooks extends TypedEmitter<WebhooksEvents> {
  readonly options: WebhooksOptions;
  readonly #subs = new Map<string, SubscriberState>();
  readonly #deadLetters: DeadLetter[] = [];
  #active = 0;
  #closed = false;
  #idleWaiters: (() => void)[] = [];
  readonly #controllers = new Set<AbortController>();

  constructor(options: Partial<WebhooksOptions> = {}) {
    super();
    this.options = { ...defaultWebhooksOptions, ...options };
    for (const s of this.options.subscribers) this.addSubscriber(s);
  }

  addSubscriber(sub: WebhookSubscriber): void {
    validateSubscriber(sub);
    if (this.#subs.has(sub.id)) throw new DfdError('ERR_CONFIG', 'duplicate webhook subscriber id', { subscriber: sub.id });
    this.#subs.set(sub.id, { sub: { ...sub, events: sub.events ? [...sub.events] : [] }, queue: [], held: 0, active: 0, timers: new Set() });
  }

  /** Removes a subscriber; its queued deliveries are dropped, in-progress ones finish. */
  removeSubscriber(id: string): boolean {
    const st = this.#subs.get(id);
    if (!st) return false;
    for (const t of st.timers) clearTimeout(t);
    queuedGauge.dec(st.queue.length + st.timers.size);
    this.#subs.delete(id);
    return true;
  }

  subscribers(): WebhookSubscriber[] {
    return [...this.#subs.values()].map((s) => ({ ...s.sub, secret: '***' }));
  }

  /** Recent dead letters, oldest first. */
  deadLetters(): readonly DeadLetter[] {
    return [...this.#deadLetters];
  }

  /** Deliveries queued, backing off or in progress. */
  get pending(): number {
    let n = 0;
    for (const s of this.#subs.values()) n += s.held;
    return n;
  }

  /** Queues the event for every matching subscriber. Never throws, never waits. Returns how many were queued. */
  dispatch(event: DfdEvent): number {
    if (this.#closed) return 0;
    let body: string | undefined;
    let n = 0;
    for (const st of this.#subs.values()) {
      const filter = st.sub.events ?? [];
      if (filter.length > 0 && !filter.includes(event.type)) continue;
      if (st.held >= this.options.maxQueuedPerSubscriber) {
        deliveriesTotal.inc({ result: 'dropped' });
        log.warn('webhook queue full, delivery dropped', { subscriber: st.sub.id });
        continue;
      }
      body ??= JSON.stringify(event);
      st.queue.push({ id: randomUUID(), event, body, attempts: 0 });
      st.held++;
      queuedGauge.inc();
      n++;
    }
    if (n > 0) this.#schedule();
    return n;
  }

  /** Resolves true when nothing is pending, false after timeoutMs. */
  async idle(timeoutMs = 30_000): Promise<boolean> {
    if (this.pending === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const ok = await Promise.race([
      new Promise<boolean>((r) => this.#idleWaiters.push(() => r(true))),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    return ok;
  }

  /** Aborts in-progress attempts and dead-letters everything pending (reason "closed"). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const st of this.#subs.values()) {
      for (const t of st.timers) clearTimeout(t);
      queuedGauge.dec(st.queue.length + st.timers.size);
      st.timers.clear();
      st.queue = [];
      st.held = st.active;
    }
    for (const c of this.#controllers) c.abort();
  }

  #schedule(): void {
    if (this.#closed) return;
    const o = this.options;
    let progressed = true;
    // Round-robin one delivery per subscriber per pass, so one busy subscriber cannot starve others.
    while (progressed && this.#active < o.maxConcurrency) {
      progressed = false;
      for (const st of this.#subs.values()) {
        if (this.#active >= o.maxConcurrency) break;
        if (st.active >= o.perSubscriberConcurrency) continue;
        const d = st.queue.shift();
        if (!d) continue;
        st.active++;
        this.#active++;
        progressed = true;
        void this.#attempt(st, d);
      }
    }
  }

  async #attempt(st: SubscriberState, d: Delivery): Promise<void> {
    d.attempts++;
    const ts = Math.floor(Date.now() / 1000);
    const ctl = new AbortController();
    this.#controllers.add(ctl);
    const timer = setTimeout(() => ctl.abort(), this.options.timeoutMs);
    const started = performance.now();
    let status = 0;
    let failure: DeadLetter['reason'] | undefined;
    let retryAfterMs: number | undefined;
    try {
      const res = await fetch(st.sub.url, {
        method: 'POST',
        redirect: 'manual',
        signal: ctl.signal,
        headers: {
          'content-type': 'application/json',
          'user-agent': this.options.userAgent,
          'x-dfd-event-id': d.event.id,
          'x-dfd-event-type': d.event.type,
          'x-dfd-delivery-id': d.id,
          'x-dfd-delivery-attempt': String(d.attempts),
          [TIMESTAMP_HEADER]: String(ts),
          [SIGNATURE_HEADER]: signPayload(st.sub.secret, ts, d.body),
        },
        body: d.body,
      });
      status = res.status;
      await res.body?.cancel().catch(() => undefined);
      if (status < 200 || status >= 300) {
        failure = 'http-status';
        const ra = Number(res.headers.get('retry-after'));
        if (status === 429 && Number.isFinite(ra) && ra > 0) retryAfterMs = ra * 1000;
      }
    } catch {
      failure = ctl.signal.aborted ? (this.#closed ? 'closed' : 'timeout') : 'network';
    } finally {
      clearTimeout(timer);
      this.#controllers.delete(ctl);
      attemptSeconds.observe((performance.now() - started) / 1000);
      st.active--;
      this.#active--;
    }
    if (!failure) {
      deliveriesTotal.inc({ result: 'delivered' });
      this.#settle(st);
      if (this.listenerCount('delivered') > 0) this.safeEmit('delivered', { subscriberId: st.sub.id, eventId: d.event.id, attempts: d.attempts, status });
    } else {
      const retryable = failure === 'timeout' || failure === 'network' || status === 408 || status === 425 || status === 429 || status >= 500;
      if (retryable && d.attempts < this.options.maxAttempts && !this.#closed && this.#subs.get(st.sub.id) === st) {
        deliveriesTotal.inc({ result: 'retry' });
        const cap = Math.min(this.options.backoffMaxMs, this.options.backoffMinMs * 2 ** (d.attempts - 1));
        const delay = retryAfterMs !== undefined ? Math.min(retryAfterMs, this.options.backoffMaxMs) : Math.random() * cap;
        const t = setTimeout(() => {
          st.timers.delete(t);
          if (this.#closed) return;
          st.queue.unshift(d);
          this.#schedule();
        }, delay);
        st.timers.add(t);
      } else {
        this.#deadLetter(st, d, status, this.#closed ? 'closed' : failure);
      }
    }
    this.#schedule();
  }

  #settle(st: SubscriberState): void {
    st.held = Math.max(0, st.held - 1);
    queuedGauge.dec();
    if (this.pending === 0) for (const w of this.#idleWaiters.splice(0)) w();
  }

  #deadLetter(st: SubscriberState, d: Delivery, status: number, reason: DeadLetter['reason']): void {
    deliveriesTotal.inc({ result: 'dead-letter' });
    deadLetterTotal.inc();
    const dl: DeadLetter = { subscriberId: st.sub.id, eventId: d.event.id, eventType: d.event.type, attempts: d.attempts, lastStatus: status, reason, at: new Date().toISOString() };
    this.#deadLetters.push(dl);
    if (this.#deadLetters.length > this.options.maxDeadLetters) this.#deadLetters.shift();
    log.warn('webhook dead letter', { subscriber: st.sub.id, attempts: d.attempts, status, reason });
    this.#settle(st);
    if (this.listenerCount('deadLetter') > 0) this.safeEmit('deadLetter', dl);
  }
}

/**
 * The operator live stream (`EventSource('/v1/stream')`, cookie auth) turned into reducer
 * actions. EventSource reconnects by itself; every reconnect starts with fresh snapshots.
 * Malformed messages are counted, never thrown.
 */
import { parseCallSummary, parseWireEvent } from './types.js';
import type { DashboardAction } from './state.js';

export type FeedStatus = 'connecting' | 'live' | 'reconnecting';

export interface LiveStreamOptions {
  url: string;
  onAction(action: DashboardAction): void;
  onStatus(status: FeedStatus): void;
}

const EVENT_TYPES = ['snapshot', 'verdict', 'score', 'challenge', 'decision'] as const;

export class LiveStream {
  readonly #source: EventSource;
  #malformed = 0;

  constructor(readonly options: LiveStreamOptions) {
    options.onStatus('connecting');
    this.#source = new EventSource(options.url, { withCredentials: true });
    this.#source.onopen = () => options.onStatus('live');
    // CONNECTING after an error: EventSource retries by itself; CLOSED: the owner must reopen.
    this.#source.onerror = () => options.onStatus('reconnecting');
    for (const type of EVENT_TYPES) this.#source.addEventListener(type, (ev) => this.#handle(type, ev));
  }

  /** Messages dropped because they did not parse or validate. */
  get malformed(): number {
    return this.#malformed;
  }

  get closed(): boolean {
    return this.#source.readyState === EventSource.CLOSED;
  }

  #handle(type: (typeof EVENT_TYPES)[number], ev: MessageEvent): void {
    let data: unknown;
    try {
      data = JSON.parse(String(ev.data));
    } catch {
      this.#malformed++;
      return;
    }
    if (type === 'snapshot') {
      const call = parseCallSummary(data);
      if (call) this.options.onAction({ type: 'snapshot', call });
      else this.#malformed++;
      return;
    }
    const event = parseWireEvent(data);
    if (event) this.options.onAction({ type: 'event', event });
    else this.#malformed++;
  }

  close(): void {
    this.#source.close();
  }
}

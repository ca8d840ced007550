/**
 * Server-Sent Events bridged from NATS: one bus subscription fans out to every connected
 * dashboard or badge. A slow client is never waited for: when its socket buffer is full
 * events for it are skipped (and counted), and it is closed past a limit.
 */
import type { ServerResponse } from 'node:http';
import type { DfdEvent } from '../events/schema.js';
import { counter, gauge } from '../kernel/metrics.js';

export interface LiveFeedOptions {
  /** A client that has skipped this many events in a row is disconnected. */
  maxSkippedInARow: number;
  heartbeatMs: number;
}

export const defaultLiveFeedOptions: LiveFeedOptions = { maxSkippedInARow: 500, heartbeatMs: 15_000 };

interface Client {
  res: ServerResponse;
  filter: (e: DfdEvent) => boolean;
  skipped: number;
}

const sseClients = gauge({ name: 'dfd_sse_clients', help: 'Connected dashboard/badge SSE clients' });
const sseSkipped = counter({ name: 'dfd_sse_skipped_total', help: 'Events not sent to a slow SSE client' });

export class LiveFeed {
  readonly options: LiveFeedOptions;
  readonly #clients = new Set<Client>();
  readonly #heartbeat: NodeJS.Timeout;

  constructor(options: Partial<LiveFeedOptions> = {}) {
    this.options = { ...defaultLiveFeedOptions, ...options };
    this.#heartbeat = setInterval(() => {
      for (const c of this.#clients) c.res.write(': keep-alive\n\n');
    }, this.options.heartbeatMs);
    this.#heartbeat.unref();
  }

  get clients(): number {
    return this.#clients.size;
  }

  /** Takes over the response as an event stream. `initial` events are sent first. */
  attach(res: ServerResponse, filter: (e: DfdEvent) => boolean, initial: unknown[] = []): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    // HEAD: the headers are the whole answer. (Node sends a HEAD response's headers only at end(),
    // so a stream would leave the client waiting and hold a client here that never gets a byte.)
    if (res.req.method === 'HEAD') {
      res.end();
      return;
    }
    res.write('retry: 2000\n\n');
    for (const item of initial) res.write(`event: snapshot\ndata: ${JSON.stringify(item)}\n\n`);
    const client: Client = { res, filter, skipped: 0 };
    this.#clients.add(client);
    sseClients.set(this.#clients.size);
    res.on('close', () => {
      this.#clients.delete(client);
      sseClients.set(this.#clients.size);
    });
  }

  publish(event: DfdEvent): void {
    let data: string | undefined;
    for (const c of this.#clients) {
      if (!c.filter(event)) continue;
      if (c.res.writableNeedDrain) {
        sseSkipped.inc();
        if (++c.skipped > this.options.maxSkippedInARow) c.res.destroy();
        continue;
      }
      c.skipped = 0;
      data ??= `event: ${event.type}\nid: ${event.id}\ndata: ${JSON.stringify(event)}\n\n`;
      c.res.write(data);
    }
  }

  close(): void {
    clearInterval(this.#heartbeat);
    for (const c of this.#clients) c.res.end();
    this.#clients.clear();
  }
}

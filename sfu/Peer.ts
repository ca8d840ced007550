/**
 * One participant in a room: its transports, producers and consumers. Closing a peer
 * closes its transports, which closes its producers and consumers (mediasoup cascades).
 */
import type { types } from './mediasoup.js';
import type { TokenPayload } from './tokens.js';

export type PeerRole = TokenPayload['role'];

export interface PeerNotifier {
  (method: string, data: Record<string, unknown>): void;
}

export class Peer {
  readonly id: string;
  readonly displayName: string;
  readonly role: PeerRole;
  readonly joinedAt = Date.now();
  readonly transports = new Map<string, types.WebRtcTransport>();
  /** Plain-RTP ingest transports of a server-side peer (gateway, load generator). */
  readonly plainTransports = new Map<string, types.PlainTransport>();
  /** In-process ingest transports of a server-side peer (a phone leg fed from ingest/). */
  readonly directTransports = new Map<string, types.DirectTransport>();
  readonly producers = new Map<string, types.Producer>();
  readonly consumers = new Map<string, types.Consumer>();
  rtpCapabilities: types.RtpCapabilities | undefined;
  readonly notify: PeerNotifier;
  #closed = false;

  constructor(opts: { id: string; displayName: string; role: PeerRole; notify: PeerNotifier }) {
    this.id = opts.id;
    this.displayName = opts.displayName;
    this.role = opts.role;
    this.notify = opts.notify;
  }

  get closed(): boolean {
    return this.#closed;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.transports.values()) t.close();
    for (const t of this.plainTransports.values()) t.close();
    for (const t of this.directTransports.values()) t.close();
    this.transports.clear();
    this.plainTransports.clear();
    this.directTransports.clear();
    this.producers.clear();
    this.consumers.clear();
  }
}

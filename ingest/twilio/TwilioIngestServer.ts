/**
 * The Twilio Media Streams endpoint, `wss://<host>/v1/ingest/twilio`, on the service's own
 * HTTP server (no second port): it takes the HTTP upgrades for its path and leaves every
 * other path to the other upgrade handlers (signalling at /ws). Each socket becomes a
 * TwilioSession; one stream per call (a second stream for a call already streaming is
 * refused). Frames above `maxFrameBytes` are refused by `ws` itself (close 1009).
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { DfdError, toDfdError } from '../../kernel/errors.js';
import { refuseUpgrade } from '../../kernel/http/refuseUpgrade.js';
import { TypedEmitter } from '../../kernel/TypedEmitter.js';
import { createLogger } from '../../kernel/log.js';
import { ingestMetrics } from '../metrics.js';
import { CallClaims } from '../PhoneSessionDeps.js';
import { closeCodeFor } from '../closeCodes.js';
import { TwilioSession, type TwilioSessionDeps, type TwilioSessionOptions } from './TwilioSession.js';

const log = createLogger('ingest.twilio.server');

export const TWILIO_INGEST_PATH = '/v1/ingest/twilio';

export interface TwilioIngestServerOptions {
  path: string;
  /** Largest WebSocket frame accepted (a 20 ms media message is about 300 bytes; `start` carries the custom parameters). */
  maxFrameBytes: number;
  /** Concurrent streams; one more is refused (close 1013, ERR_INGEST_CAPACITY). */
  maxStreams: number;
  session: Partial<TwilioSessionOptions>;
}

export const defaultTwilioIngestServerOptions: TwilioIngestServerOptions = {
  path: TWILIO_INGEST_PATH,
  maxFrameBytes: 16 * 1024,
  maxStreams: 200,
  session: {},
};

export interface TwilioIngestServerDeps extends Omit<TwilioSessionDeps, 'claim' | 'release'> {
  /** True once the service is shutting down: new streams are refused (close 1001). */
  shuttingDown(): boolean;
  /** Checked first on every upgrade (e.g. a per-client rate limit); throws the DfdError it is refused with. */
  admitUpgrade?(req: IncomingMessage): void;
}

export interface TwilioIngestServerEvents {
  session: [session: TwilioSession];
}

export class TwilioIngestServer extends TypedEmitter<TwilioIngestServerEvents> {
  readonly options: TwilioIngestServerOptions;
  readonly #deps: TwilioIngestServerDeps;
  readonly #wss: WebSocketServer;
  readonly #sessions = new Set<TwilioSession>();
  /** Room ids of the calls streaming now (claimed at `start`, before their room exists). */
  readonly #calls = new CallClaims();
  readonly #onUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  readonly #server: Server;
  #closed = false;

  constructor(server: Server, deps: TwilioIngestServerDeps, options: Partial<TwilioIngestServerOptions> = {}) {
    super();
    this.options = { ...defaultTwilioIngestServerOptions, ...options };
    this.#deps = deps;
    this.#server = server;
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: this.options.maxFrameBytes, perMessageDeflate: false });
    this.#onUpgrade = (req, socket, head) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname !== this.options.path) return; // another upgrade handler's path
      try {
        this.#deps.admitUpgrade?.(req);
      } catch (e) {
        refuseUpgrade(socket, toDfdError(e));
        return;
      }
      this.#wss.handleUpgrade(req, socket, head, (ws) => this.#accept(ws, url.searchParams.get('key') ?? undefined));
    };
    server.on('upgrade', this.#onUpgrade);
  }

  /** Streams open now. */
  get streamCount(): number {
    return this.#sessions.size;
  }

  sessions(): TwilioSession[] {
    return [...this.#sessions];
  }

  #accept(ws: WebSocket, queryKey: string | undefined): void {
    const refuse = (err: DfdError): void => {
      ingestMetrics.frameErrors.inc({ platform: 'twilio', code: err.code, fatal: 'true' });
      ws.close(closeCodeFor(err.code), err.code);
    };
    if (this.#closed || this.#deps.shuttingDown()) return refuse(new DfdError('ERR_SHUTTING_DOWN'));
    if (this.#sessions.size >= this.options.maxStreams) return refuse(new DfdError('ERR_INGEST_CAPACITY', undefined, { limit: this.options.maxStreams }));
    const session = new TwilioSession(
      ws,
      {
        ...this.#deps,
        claim: (roomId) => this.#calls.claim(roomId),
        release: (roomId) => this.#calls.release(roomId),
      },
      queryKey,
      this.options.session,
    );
    this.#sessions.add(session);
    session.once('ended', () => this.#sessions.delete(session));
    ws.once('close', () => this.#sessions.delete(session));
    this.safeEmit('session', session);
    session.begin();
  }

  /** Closes every stream (1001) and stops taking new ones. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#server.off('upgrade', this.#onUpgrade);
    for (const s of this.#sessions) s.close(closeCodeFor('ERR_SHUTTING_DOWN'), 'ERR_SHUTTING_DOWN');
    this.#sessions.clear();
    this.#wss.close();
    log.debug('twilio ingest closed');
  }
}

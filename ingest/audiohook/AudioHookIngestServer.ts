/**
 * The Genesys AudioHook endpoint, `wss://<host>/v1/ingest/audiohook`, on the service's own
 * HTTP server. The upgrade request is checked before any WebSocket exists, so a refused
 * client never gets to send audio:
 *
 *   shutting down / at capacity            -> HTTP 503 (Retry-After)
 *   X-API-KEY missing or wrong             -> HTTP 401 ERR_INGEST_AUTH
 *   Audiohook-Session-Id missing, not UUID -> HTTP 400 ERR_INGEST_FRAME
 *
 * Each accepted socket becomes an AudioHookSession; one session per conversation (a second
 * one for a conversation already streaming is refused with `disconnect`).
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { refuseUpgrade } from '../../kernel/http/refuseUpgrade.js';
import { WebSocketServer, type WebSocket } from 'ws';
import { DfdError, toDfdError } from '../../kernel/errors.js';
import { TypedEmitter } from '../../kernel/TypedEmitter.js';
import { createLogger } from '../../kernel/log.js';
import type { IngestKeys } from '../IngestKeys.js';
import { ingestMetrics } from '../metrics.js';
import { CallClaims } from '../PhoneSessionDeps.js';
import { AudioHookSession, type AudioHookSessionDeps, type AudioHookSessionInfo, type AudioHookSessionOptions } from './AudioHookSession.js';
import { AUDIOHOOK_HEADERS, UUID_RE } from './protocol.js';

const log = createLogger('ingest.audiohook.server');

export const AUDIOHOOK_INGEST_PATH = '/v1/ingest/audiohook';

export interface AudioHookIngestServerOptions {
  path: string;
  /** Largest WebSocket frame accepted (an audio frame of 100 ms stereo is 1,600 bytes). */
  maxFrameBytes: number;
  /** Concurrent sessions; one more is refused (HTTP 503, ERR_INGEST_CAPACITY). */
  maxStreams: number;
  session: Partial<AudioHookSessionOptions>;
}

export const defaultAudioHookIngestServerOptions: AudioHookIngestServerOptions = {
  path: AUDIOHOOK_INGEST_PATH,
  maxFrameBytes: 64 * 1024,
  maxStreams: 200,
  session: {},
};

export interface AudioHookIngestServerDeps extends Omit<AudioHookSessionDeps, 'claim' | 'release'> {
  keys: IngestKeys;
  shuttingDown(): boolean;
  /** Checked first on every upgrade (e.g. a per-client rate limit); throws the DfdError it is refused with. */
  admitUpgrade?(req: IncomingMessage): void;
}

export interface AudioHookIngestServerEvents {
  session: [session: AudioHookSession];
}

export class AudioHookIngestServer extends TypedEmitter<AudioHookIngestServerEvents> {
  readonly options: AudioHookIngestServerOptions;
  readonly #deps: AudioHookIngestServerDeps;
  readonly #wss: WebSocketServer;
  readonly #sessions = new Set<AudioHookSession>();
  readonly #calls = new CallClaims();
  readonly #onUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  readonly #server: Server;
  #closed = false;

  constructor(server: Server, deps: AudioHookIngestServerDeps, options: Partial<AudioHookIngestServerOptions> = {}) {
    super();
    this.options = { ...defaultAudioHookIngestServerOptions, ...options };
    this.#deps = deps;
    this.#server = server;
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: this.options.maxFrameBytes, perMessageDeflate: false });
    this.#onUpgrade = (req, socket, head) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname !== this.options.path) return; // another upgrade handler's path
      let info: AudioHookSessionInfo;
      try {
        info = this.#admit(req);
      } catch (e) {
        const err = toDfdError(e);
        ingestMetrics.frameErrors.inc({ platform: 'audiohook', code: err.code, fatal: 'true' });
        refuseUpgrade(socket, err);
        return;
      }
      this.#wss.handleUpgrade(req, socket, head, (ws) => this.#accept(ws, info));
    };
    server.on('upgrade', this.#onUpgrade);
  }

  get streamCount(): number {
    return this.#sessions.size;
  }

  sessions(): AudioHookSession[] {
    return [...this.#sessions];
  }

  /** Checks the upgrade request; throws the DfdError it is refused with. */
  #admit(req: IncomingMessage): AudioHookSessionInfo {
    const header = (name: string): string | undefined => {
      const v = req.headers[name];
      return typeof v === 'string' ? v : undefined;
    };
    if (this.#closed || this.#deps.shuttingDown()) throw new DfdError('ERR_SHUTTING_DOWN');
    this.#deps.admitUpgrade?.(req);
    if (this.#sessions.size >= this.options.maxStreams) throw new DfdError('ERR_INGEST_CAPACITY', undefined, { limit: this.options.maxStreams });
    const { tenant } = this.#deps.keys.verify(header(AUDIOHOOK_HEADERS.apiKey));
    const sessionId = header(AUDIOHOOK_HEADERS.sessionId);
    if (sessionId === undefined || !UUID_RE.test(sessionId)) throw new DfdError('ERR_INGEST_FRAME', 'Audiohook-Session-Id must be a UUID');
    const org = header(AUDIOHOOK_HEADERS.organizationId);
    const corr = header(AUDIOHOOK_HEADERS.correlationId);
    return {
      sessionId: sessionId.toLowerCase(),
      tenant,
      organizationId: org !== undefined && UUID_RE.test(org) ? org.toLowerCase() : undefined,
      correlationId: corr !== undefined && /^[A-Za-z0-9_.:-]{1,128}$/.test(corr) ? corr : undefined,
    };
  }

  #accept(ws: WebSocket, info: AudioHookSessionInfo): void {
    const session = new AudioHookSession(
      ws,
      {
        ...this.#deps,
        claim: (roomId) => this.#calls.claim(roomId),
        release: (roomId) => this.#calls.release(roomId),
      },
      info,
      this.options.session,
    );
    this.#sessions.add(session);
    session.once('ended', () => this.#sessions.delete(session));
    ws.once('close', () => this.#sessions.delete(session));
    this.safeEmit('session', session);
    session.begin();
  }

  /** Ends every session (`disconnect`, then 1001) and stops taking new ones. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#server.off('upgrade', this.#onUpgrade);
    for (const s of this.#sessions) s.close(new DfdError('ERR_SHUTTING_DOWN'));
    this.#sessions.clear();
    this.#wss.close();
    log.debug('audiohook ingest closed');
  }
}

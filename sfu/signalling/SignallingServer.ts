/**
 * WebSocket signalling. Each socket is a `SignallingSession` with a tiny state machine:
 *   connected --join--> joined --close/leave--> closed
 *   connected --join timeout / close--> closed
 *   any       --pingMisses pings unanswered--> closed (terminated; the peer leaves as on a close)
 *   joined    --the same identity joins on another socket--> closed (4409)
 * Every message is size-checked, parsed, validated against `protocol.ts` and only then
 * dispatched; a bad message gets a typed error response and changes nothing.
 *
 * Heartbeat: every `pingIntervalMs` each socket gets a WebSocket ping (browsers answer on
 * their own); a socket that left `pingMisses` pings in a row unanswered is terminated at the
 * next one, so a client gone without a TCP close leaves its room within
 * (pingMisses + 1) x pingIntervalMs.
 *
 * Rejoin: a token names one identity (room, peer, role). A join with the identity of a peer
 * still held by another socket (a client back from a network drop the server has not noticed
 * yet) replaces it: the old socket is closed with 4409 "replaced" and its peer leaves, then
 * the new one joins. A peer held by anything else (a phone leg) still gives ERR_ALREADY_JOINED.
 *
 * Shutdown: `beginShutdown()` tells every socket (`serviceShutdown` notification) and from
 * then on refuses joins with ERR_SHUTTING_DOWN; `close()` then closes the sockets (1001).
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import type { TSchema } from '@sinclair/typebox';
import { methods, RequestEnvelope, type MethodName, type MethodData } from './protocol.js';
import type { RoomManager } from '../RoomManager.js';
import type { Room } from '../Room.js';
import { Peer } from '../Peer.js';
import type { TokenSigner } from '../tokens.js';
import type { types } from '../mediasoup.js';
import { DfdError, toDfdError } from '../../kernel/errors.js';
import { TypedEmitter } from '../../kernel/TypedEmitter.js';
import { TokenBucket } from '../../kernel/TokenBucket.js';
import { refuseUpgrade } from '../../kernel/http/refuseUpgrade.js';
import { createLogger } from '../../kernel/log.js';
import { counter, gauge } from '../../kernel/metrics.js';

const log = createLogger('sfu.signalling');

export interface SignallingOptions {
  path: string;
  /** Checked first on every upgrade (e.g. a per-client join rate limit); throws the DfdError it is refused with. */
  admitUpgrade?: (req: IncomingMessage) => void;
  maxMessageBytes: number;
  joinTimeoutMs: number;
  /** Token bucket: sustained requests per second and burst. */
  ratePerSec: number;
  rateBurst: number;
  /** A socket whose send buffer exceeds this is closed (slow consumer). */
  maxBufferedBytes: number;
  /** Heartbeat: a WebSocket ping to every socket this often; 0 turns it off. */
  pingIntervalMs: number;
  /** Pings in a row a socket may leave unanswered; at the next one it is terminated. */
  pingMisses: number;
}

export const defaultSignallingOptions: SignallingOptions = {
  path: '/ws',
  maxMessageBytes: 65536,
  joinTimeoutMs: 15_000,
  ratePerSec: 50,
  rateBurst: 200,
  maxBufferedBytes: 4 * 1024 * 1024,
  pingIntervalMs: 10_000,
  pingMisses: 2,
};

/** Close code of a socket whose identity joined again on another socket. */
export const REPLACED_CLOSE_CODE = 4409;

export interface SignallingEvents {
  peerjoined: [room: Room, peer: Peer];
}

const requests = counter<'method' | 'result'>({ name: 'dfd_signalling_requests_total', help: 'Signalling requests by method and result code', labelNames: ['method', 'result'] });
const sockets = gauge({ name: 'dfd_signalling_sockets', help: 'Open signalling WebSockets' });
const unresponsive = counter({ name: 'dfd_signalling_heartbeat_timeouts_total', help: 'Signalling sockets terminated because they stopped answering pings' });
const replacedTotal = counter({ name: 'dfd_signalling_replaced_total', help: 'Signalling sessions replaced by a join of the same identity on a new socket' });

const envelopeCheck = TypeCompiler.Compile(RequestEnvelope);
const methodChecks = Object.fromEntries(Object.entries(methods).map(([k, s]) => [k, TypeCompiler.Compile(s as TSchema)])) as Record<MethodName, TypeCheck<TSchema>>;

function isMethod(m: string): m is MethodName {
  return Object.hasOwn(methods, m);
}

function firstError(check: TypeCheck<TSchema>, value: unknown): string {
  const e = [...check.Errors(value)][0];
  return e ? `${e.path || '/'}: ${e.message}` : 'invalid';
}

export class SignallingServer extends TypedEmitter<SignallingEvents> {
  readonly options: SignallingOptions;
  readonly #wss: WebSocketServer;
  readonly #rooms: RoomManager;
  readonly #tokens: TokenSigner;
  readonly #sessions = new Set<SignallingSession>();
  readonly #heartbeat: NodeJS.Timeout | undefined;
  #shuttingDown = false;

  constructor(server: Server, rooms: RoomManager, tokens: TokenSigner, options: Partial<SignallingOptions> = {}) {
    super();
    this.options = { ...defaultSignallingOptions, ...options };
    this.#rooms = rooms;
    this.#tokens = tokens;
    // ws closes the socket (1009) past maxPayload; below that, oversize gets a typed error.
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: this.options.maxMessageBytes * 4 });
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname !== this.options.path) return; // other upgrade handlers may take it
      try {
        this.options.admitUpgrade?.(req);
      } catch (e) {
        refuseUpgrade(socket, toDfdError(e));
        return;
      }
      this.#wss.handleUpgrade(req, socket, head, (ws) => this.#accept(ws));
    });
    if (this.options.pingIntervalMs > 0) {
      this.#heartbeat = setInterval(() => {
        for (const s of this.#sessions) s.heartbeat(this.options.pingMisses);
      }, this.options.pingIntervalMs);
      this.#heartbeat.unref();
    }
  }

  get sessionCount(): number {
    return this.#sessions.size;
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /**
   * The service is stopping: every open socket gets a `serviceShutdown` notification and new
   * joins are refused with ERR_SHUTTING_DOWN. Sockets stay open until close(). Idempotent.
   */
  beginShutdown(): void {
    if (this.#shuttingDown) return;
    this.#shuttingDown = true;
    for (const s of this.#sessions) s.notify('serviceShutdown', { reason: 'shutdown', retryable: true });
  }

  #accept(ws: WebSocket): void {
    const session: SignallingSession = new SignallingSession(ws, this.#rooms, this.#tokens, this.options, {
      onJoined: (room, peer) => this.safeEmit('peerjoined', room, peer),
      shuttingDown: () => this.#shuttingDown,
      replace: (roomId, peerId, role): boolean => this.#replace(session, roomId, peerId, role),
    });
    this.#sessions.add(session);
    sockets.set(this.#sessions.size);
    ws.on('close', () => {
      this.#sessions.delete(session);
      sockets.set(this.#sessions.size);
    });
  }

  /**
   * Closes the other socket holding the identity `by` joins with (same room, peer and role),
   * so that its peer leaves the room. False when no socket holds it (or with another role).
   */
  #replace(by: SignallingSession, roomId: string, peerId: string, role: string): boolean {
    for (const s of this.#sessions) {
      if (s === by || !s.holds(roomId, peerId)) continue;
      if (s.role !== role) return false;
      log.info('signalling session replaced by a new join', { roomId, peerId });
      replacedTotal.inc();
      s.close(REPLACED_CLOSE_CODE, 'replaced by a new connection');
      return true;
    }
    return false;
  }

  close(): void {
    clearInterval(this.#heartbeat);
    for (const s of this.#sessions) s.close(1001, 'server shutting down');
    this.#wss.close();
  }
}

interface SessionHooks {
  onJoined: (room: Room, peer: Peer) => void;
  shuttingDown: () => boolean;
  /** Another socket holds this identity: close it (true), or leave it (false). */
  replace: (roomId: string, peerId: string, role: string) => boolean;
}

type SessionState = 'connected' | 'joined' | 'closed';

class SignallingSession {
  #state: SessionState = 'connected';
  #room: Room | undefined;
  #peer: Peer | undefined;
  readonly #bucket: TokenBucket;
  /** Pings sent since the last pong. */
  #unanswered = 0;
  readonly #joinTimer: NodeJS.Timeout;
  private readonly onJoined: SessionHooks['onJoined'];
  private readonly shuttingDown: SessionHooks['shuttingDown'];
  readonly #replace: SessionHooks['replace'];

  constructor(
    private readonly ws: WebSocket,
    private readonly rooms: RoomManager,
    private readonly signer: TokenSigner,
    private readonly options: SignallingOptions,
    hooks: SessionHooks,
  ) {
    this.onJoined = hooks.onJoined;
    this.shuttingDown = hooks.shuttingDown;
    this.#replace = hooks.replace;
    this.#bucket = new TokenBucket({ ratePerSec: options.ratePerSec, burst: options.rateBurst });
    this.#joinTimer = setTimeout(() => {
      if (this.#state === 'connected') this.close(4408, 'join timeout');
    }, options.joinTimeoutMs);
    ws.on('message', (raw: RawData, isBinary: boolean) => void this.#onMessage(raw, isBinary));
    ws.on('close', () => this.#teardown());
    ws.on('error', () => this.#teardown());
    ws.on('pong', () => (this.#unanswered = 0));
  }

  /** Whether this socket has joined `roomId` as `peerId`. */
  holds(roomId: string, peerId: string): boolean {
    return this.#state === 'joined' && this.#room?.id === roomId && this.#peer?.id === peerId;
  }

  get role(): string | undefined {
    return this.#peer?.role;
  }

  /**
   * One heartbeat tick: a socket that left `maxMisses` pings in a row unanswered is terminated
   * (no close handshake: it is presumed gone) and its peer leaves the room; any other gets a ping.
   */
  heartbeat(maxMisses: number): void {
    if (this.#state === 'closed' || this.ws.readyState !== this.ws.OPEN) return;
    if (this.#unanswered >= maxMisses) {
      log.info('signalling socket stopped answering pings: closed', { missed: this.#unanswered, joined: this.#state === 'joined', roomId: this.#room?.id });
      unresponsive.inc();
      this.#teardown();
      this.ws.terminate();
      return;
    }
    this.#unanswered++;
    this.ws.ping();
  }

  close(code: number, reason: string): void {
    this.#teardown();
    if (this.ws.readyState === this.ws.OPEN || this.ws.readyState === this.ws.CONNECTING) this.ws.close(code, reason);
  }

  #teardown(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    clearTimeout(this.#joinTimer);
    // Only its own peer: after a replacement the room may hold a new peer with the same id.
    if (this.#room && this.#peer && this.#room.peers.get(this.#peer.id) === this.#peer) this.#room.leave(this.#peer.id);
    this.#peer?.close();
  }

  #send(msg: unknown): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    if (this.ws.bufferedAmount > this.options.maxBufferedBytes) {
      this.close(4429, 'slow consumer');
      return;
    }
    this.ws.send(JSON.stringify(msg));
  }

  notify = (method: string, data: Record<string, unknown>): void => {
    this.#send({ type: 'notification', method, data });
  };

  async #onMessage(raw: RawData, isBinary: boolean): Promise<void> {
    if (this.#state === 'closed') return;
    let id: number | null = null;
    let method = 'unknown';
    try {
      const size = Array.isArray(raw) ? raw.reduce((n, b) => n + b.length, 0) : raw instanceof ArrayBuffer ? raw.byteLength : raw.length;
      if (size > this.options.maxMessageBytes) throw new DfdError('ERR_MESSAGE_TOO_LARGE', undefined, { limit: this.options.maxMessageBytes });
      if (isBinary) throw new DfdError('ERR_BAD_REQUEST', 'binary frames are not accepted');
      if (!this.#bucket.take()) throw new DfdError('ERR_RATE_LIMITED');
      let msg: unknown;
      try {
        msg = JSON.parse(raw.toString());
      } catch {
        throw new DfdError('ERR_BAD_JSON');
      }
      if (typeof msg === 'object' && msg !== null && typeof (msg as { id?: unknown }).id === 'number') id = (msg as { id: number }).id;
      if (!envelopeCheck.Check(msg)) throw new DfdError('ERR_BAD_REQUEST', firstError(envelopeCheck, msg));
      id = msg.id;
      if (!isMethod(msg.method)) throw new DfdError('ERR_UNKNOWN_METHOD', undefined, { method: msg.method.slice(0, 64) });
      method = msg.method;
      const data = msg.data ?? {};
      const check = methodChecks[msg.method];
      if (!check.Check(data)) throw new DfdError('ERR_BAD_REQUEST', firstError(check, data));
      const result = await this.#dispatch(msg.method, data as never);
      requests.inc({ method, result: 'ok' });
      this.#send({ type: 'response', id, ok: true, data: result ?? {} });
    } catch (e) {
      let err = e instanceof DfdError ? e : e instanceof TypeError ? new DfdError('ERR_BAD_REQUEST', e.message) : toDfdError(e);
      // During shutdown mediasoup objects go away under in-flight requests: expected, not a fault.
      if (this.shuttingDown() && !(e instanceof DfdError)) err = new DfdError('ERR_SHUTTING_DOWN');
      if (err.code === 'ERR_INTERNAL') log.error('request failed', { method, error: e });
      requests.inc({ method, result: err.code });
      this.#send({ type: 'response', id, ok: false, error: err.toJSON() });
    }
  }

  #joined(): { room: Room; peer: Peer } {
    if (this.#state !== 'joined' || !this.#room || !this.#peer) throw new DfdError('ERR_NOT_JOINED');
    return { room: this.#room, peer: this.#peer };
  }

  async #dispatch<M extends MethodName>(method: M, data: MethodData<M>): Promise<Record<string, unknown> | void> {
    switch (method) {
      case 'join': {
        if (this.#state !== 'connected') throw new DfdError('ERR_ALREADY_JOINED');
        if (this.shuttingDown()) throw new DfdError('ERR_SHUTTING_DOWN');
        const { token } = data as MethodData<'join'>;
        const claims = this.signer.verify(token);
        let room: Room;
        try {
          room = await this.rooms.getOrCreate(claims.room, claims.tenant);
        } catch (e) {
          // Rooms close at shutdown: a join caught in between gets the shutdown code, not ERR_CLOSED.
          if (this.shuttingDown()) throw new DfdError('ERR_SHUTTING_DOWN');
          throw e;
        }
        if (this.shuttingDown()) throw new DfdError('ERR_SHUTTING_DOWN');
        if (this.#state !== 'connected') throw new DfdError('ERR_CLOSED', 'socket closed during join');
        // The same identity still in the room on another socket (a rejoin after a drop): replace it.
        if (room.peers.has(claims.peer)) this.#replace(room.id, claims.peer, claims.role);
        const peer = new Peer({ id: claims.peer, displayName: claims.name, role: claims.role, notify: this.notify });
        room.join(peer);
        this.#room = room;
        this.#peer = peer;
        this.#state = 'joined';
        clearTimeout(this.#joinTimer);
        room.once('close', (reason) => {
          if (this.#room !== room) return;
          if (reason === 'shutdown') this.close(1001, 'server shutting down');
          else this.close(4410, 'room closed');
        });
        this.onJoined(room, peer);
        return { roomId: room.id, peerId: peer.id, displayName: peer.displayName, role: peer.role, routerRtpCapabilities: room.rtpCapabilities, peers: room.snapshot(peer.id) };
      }
      case 'setRtpCapabilities': {
        const { peer } = this.#joined();
        peer.rtpCapabilities = (data as MethodData<'setRtpCapabilities'>).rtpCapabilities as types.RtpCapabilities;
        return;
      }
      case 'createWebRtcTransport': {
        const { room, peer } = this.#joined();
        return { ...(await room.createWebRtcTransport(peer, (data as MethodData<'createWebRtcTransport'>).direction)) };
      }
      case 'connectWebRtcTransport': {
        const { room, peer } = this.#joined();
        const d = data as MethodData<'connectWebRtcTransport'>;
        await room.connectTransport(peer, d.transportId, d.dtlsParameters as unknown as types.DtlsParameters);
        return;
      }
      case 'produce': {
        const { room, peer } = this.#joined();
        const d = data as MethodData<'produce'>;
        const sender = d.noiseSuppression === undefined ? {} : { noiseSuppression: d.noiseSuppression };
        return { producerId: await room.produce(peer, d.transportId, d.kind, d.rtpParameters as unknown as types.RtpParameters, sender) };
      }
      case 'consume': {
        const { room, peer } = this.#joined();
        const d = data as MethodData<'consume'>;
        return { ...(await room.consume(peer, d.transportId, d.producerId)) };
      }
      case 'resumeConsumer': {
        const { room, peer } = this.#joined();
        await room.resumeConsumer(peer, (data as MethodData<'resumeConsumer'>).consumerId);
        return;
      }
      case 'pauseConsumer': {
        const { room, peer } = this.#joined();
        await room.pauseConsumer(peer, (data as MethodData<'pauseConsumer'>).consumerId);
        return;
      }
      case 'pauseProducer':
      case 'resumeProducer': {
        const { room, peer } = this.#joined();
        await room.setProducerPaused(peer, (data as MethodData<'pauseProducer'>).producerId, method === 'pauseProducer');
        return;
      }
      case 'closeProducer': {
        const { room, peer } = this.#joined();
        room.closeProducer(peer, (data as MethodData<'closeProducer'>).producerId);
        return;
      }
      case 'leave': {
        this.#joined();
        setImmediate(() => this.close(1000, 'left'));
        return;
      }
    }
    throw new DfdError('ERR_UNKNOWN_METHOD');
  }
}

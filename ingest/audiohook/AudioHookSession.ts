/**
 * One Genesys AudioHook session: one WebSocket, one conversation, one phone leg.
 *
 *   upgrade      X-API-KEY checked and Audiohook-Session-Id read by AudioHookIngestServer
 *   text frame --rate limit--> parseAudioHookMessage --> AudioHookStreamValidator --> act:
 *     open       media chosen (PCMU 8 kHz; stereo external+internal or mono external),
 *                call claimed, PhoneLeg opened (room "<prefix><conversationId>", peer
 *                "caller") -> `opened` -> active; challenges for the caller go to the agent
 *     ping       -> pong              update -> updated
 *     paused     -> paused (audio dropped, counted)    resumed -> active (gap in the timeline)
 *     discarded  the audio timeline skips the discarded span (counted)
 *     error      logged with its code, counted
 *     close      -> `closed`, leg closed; the client closes the socket
 *   binary frame (audio): external channel (the customer) -> PhoneLeg.push; the internal
 *     channel (the agent) is counted, not analysed yet; held (bounded) while the leg opens
 *
 * Errors: every refused frame is counted (`dfd_ingest_frame_errors_total{platform="audiohook"}`)
 * and emitted as `frameerror`. The protocol has no way to skip a message, so a message error
 * is fatal: the server sends `disconnect` { reason: "error", info: <code> } (or "unauthorized")
 * and closes the socket with a close code and the error code as reason. A bad audio frame
 * (wrong size) is dropped and counted; too many end the session. A bad session touches
 * nothing but itself.
 */
import type { WebSocket, RawData } from 'ws';
import { DfdError, toDfdError } from '../../kernel/errors.js';
import { TypedEmitter } from '../../kernel/TypedEmitter.js';
import { TokenBucket } from '../../kernel/TokenBucket.js';
import { createLogger } from '../../kernel/log.js';
import { AgentPromptSink, type AgentPromptSinkOptions } from '../../challenge-response/prompt/AgentPromptSink.js';
import { PhoneLeg } from '../PhoneLeg.js';
import type { PhoneSessionDeps } from '../PhoneSessionDeps.js';
import { ingestMetrics } from '../metrics.js';
import { closeCodeFor, CloseCode } from '../closeCodes.js';
import { parseAudioHookMessage } from './parseMessage.js';
import { AudioHookStreamValidator } from './AudioHookStreamValidator.js';
import { AUDIOHOOK_VERSION, durationMs, type AudioHookMedia, type ClientMessage, type ClientMessageOf, type DisconnectReason, type ServerMessage } from './protocol.js';

const log = createLogger('ingest.audiohook');
const PLATFORM = 'audiohook';
/** PCMU at 8 kHz: 8 bytes (samples) per ms per channel. */
const BYTES_PER_MS = 8;

export interface AudioHookSessionOptions {
  /** A session that has not sent `open` by then is closed (ERR_INGEST_TIMEOUT). */
  openTimeoutMs: number;
  /** An open session that sends nothing for this long is closed (ERR_INGEST_TIMEOUT). */
  idleTimeoutMs: number;
  /** After `closed` is sent, the client has this long to close the socket before we do. */
  closeGraceMs: number;
  /** Largest text message, characters. */
  maxTextChars: number;
  /** Largest audio frame, bytes (both channels). */
  maxAudioBytes: number;
  /** Bad audio frames tolerated per session; one more ends it (ERR_INGEST_TOO_MANY_ERRORS). */
  maxFrameErrors: number;
  /** Token bucket on frames: sustained frames per second and burst. */
  ratePerSec: number;
  rateBurst: number;
  /** Audio frames held while the call's room opens; more are dropped (counted). */
  maxHeldFrames: number;
  /** Room id = prefix + conversationId. */
  roomPrefix: string;
  callerPeerId: string;
  callerName: string;
  /** Timeline jumps of at least this much are gaps in the audio, ms. */
  jumpMs: number;
  /** Outbound messages are dropped while the socket's send buffer holds more than this. */
  maxBufferedBytes: number;
  agentPrompt: Partial<AgentPromptSinkOptions>;
}

export const defaultAudioHookSessionOptions: AudioHookSessionOptions = {
  openTimeoutMs: 10_000,
  idleTimeoutMs: 30_000,
  closeGraceMs: 5_000,
  maxTextChars: 65_535,
  maxAudioBytes: 16_000,
  maxFrameErrors: 20,
  ratePerSec: 200,
  rateBurst: 500,
  maxHeldFrames: 100,
  roomPrefix: 'audiohook-',
  callerPeerId: 'caller',
  callerName: 'Phone caller',
  jumpMs: 10,
  maxBufferedBytes: 1 << 20,
  agentPrompt: {},
};

/** What the session needs from the service around it. */
export type AudioHookSessionDeps = PhoneSessionDeps;

/** What the upgrade request told about the session (headers, already checked). */
export interface AudioHookSessionInfo {
  sessionId: string;
  tenant: string;
  organizationId: string | undefined;
  correlationId: string | undefined;
}

export interface AudioHookSessionEvents {
  frameerror: [error: DfdError, fatal: boolean];
  /** The caller's leg is streaming into the pipeline. */
  streaming: [info: { roomId: string; peerId: string; conversationId: string; sessionId: string; tenant: string; channels: string[] }];
  /** The session ended; `reason` is "close", "socket-closed" or the error code that ended it. */
  ended: [reason: string];
}

interface Held {
  payload: Uint8Array;
  positionMs: number;
}

export class AudioHookSession extends TypedEmitter<AudioHookSessionEvents> {
  readonly options: AudioHookSessionOptions;
  readonly info: AudioHookSessionInfo;
  readonly #ws: WebSocket;
  readonly #deps: AudioHookSessionDeps;
  readonly #validator: AudioHookStreamValidator;
  readonly #bucket: TokenBucket;
  #seq = 0;
  #media: AudioHookMedia | undefined;
  #roomId: string | undefined;
  #leg: PhoneLeg | undefined;
  #sink: AgentPromptSink | undefined;
  #detachSink: (() => void) | undefined;
  #held: Held[] = [];
  /** Position of the next audio sample on the session's timeline, ms. */
  #positionMs = 0;
  #chunk = 0;
  #errors = 0;
  #timer: NodeJS.Timeout | undefined;
  #ended = false;

  constructor(ws: WebSocket, deps: AudioHookSessionDeps, info: AudioHookSessionInfo, options: Partial<AudioHookSessionOptions> = {}) {
    super();
    this.options = { ...defaultAudioHookSessionOptions, ...options };
    this.info = info;
    this.#ws = ws;
    this.#deps = deps;
    this.#validator = new AudioHookStreamValidator(info.sessionId);
    this.#bucket = new TokenBucket({ ratePerSec: this.options.ratePerSec, burst: this.options.rateBurst });
    ingestMetrics.streams.inc({ platform: PLATFORM });
    ws.on('message', (data: RawData, isBinary: boolean) => this.#onFrame(data, isBinary));
    ws.on('close', () => this.#end(this.#validator.state.name === 'closing' ? 'close' : 'socket-closed'));
    ws.on('error', (e) => log.debug('ingest socket error', { error: e }));
  }

  /** Starts the clock: no `open` within openTimeoutMs and the session is closed. */
  begin(): void {
    if (!this.#ended) this.#arm(this.options.openTimeoutMs);
  }

  get state(): string {
    return this.#validator.state.name;
  }

  get roomId(): string | undefined {
    return this.#roomId;
  }

  get leg(): PhoneLeg | undefined {
    return this.#leg;
  }

  /** The media format chosen in `opened`. */
  get media(): AudioHookMedia | undefined {
    return this.#media;
  }

  /** Ends the session from our side (shutdown: `disconnect`, then 1001). */
  close(err: DfdError): void {
    this.#fail(err);
  }

  // ---- inbound ---------------------------------------------------------------------------

  #onFrame(data: RawData, isBinary: boolean): void {
    if (this.#ended) return;
    try {
      if (!this.#bucket.take()) {
        this.#fail(new DfdError('ERR_RATE_LIMITED', 'too many frames', { ratePerSec: this.options.ratePerSec }));
        return;
      }
      const raw = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
      const st = this.#validator.state.name;
      if (st !== 'awaiting-open' && st !== 'closing') this.#arm(this.options.idleTimeoutMs);
      if (isBinary) {
        this.#onAudio(raw);
        return;
      }
      if (raw.length > this.options.maxTextChars) {
        this.#fail(new DfdError('ERR_MESSAGE_TOO_LARGE', undefined, { limit: this.options.maxTextChars }));
        return;
      }
      let msg: ClientMessage;
      try {
        msg = parseAudioHookMessage(raw.toString('utf8'));
      } catch (e) {
        this.#fail(toDfdError(e));
        return;
      }
      const checked = this.#validator.check(msg, this.#seq);
      if (!checked.ok) {
        this.#fail(checked.error);
        return;
      }
      ingestMetrics.frames.inc({ platform: PLATFORM, event: msg.type });
      this.#onMessage(msg);
    } catch (e) {
      // A bug here must not reach the process or other calls.
      log.error('audiohook frame handling failed', { roomId: this.#roomId, error: e });
      this.#fail(new DfdError('ERR_INTERNAL'));
    }
  }

  #onMessage(msg: ClientMessage): void {
    const state = this.#validator.state;
    switch (msg.type) {
      case 'open':
        this.#onOpen(msg);
        break;
      case 'ping':
        this.#send('pong', {});
        break;
      case 'update':
        this.#send('updated', {});
        break;
      case 'paused':
        if (state.name === 'active') state.move('paused');
        break;
      case 'resumed':
        if (state.name === 'paused') state.move('active');
        // The audio that was not sent while paused is a gap in the timeline.
        if (msg.parameters.discarded) this.#positionMs += durationMs(msg.parameters.discarded);
        break;
      case 'discarded':
        this.#positionMs += durationMs(msg.parameters.discarded);
        ingestMetrics.dropped.inc({ platform: PLATFORM, reason: 'client-discarded' });
        break;
      case 'error':
        // The client's own error report (e.g. 429 with retryAfter); its message is not logged (free text).
        log.warn('audiohook client error', { roomId: this.#roomId, code: msg.parameters.code });
        ingestMetrics.frameErrors.inc({ platform: PLATFORM, code: 'CLIENT_ERROR', fatal: 'false' });
        break;
      case 'close':
        this.#onClose();
        break;
    }
  }

  #onOpen(msg: ClientMessageOf<'open'>): void {
    const { conversationId, media } = msg.parameters;
    const chosen = chooseMedia(media);
    if (!chosen) {
      this.#fail(new DfdError('ERR_INGEST_FORMAT', 'no offered media is PCMU at 8000 Hz with the external channel', { offered: media.length }));
      return;
    }
    const roomId = `${this.options.roomPrefix}${conversationId.toLowerCase()}`;
    if (!this.#deps.claim(roomId)) {
      this.#fail(new DfdError('ERR_INGEST_CALL_EXISTS', undefined, { conversationId }));
      return;
    }
    this.#roomId = roomId;
    this.#media = chosen;
    this.#validator.state.move('opening');
    log.info('audiohook session opening', { roomId, sessionId: this.info.sessionId, tenant: this.info.tenant, channels: chosen.channels });
    PhoneLeg.open(this.#deps.rooms, { roomId, tenant: this.info.tenant, peerId: this.options.callerPeerId, displayName: this.options.callerName, jumpMs: this.options.jumpMs }).then(
      (leg) => {
        if (this.#ended) {
          leg.close();
          return;
        }
        this.#leg = leg;
        leg.on('roomclosed', (reason) => this.#onRoomClosed(reason));
        this.#validator.state.move('active');
        this.#send('opened', { media: [chosen] });
        const held = this.#held;
        this.#held = [];
        for (const h of held) this.#push(h.payload, h.positionMs);
        this.#sink = new AgentPromptSink(this.options.agentPrompt);
        this.#detachSink = this.#deps.challenges()?.attachPhoneLeg(roomId, leg.peerId, this.#sink);
        this.#deps.onLeg?.(leg, { platform: 'audiohook', platformCallId: conversationId.toLowerCase(), tenant: this.info.tenant });
        this.safeEmit('streaming', { roomId, peerId: leg.peerId, conversationId, sessionId: this.info.sessionId, tenant: this.info.tenant, channels: [...chosen.channels] });
      },
      (e: unknown) => {
        const err = toDfdError(e);
        if (err.code === 'ERR_INTERNAL') log.error('phone leg could not open', { roomId, error: e });
        this.#fail(err.code === 'ERR_CLOSED' ? new DfdError('ERR_SHUTTING_DOWN') : err);
      },
    );
  }

  #onAudio(frame: Buffer): void {
    const state = this.#validator.state;
    const channels = this.#media?.channels.length ?? 0;
    if (channels === 0 || !state.takesAudio) {
      // Audio before `opened`, or while paused/closing: not part of the protocol there.
      if (state.name === 'paused' || state.name === 'closing') {
        ingestMetrics.dropped.inc({ platform: PLATFORM, reason: 'paused' });
        return;
      }
      this.#fail(new DfdError('ERR_INGEST_STATE', `audio is not allowed in state ${state.name}`, { state: state.name }));
      return;
    }
    if (frame.length === 0 || frame.length % channels !== 0 || frame.length > this.options.maxAudioBytes) {
      this.#refuseAudio(new DfdError('ERR_INGEST_PAYLOAD', 'audio frame size is not a whole number of samples or too large', { bytes: frame.length, channels }));
      return;
    }
    const samples = frame.length / channels;
    const ext = this.#media!.channels.indexOf('external');
    const external = channels === 1 ? new Uint8Array(frame) : deinterleave(frame, channels, ext);
    if (channels > 1) ingestMetrics.dropped.inc({ platform: PLATFORM, reason: 'agent-channel' });
    const at = this.#positionMs;
    this.#positionMs += samples / BYTES_PER_MS;
    if (this.#leg) {
      this.#push(external, at);
      return;
    }
    if (this.#held.length >= this.options.maxHeldFrames) {
      ingestMetrics.dropped.inc({ platform: PLATFORM, reason: 'held-overflow' });
      return;
    }
    this.#held.push({ payload: external, positionMs: at });
  }

  #push(payload: Uint8Array, positionMs: number): void {
    this.#leg?.push(payload, ++this.#chunk, positionMs);
  }

  #onClose(): void {
    const state = this.#validator.state;
    if (state.canMove('closing')) state.move('closing');
    this.#send('closed', {});
    this.#cut('close');
    // The client closes the socket after `closed`; if it does not, we do.
    this.#arm(this.options.closeGraceMs, () => this.#end('close', CloseCode.normal));
  }

  #onRoomClosed(reason: string): void {
    this.#leg = undefined;
    if (reason === 'shutdown') this.#fail(new DfdError('ERR_SHUTTING_DOWN'));
    else if (reason === 'worker-died') this.#fail(new DfdError('ERR_WORKER_DIED'));
    else this.#disconnect('completed', 'room closed', CloseCode.normal, 'room-closed');
  }

  // ---- errors, limits, end ---------------------------------------------------------------

  #refuseAudio(err: DfdError): void {
    this.#errors++;
    ingestMetrics.frameErrors.inc({ platform: PLATFORM, code: err.code, fatal: 'false' });
    this.safeEmit('frameerror', err, false);
    if (this.#errors === 1 || this.#errors % 100 === 0) log.warn('audiohook audio frame refused', { roomId: this.#roomId, code: err.code, errors: this.#errors });
    if (this.#errors > this.options.maxFrameErrors) this.#fail(new DfdError('ERR_INGEST_TOO_MANY_ERRORS', undefined, { limit: this.options.maxFrameErrors }));
  }

  /** A fatal error: counted, `disconnect` sent, then the end. */
  #fail(err: DfdError): void {
    if (this.#ended) return;
    ingestMetrics.frameErrors.inc({ platform: PLATFORM, code: err.code, fatal: 'true' });
    this.safeEmit('frameerror', err, true);
    const reason: DisconnectReason = err.code === 'ERR_INGEST_AUTH' ? 'unauthorized' : 'error';
    this.#disconnect(reason, err.code, closeCodeFor(err.code), err.code, err);
  }

  #disconnect(reason: DisconnectReason, info: string, code: number, endReason: string, err?: DfdError): void {
    this.#send('disconnect', { reason, info });
    this.#end(endReason, code, err);
  }

  #arm(ms: number, fire?: () => void): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(
      fire ??
        (() => {
          const opened = this.#validator.state.name !== 'awaiting-open';
          this.#fail(new DfdError('ERR_INGEST_TIMEOUT', opened ? 'no frame for too long' : 'no open in time', { ms }));
        }),
      ms,
    );
    this.#timer.unref();
  }

  #send<T extends ServerMessage['type']>(type: T, parameters: Extract<ServerMessage, { type: T }>['parameters']): void {
    if (this.#ended || this.#ws.readyState !== this.#ws.OPEN) return;
    if (this.#ws.bufferedAmount > this.options.maxBufferedBytes) {
      ingestMetrics.dropped.inc({ platform: PLATFORM, reason: 'send-buffer-full' });
      return;
    }
    const msg = { version: AUDIOHOOK_VERSION, id: this.info.sessionId, type, seq: ++this.#seq, clientseq: this.#validator.clientSeq, parameters };
    this.#ws.send(JSON.stringify(msg));
  }

  /** Prompt sink closed, leg closed (the peer leaves, the call's room closes), call released. */
  #cut(reason: string): void {
    this.#held = [];
    this.#sink?.close();
    this.#detachSink?.();
    this.#sink = undefined;
    this.#detachSink = undefined;
    if (this.#leg) log.info('audiohook leg closed', { roomId: this.#roomId, reason });
    this.#leg?.close();
    this.#leg = undefined;
    if (this.#roomId) this.#deps.release(this.#roomId);
  }

  /** The one way out: state ended, timers cleared, leg cut, socket closed with `code` (when open). */
  #end(reason: string, code?: number, err?: DfdError): void {
    if (this.#ended) return;
    const state = this.#validator.state;
    if (state.canMove('ended')) state.move('ended');
    this.#ended = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#cut(reason);
    ingestMetrics.streams.dec({ platform: PLATFORM });
    ingestMetrics.ended.inc({ platform: PLATFORM, reason: err?.code ?? reason });
    if (code !== undefined && (this.#ws.readyState === this.#ws.OPEN || this.#ws.readyState === this.#ws.CONNECTING)) {
      this.#ws.close(code, (err?.code ?? reason).slice(0, 123));
    }
    log.info('audiohook session ended', { roomId: this.#roomId, reason: err?.code ?? reason });
    this.safeEmit('ended', err?.code ?? reason);
    this.removeAllListeners();
  }
}

/** PCMU at 8 kHz with the external channel: stereo external+internal first, then mono external. */
export function chooseMedia(offered: readonly AudioHookMedia[]): AudioHookMedia | undefined {
  const usable = offered.filter((m) => m.type === 'audio' && m.format === 'PCMU' && m.rate === 8000 && m.channels.includes('external'));
  return usable.find((m) => m.channels.length === 2) ?? usable[0];
}

/** One channel of interleaved 8-bit samples. */
export function deinterleave(frame: Uint8Array, channels: number, channel: number): Uint8Array {
  const n = frame.length / channels;
  const out = new Uint8Array(n);
  for (let i = 0, j = channel; i < n; i++, j += channels) out[i] = frame[j]!;
  return out;
}

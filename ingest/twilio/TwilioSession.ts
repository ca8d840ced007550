/**
 * One Twilio Media Stream: one WebSocket, one call, one phone leg.
 *
 *   frame --rate limit--> parseTwilioFrame --> TwilioStreamValidator --> act:
 *     connected   -> awaiting-start
 *     start       -> key checked (query `key` or customParameters.key), call claimed,
 *                    PhoneLeg opened (room "<prefix><callSid>", peer "caller") -> streaming;
 *                    challenge prompts for the caller go out through a TwilioPromptSink
 *     media       -> inbound track: PhoneLeg.push (held, bounded, while the leg opens);
 *                    outbound track: counted, not analysed yet
 *     mark        -> the prompt sink (playback finished)
 *     dtmf        -> counted (the digit is never logged: it may be a PIN)
 *     stop        -> leg closed, socket closed 1000
 *
 * Errors: every refused frame is counted (`dfd_ingest_frame_errors_total{code}`) and emitted
 * as `frameerror`. Fatal ones (wrong key, wrong format, frame out of state, timeouts, rate,
 * too many errors) close the socket with a close code (1008 policy violation, 1001 going
 * away, 1011 internal, 1013 try later) and the error code as the close reason. A bad frame
 * touches nothing but its own stream.
 */
import type { WebSocket, RawData } from 'ws';
import { DfdError, toDfdError } from '../../kernel/errors.js';
import { TypedEmitter } from '../../kernel/TypedEmitter.js';
import { TokenBucket } from '../../kernel/TokenBucket.js';
import { createLogger } from '../../kernel/log.js';
import type { IngestKeys } from '../IngestKeys.js';
import { PhoneLeg } from '../PhoneLeg.js';
import type { PhoneSessionDeps } from '../PhoneSessionDeps.js';
import { ingestMetrics } from '../metrics.js';
import { closeCodeFor, CloseCode } from '../closeCodes.js';
import { defaultFrameLimits, parseTwilioFrame, type FrameLimits } from './parseFrame.js';
import { TwilioStreamValidator } from './TwilioStreamValidator.js';
import { TwilioPromptSink, type TwilioPromptSinkOptions } from './TwilioPromptSink.js';
import type { TwilioInboundOf, TwilioOutbound } from './protocol.js';

const log = createLogger('ingest.twilio');
const PLATFORM = 'twilio';

export interface TwilioSessionOptions {
  frame: FrameLimits;
  /** A stream that has not sent `start` by then is closed (ERR_INGEST_TIMEOUT). */
  startTimeoutMs: number;
  /** A started stream that sends nothing for this long is closed (ERR_INGEST_TIMEOUT). */
  idleTimeoutMs: number;
  /** Non-fatal frame errors tolerated per stream; one more closes it (ERR_INGEST_TOO_MANY_ERRORS). */
  maxFrameErrors: number;
  /** Token bucket on frames: sustained frames per second and burst (Twilio sends 50/s per track). */
  ratePerSec: number;
  rateBurst: number;
  /** Media chunks held while the call's room opens; more are dropped (counted). */
  maxHeldChunks: number;
  /** Room id = prefix + callSid. */
  roomPrefix: string;
  /** Peer id and display name of the caller (inbound track). */
  callerPeerId: string;
  callerName: string;
  /** Platform timestamp jumps of at least this much are gaps in the audio, ms. */
  jumpMs: number;
  /** Outbound messages are dropped while the socket's send buffer holds more than this. */
  maxBufferedBytes: number;
  prompt: Partial<TwilioPromptSinkOptions>;
}

export const defaultTwilioSessionOptions: TwilioSessionOptions = {
  frame: defaultFrameLimits,
  startTimeoutMs: 10_000,
  idleTimeoutMs: 30_000,
  maxFrameErrors: 20,
  ratePerSec: 200,
  rateBurst: 500,
  maxHeldChunks: 100,
  roomPrefix: 'twilio-',
  callerPeerId: 'caller',
  callerName: 'Phone caller',
  jumpMs: 10,
  maxBufferedBytes: 1 << 20,
  prompt: {},
};

/** What the session needs from the service around it. */
export interface TwilioSessionDeps extends PhoneSessionDeps {
  keys: IngestKeys;
}

export interface TwilioSessionEvents {
  /** A refused frame (fatal: the stream ends). */
  frameerror: [error: DfdError, fatal: boolean];
  /** The caller's leg is streaming into the pipeline. */
  streaming: [info: { roomId: string; peerId: string; callSid: string; streamSid: string; tenant: string }];
  /** The stream ended; `reason` is "stop", "socket-closed" or the error code that ended it. */
  ended: [reason: string];
}

interface Held {
  payload: Uint8Array;
  chunk: number;
  timestamp: number;
}

export class TwilioSession extends TypedEmitter<TwilioSessionEvents> {
  readonly options: TwilioSessionOptions;
  readonly #ws: WebSocket;
  readonly #deps: TwilioSessionDeps;
  readonly #validator = new TwilioStreamValidator();
  readonly #queryKey: string | undefined;
  #tenant: string | undefined;
  #roomId: string | undefined;
  #leg: PhoneLeg | undefined;
  #sink: TwilioPromptSink | undefined;
  #detachSink: (() => void) | undefined;
  #held: Held[] = [];
  #errors = 0;
  readonly #bucket: TokenBucket;
  #timer: NodeJS.Timeout | undefined;
  #ended = false;

  /** `queryKey`: the `key` query parameter of the upgrade request, when present. */
  constructor(ws: WebSocket, deps: TwilioSessionDeps, queryKey: string | undefined, options: Partial<TwilioSessionOptions> = {}) {
    super();
    this.options = { ...defaultTwilioSessionOptions, ...options };
    this.#ws = ws;
    this.#deps = deps;
    this.#queryKey = queryKey;
    this.#bucket = new TokenBucket({ ratePerSec: this.options.ratePerSec, burst: this.options.rateBurst });
    ingestMetrics.streams.inc({ platform: PLATFORM });
    ws.on('message', (data: RawData, isBinary: boolean) => this.#onFrame(data, isBinary));
    ws.on('close', () => this.#end('socket-closed'));
    ws.on('error', (e) => log.debug('ingest socket error', { error: e }));
  }

  /**
   * Starts the clock (no `start` within startTimeoutMs: closed) and checks a key given on the
   * URL before any frame is read. Call once, after attaching listeners.
   */
  begin(): void {
    if (this.#ended) return;
    this.#arm(this.options.startTimeoutMs);
    if (this.#queryKey === undefined) return;
    try {
      this.#tenant = this.#deps.keys.verify(this.#queryKey).tenant;
    } catch (e) {
      this.#fail(toDfdError(e));
    }
  }

  /** The Twilio-side state (awaiting-connected, awaiting-start, opening, streaming, stopped). */
  get state(): string {
    return this.#validator.state.name;
  }

  get roomId(): string | undefined {
    return this.#roomId;
  }

  get leg(): PhoneLeg | undefined {
    return this.#leg;
  }

  /** Ends the stream from our side (shutdown: 1001). */
  close(code: number, reason: string): void {
    this.#end(reason, code);
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
      let msg;
      try {
        msg = parseTwilioFrame(raw, isBinary, this.options.frame);
      } catch (e) {
        this.#refuse(toDfdError(e), false);
        return;
      }
      const checked = this.#validator.check(msg);
      if (!checked.ok) {
        this.#refuse(checked.error, checked.fatal);
        return;
      }
      if (checked.sequenceGap > 0) ingestMetrics.sequenceGaps.inc({ platform: PLATFORM }, checked.sequenceGap);
      ingestMetrics.frames.inc({ platform: PLATFORM, event: msg.event });
      if (this.#validator.state.name !== 'awaiting-start') this.#arm(this.options.idleTimeoutMs);
      switch (msg.event) {
        case 'connected':
          break;
        case 'start':
          this.#onStart(msg);
          break;
        case 'media':
          this.#onMedia(msg);
          break;
        case 'mark':
          this.#sink?.onMark(msg.mark.name);
          break;
        case 'dtmf':
          break;
        case 'stop':
          this.#end('stop', CloseCode.normal);
          break;
      }
    } catch (e) {
      // A bug here must not reach the process or other calls.
      log.error('ingest frame handling failed', { roomId: this.#roomId, error: e });
      this.#fail(new DfdError('ERR_INTERNAL'));
    }
  }

  #onStart(msg: TwilioInboundOf<'start'>): void {
    const { callSid, streamSid, customParameters } = msg.start;
    if (this.#tenant === undefined) {
      try {
        this.#tenant = this.#deps.keys.verify(customParameters['key']).tenant;
      } catch (e) {
        this.#fail(toDfdError(e));
        return;
      }
    }
    const roomId = `${this.options.roomPrefix}${callSid}`;
    if (!this.#deps.claim(roomId)) {
      this.#fail(new DfdError('ERR_INGEST_CALL_EXISTS', undefined, { callSid }));
      return;
    }
    this.#roomId = roomId;
    const tenant = this.#tenant;
    log.info('twilio stream starting', { callSid, streamSid, tenant, tracks: msg.start.tracks });
    PhoneLeg.open(this.#deps.rooms, { roomId, tenant, peerId: this.options.callerPeerId, displayName: this.options.callerName, jumpMs: this.options.jumpMs }).then(
      (leg) => {
        if (this.#ended) {
          leg.close();
          return;
        }
        this.#leg = leg;
        leg.on('roomclosed', (reason) => this.#onRoomClosed(reason));
        this.#validator.state.move('streaming');
        const held = this.#held;
        this.#held = [];
        for (const h of held) leg.push(h.payload, h.chunk, h.timestamp);
        this.#sink = new TwilioPromptSink((m) => this.#send(m), streamSid, this.options.prompt);
        this.#detachSink = this.#deps.challenges()?.attachPhoneLeg(roomId, leg.peerId, this.#sink);
        this.#deps.onLeg?.(leg, { platform: 'twilio', platformCallId: callSid, tenant });
        this.safeEmit('streaming', { roomId, peerId: leg.peerId, callSid, streamSid, tenant });
      },
      (e: unknown) => {
        const err = toDfdError(e);
        if (err.code === 'ERR_INTERNAL') log.error('phone leg could not open', { callSid, error: e });
        this.#fail(err.code === 'ERR_CLOSED' ? new DfdError('ERR_SHUTTING_DOWN') : err);
      },
    );
  }

  #onMedia(msg: TwilioInboundOf<'media'>): void {
    const { track, chunk, timestamp, payload } = msg.media;
    if (track !== 'inbound') {
      ingestMetrics.dropped.inc({ platform: PLATFORM, reason: 'outbound-track' });
      return;
    }
    if (this.#leg) {
      this.#leg.push(payload, chunk, timestamp);
      return;
    }
    if (this.#held.length >= this.options.maxHeldChunks) {
      ingestMetrics.dropped.inc({ platform: PLATFORM, reason: 'held-overflow' });
      return;
    }
    this.#held.push({ payload, chunk, timestamp });
  }

  #onRoomClosed(reason: string): void {
    this.#leg = undefined;
    if (reason === 'shutdown') this.#fail(new DfdError('ERR_SHUTTING_DOWN'));
    else if (reason === 'worker-died') this.#fail(new DfdError('ERR_WORKER_DIED'));
    else this.#end('room-closed', CloseCode.normal);
  }

  // ---- errors, limits, end ---------------------------------------------------------------

  #refuse(err: DfdError, fatal: boolean): void {
    this.#errors++;
    ingestMetrics.frameErrors.inc({ platform: PLATFORM, code: err.code, fatal: String(fatal) });
    this.safeEmit('frameerror', err, fatal);
    if (fatal) {
      this.#end(err.code, closeCodeFor(err.code), err);
      return;
    }
    if (this.#errors === 1 || this.#errors % 100 === 0) log.warn('ingest frame refused', { roomId: this.#roomId, code: err.code, errors: this.#errors });
    if (this.#errors > this.options.maxFrameErrors) this.#fail(new DfdError('ERR_INGEST_TOO_MANY_ERRORS', undefined, { limit: this.options.maxFrameErrors }));
  }

  /** A fatal error not tied to one frame (auth, timeout, rate, leg failure): counted, then the end. */
  #fail(err: DfdError): void {
    if (this.#ended) return;
    ingestMetrics.frameErrors.inc({ platform: PLATFORM, code: err.code, fatal: 'true' });
    this.safeEmit('frameerror', err, true);
    this.#end(err.code, closeCodeFor(err.code), err);
  }

  #arm(ms: number): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      const started = this.#validator.state.name !== 'awaiting-connected' && this.#validator.state.name !== 'awaiting-start';
      this.#fail(new DfdError('ERR_INGEST_TIMEOUT', started ? 'no frame for too long' : 'no start in time', { ms }));
    }, ms);
    this.#timer.unref();
  }

  #send(msg: TwilioOutbound): void {
    if (this.#ended || this.#ws.readyState !== this.#ws.OPEN) return;
    if (this.#ws.bufferedAmount > this.options.maxBufferedBytes) {
      ingestMetrics.dropped.inc({ platform: PLATFORM, reason: 'send-buffer-full' });
      return;
    }
    this.#ws.send(JSON.stringify(msg));
  }

  /**
   * The one way out: state stopped, timers cleared, prompt cut, leg closed (the peer leaves,
   * the call's room closes), the call released, the socket closed with `code` (when open).
   */
  #end(reason: string, code?: number, err?: DfdError): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#validator.state.canMove('stopped')) this.#validator.state.move('stopped');
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#held = [];
    this.#sink?.close();
    this.#detachSink?.();
    this.#leg?.close();
    this.#leg = undefined;
    if (this.#roomId) this.#deps.release(this.#roomId);
    ingestMetrics.streams.dec({ platform: PLATFORM });
    ingestMetrics.ended.inc({ platform: PLATFORM, reason: err?.code ?? reason });
    if (code !== undefined && (this.#ws.readyState === this.#ws.OPEN || this.#ws.readyState === this.#ws.CONNECTING)) {
      // The close reason carries the stable error code (at most 123 bytes).
      this.#ws.close(code, (err?.code ?? reason).slice(0, 123));
    }
    log.info('twilio stream ended', { roomId: this.#roomId, reason: err?.code ?? reason });
    this.safeEmit('ended', err?.code ?? reason);
    this.removeAllListeners();
  }
}

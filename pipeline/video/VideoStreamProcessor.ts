/**
 * The video decode path for one tapped stream:
 *
 *   RTP packet (mediasoup DirectTransport consumer, VP8, 90 kHz)
 *     -> parseRtpPacket      (../rtp/RtpPacket.ts), payload type check
 *     -> Vp8Depacketizer     (RFC 7741 frames, loss detection, keyframe gating)
 *     -> FfmpegVp8Decoder    (IVF into a supervised ffmpeg, RGB24 frames out, rate limited)
 *     -> 'frame' events      (to the face detectors)
 *
 * `keyframe-needed` events from both stages (and one at start) go through one rate limiter;
 * the caller answers them with mediasoup's `consumer.requestKeyFrame()`.
 *
 * Nothing throws out of `push()`: bad packets are counted, a stream that never sends a
 * keyframe yields no frames and repeated (rate-limited) keyframe requests, a dying decoder is
 * restarted. `stats().health` and the `health` event say which of these is happening.
 */
import { isDfdError } from '../../kernel/errors.js';
import { createLogger } from '../../kernel/log.js';
import { counter } from '../../kernel/metrics.js';
import { parseRtpPacket, type RtpPacket } from '../rtp/RtpPacket.js';
import { FfmpegVp8Decoder, defaultFfmpegVp8DecoderOptions, type DecodedVideoFrame, type FfmpegVp8DecoderOptions } from './FfmpegVp8Decoder.js';
import { KeyframeRequestLimiter } from './KeyframeRequestLimiter.js';
import { TypedEmitter } from '../../kernel/TypedEmitter.js';
import { Vp8Depacketizer, defaultVp8DepacketizerOptions, type KeyframeReason, type Vp8DepacketizerOptions } from './Vp8Depacketizer.js';

const log = createLogger('video.stream');
const mPackets = counter({ name: 'dfd_video_rtp_packets_total', help: 'Video RTP packets received by the decode path' });
const mMalformed = counter({ name: 'dfd_video_rtp_malformed_total', help: 'Video RTP packets rejected', labelNames: ['reason'] as const });
const mKeyframeRequests = counter({ name: 'dfd_video_keyframe_requests_total', help: 'Keyframe requests raised', labelNames: ['reason'] as const });

export interface VideoStreamProcessorOptions {
  /** Negotiated VP8 payload type; packets with another type are counted and ignored. Null accepts any. */
  payloadType: number | null;
  /** Minimum interval between two `keyframe-needed` events of this stream. */
  keyframeRequestIntervalMs: number;
  depacketizer: Partial<Vp8DepacketizerOptions>;
  decoder: Partial<FfmpegVp8DecoderOptions>;
}

export const defaultVideoStreamProcessorOptions: VideoStreamProcessorOptions = {
  payloadType: null,
  keyframeRequestIntervalMs: 1000,
  depacketizer: defaultVp8DepacketizerOptions,
  decoder: defaultFfmpegVp8DecoderOptions,
};

export type VideoStreamHealth = 'awaiting-keyframe' | 'ok' | 'decoder-restarting' | 'closed';

export interface VideoStreamProcessorEvents {
  frame: [DecodedVideoFrame];
  'keyframe-needed': [{ reason: KeyframeReason }];
  /** The stream's health changed (e.g. a stream that never sends a keyframe stays 'awaiting-keyframe'). */
  health: [{ health: VideoStreamHealth; previous: VideoStreamHealth }];
}

export interface VideoStreamStats {
  health: VideoStreamHealth;
  packets: number;
  /** RTP or VP8 payloads that could not be parsed, plus wrong payload types. */
  malformed: number;
  wrongPayloadType: number;
  lost: number;
  framesAssembled: number;
  /** Frames not decoded: broken by loss, waiting for a keyframe, decoder overload or down. */
  framesDropped: number;
  keyframes: number;
  keyframeRequests: number;
  decoderRestarts: number;
  framesDecoded: number;
  /** Decoded frames per second of stream time over the last few frames. */
  frameRate: number;
}

export class VideoStreamProcessor extends TypedEmitter<VideoStreamProcessorEvents> {
  readonly #o: VideoStreamProcessorOptions;
  readonly #depack: Vp8Depacketizer;
  readonly #decoder: FfmpegVp8Decoder;
  readonly #limiter: KeyframeRequestLimiter;
  #closed = false;
  #health: VideoStreamHealth = 'awaiting-keyframe';
  #packets = 0;
  #rtpMalformed = 0;
  #wrongPt = 0;
  #keyframeRequests = 0;
  /** Arrival time of the packet being pushed: the clock for requests raised inside push(). */
  #pushClock: number | null = null;
  /** Stream times (ms) of the last decoded frames, for the frame rate. */
  readonly #recentPts: number[] = [];

  constructor(options: Partial<VideoStreamProcessorOptions> = {}) {
    super();
    this.#o = { ...defaultVideoStreamProcessorOptions, ...options };
    this.#limiter = new KeyframeRequestLimiter(this.#o.keyframeRequestIntervalMs);
    this.#depack = new Vp8Depacketizer({
      ...this.#o.depacketizer,
      keyframeRequestIntervalMs: Math.min(this.#o.depacketizer.keyframeRequestIntervalMs ?? Infinity, this.#o.keyframeRequestIntervalMs),
    });
    this.#decoder = new FfmpegVp8Decoder({
      ...this.#o.decoder,
      keyframeRequestIntervalMs: Math.min(this.#o.decoder.keyframeRequestIntervalMs ?? Infinity, this.#o.keyframeRequestIntervalMs),
    });
    this.#depack.on('frame', (f) => {
      this.#decoder.decode(f);
    });
    this.#depack.on('keyframe-needed', ({ reason }) => this.#requestKeyframe(reason, this.#now()));
    this.#decoder.on('keyframe-needed', ({ reason }) => {
      this.#requestKeyframe(reason, this.#now());
      this.#updateHealth();
    });
    this.#decoder.on('frame', (f) => {
      if (Number.isFinite(f.ptsMs)) {
        this.#recentPts.push(f.ptsMs);
        if (this.#recentPts.length > 16) this.#recentPts.shift();
      }
      this.safeEmit('frame', f);
      this.#updateHealth();
    });
    this.#decoder.on('restart', (e) => {
      log.warn('video decoder restarting', { reason: e.reason, restarts: e.restarts, delayMs: e.delayMs });
      this.#updateHealth();
    });
    // Ask for a keyframe as soon as the caller has attached its listeners.
    queueMicrotask(() => {
      if (!this.#closed) this.#requestKeyframe('start', Date.now());
    });
  }

  /** The ffmpeg child's pid (for supervision and tests). */
  get decoderPid(): number | undefined {
    return this.#decoder.pid;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Feeds one RTP packet as received from the SFU. `arrivalMs` should be wall-clock ms
   * (Date.now()); it drives loss timeouts and keyframe request rate limits. Never throws.
   */
  push(rtp: Uint8Array, arrivalMs: number = Date.now()): void {
    if (this.#closed) return;
    this.#packets++;
    mPackets.inc();
    this.#pushClock = arrivalMs;
    try {
      let packet: RtpPacket;
      try {
        packet = parseRtpPacket(rtp);
      } catch (err) {
        if (!isDfdError(err, 'ERR_RTP_MALFORMED')) throw err;
        this.#rtpMalformed++;
        mMalformed.inc({ reason: 'rtp' });
        return;
      }
      if (this.#o.payloadType !== null && packet.payloadType !== this.#o.payloadType) {
        this.#wrongPt++;
        mMalformed.inc({ reason: 'payload-type' });
        return;
      }
      const before = this.#depack.stats().malformed;
      this.#depack.push(packet, arrivalMs);
      if (this.#depack.stats().malformed !== before) mMalformed.inc({ reason: 'vp8' });
    } catch (err) {
      // Defensive: the stages are written not to throw; if one does, count and carry on.
      this.#rtpMalformed++;
      mMalformed.inc({ reason: 'internal' });
      log.error('video packet processing failed', { error: err });
    } finally {
      this.#pushClock = null;
    }
    this.#updateHealth();
  }

  stats(): VideoStreamStats {
    const d = this.#depack.stats();
    const c = this.#decoder.stats();
    const health = this.#computeHealth();
    return {
      health,
      packets: this.#packets,
      malformed: this.#rtpMalformed + this.#wrongPt + d.malformed,
      wrongPayloadType: this.#wrongPt,
      lost: d.lost,
      framesAssembled: d.framesAssembled,
      framesDropped: d.framesDropped + c.droppedAwaitingKeyframe + c.droppedOverload + c.droppedDecoderDown,
      keyframes: d.keyframes,
      keyframeRequests: this.#keyframeRequests,
      decoderRestarts: c.restarts,
      framesDecoded: c.framesDecoded,
      frameRate: this.#frameRate(),
    };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#updateHealth();
    this.#decoder.close();
    this.#depack.removeAllListeners();
    this.#decoder.removeAllListeners();
  }

  #computeHealth(): VideoStreamHealth {
    if (this.#closed) return 'closed';
    const c = this.#decoder.stats();
    if (c.state === 'backoff') return 'decoder-restarting';
    if (this.#depack.awaitingKeyframe || c.awaitingKeyframe) return 'awaiting-keyframe';
    return 'ok';
  }

  #updateHealth(): void {
    const health = this.#computeHealth();
    if (health === this.#health) return;
    const previous = this.#health;
    this.#health = health;
    this.safeEmit('health', { health, previous });
  }

  #now(): number {
    return this.#pushClock ?? Date.now();
  }

  #frameRate(): number {
    const p = this.#recentPts;
    if (p.length < 2) return 0;
    const span = p[p.length - 1]! - p[0]!;
    return span > 0 ? ((p.length - 1) * 1000) / span : 0;
  }

  #requestKeyframe(reason: KeyframeReason, nowMs: number): void {
    if (this.#closed || !this.#limiter.tryAcquire(nowMs)) return;
    this.#keyframeRequests++;
    mKeyframeRequests.inc({ reason });
    this.safeEmit('keyframe-needed', { reason });
  }
}

/**
 * Plays a challenge prompt into a mediasoup router as a server-side audio producer.
 *
 * A DirectTransport on the call's router carries one Opus producer per challenged
 * participant. The SFU must let ONLY that participant consume it: the producer's appData
 * carries `{ challengePrompt: true, targetPeerId }` so the room's auto-subscribe logic can
 * skip it for everyone else and create the one consumer on the target's recv transport.
 *
 * Packets are paced every 20 ms against a start time (drift-corrected: each timer aims at
 * start + n·20 ms, so timer lateness never accumulates).
 */
import { randomInt } from 'node:crypto';
import type { types as ms } from 'mediasoup';
import { DfdError } from '../../kernel/errors.js';
import { createLogger } from '../../kernel/log.js';
import { counter, gauge } from '../../kernel/metrics.js';
import { TypedEmitter } from '../../kernel/TypedEmitter.js';
import { FRAME_SAMPLES, OpusRtpPacketizer } from './OpusRtpPacketizer.js';

const log = createLogger('challenge.prompt');
const packetsSent = counter({ name: 'dfd_challenge_prompt_packets_total', help: 'RTP packets sent by challenge prompt injectors' });
const latePackets = counter({ name: 'dfd_challenge_prompt_late_frames_total', help: 'Prompt frames sent more than one frame late (event loop stalls)' });
const activePrompts = gauge({ name: 'dfd_challenge_prompts_playing', help: 'Challenge prompts playing now' });

export interface PromptInjectorOptions {
  /** RTP payload type of the producer (any dynamic type; the router maps it). */
  payloadType: number;
  /** SSRC of the producer; random by default. */
  ssrc?: number;
  /** Opus bitrate, bit/s. */
  bitrate: number;
  /** Frames sent in one burst to catch up after an event-loop stall; older ones are skipped. */
  maxCatchUpFrames: number;
}

export const defaultPromptInjectorOptions: PromptInjectorOptions = {
  payloadType: 100,
  bitrate: 32000,
  maxCatchUpFrames: 5,
};

export interface PromptStarted {
  targetPeerId: string;
  frames: number;
  durationMs: number;
}

export interface PromptEnded {
  targetPeerId: string;
  /** Frames handed to the router (skipped ones not included). */
  framesSent: number;
  /** Frames skipped as too late after an event-loop stall (never sent). */
  framesSkipped: number;
  reason: 'completed' | 'stopped' | 'closed';
}

export interface PromptInjectorEvents {
  started: [PromptStarted];
  ended: [PromptEnded];
}

export class PromptInjector extends TypedEmitter<PromptInjectorEvents> {
  readonly targetPeerId: string;
  readonly transport: ms.DirectTransport;
  readonly producer: ms.Producer;
  private readonly options: PromptInjectorOptions;
  private readonly packetizer: OpusRtpPacketizer;
  private playing: { pcm: Int16Array; start: number; sent: number; skipped: number; frames: number; timer: NodeJS.Timeout | undefined; done: (e: PromptEnded) => void } | undefined;
  private lastEndWall = 0;
  private closed = false;

  /** Creates the DirectTransport and producer on `router` for prompts to `targetPeerId`. */
  static async create(router: ms.Router, targetPeerId: string, options: Partial<PromptInjectorOptions> = {}): Promise<PromptInjector> {
    const o = { ...defaultPromptInjectorOptions, ...options };
    const ssrc = o.ssrc ?? randomInt(1, 0xffffffff);
    const transport = await router.createDirectTransport({ maxMessageSize: 262144, appData: { challengePrompt: true, targetPeerId } });
    try {
      const producer = await transport.produce({
        kind: 'audio',
        rtpParameters: {
          codecs: [{ mimeType: 'audio/opus', payloadType: o.payloadType, clockRate: 48000, channels: 2, parameters: { useinbandfec: 1 }, rtcpFeedback: [] }],
          encodings: [{ ssrc }],
          rtcp: { cname: `dfd-prompt-${ssrc}`, reducedSize: true },
        },
        appData: { challengePrompt: true, targetPeerId },
      });
      return new PromptInjector(targetPeerId, transport, producer, { ...o, ssrc });
    } catch (e) {
      transport.close();
      throw new DfdError('ERR_PROMPT_FAILED', 'could not create the prompt producer', undefined, { cause: e });
    }
  }

  private constructor(targetPeerId: string, transport: ms.DirectTransport, producer: ms.Producer, options: PromptInjectorOptions & { ssrc: number }) {
    super();
    this.targetPeerId = targetPeerId;
    this.transport = transport;
    this.producer = producer;
    this.options = options;
    this.packetizer = new OpusRtpPacketizer({ payloadType: options.payloadType, ssrc: options.ssrc, bitrate: options.bitrate });
    transport.observer.once('close', () => this.close());
  }

  get producerId(): string {
    return this.producer.id;
  }

  get isPlaying(): boolean {
    return this.playing !== undefined;
  }

  /**
   * Plays 48 kHz mono PCM. Resolves when the prompt ends (completed, stopped or closed).
   * One prompt at a time: a second call while playing is refused.
   */
  play(pcm: Int16Array): Promise<PromptEnded> {
    if (this.closed) return Promise.reject(new DfdError('ERR_CLOSED', 'prompt injector is closed'));
    if (this.playing) return Promise.reject(new DfdError('ERR_CHALLENGE_ACTIVE', 'a prompt is already playing'));
    const frames = OpusRtpPacketizer.frameCount(pcm.length);
    // Advance the RTP clock over the silence since the last prompt.
    if (this.lastEndWall > 0) this.packetizer.skip(((performance.now() - this.lastEndWall) * 48000) / 1000);
    return new Promise<PromptEnded>((resolve) => {
      this.playing = { pcm, start: performance.now(), sent: 0, skipped: 0, frames, timer: undefined, done: resolve };
      activePrompts.inc();
      this.safeEmit('started', { targetPeerId: this.targetPeerId, frames, durationMs: frames * 20 });
      this.tick();
    });
  }

  /** Stops the current prompt, if any. */
  stop(): void {
    this.finish('stopped');
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.finish('closed');
    if (!this.transport.closed) this.transport.close();
    this.removeAllListeners();
  }

  private tick(): void {
    const p = this.playing;
    if (!p) return;
    p.timer = undefined;
    const due = Math.min(p.frames, Math.floor((performance.now() - p.start) / 20) + 1);
    if (due - p.sent > this.options.maxCatchUpFrames) {
      // A long stall: skip the frames that are too old to be worth sending.
      const skipped = due - p.sent - this.options.maxCatchUpFrames;
      latePackets.inc(skipped);
      this.packetizer.skip(skipped * FRAME_SAMPLES);
      p.sent += skipped;
      p.skipped += skipped;
    } else if (due - p.sent > 1) latePackets.inc(due - p.sent - 1);
    while (p.sent < due) {
      const pkt = this.packetizer.packetizeFrame(p.pcm, p.sent * FRAME_SAMPLES);
      try {
        if (!this.producer.closed) this.producer.send(pkt);
        packetsSent.inc();
      } catch (e) {
        log.warn('prompt packet send failed', { err: e });
      }
      p.sent++;
    }
    if (p.sent >= p.frames) {
      this.finish('completed');
      return;
    }
    const next = p.start + p.sent * 20;
    p.timer = setTimeout(() => this.tick(), Math.max(0, next - performance.now()));
  }

  private finish(reason: PromptEnded['reason']): void {
    const p = this.playing;
    if (!p) return;
    if (p.timer) clearTimeout(p.timer);
    this.playing = undefined;
    this.lastEndWall = performance.now();
    activePrompts.dec();
    const ended: PromptEnded = { targetPeerId: this.targetPeerId, framesSent: p.sent - p.skipped, framesSkipped: p.skipped, reason };
    this.safeEmit('ended', ended);
    p.done(ended);
  }
}

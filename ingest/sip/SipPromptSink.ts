/**
 * Challenge prompts played to a SIP caller as RTP on the call's own media path, in the codec
 * the call negotiated:
 *
 *   G.711:  48 kHz PCM --Resampler--> 8 kHz --mu-law or A-law--> 160-byte frames
 *   G.722:  48 kHz PCM --Resampler--> 16 kHz --G722Encoder--> 160-byte frames (320 samples)
 *   Opus:   48 kHz PCM --OpusRtpPacketizer (libopus)--> one packet per 20 ms frame
 *   --paced one frame per 20 ms (MuLawPacer's clock)--> RTP (own SSRC, sequence and timestamp;
 *   marker on each prompt) --> RtpEndpoint.send (to the address the caller's own RTP comes from)
 *
 * Each frame is packetized when it is due, so a stopped prompt leaves no gap in the sequence
 * numbers. RTP carries no playback confirmation: play() resolves 'completed' once the last frame
 * was sent; stop() cuts it within a frame; close() (call ended) resolves 'closed'.
 */
import { randomInt } from 'node:crypto';
import { DfdError } from '../../kernel/errors.js';
import { counter } from '../../kernel/metrics.js';
import { muLawEncodeFloat } from '../../pipeline/audio/G711.js';
import { aLawEncodeFloat } from '../../pipeline/audio/G711A.js';
import { G722Encoder } from '../../pipeline/audio/G722.js';
import { Resampler } from '../../pipeline/audio/Resampler.js';
import { int16ToFloat } from '../../pipeline/audio/pcm.js';
import { serializeRtpPacket } from '../../pipeline/rtp/RtpPacket.js';
import { OpusRtpPacketizer } from '../../challenge-response/prompt/OpusRtpPacketizer.js';
import { toInt16 } from '../../challenge-response/prompt/PromptAudio.js';
import type { PromptSink, PromptSinkEnded } from '../../challenge-response/prompt/PromptSink.js';
import { MuLawPacer, MU_LAW_SILENCE, type MuLawPacerOptions } from '../twilio/MuLawPacer.js';

const prompts = counter<'outcome'>({ name: 'dfd_sip_prompts_total', help: 'Challenge prompts played to SIP callers, by outcome', labelNames: ['outcome'] });

/** A-law code of silence. */
const A_LAW_SILENCE = 0xd5;
/** 20 ms at 8 kHz (G.711) and at 48 kHz (Opus). */
const G711_FRAME = 160;
const OPUS_FRAME = 960;

export type SipPromptCodec = { name: 'PCMU' | 'PCMA' | 'G722'; payloadType: number } | { name: 'opus'; payloadType: number };

export interface SipPromptSinkOptions {
  codec: SipPromptCodec;
  /** Pacing (frame length and lead); its frameBytes is the sink's own business. */
  pacer: Partial<Omit<MuLawPacerOptions, 'frameBytes'>>;
}

/** 48 kHz Int16 -> 8 kHz G.711 codes (band-limited by the pipeline's resampler). */
export function toG711(pcm48k: Int16Array, law: 'PCMU' | 'PCMA'): Uint8Array {
  const y = Resampler.all(int16ToFloat(pcm48k), 48000, 8000);
  return law === 'PCMA' ? aLawEncodeFloat(y) : muLawEncodeFloat(y);
}

/** 48 kHz Int16 -> 16 kHz G.722 codes (RTP payload type 9: one byte per tick of its 8 kHz clock). */
export function toG722(pcm48k: Int16Array): Uint8Array {
  const y = Resampler.all(int16ToFloat(pcm48k), 48000, 16000);
  return new G722Encoder().encode(toInt16(y));
}

/** G.722 code of (near) silence from a reset encoder. */
const G722_SILENCE = new G722Encoder().encode(new Int16Array(2))[0]!;

export class SipPromptSink implements PromptSink {
  readonly audience = 'caller' as const;
  readonly options: SipPromptSinkOptions;
  readonly #send: (packet: Buffer) => void;
  /** Paces frame indexes: one "byte" per frame, one frame per 20 ms. */
  readonly #pacer: MuLawPacer;
  readonly #ssrc = randomInt(1, 0xffffffff);
  #seq = randomInt(0, 0x10000);
  #ts = randomInt(0, 0x100000000);
  readonly #opus: OpusRtpPacketizer | undefined;
  #frame: (i: number) => Buffer = () => Buffer.alloc(0);
  #next = 0;
  #done: ((e: PromptSinkEnded) => void) | undefined;
  #closed = false;
  #frames = 0;

  /** `send` writes one RTP packet towards the caller; it must not throw. */
  constructor(send: (packet: Buffer) => void, options: Partial<SipPromptSinkOptions> = {}) {
    this.options = { codec: { name: 'PCMU', payloadType: 0 }, pacer: {}, ...options };
    this.#send = send;
    const c = this.options.codec;
    this.#opus = c.name === 'opus' ? new OpusRtpPacketizer({ payloadType: c.payloadType, ssrc: this.#ssrc }) : undefined;
    this.#pacer = new MuLawPacer(() => {
      this.#send(this.#frame(this.#next++));
      this.#frames++;
    }, { ...this.options.pacer, frameBytes: 1 });
  }

  get playing(): boolean {
    return this.#done !== undefined;
  }

  /** RTP packets sent so far (all prompts). */
  get frames(): number {
    return this.#frames;
  }

  play(pcm48k: Int16Array): Promise<PromptSinkEnded> {
    if (this.#closed) return Promise.resolve({ reason: 'closed' });
    if (this.#done) return Promise.reject(new DfdError('ERR_CHALLENGE_ACTIVE', 'a prompt is already playing'));
    let count: number;
    if (this.#opus) {
      const opus = this.#opus;
      opus.skip(0); // a new talk spurt: marker on the first packet
      count = OpusRtpPacketizer.frameCount(pcm48k.length);
      this.#frame = (i) => opus.packetizeFrame(pcm48k, i * OPUS_FRAME);
    } else {
      const name = this.options.codec.name;
      const codes = name === 'G722' ? toG722(pcm48k) : toG711(pcm48k, name === 'PCMA' ? 'PCMA' : 'PCMU');
      count = Math.ceil(codes.length / G711_FRAME);
      // Padding: the codec's silence (a G.722 frame of encoded zeros is close enough: padding is rare and short).
      const silence = name === 'PCMA' ? A_LAW_SILENCE : name === 'G722' ? G722_SILENCE : MU_LAW_SILENCE;
      const pt = this.options.codec.payloadType;
      this.#frame = (i) => {
        const payload = new Uint8Array(G711_FRAME).fill(silence);
        payload.set(codes.subarray(i * G711_FRAME, Math.min(codes.length, (i + 1) * G711_FRAME)));
        const pkt = serializeRtpPacket({ payloadType: pt, sequenceNumber: this.#seq, timestamp: this.#ts >>> 0, ssrc: this.#ssrc, payload, marker: i === 0 });
        this.#seq = (this.#seq + 1) & 0xffff;
        this.#ts = (this.#ts + G711_FRAME) >>> 0;
        return pkt;
      };
    }
    this.#next = 0;
    return new Promise<PromptSinkEnded>((resolve) => {
      this.#done = resolve;
      void this.#pacer.play(new Uint8Array(count)).then((ended) => this.#finish(ended.reason === 'completed' ? 'completed' : 'stopped'));
    });
  }

  stop(): void {
    if (!this.#done) return;
    this.#pacer.stop();
    this.#finish('stopped');
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#pacer.stop();
    this.#finish('closed');
  }

  #finish(reason: PromptSinkEnded['reason']): void {
    const done = this.#done;
    if (!done) return;
    this.#done = undefined;
    prompts.inc({ outcome: reason });
    done({ reason });
  }
}

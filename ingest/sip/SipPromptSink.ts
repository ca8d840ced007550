/**
 * Challenge prompts played to a SIP caller as RTP on the call's own media path:
 *
 *   48 kHz PCM --Resampler--> 8 kHz --G.711 (mu-law or A-law, as negotiated)--> 20 ms frames
 *   --MuLawPacer (real time)--> RTP (own SSRC, sequence and timestamp; marker on each prompt)
 *   --> RtpEndpoint.send (to the address the caller's own RTP comes from)
 *
 * RTP carries no playback confirmation: play() resolves 'completed' once the last frame was
 * sent; stop() cuts it within a frame; close() (call ended) resolves 'closed'.
 */
import { randomInt } from 'node:crypto';
import { DfdError } from '../../kernel/errors.js';
import { counter } from '../../kernel/metrics.js';
import { muLawEncodeFloat } from '../../pipeline/audio/G711.js';
import { aLawEncodeFloat } from '../../pipeline/audio/G711A.js';
import { Resampler } from '../../pipeline/audio/Resampler.js';
import { serializeRtpPacket } from '../../pipeline/rtp/RtpPacket.js';
import type { PromptSink, PromptSinkEnded } from '../../challenge-response/prompt/PromptSink.js';
import { MuLawPacer, MU_LAW_SILENCE, type MuLawPacerOptions } from '../twilio/MuLawPacer.js';

const prompts = counter<'outcome'>({ name: 'dfd_sip_prompts_total', help: 'Challenge prompts played to SIP callers, by outcome', labelNames: ['outcome'] });

/** A-law code of silence. */
const A_LAW_SILENCE = 0xd5;

export interface SipPromptSinkOptions {
  /** 0 PCMU, 8 PCMA. */
  payloadType: 0 | 8;
  pacer: Partial<MuLawPacerOptions>;
}

/** 48 kHz Int16 -> 8 kHz G.711 codes (band-limited by the pipeline's resampler). */
export function toG711(pcm48k: Int16Array, payloadType: 0 | 8): Uint8Array {
  const x = new Float32Array(pcm48k.length);
  for (let i = 0; i < x.length; i++) x[i] = pcm48k[i]! / 32768;
  const r = new Resampler({ inRate: 48000, outRate: 8000 });
  const head = r.process(x);
  const tail = r.flush();
  const y = new Float32Array(head.length + tail.length);
  y.set(head, 0);
  y.set(tail, head.length);
  return payloadType === 8 ? aLawEncodeFloat(y) : muLawEncodeFloat(y);
}

export class SipPromptSink implements PromptSink {
  readonly audience = 'caller' as const;
  readonly options: SipPromptSinkOptions;
  readonly #pacer: MuLawPacer;
  readonly #ssrc = randomInt(1, 0xffffffff);
  #seq = randomInt(0, 0x10000);
  #ts = randomInt(0, 0x100000000);
  #startOfPrompt = false;
  #done: ((e: PromptSinkEnded) => void) | undefined;
  #closed = false;
  #frames = 0;

  /** `send` writes one RTP packet towards the caller; it must not throw. */
  constructor(send: (packet: Buffer) => void, options: Partial<SipPromptSinkOptions> = {}) {
    this.options = { payloadType: 0, pacer: {}, ...options };
    this.#pacer = new MuLawPacer((frame) => {
      send(serializeRtpPacket({ payloadType: this.options.payloadType, sequenceNumber: this.#seq, timestamp: this.#ts >>> 0, ssrc: this.#ssrc, payload: frame, marker: this.#startOfPrompt }));
      this.#startOfPrompt = false;
      this.#seq = (this.#seq + 1) & 0xffff;
      this.#ts = (this.#ts + frame.length) >>> 0;
      this.#frames++;
    }, this.options.pacer);
  }

  get playing(): boolean {
    return this.#done !== undefined;
  }

  /** Frames sent so far (all prompts). */
  get frames(): number {
    return this.#frames;
  }

  play(pcm48k: Int16Array): Promise<PromptSinkEnded> {
    if (this.#closed) return Promise.resolve({ reason: 'closed' });
    if (this.#done) return Promise.reject(new DfdError('ERR_CHALLENGE_ACTIVE', 'a prompt is already playing'));
    // Padded here to whole frames with the codec's own silence (the pacer would pad with mu-law's).
    const raw = toG711(pcm48k, this.options.payloadType);
    const frameBytes = this.#pacer.options.frameBytes;
    const codes = new Uint8Array(Math.ceil(raw.length / frameBytes) * frameBytes).fill(this.options.payloadType === 8 ? A_LAW_SILENCE : MU_LAW_SILENCE);
    codes.set(raw, 0);
    this.#startOfPrompt = true;
    return new Promise<PromptSinkEnded>((resolve) => {
      this.#done = resolve;
      void this.#pacer.play(codes).then((ended) => this.#finish(ended.reason === 'completed' ? 'completed' : 'stopped'));
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

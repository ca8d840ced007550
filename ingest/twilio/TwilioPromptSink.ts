/**
 * Challenge prompts played to a Twilio caller (bidirectional stream, <Connect><Stream>):
 *
 *   48 kHz PCM --Resampler--> 8 kHz --G.711--> mu-law --MuLawPacer (20 ms frames, real time)--> `media`
 *   ... last frame --> `mark` { name } --Twilio echoes it once played--> play() resolves 'completed'
 *   stop() (challenge cancelled or ended) --> pacing stops, `clear` empties Twilio's buffer
 *
 * The challenge's response window opens when play() resolves, i.e. once the caller heard
 * the whole prompt. A mark that never comes back (e.g. a unidirectional <Start><Stream>,
 * where Twilio plays nothing) resolves 'unconfirmed' after `markTimeoutMs`.
 */
import { DfdError } from '../../kernel/errors.js';
import { counter } from '../../kernel/metrics.js';
import { muLawEncodeFloat } from '../../pipeline/audio/G711.js';
import { Resampler } from '../../pipeline/audio/Resampler.js';
import { int16ToFloat } from '../../pipeline/audio/pcm.js';
import type { PromptSink, PromptSinkEnded } from '../../challenge-response/prompt/PromptSink.js';
import { MuLawPacer, type MuLawPacerOptions, type PacerTimer } from './MuLawPacer.js';
import { outbound, type TwilioOutbound } from './protocol.js';

export interface TwilioPromptSinkOptions {
  pacer: Partial<MuLawPacerOptions>;
  /** How long the `mark` may take to come back after the last frame was sent, ms. */
  markTimeoutMs: number;
}

export const defaultTwilioPromptSinkOptions: TwilioPromptSinkOptions = {
  pacer: {},
  markTimeoutMs: 5000,
};

const promptFrames = counter({ name: 'dfd_ingest_prompt_frames_total', help: 'Outbound prompt audio frames sent to phone legs (20 ms each)' });
const prompts = counter<'outcome'>({ name: 'dfd_ingest_prompts_total', help: 'Challenge prompts played to phone callers, by outcome', labelNames: ['outcome'] });

/** 48 kHz Int16 -> 8 kHz mu-law, band-limited (the pipeline's Kaiser windowed-sinc resampler). */
export function toMuLaw8k(pcm48k: Int16Array): Uint8Array {
  return muLawEncodeFloat(Resampler.all(int16ToFloat(pcm48k), 48000, 8000));
}

interface Pending {
  mark: string;
  timer: PacerTimer | undefined;
  done: (e: PromptSinkEnded) => void;
}

export class TwilioPromptSink implements PromptSink {
  readonly options: TwilioPromptSinkOptions;
  readonly #send: (msg: TwilioOutbound) => void;
  readonly #streamSid: string;
  readonly #pacer: MuLawPacer;
  #pending: Pending | undefined;
  #count = 0;
  #closed = false;

  /** `send` writes one message to the stream's WebSocket; it must not throw. */
  constructor(send: (msg: TwilioOutbound) => void, streamSid: string, options: Partial<TwilioPromptSinkOptions> = {}) {
    this.options = { ...defaultTwilioPromptSinkOptions, ...options };
    this.#send = send;
    this.#streamSid = streamSid;
    this.#pacer = new MuLawPacer((frame) => {
      promptFrames.inc();
      this.#send(outbound.media(this.#streamSid, frame));
    }, this.options.pacer);
  }

  get playing(): boolean {
    return this.#pending !== undefined;
  }

  play(pcm48k: Int16Array): Promise<PromptSinkEnded> {
    if (this.#closed) return Promise.resolve({ reason: 'closed' });
    if (this.#pending) return Promise.reject(new DfdError('ERR_CHALLENGE_ACTIVE', 'a prompt is already playing'));
    const codes = toMuLaw8k(pcm48k);
    const mark = `dfd-prompt-${++this.#count}`;
    return new Promise<PromptSinkEnded>((resolve) => {
      const pending: Pending = { mark, timer: undefined, done: resolve };
      this.#pending = pending;
      void this.#pacer.play(codes).then((ended) => {
        if (this.#pending !== pending || ended.reason !== 'completed') return;
        // Twilio echoes the mark once everything queued before it has been played.
        this.#send(outbound.mark(this.#streamSid, mark));
        const clock = this.#pacer.options.clock;
        pending.timer = clock.setTimeout(() => this.#finish(pending, 'unconfirmed'), this.options.markTimeoutMs);
      });
    });
  }

  /** A `mark` came back from Twilio. */
  onMark(name: string): void {
    const p = this.#pending;
    if (p && p.mark === name && p.timer !== undefined) this.#finish(p, 'completed');
  }

  /** Cuts the prompt: no more frames, and `clear` empties what Twilio still holds. */
  stop(): void {
    const p = this.#pending;
    if (!p) return;
    this.#pacer.stop();
    this.#send(outbound.clear(this.#streamSid));
    this.#finish(p, 'stopped');
  }

  /** The stream ended: nothing more is sent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#pacer.stop();
    if (this.#pending) this.#finish(this.#pending, 'closed');
  }

  #finish(p: Pending, reason: PromptSinkEnded['reason']): void {
    if (this.#pending !== p) return;
    this.#pending = undefined;
    if (p.timer !== undefined) this.#pacer.options.clock.clearTimeout(p.timer);
    prompts.inc({ outcome: reason });
    p.done({ reason });
  }
}

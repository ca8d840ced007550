/**
 * The rules of a Twilio stream that span frames, applied to each parsed frame in arrival
 * order. Pure: no I/O, no clock; the session acts on what it returns.
 *
 *   state        the event must be one the call's state takes (TwilioCallState)   ERR_INGEST_STATE (fatal)
 *   connected    protocol "Call", version 1.x                                      ERR_INGEST_FRAME (fatal)
 *   start        mediaFormat audio/x-mulaw, 8000 Hz, 1 channel                     ERR_INGEST_FORMAT (fatal)
 *                start.streamSid equals streamSid                                  ERR_INGEST_FRAME (fatal)
 *   sequence     sequenceNumber strictly increasing over the stream (gaps counted) ERR_INGEST_SEQUENCE
 *   streamSid    every frame after start names the started stream                  ERR_INGEST_FRAME
 *   media        track announced in start.tracks                                   ERR_INGEST_FRAME
 *                chunk strictly increasing, timestamp not decreasing, per track    ERR_INGEST_SEQUENCE
 *   stop         names the started call                                            ERR_INGEST_FRAME
 *
 * A fatal error ends the stream; any other drops that frame only.
 */
import { DfdError } from '../../kernel/errors.js';
import { TwilioCallState } from './TwilioCallState.js';
import { TWILIO_MEDIA_FORMAT, TWILIO_PROTOCOL, type TwilioInbound, type TwilioInboundOf, type TwilioTrack } from './protocol.js';

export type Checked = { ok: true; msg: TwilioInbound; sequenceGap: number } | { ok: false; error: DfdError; fatal: boolean };

interface TrackPosition {
  chunk: number;
  timestamp: number;
}

export class TwilioStreamValidator {
  readonly state = new TwilioCallState();
  #start: TwilioInboundOf<'start'>['start'] | undefined;
  #streamSid = '';
  #lastSeq = 0;
  readonly #tracks = new Map<TwilioTrack, TrackPosition>();

  /** The accepted `start` (undefined before it). */
  get start(): TwilioInboundOf<'start'>['start'] | undefined {
    return this.#start;
  }

  get streamSid(): string {
    return this.#streamSid;
  }

  check(msg: TwilioInbound): Checked {
    if (!this.state.accepts(msg.event)) {
      // After stop nothing matters any more; before that a frame out of place means a broken sender.
      const fatal = this.state.name !== 'stopped';
      return fail('ERR_INGEST_STATE', `${msg.event} is not allowed in state ${this.state.name}`, fatal, { event: msg.event, state: this.state.name });
    }
    switch (msg.event) {
      case 'connected':
        if (msg.protocol !== TWILIO_PROTOCOL || !/^1(\.|$)/.test(msg.version)) return fail('ERR_INGEST_FRAME', 'unsupported protocol or version', true, { protocol: msg.protocol.slice(0, 32), version: msg.version.slice(0, 32) });
        this.state.move('awaiting-start');
        return { ok: true, msg, sequenceGap: 0 };
      case 'start': {
        const f = msg.start.mediaFormat;
        if (f.encoding !== TWILIO_MEDIA_FORMAT.encoding || f.sampleRate !== TWILIO_MEDIA_FORMAT.sampleRate || f.channels !== TWILIO_MEDIA_FORMAT.channels) {
          return fail('ERR_INGEST_FORMAT', 'only audio/x-mulaw, 8000 Hz, mono is supported', true, { encoding: f.encoding.slice(0, 64), sampleRate: f.sampleRate, channels: f.channels });
        }
        if (msg.start.streamSid !== msg.streamSid) return fail('ERR_INGEST_FRAME', 'start.streamSid differs from streamSid', true);
        if (msg.sequenceNumber < 1) return fail('ERR_INGEST_SEQUENCE', 'sequenceNumber starts at 1', true, { sequenceNumber: msg.sequenceNumber });
        this.#start = msg.start;
        this.#streamSid = msg.streamSid;
        const gap = msg.sequenceNumber - 1;
        this.#lastSeq = msg.sequenceNumber;
        this.state.move('opening');
        return { ok: true, msg, sequenceGap: gap };
      }
      default:
        return this.#checkStreaming(msg);
    }
  }

  #checkStreaming(msg: Exclude<TwilioInbound, { event: 'connected' | 'start' }>): Checked {
    // A frame of another stream changes nothing here: its sequence number is not this stream's.
    if (msg.streamSid !== this.#streamSid) return fail('ERR_INGEST_FRAME', 'frame of another stream', false);
    if (msg.sequenceNumber <= this.#lastSeq) return fail('ERR_INGEST_SEQUENCE', 'sequenceNumber did not increase', false, { last: this.#lastSeq, got: msg.sequenceNumber });
    const gap = msg.sequenceNumber - this.#lastSeq - 1;
    this.#lastSeq = msg.sequenceNumber;
    if (msg.event === 'media') {
      const { track, chunk, timestamp } = msg.media;
      if (!this.#start?.tracks.includes(track)) return fail('ERR_INGEST_FRAME', 'media of a track not announced in start', false, { track });
      const last = this.#tracks.get(track);
      if (last && chunk <= last.chunk) return fail('ERR_INGEST_SEQUENCE', 'chunk did not increase', false, { track, last: last.chunk, got: chunk });
      if (last && timestamp < last.timestamp) return fail('ERR_INGEST_SEQUENCE', 'timestamp went back', false, { track, last: last.timestamp, got: timestamp });
      this.#tracks.set(track, { chunk, timestamp });
    } else if (msg.event === 'stop' && msg.stop.callSid !== this.#start?.callSid) {
      return fail('ERR_INGEST_FRAME', 'stop names another call', false);
    }
    return { ok: true, msg, sequenceGap: gap };
  }
}

function fail(code: 'ERR_INGEST_STATE' | 'ERR_INGEST_FRAME' | 'ERR_INGEST_FORMAT' | 'ERR_INGEST_SEQUENCE', detail: string, fatal: boolean, details?: Record<string, unknown>): Checked {
  return { ok: false, error: new DfdError(code, detail, details), fatal };
}

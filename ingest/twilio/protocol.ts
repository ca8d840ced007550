/**
 * The Twilio Media Streams wire format, as Twilio documents it
 * (https://www.twilio.com/docs/voice/media-streams/websocket-messages).
 *
 * From Twilio, one JSON text frame per message:
 *   connected  { event, protocol: "Call", version: "1.0.0" }                 (first, no sequenceNumber)
 *   start      { event, sequenceNumber, streamSid, start: { streamSid, accountSid, callSid, tracks,
 *                customParameters, mediaFormat: { encoding: "audio/x-mulaw", sampleRate: 8000, channels: 1 } } }
 *   media      { event, sequenceNumber, streamSid, media: { track: inbound|outbound, chunk, timestamp, payload } }
 *   mark       { event, sequenceNumber, streamSid, mark: { name } }          (bidirectional streams)
 *   dtmf       { event, sequenceNumber, streamSid, dtmf: { track: "inbound_track", digit } }
 *   stop       { event, sequenceNumber, streamSid, stop: { accountSid, callSid } }
 * `sequenceNumber`, `chunk` and `timestamp` (ms from the stream's start) are decimal strings;
 * `payload` is base64 mu-law, 8 kHz mono (Twilio sends 20 ms = 160 bytes per message).
 *
 * To Twilio (bidirectional streams, <Connect><Stream>):
 *   media { event, streamSid, media: { payload } }   mark { event, streamSid, mark: { name } }   clear { event, streamSid }
 *
 * Fields Twilio may add later are ignored; the ones we use are checked strictly.
 */
import { Type, type Static } from '@sinclair/typebox';

/** A decimal string (Twilio sends counters and timestamps as strings); numbers are accepted too. */
const Counter = Type.Union([Type.String({ pattern: '^[0-9]{1,15}$' }), Type.Integer({ minimum: 0, maximum: 999_999_999_999_999 })]);

/**
 * Twilio SIDs are two letters and 32 hex digits (MZ… stream, CA… call, AC… account); other
 * platforms speaking this protocol use UUIDs. Both fit; the call SID becomes part of a room
 * id and of NATS subjects, so nothing else is allowed.
 */
export const SidPattern = '^[A-Za-z0-9_-]{1,56}$';
const Sid = Type.String({ pattern: SidPattern });

export const ConnectedMessage = Type.Object({
  event: Type.Literal('connected'),
  protocol: Type.String({ maxLength: 32 }),
  version: Type.String({ maxLength: 32 }),
});

export const MediaFormat = Type.Object({
  encoding: Type.String({ maxLength: 64 }),
  sampleRate: Type.Number(),
  channels: Type.Number(),
});

export const StartMessage = Type.Object({
  event: Type.Literal('start'),
  sequenceNumber: Counter,
  streamSid: Sid,
  start: Type.Object({
    streamSid: Sid,
    accountSid: Sid,
    callSid: Sid,
    tracks: Type.Array(Type.Union([Type.Literal('inbound'), Type.Literal('outbound')]), { minItems: 1, maxItems: 2, uniqueItems: true }),
    customParameters: Type.Optional(Type.Record(Type.String({ maxLength: 64 }), Type.String({ maxLength: 1024 }), { maxProperties: 32 })),
    mediaFormat: MediaFormat,
  }),
});

export const MediaMessage = Type.Object({
  event: Type.Literal('media'),
  sequenceNumber: Counter,
  streamSid: Sid,
  media: Type.Object({
    track: Type.Union([Type.Literal('inbound'), Type.Literal('outbound')]),
    chunk: Counter,
    timestamp: Counter,
    payload: Type.String(),
  }),
});

export const MarkMessage = Type.Object({
  event: Type.Literal('mark'),
  sequenceNumber: Counter,
  streamSid: Sid,
  mark: Type.Object({ name: Type.String({ maxLength: 256 }) }),
});

export const DtmfMessage = Type.Object({
  event: Type.Literal('dtmf'),
  sequenceNumber: Counter,
  streamSid: Sid,
  dtmf: Type.Object({ track: Type.String({ maxLength: 32 }), digit: Type.String({ pattern: '^[0-9A-D*#]$' }) }),
});

export const StopMessage = Type.Object({
  event: Type.Literal('stop'),
  sequenceNumber: Counter,
  streamSid: Sid,
  stop: Type.Object({ accountSid: Sid, callSid: Sid }),
});

export const inboundSchemas = {
  connected: ConnectedMessage,
  start: StartMessage,
  media: MediaMessage,
  mark: MarkMessage,
  dtmf: DtmfMessage,
  stop: StopMessage,
} as const;

export type InboundEvent = keyof typeof inboundSchemas;
export type TwilioTrack = 'inbound' | 'outbound';

/** Twilio's only media format: mu-law, 8 kHz, mono. */
export const TWILIO_MEDIA_FORMAT = { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 } as const;
/** The protocol named in `connected`. */
export const TWILIO_PROTOCOL = 'Call';

/**
 * A parsed, validated message from Twilio: counters as numbers, the media payload decoded
 * (mu-law bytes). What `parseTwilioFrame` returns.
 */
export type TwilioInbound =
  | { event: 'connected'; protocol: string; version: string }
  | {
      event: 'start';
      sequenceNumber: number;
      streamSid: string;
      start: {
        streamSid: string;
        accountSid: string;
        callSid: string;
        tracks: TwilioTrack[];
        customParameters: Record<string, string>;
        mediaFormat: Static<typeof MediaFormat>;
      };
    }
  | { event: 'media'; sequenceNumber: number; streamSid: string; media: { track: TwilioTrack; chunk: number; timestamp: number; payload: Uint8Array } }
  | { event: 'mark'; sequenceNumber: number; streamSid: string; mark: { name: string } }
  | { event: 'dtmf'; sequenceNumber: number; streamSid: string; dtmf: { track: string; digit: string } }
  | { event: 'stop'; sequenceNumber: number; streamSid: string; stop: { accountSid: string; callSid: string } };

export type TwilioInboundOf<E extends InboundEvent> = Extract<TwilioInbound, { event: E }>;

/** Messages the service sends back on a bidirectional stream. */
export type TwilioOutbound =
  | { event: 'media'; streamSid: string; media: { payload: string } }
  | { event: 'mark'; streamSid: string; mark: { name: string } }
  | { event: 'clear'; streamSid: string };

export const outbound = {
  media: (streamSid: string, muLaw: Uint8Array): TwilioOutbound => ({ event: 'media', streamSid, media: { payload: Buffer.from(muLaw.buffer, muLaw.byteOffset, muLaw.byteLength).toString('base64') } }),
  mark: (streamSid: string, name: string): TwilioOutbound => ({ event: 'mark', streamSid, mark: { name } }),
  clear: (streamSid: string): TwilioOutbound => ({ event: 'clear', streamSid }),
};

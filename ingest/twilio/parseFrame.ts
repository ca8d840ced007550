/**
 * One WebSocket frame from Twilio -> a typed, validated message, or a typed error. Stateless:
 * what depends on earlier frames (order, state, stream id) is TwilioStreamValidator's job.
 *
 *   binary frame, not UTF-8 JSON       -> ERR_INGEST_FRAME / ERR_BAD_JSON
 *   unknown `event`, schema mismatch   -> ERR_INGEST_FRAME (with the JSON path)
 *   payload not canonical base64, or
 *   decoded size outside the limits    -> ERR_INGEST_PAYLOAD
 */
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import type { TSchema } from '@sinclair/typebox';
import { DfdError } from '../../kernel/errors.js';
import { inboundSchemas, type InboundEvent, type TwilioInbound } from './protocol.js';

export interface FrameLimits {
  /** Smallest media payload accepted, bytes of mu-law (1 byte = 1 sample at 8 kHz). */
  minChunkBytes: number;
  /** Largest media payload accepted (Twilio sends 160 = 20 ms). */
  maxChunkBytes: number;
}

export const defaultFrameLimits: FrameLimits = {
  minChunkBytes: 1,
  maxChunkBytes: 1600,
};

const checks = Object.fromEntries(Object.entries(inboundSchemas).map(([k, s]) => [k, TypeCompiler.Compile(s as TSchema)])) as Record<InboundEvent, TypeCheck<TSchema>>;

const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function isEvent(e: unknown): e is InboundEvent {
  return typeof e === 'string' && Object.hasOwn(inboundSchemas, e);
}

function firstError(check: TypeCheck<TSchema>, value: unknown): string {
  const e = [...check.Errors(value)][0];
  return e ? `${e.path || '/'}: ${e.message}` : 'invalid';
}

const num = (v: string | number): number => (typeof v === 'number' ? v : Number(v));

/** Canonical base64 (padding included, no whitespace) -> bytes, size-checked. */
export function decodePayload(payload: string, limits: FrameLimits = defaultFrameLimits): Uint8Array {
  // Check the length before the regex: a huge string is refused without scanning it.
  const maxChars = Math.ceil(limits.maxChunkBytes / 3) * 4;
  if (payload.length > maxChars) throw new DfdError('ERR_INGEST_PAYLOAD', 'payload too large', { maxBytes: limits.maxChunkBytes });
  if (payload.length % 4 !== 0 || !BASE64_RE.test(payload)) throw new DfdError('ERR_INGEST_PAYLOAD', 'payload is not base64');
  const bytes = Buffer.from(payload, 'base64');
  if (bytes.length < limits.minChunkBytes || bytes.length > limits.maxChunkBytes) {
    throw new DfdError('ERR_INGEST_PAYLOAD', 'payload size out of range', { bytes: bytes.length, min: limits.minChunkBytes, max: limits.maxChunkBytes });
  }
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Parses and validates one frame; throws DfdError (never anything else). */
export function parseTwilioFrame(data: Buffer | string, isBinary: boolean, limits: FrameLimits = defaultFrameLimits): TwilioInbound {
  if (isBinary) throw new DfdError('ERR_INGEST_FRAME', 'binary frames are not part of the protocol');
  const text = typeof data === 'string' ? data : data.toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new DfdError('ERR_BAD_JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new DfdError('ERR_INGEST_FRAME', 'frame is not a JSON object');
  const event = (value as { event?: unknown }).event;
  if (!isEvent(event)) throw new DfdError('ERR_INGEST_FRAME', 'unknown event', { event: typeof event === 'string' ? event.slice(0, 32) : typeof event });
  const check = checks[event];
  if (!check.Check(value)) throw new DfdError('ERR_INGEST_FRAME', firstError(check, value), { event });
  // The schema holds: read the fields into the typed shape (counters as numbers, payload decoded).
  const v = value as Record<string, never>;
  switch (event) {
    case 'connected': {
      const m = v as unknown as { protocol: string; version: string };
      return { event, protocol: m.protocol, version: m.version };
    }
    case 'start': {
      const m = v as unknown as { sequenceNumber: string | number; streamSid: string; start: Extract<TwilioInbound, { event: 'start' }>['start'] & { customParameters?: Record<string, string> } };
      const s = m.start;
      return {
        event,
        sequenceNumber: num(m.sequenceNumber),
        streamSid: m.streamSid,
        start: { streamSid: s.streamSid, accountSid: s.accountSid, callSid: s.callSid, tracks: [...s.tracks], customParameters: { ...(s.customParameters ?? {}) }, mediaFormat: { ...s.mediaFormat } },
      };
    }
    case 'media': {
      const m = v as unknown as { sequenceNumber: string | number; streamSid: string; media: { track: 'inbound' | 'outbound'; chunk: string | number; timestamp: string | number; payload: string } };
      return {
        event,
        sequenceNumber: num(m.sequenceNumber),
        streamSid: m.streamSid,
        media: { track: m.media.track, chunk: num(m.media.chunk), timestamp: num(m.media.timestamp), payload: decodePayload(m.media.payload, limits) },
      };
    }
    case 'mark': {
      const m = v as unknown as { sequenceNumber: string | number; streamSid: string; mark: { name: string } };
      return { event, sequenceNumber: num(m.sequenceNumber), streamSid: m.streamSid, mark: { name: m.mark.name } };
    }
    case 'dtmf': {
      const m = v as unknown as { sequenceNumber: string | number; streamSid: string; dtmf: { track: string; digit: string } };
      return { event, sequenceNumber: num(m.sequenceNumber), streamSid: m.streamSid, dtmf: { track: m.dtmf.track, digit: m.dtmf.digit } };
    }
    case 'stop': {
      const m = v as unknown as { sequenceNumber: string | number; streamSid: string; stop: { accountSid: string; callSid: string } };
      return { event, sequenceNumber: num(m.sequenceNumber), streamSid: m.streamSid, stop: { accountSid: m.stop.accountSid, callSid: m.stop.callSid } };
    }
  }
}

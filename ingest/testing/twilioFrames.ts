/**
 * Twilio Media Streams messages exactly as Twilio sends them (string counters, base64
 * payload, SIDs of two letters and 32 hex digits), for tests and the test caller.
 */
import { randomBytes } from 'node:crypto';

export const sid = (prefix: 'MZ' | 'CA' | 'AC'): string => prefix + randomBytes(16).toString('hex');

export interface StreamIds {
  streamSid: string;
  callSid: string;
  accountSid: string;
}

export const newStreamIds = (): StreamIds => ({ streamSid: sid('MZ'), callSid: sid('CA'), accountSid: sid('AC') });

export const twilioFrames = {
  connected: () => ({ event: 'connected', protocol: 'Call', version: '1.0.0' }),
  start: (ids: StreamIds, seq: number, customParameters: Record<string, string> = {}, tracks: string[] = ['inbound'], mediaFormat: Record<string, unknown> = { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 }) => ({
    event: 'start',
    sequenceNumber: String(seq),
    start: { accountSid: ids.accountSid, streamSid: ids.streamSid, callSid: ids.callSid, tracks, mediaFormat, customParameters },
    streamSid: ids.streamSid,
  }),
  media: (ids: StreamIds, seq: number, chunk: number, timestampMs: number, payload: Uint8Array, track: 'inbound' | 'outbound' = 'inbound') => ({
    event: 'media',
    sequenceNumber: String(seq),
    media: { track, chunk: String(chunk), timestamp: String(timestampMs), payload: Buffer.from(payload).toString('base64') },
    streamSid: ids.streamSid,
  }),
  mark: (ids: StreamIds, seq: number, name: string) => ({ event: 'mark', sequenceNumber: String(seq), streamSid: ids.streamSid, mark: { name } }),
  dtmf: (ids: StreamIds, seq: number, digit: string) => ({ event: 'dtmf', streamSid: ids.streamSid, sequenceNumber: String(seq), dtmf: { track: 'inbound_track', digit } }),
  stop: (ids: StreamIds, seq: number) => ({ event: 'stop', sequenceNumber: String(seq), stop: { accountSid: ids.accountSid, callSid: ids.callSid }, streamSid: ids.streamSid }),
};

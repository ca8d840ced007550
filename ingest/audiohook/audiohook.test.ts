import { describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { DfdError } from '../../kernel/errors.js';
import { parseAudioHookMessage } from './parseMessage.js';
import { AudioHookStreamValidator } from './AudioHookStreamValidator.js';
import { chooseMedia, deinterleave } from './AudioHookSession.js';
import { durationMs, formatDuration, type ClientMessage } from './protocol.js';

const sid = randomUUID();
const base = (type: string, seq: number, parameters: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  version: '2',
  id: sid,
  type,
  seq,
  serverseq: 0,
  position: 'PT0S',
  parameters,
  ...extra,
});
const open = (seq = 1): Record<string, unknown> =>
  base('open', seq, {
    organizationId: randomUUID(),
    conversationId: randomUUID(),
    participant: { id: randomUUID(), ani: 'tel:+15550100', aniName: 'Jane', dnis: 'tel:+15550199' },
    media: [{ type: 'audio', format: 'PCMU', channels: ['external', 'internal'], rate: 8000 }],
  });
const codeOf = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    return e instanceof DfdError ? e.code : 'not a DfdError';
  }
  return 'no error';
};
const parse = (v: unknown): ClientMessage => parseAudioHookMessage(JSON.stringify(v));

describe('AudioHook messages', () => {
  it('parses every client message type of protocol version 2', () => {
    expect(parse(open()).type).toBe('open');
    expect(parse(base('ping', 2, { rtt: 'PT0.012S' })).type).toBe('ping');
    expect(parse(base('update', 3, { language: 'fr-FR' })).type).toBe('update');
    expect(parse(base('paused', 4, {})).type).toBe('paused');
    expect(parse(base('resumed', 5, { start: 'PT3S', discarded: 'PT1.5S' })).type).toBe('resumed');
    expect(parse(base('discarded', 6, { start: 'PT3S', discarded: 'PT0.2S' })).type).toBe('discarded');
    expect(parse(base('error', 7, { code: 429, message: 'slow down', retryAfter: 'PT1S' })).type).toBe('error');
    expect(parse(base('close', 8, { reason: 'end' })).type).toBe('close');
  });

  it('refuses malformed messages with stable codes', () => {
    expect(codeOf(() => parseAudioHookMessage('{"type":'))).toBe('ERR_BAD_JSON');
    expect(codeOf(() => parseAudioHookMessage('[1,2]'))).toBe('ERR_INGEST_FRAME');
    expect(codeOf(() => parse(base('opened', 1, { media: [] })))).toBe('ERR_INGEST_FRAME'); // server-only type
    expect(codeOf(() => parse({ ...open(), version: '1' }))).toBe('ERR_INGEST_FRAME');
    expect(codeOf(() => parse({ ...open(), id: 'not-a-uuid' }))).toBe('ERR_INGEST_FRAME');
    expect(codeOf(() => parse({ ...open(), seq: -1 }))).toBe('ERR_INGEST_FRAME');
    expect(codeOf(() => parse({ ...open(), position: '12 seconds' }))).toBe('ERR_INGEST_FRAME');
    const noMedia = open();
    (noMedia['parameters'] as Record<string, unknown>)['media'] = [];
    expect(codeOf(() => parse(noMedia))).toBe('ERR_INGEST_FRAME');
  });

  it('checks seq, serverseq, session id and state across messages', () => {
    const v = new AudioHookStreamValidator(sid);
    expect(v.check(parse(base('ping', 1, {})), 0).ok).toBe(true);
    // A gap, a repeat, a serverseq from the future, another session: each refused with its code.
    const gap = v.check(parse(base('ping', 3, {})), 0);
    expect(!gap.ok && gap.error.code).toBe('ERR_INGEST_SEQUENCE');
    const repeat = v.check(parse(base('ping', 1, {})), 0);
    expect(!repeat.ok && repeat.error.code).toBe('ERR_INGEST_SEQUENCE');
    const future = v.check(parse(base('ping', 2, {}, { serverseq: 5 })), 1);
    expect(!future.ok && future.error.code).toBe('ERR_INGEST_SEQUENCE');
    const other = v.check(parse({ ...base('ping', 2, {}), id: randomUUID() }), 1);
    expect(!other.ok && other.error.code).toBe('ERR_INGEST_FRAME');
    // paused before open: not in this state.
    const early = v.check(parse(base('paused', 2, {})), 1);
    expect(!early.ok && early.error.code).toBe('ERR_INGEST_STATE');
    expect(v.clientSeq).toBe(1);
    expect(v.check(parse(open(2)), 1).ok).toBe(true);
    expect(v.clientSeq).toBe(2);
  });

  it('chooses PCMU 8 kHz with the external channel, stereo first', () => {
    const stereo = { type: 'audio', format: 'PCMU', channels: ['external', 'internal'] as ('external' | 'internal')[], rate: 8000 };
    const mono = { type: 'audio', format: 'PCMU', channels: ['external'] as ('external' | 'internal')[], rate: 8000 };
    const l16 = { type: 'audio', format: 'L16', channels: ['external'] as ('external' | 'internal')[], rate: 8000 };
    const agentOnly = { type: 'audio', format: 'PCMU', channels: ['internal'] as ('external' | 'internal')[], rate: 8000 };
    expect(chooseMedia([mono, stereo])).toBe(stereo);
    expect(chooseMedia([l16, mono])).toBe(mono);
    expect(chooseMedia([l16, agentOnly])).toBeUndefined();
  });

  it('takes one channel out of interleaved samples, and converts durations', () => {
    expect([...deinterleave(Uint8Array.from([1, 9, 2, 9, 3, 9]), 2, 0)]).toEqual([1, 2, 3]);
    expect([...deinterleave(Uint8Array.from([9, 1, 9, 2]), 2, 1)]).toEqual([1, 2]);
    expect(durationMs('PT12.345S')).toBe(12345);
    expect(durationMs('PT0S')).toBe(0);
    expect(formatDuration(1500)).toBe('PT1.5S');
    expect(formatDuration(0)).toBe('PT0S');
    expect(() => durationMs('P1D')).toThrow(RangeError);
  });
});

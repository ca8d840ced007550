/**
 * Fuzz: Genesys AudioHook text messages. parseAudioHookMessage never throws anything but
 * ERR_BAD_JSON or ERR_INGEST_FRAME and every valid message of every client type reads back
 * unchanged; AudioHookStreamValidator never throws, and a message it refuses changes nothing
 * (the session's clientseq stays where it was, so the next in-sequence message is accepted).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyJsonEdit, FuzzBoundary, jsonEdit, outcome } from '../../test/helpers/fuzz.js';
import { parseAudioHookMessage } from './parseMessage.js';
import { AudioHookStreamValidator } from './AudioHookStreamValidator.js';
import type { ClientMessage } from './protocol.js';

const fuzz = new FuzzBoundary('audiohook');
const PARSE_CODES = ['ERR_BAD_JSON', 'ERR_INGEST_FRAME'] as const;
const CHECK_CODES = ['ERR_INGEST_STATE', 'ERR_INGEST_FRAME', 'ERR_INGEST_SEQUENCE'] as const;

const uuid = fc.uuid();
const duration = fc.tuple(fc.nat({ max: 99_999 }), fc.nat({ max: 999 })).map(([s, ms]) => `PT${s}.${String(ms).padStart(3, '0')}S`);
const channels = fc.constantFrom<('external' | 'internal')[]>(['external'], ['internal'], ['external', 'internal'], ['internal', 'external']);
const media = fc.record({ type: fc.constantFrom('audio', 'video'), format: fc.constantFrom('PCMU', 'L16', 'opus'), channels, rate: fc.constantFrom(8000, 16000, 44100) });

const parameters = fc.oneof(
  fc.record({
    type: fc.constant('open' as const),
    p: fc.record({
      organizationId: uuid,
      conversationId: uuid,
      participant: fc.record({ id: fc.string({ maxLength: 64 }), ani: fc.string({ maxLength: 64 }), aniName: fc.string({ maxLength: 128 }), dnis: fc.string({ maxLength: 64 }) }),
      media: fc.array(media, { minLength: 1, maxLength: 4 }),
      language: fc.string({ maxLength: 32 }),
    }),
  }),
  fc.record({ type: fc.constant('ping' as const), p: fc.record({ rtt: duration }) }),
  fc.record({ type: fc.constant('update' as const), p: fc.record({ language: fc.string({ maxLength: 32 }) }) }),
  fc.record({ type: fc.constant('paused' as const), p: fc.constant({}) }),
  fc.record({ type: fc.constant('resumed' as const), p: fc.record({ start: duration, discarded: duration }) }),
  fc.record({ type: fc.constant('discarded' as const), p: fc.record({ start: duration, discarded: duration }) }),
  fc.record({ type: fc.constant('error' as const), p: fc.record({ code: fc.integer({ min: 100, max: 599 }), message: fc.string({ maxLength: 200 }) }) }),
  fc.record({ type: fc.constant('close' as const), p: fc.record({ reason: fc.constantFrom('end', 'error', 'disconnect', 'reconnect') }) }),
);

const validMessage = fc
  .record({ id: uuid, seq: fc.nat({ max: 1_000_000 }), serverseq: fc.nat({ max: 1_000_000 }), position: duration, params: parameters })
  .map(({ id, seq, serverseq, position, params }) => ({ version: '2', id, type: params.type, seq, serverseq, position, parameters: params.p }) as unknown as ClientMessage);

describe('fuzz: AudioHook messages', () => {
  it('a valid message of every client type reads back unchanged', () => {
    fuzz.check(
      fc.property(validMessage, (m) => {
        expect(parseAudioHookMessage(JSON.stringify(m))).toEqual(m);
      }),
      3,
    );
  });

  it('edited messages (JSON values and raw text) parse or are refused with a frame or JSON code', () => {
    fuzz.check(
      fc.property(validMessage, fc.array(jsonEdit, { minLength: 1, maxLength: 3 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 0xffff })), { maxLength: 3 }), (m, edits, textEdits) => {
        outcome(() => parseAudioHookMessage(JSON.stringify(edits.reduce(applyJsonEdit, m as unknown))), PARSE_CODES);
        const chars = [...JSON.stringify(m)];
        for (const [at, c] of textEdits) chars[at % chars.length] = String.fromCharCode(c);
        outcome(() => parseAudioHookMessage(chars.join('')), PARSE_CODES);
      }),
      5,
    );
  });

  it('the validator never throws, and a refused message leaves the session where it was', () => {
    const step = fc.record({ type: fc.constantFrom('open', 'ping', 'update', 'paused', 'resumed', 'discarded', 'error', 'close'), seqDelta: fc.constantFrom(1, 1, 1, 0, 2, -1), foreign: fc.boolean(), serverAhead: fc.constantFrom(0, 0, 0, 1) });
    fuzz.check(
      fc.property(uuid, uuid, fc.array(step, { minLength: 1, maxLength: 25 }), (sid, other, steps) => {
        fc.pre(sid !== other);
        const v = new AudioHookStreamValidator(sid);
        let serverSeq = 0;
        for (const s of steps) {
          const before = { seq: v.clientSeq, state: v.state.name };
          const msg = {
            version: '2',
            id: s.foreign ? other : sid,
            type: s.type,
            seq: Math.max(0, v.clientSeq + s.seqDelta),
            serverseq: serverSeq + s.serverAhead,
            position: 'PT1S',
            parameters: s.type === 'close' ? { reason: 'end' } : s.type === 'discarded' ? { start: 'PT0S', discarded: 'PT1S' } : s.type === 'error' ? { code: 500, message: 'x' } : {},
          } as unknown as ClientMessage;
          const r = v.check(msg, serverSeq);
          if (!r.ok) {
            expect(CHECK_CODES).toContain(r.error.code);
            expect({ seq: v.clientSeq, state: v.state.name }).toEqual(before);
          } else {
            expect(v.clientSeq).toBe(before.seq + 1);
            // As the session acts: open -> opening -> active (one server message: opened); ping -> pong.
            if (msg.type === 'open') {
              v.state.move('opening');
              v.state.move('active');
              serverSeq++;
            } else if (msg.type === 'ping') serverSeq++;
            else if (msg.type === 'paused' && v.state.name === 'active') v.state.move('paused');
            else if (msg.type === 'resumed' && v.state.name === 'paused') v.state.move('active');
            else if (msg.type === 'close' && v.state.canMove('closing')) v.state.move('closing');
          }
        }
      }),
      3,
    );
  });
});

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isDfdError } from '../../kernel/errors.js';
import { decodePayload, parseTwilioFrame } from './parseFrame.js';
import { newStreamIds, twilioFrames } from '../testing/twilioFrames.js';

const ids = newStreamIds();
const text = (v: unknown): string => JSON.stringify(v);
const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (e) {
    return isDfdError(e) ? e.code : `not a DfdError: ${String(e)}`;
  }
};

describe('parseTwilioFrame: the messages of Twilio\'s documentation', () => {
  it('parses connected, start, media, mark, dtmf and stop with string counters', () => {
    expect(parseTwilioFrame(text(twilioFrames.connected()), false)).toEqual({ event: 'connected', protocol: 'Call', version: '1.0.0' });
    const start = parseTwilioFrame(text(twilioFrames.start(ids, 1, { key: 'k', FirstName: 'Jane' })), false);
    expect(start).toMatchObject({ event: 'start', sequenceNumber: 1, streamSid: ids.streamSid, start: { callSid: ids.callSid, tracks: ['inbound'], customParameters: { key: 'k', FirstName: 'Jane' }, mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 } } });
    const payload = Uint8Array.from({ length: 160 }, (_, i) => i);
    const media = parseTwilioFrame(text(twilioFrames.media(ids, 2, 1, 0, payload)), false);
    expect(media.event === 'media' && [...media.media.payload]).toEqual([...payload]);
    expect(media).toMatchObject({ sequenceNumber: 2, media: { track: 'inbound', chunk: 1, timestamp: 0 } });
    expect(parseTwilioFrame(text(twilioFrames.mark(ids, 3, 'my label')), false)).toMatchObject({ event: 'mark', sequenceNumber: 3, mark: { name: 'my label' } });
    expect(parseTwilioFrame(text(twilioFrames.dtmf(ids, 4, '1')), false)).toMatchObject({ event: 'dtmf', dtmf: { track: 'inbound_track', digit: '1' } });
    expect(parseTwilioFrame(text(twilioFrames.stop(ids, 5)), false)).toMatchObject({ event: 'stop', stop: { callSid: ids.callSid, accountSid: ids.accountSid } });
  });

  it('accepts a start without customParameters and ignores fields Twilio may add', () => {
    const f = twilioFrames.start(ids, 1) as Record<string, unknown> & { start: Record<string, unknown> };
    delete f.start['customParameters'];
    f['extra'] = { anything: 1 };
    expect(parseTwilioFrame(text(f), false)).toMatchObject({ event: 'start', start: { customParameters: {} } });
  });

  it('refuses binary frames, non-JSON, unknown events and schema mismatches with stable codes', () => {
    expect(codeOf(() => parseTwilioFrame(Buffer.from(text(twilioFrames.connected())), true))).toBe('ERR_INGEST_FRAME');
    expect(codeOf(() => parseTwilioFrame('{"event":"media",', false))).toBe('ERR_BAD_JSON');
    expect(codeOf(() => parseTwilioFrame('[1,2]', false))).toBe('ERR_INGEST_FRAME');
    expect(codeOf(() => parseTwilioFrame('{"event":"hello"}', false))).toBe('ERR_INGEST_FRAME');
    const bad = twilioFrames.media(ids, 2, 1, 0, new Uint8Array(160)) as { media: Record<string, unknown> };
    bad.media['track'] = 'sideways';
    expect(codeOf(() => parseTwilioFrame(text(bad), false))).toBe('ERR_INGEST_FRAME');
    const neg = twilioFrames.media(ids, 2, 1, 0, new Uint8Array(160)) as { sequenceNumber: string };
    neg.sequenceNumber = '-1';
    expect(codeOf(() => parseTwilioFrame(text(neg), false))).toBe('ERR_INGEST_FRAME');
    const sidBad = twilioFrames.stop(ids, 3) as { stop: Record<string, unknown> };
    sidBad.stop['callSid'] = 'CA.x/../';
    expect(codeOf(() => parseTwilioFrame(text(sidBad), false))).toBe('ERR_INGEST_FRAME');
  });

  it('refuses base64 garbage and payloads outside the size limits', () => {
    const media = (payload: string): string => text({ ...twilioFrames.media(ids, 2, 1, 0, new Uint8Array(1)), media: { track: 'inbound', chunk: '1', timestamp: '0', payload } });
    expect(codeOf(() => parseTwilioFrame(media('not base64!!'), false))).toBe('ERR_INGEST_PAYLOAD');
    expect(codeOf(() => parseTwilioFrame(media('AAA'), false))).toBe('ERR_INGEST_PAYLOAD');
    expect(codeOf(() => parseTwilioFrame(media(''), false))).toBe('ERR_INGEST_PAYLOAD');
    expect(codeOf(() => parseTwilioFrame(media(Buffer.alloc(1601).toString('base64')), false))).toBe('ERR_INGEST_PAYLOAD');
    expect(codeOf(() => parseTwilioFrame(media(Buffer.alloc(1600).toString('base64')), false))).toBeUndefined();
    expect(codeOf(() => decodePayload(Buffer.alloc(200).toString('base64'), { minChunkBytes: 160, maxChunkBytes: 160 }))).toBe('ERR_INGEST_PAYLOAD');
  });

  it('property: any bytes decode back from canonical base64 within the limits', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 1600 }), (bytes) => {
        expect([...decodePayload(Buffer.from(bytes).toString('base64'))]).toEqual([...bytes]);
      }),
      { numRuns: 200 },
    );
  });

  it('property: arbitrary input never throws anything but a DfdError', () => {
    const jsonish = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.json({ maxDepth: 4 }),
      fc.record({ event: fc.constantFrom('connected', 'start', 'media', 'mark', 'dtmf', 'stop', 'clear'), sequenceNumber: fc.oneof(fc.string({ maxLength: 5 }), fc.integer()), streamSid: fc.string({ maxLength: 40 }), media: fc.anything() }).map((o) => JSON.stringify(o)),
    );
    fc.assert(
      fc.property(jsonish, fc.boolean(), (data, isBinary) => {
        try {
          parseTwilioFrame(data, isBinary);
        } catch (e) {
          expect(isDfdError(e)).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('property: mutating one field of a valid media frame is either still valid or refused with a code', () => {
    const valid = twilioFrames.media(ids, 7, 3, 40, new Uint8Array(160).fill(0xff));
    fc.assert(
      fc.property(fc.constantFrom('sequenceNumber', 'streamSid', 'track', 'chunk', 'timestamp', 'payload'), fc.anything(), (field, value) => {
        const f = structuredClone(valid) as Record<string, unknown> & { media: Record<string, unknown> };
        if (field in f.media) f.media[field] = value;
        else f[field] = value;
        const code = codeOf(() => parseTwilioFrame(JSON.stringify(f), false));
        expect(code === undefined || /^ERR_(INGEST_FRAME|INGEST_PAYLOAD|BAD_JSON)$/.test(code)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

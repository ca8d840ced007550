import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DfdError, isDfdError } from '../../kernel/errors.js';
import { parseRtpPacket, serializeRtpPacket } from './RtpPacket.js';

function expectMalformed(buf: Uint8Array): void {
  try {
    parseRtpPacket(buf);
  } catch (e) {
    expect(isDfdError(e, 'ERR_RTP_MALFORMED')).toBe(true);
    return;
  }
  throw new Error('expected ERR_RTP_MALFORMED');
}

describe('parseRtpPacket', () => {
  it('parses a minimal packet without copying the payload', () => {
    const payload = Uint8Array.from([0xf8, 1, 2, 3]);
    const buf = serializeRtpPacket({ payloadType: 111, sequenceNumber: 65535, timestamp: 0xfffffff0, ssrc: 0xdeadbeef, payload, marker: true });
    const p = parseRtpPacket(buf);
    expect(p).toMatchObject({ version: 2, padding: false, marker: true, payloadType: 111, sequenceNumber: 65535, timestamp: 0xfffffff0, ssrc: 0xdeadbeef, csrcs: [], headerExtension: undefined, paddingLength: 0 });
    expect([...p.payload]).toEqual([0xf8, 1, 2, 3]);
    expect(p.payload.buffer).toBe(buf.buffer);
    expect(p.payload.byteOffset).toBe(buf.byteOffset + 12);
  });

  it('parses CSRCs, a header extension and padding', () => {
    const ext = Uint8Array.from([0x10, 0xaa, 0, 0, 0x22, 1, 2, 0]);
    const buf = serializeRtpPacket({
      payloadType: 100,
      sequenceNumber: 7,
      timestamp: 960,
      ssrc: 1,
      payload: Uint8Array.from([9, 8, 7]),
      csrcs: [11, 0xffffffff],
      headerExtension: { profile: 0xbede, data: ext },
      padding: 5,
    });
    const p = parseRtpPacket(buf);
    expect(p.csrcs).toEqual([11, 0xffffffff]);
    expect(p.headerExtension?.profile).toBe(0xbede);
    expect([...p.headerExtension!.data]).toEqual([...ext]);
    expect(p.padding).toBe(true);
    expect(p.paddingLength).toBe(5);
    expect([...p.payload]).toEqual([9, 8, 7]);
  });

  it('rejects malformed packets with ERR_RTP_MALFORMED', () => {
    const good = serializeRtpPacket({ payloadType: 100, sequenceNumber: 1, timestamp: 1, ssrc: 1, payload: Uint8Array.from([1, 2, 3, 4]) });
    expectMalformed(good.subarray(0, 11)); // shorter than the header
    const v1 = Buffer.from(good);
    v1[0] = 0x40; // version 1
    expectMalformed(v1);
    const cc = Buffer.from(good);
    cc[0] = 0x80 | 3; // 3 CSRCs but only 4 bytes after the header
    expectMalformed(cc);
    const ext = Buffer.concat([good.subarray(0, 12), Buffer.from([0xbe, 0xde, 0, 9])]);
    ext[0] = 0x90; // extension of 9 words that is not there
    expectMalformed(ext);
    const pad0 = Buffer.from(good);
    pad0[0] = 0xa0;
    pad0[pad0.length - 1] = 0; // padding length 0
    expectMalformed(pad0);
    const padBig = Buffer.from(good);
    padBig[0] = 0xa0;
    padBig[padBig.length - 1] = 200; // more padding than payload
    expectMalformed(padBig);
  });

  it('fuzz: random bytes either parse or throw DfdError ERR_RTP_MALFORMED, never anything else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 80 }), fc.boolean(), (bytes, forceV2) => {
        const b = Uint8Array.from(bytes);
        if (forceV2 && b.length > 0) b[0] = (b[0]! & 0x3f) | 0x80;
        try {
          const p = parseRtpPacket(b);
          // Parsed views stay inside the input.
          expect(p.payload.byteOffset + p.payload.byteLength).toBeLessThanOrEqual(b.byteLength);
          expect(p.payload.byteOffset).toBeGreaterThanOrEqual(12);
        } catch (e) {
          expect(e).toBeInstanceOf(DfdError);
          expect((e as DfdError).code).toBe('ERR_RTP_MALFORMED');
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('property: serialise then parse round-trips every field', () => {
    fc.assert(
      fc.property(
        fc.record({
          payloadType: fc.integer({ min: 0, max: 127 }),
          sequenceNumber: fc.integer({ min: 0, max: 0xffff }),
          timestamp: fc.integer({ min: 0, max: 0xffffffff }),
          ssrc: fc.integer({ min: 0, max: 0xffffffff }),
          marker: fc.boolean(),
          payload: fc.uint8Array({ maxLength: 40 }),
          csrcs: fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 15 }),
          extWords: fc.option(fc.integer({ min: 0, max: 4 }), { nil: undefined }),
          padding: fc.integer({ min: 0, max: 255 }),
        }),
        (r) => {
          const headerExtension = r.extWords === undefined ? undefined : { profile: 0x1000, data: new Uint8Array(r.extWords * 4).fill(7) };
          const p = parseRtpPacket(serializeRtpPacket({ ...r, headerExtension }));
          expect(p.payloadType).toBe(r.payloadType);
          expect(p.sequenceNumber).toBe(r.sequenceNumber);
          expect(p.timestamp).toBe(r.timestamp);
          expect(p.ssrc).toBe(r.ssrc);
          expect(p.marker).toBe(r.marker);
          expect(p.csrcs).toEqual(r.csrcs);
          expect(p.headerExtension?.data.byteLength).toBe(headerExtension?.data.byteLength);
          expect(p.paddingLength).toBe(r.padding);
          expect([...p.payload]).toEqual([...r.payload]);
        },
      ),
      { numRuns: 500 },
    );
  });
});

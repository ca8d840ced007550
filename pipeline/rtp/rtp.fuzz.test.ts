/**
 * Fuzz: RTP and RTCP packets at the parser (parseRtpPacket). Every input either parses into a
 * packet whose parts are views that add up exactly to the input, or is refused with
 * ERR_RTP_MALFORMED; never anything else. Valid packets round-trip. RTCP (which the SFU may hand
 * over on a muxed port) never passes for media: it is malformed or carries payload type 72..79,
 * which no negotiated dynamic payload type (96..127) equals.
 * What the audio pipeline does with such packets: pipeline/audio/opus.fuzz.test.ts.
 * Corpus: test/fuzz/corpus/rtp.json (hex).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FuzzBoundary, fromHex, loadCorpus, outcome } from '../../test/helpers/fuzz.js';
import { parseRtpPacket, serializeRtpPacket, type RtpPacket, type RtpPacketInit } from './RtpPacket.js';

const fuzz = new FuzzBoundary('rtp');
const CODES = ['ERR_RTP_MALFORMED'] as const;

/** The parsed packet describes `buf` exactly: fields from its bytes, views inside it that add up to its length. */
function expectDescribes(buf: Uint8Array, p: RtpPacket): void {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  expect(p.version).toBe(2);
  expect(p.payloadType).toBe(buf[1]! & 0x7f);
  expect(p.marker).toBe((buf[1]! & 0x80) !== 0);
  expect(p.sequenceNumber).toBe(dv.getUint16(2));
  expect(p.timestamp).toBe(dv.getUint32(4));
  expect(p.ssrc).toBe(dv.getUint32(8));
  expect(p.csrcs.length).toBe(buf[0]! & 0x0f);
  const ext = p.headerExtension ? 4 + p.headerExtension.data.byteLength : 0;
  const header = 12 + 4 * p.csrcs.length + ext;
  expect(header + p.payload.byteLength + p.paddingLength).toBe(buf.byteLength);
  expect(p.payload.buffer).toBe(buf.buffer);
  expect(p.payload.byteOffset - buf.byteOffset).toBe(header);
  if (p.padding) expect(p.paddingLength).toBe(buf[buf.byteLength - 1]);
  else expect(p.paddingLength).toBe(0);
}

function parseOutcome(buf: Uint8Array): 'ok' | 'ERR_RTP_MALFORMED' {
  return outcome(() => expectDescribes(buf, parseRtpPacket(buf)), CODES) as 'ok' | 'ERR_RTP_MALFORMED';
}

const rtpInit: fc.Arbitrary<RtpPacketInit> = fc.record({
  payloadType: fc.integer({ min: 0, max: 127 }),
  sequenceNumber: fc.integer({ min: 0, max: 0xffff }),
  timestamp: fc.integer({ min: 0, max: 0xffffffff }),
  ssrc: fc.integer({ min: 0, max: 0xffffffff }),
  marker: fc.boolean(),
  payload: fc.uint8Array({ maxLength: 300 }),
  csrcs: fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 15 }),
  headerExtension: fc.option(
    fc.record({ profile: fc.integer({ min: 0, max: 0xffff }), data: fc.integer({ min: 0, max: 8 }).chain((w) => fc.uint8Array({ minLength: w * 4, maxLength: w * 4 })) }),
    { nil: undefined },
  ),
  padding: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 255 })),
});

/** Corruptions of a packet: bit flips, byte overwrites, truncation, bytes appended. */
const corruption = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), value: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat({ max: 15 }), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat(), value: fc.constant(0) }),
  fc.record({ kind: fc.constant('append' as const), at: fc.nat({ max: 8 }), value: fc.integer({ min: 0, max: 255 }) }),
);
function corrupt(buf: Uint8Array, c: { kind: 'flip' | 'set' | 'truncate' | 'append'; at: number; value: number }): Uint8Array {
  switch (c.kind) {
    case 'flip': {
      if (buf.length === 0) return buf;
      const out = Uint8Array.from(buf);
      out[c.at % out.length] = out[c.at % out.length]! ^ c.value;
      return out;
    }
    case 'set': {
      if (buf.length === 0) return buf;
      const out = Uint8Array.from(buf);
      out[c.at % out.length] = c.value;
      return out;
    }
    case 'truncate':
      return buf.subarray(0, c.at % (buf.length + 1));
    case 'append':
      return Uint8Array.from([...buf, ...new Array<number>(c.at + 1).fill(c.value)]);
  }
}

/** RTCP (RFC 3550 and feedback/XR types): header V=2, P, count, PT 200..207, length in words - 1. */
const rtcpPacket = fc
  .record({
    pt: fc.integer({ min: 200, max: 207 }),
    count: fc.integer({ min: 0, max: 31 }),
    padding: fc.boolean(),
    words: fc.integer({ min: 1, max: 24 }),
    lengthLies: fc.option(fc.integer({ min: 0, max: 0xffff }), { nil: undefined, freq: 5 }),
  })
  .chain((h) => fc.uint8Array({ minLength: h.words * 4, maxLength: h.words * 4 }).map((body) => ({ ...h, body })))
  .map(({ pt, count, padding, words, lengthLies, body }) => {
    const out = new Uint8Array(4 + body.length);
    out[0] = 0x80 | (padding ? 0x20 : 0) | count;
    out[1] = pt;
    const len = lengthLies ?? words;
    out[2] = len >> 8;
    out[3] = len & 0xff;
    out.set(body, 4);
    if (padding) out[out.length - 1] = 4;
    return out;
  });
const rtcpCompound = fc.array(rtcpPacket, { minLength: 1, maxLength: 3 }).map((ps) => Uint8Array.from(ps.flatMap((p) => [...p])));

describe('fuzz: RTP/RTCP packets (parseRtpPacket)', () => {
  it('replays the corpus with its recorded outcomes', () => {
    fuzz.replay(loadCorpus<string>('rtp'), (hex) => parseOutcome(fromHex(hex)));
  });

  it('random bytes (mostly version 2): a packet that describes them exactly, or ERR_RTP_MALFORMED', () => {
    fuzz.check(
      fc.property(fc.uint8Array({ maxLength: 1500 }), fc.boolean(), (bytes, v2) => {
        if (v2 && bytes.length > 0) bytes[0] = (bytes[0]! & 0x3f) | 0x80;
        parseOutcome(bytes);
      }),
      5,
    );
  });

  it('valid packets round-trip; corrupted ones parse exactly or are refused', () => {
    fuzz.check(
      fc.property(rtpInit, fc.array(corruption, { maxLength: 4 }), (init, corruptions) => {
        const wire = new Uint8Array(serializeRtpPacket(init));
        const p = parseRtpPacket(wire);
        expectDescribes(wire, p);
        expect(serializeRtpPacket({ ...p, padding: p.paddingLength, payload: p.payload, headerExtension: p.headerExtension })).toEqual(Buffer.from(wire));
        parseOutcome(corruptions.reduce(corrupt, wire));
      }),
      3,
    );
  });

  it('RTCP packets and compounds never pass as media of a dynamic payload type', () => {
    fuzz.check(
      fc.property(rtcpCompound, fc.integer({ min: 96, max: 127 }), (bytes, negotiatedPt) => {
        const r = parseOutcome(bytes);
        if (r === 'ok') {
          const p = parseRtpPacket(bytes);
          expect(p.payloadType).toBeGreaterThanOrEqual(72);
          expect(p.payloadType).toBeLessThanOrEqual(79);
          expect(p.payloadType).not.toBe(negotiatedPt);
        }
      }),
      3,
    );
  });
});

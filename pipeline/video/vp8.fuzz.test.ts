/**
 * Fuzz: VP8 RTP payloads. The payload descriptor parser (RFC 7741) never throws, stays inside its
 * input and reads back every descriptor written from random fields; the payload header parser
 * (RFC 6386 9.1) agrees with its input; and the depacketizer is not disturbed by what it refuses:
 * malformed packets with sequence numbers outside the stream, and stray packets of another
 * SSRC, leave the frames it delivers from a real libvpx stream byte for byte the same.
 * (Random bytes and corrupted real packets: Vp8Depacketizer.test.ts.)
 * Corpus: test/fuzz/corpus/vp8.json (hex descriptors; 'rejected' = parseVp8Descriptor returns null).
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { FuzzBoundary, fromHex, fuzzTimeout, loadCorpus, type Outcome } from '../../test/helpers/fuzz.js';
import { encodeVp8, packetizeVp8, type TestRtpPacket } from './testing/vp8Fixtures.js';
import { Vp8Depacketizer, type Vp8Frame } from './Vp8Depacketizer.js';
import { parseVp8Descriptor, parseVp8PayloadHeader, type Vp8Descriptor } from './Vp8Descriptor.js';

const fuzz = new FuzzBoundary('vp8');

interface DescriptorFields {
  nonReference: boolean;
  startOfPartition: boolean;
  partitionId: number;
  reserved: number;
  pictureId: { value: number; bits: 7 | 15 } | undefined;
  tl0PicIdx: number | undefined;
  temporal: { tid: number; y: boolean } | undefined;
  keyIdx: number | undefined;
}

/** RFC 7741 section 4.2, written independently of the parser. */
function writeDescriptor(f: DescriptorFields): Uint8Array {
  const ext = f.pictureId !== undefined || f.tl0PicIdx !== undefined || f.temporal !== undefined || f.keyIdx !== undefined;
  const out = [(ext ? 0x80 : 0) | (f.reserved & 0x48) | (f.nonReference ? 0x20 : 0) | (f.startOfPartition ? 0x10 : 0) | f.partitionId];
  if (!ext) return Uint8Array.from(out);
  out.push((f.pictureId ? 0x80 : 0) | (f.tl0PicIdx !== undefined ? 0x40 : 0) | (f.temporal ? 0x20 : 0) | (f.keyIdx !== undefined ? 0x10 : 0));
  if (f.pictureId?.bits === 7) out.push(f.pictureId.value);
  else if (f.pictureId) out.push(0x80 | (f.pictureId.value >> 8), f.pictureId.value & 0xff);
  if (f.tl0PicIdx !== undefined) out.push(f.tl0PicIdx);
  if (f.temporal || f.keyIdx !== undefined) out.push(((f.temporal?.tid ?? 0) << 6) | (f.temporal?.y ? 0x20 : 0) | (f.keyIdx ?? 0));
  return Uint8Array.from(out);
}

const descriptorFields: fc.Arbitrary<DescriptorFields> = fc.record({
  nonReference: fc.boolean(),
  startOfPartition: fc.boolean(),
  partitionId: fc.integer({ min: 0, max: 7 }),
  reserved: fc.integer({ min: 0, max: 255 }),
  pictureId: fc.option(
    fc.oneof(fc.record({ value: fc.integer({ min: 0, max: 0x7f }), bits: fc.constant(7 as const) }), fc.record({ value: fc.integer({ min: 0, max: 0x7fff }), bits: fc.constant(15 as const) })),
    { nil: undefined },
  ),
  tl0PicIdx: fc.option(fc.integer({ min: 0, max: 255 }), { nil: undefined }),
  temporal: fc.option(fc.record({ tid: fc.integer({ min: 0, max: 3 }), y: fc.boolean() }), { nil: undefined }),
  keyIdx: fc.option(fc.integer({ min: 0, max: 31 }), { nil: undefined }),
});

/** null, or a descriptor consistent with its bytes: inside the input, flags as in the first byte. */
function descriptorOutcome(b: Uint8Array): Outcome {
  const d = parseVp8Descriptor(b);
  if (!d) return 'rejected';
  expect(d.length).toBeGreaterThanOrEqual(1);
  expect(d.length).toBeLessThanOrEqual(b.length);
  expect(d.partitionId).toBe(b[0]! & 7);
  expect(d.startOfPartition).toBe((b[0]! & 0x10) !== 0);
  expect(d.nonReference).toBe((b[0]! & 0x20) !== 0);
  if ((b[0]! & 0x80) === 0) expect(d.length).toBe(1);
  return 'ok';
}

describe('fuzz: VP8 payloads', () => {
  it('replays the corpus with its recorded outcomes', () => {
    fuzz.replay(loadCorpus<string>('vp8'), (hex) => descriptorOutcome(fromHex(hex)));
  });

  it('descriptors written from random fields read back exactly, with any payload after them', () => {
    fuzz.check(
      fc.property(descriptorFields, fc.uint8Array({ maxLength: 20 }), (f, tail) => {
        const bytes = writeDescriptor(f);
        const d = parseVp8Descriptor(Uint8Array.from([...bytes, ...tail]));
        const want: Vp8Descriptor = {
          length: bytes.length,
          nonReference: f.nonReference,
          startOfPartition: f.startOfPartition,
          partitionId: f.partitionId,
          pictureId: f.pictureId?.value,
          pictureIdBits: f.pictureId?.bits,
          tl0PicIdx: f.tl0PicIdx,
          temporalId: f.temporal?.tid,
          layerSync: f.temporal?.y,
          keyIdx: f.keyIdx,
        };
        expect(d).toEqual(want);
        // Any truncation inside the descriptor's extension is refused, never over-read.
        for (let cut = bytes.length - 1; cut >= 1 && (bytes[0]! & 0x80) !== 0; cut--) expect(parseVp8Descriptor(bytes.subarray(0, cut))).toBeNull();
      }),
      3,
    );
  });

  it('random descriptors and payload headers: null, or fields that agree with the bytes', () => {
    fuzz.check(
      fc.property(fc.uint8Array({ maxLength: 16 }), (b) => {
        descriptorOutcome(b);
        const h = parseVp8PayloadHeader(b);
        if (h) {
          expect(h.keyframe).toBe((b[0]! & 1) === 0);
          expect(h.firstPartitionSize).toBe((b[0]! >> 5) | (b[1]! << 3) | (b[2]! << 11));
          if (h.keyframe) expect([b[3], b[4], b[5]]).toEqual([0x9d, 0x01, 0x2a]);
        }
      }),
      5,
    );
  });

  describe('Vp8Depacketizer', () => {
    let packets: TestRtpPacket[];
    let clean: Vp8Frame[];
    const run = (list: readonly { sequenceNumber: number; timestamp: number; marker: boolean; ssrc: number; payload: Uint8Array }[]) => {
      const d = new Vp8Depacketizer();
      const frames: Vp8Frame[] = [];
      d.on('frame', (f) => frames.push(f));
      list.forEach((p, i) => d.push(p, i * 2));
      return { frames, stats: d.stats() };
    };
    beforeAll(() => {
      const ivf = encodeVp8({ width: 160, height: 120, fps: 30, seconds: 1, gop: 10, bitrate: '200k' });
      packets = packetizeVp8(ivf, { maxPayload: 200, firstSequence: 65_500 });
      clean = run(packets).frames;
    });

    /** A packet the depacketizer must refuse: a descriptor cut short, or a keyframe header without its start code. */
    const refused = fc.oneof(
      fc.constantFrom(Uint8Array.of(0x80), Uint8Array.of(0x90, 0x80), Uint8Array.of(0x90, 0x80, 0x80), Uint8Array.of(0x90, 0x40)),
      fc.uint8Array({ minLength: 3, maxLength: 30 }).map((tail) => Uint8Array.from([0x10, 0x00, 0x00, 0x00, 0xde, 0xad, ...tail])),
    );

    it(
      'malformed packets outside the stream and stray packets of another SSRC leave every frame as it was',
      () => {
        fuzz.check(
          fc.property(
            fc.array(
              fc.record({
                at: fc.nat(),
                kind: fc.constantFrom('malformed' as const, 'foreign' as const),
                seqOffset: fc.integer({ min: 3_500, max: 62_000 }),
                timestamp: fc.integer({ min: 0, max: 0xffffffff }),
                marker: fc.boolean(),
                payload: refused,
                foreignPayload: fc.uint8Array({ maxLength: 60 }),
              }),
              { maxLength: 20 },
            ),
            (injections) => {
              const list: { sequenceNumber: number; timestamp: number; marker: boolean; ssrc: number; payload: Uint8Array }[] = [...packets];
              let foreignRun = 0;
              // After the stream's first packet, which names its SSRC.
              const pos = (at: number): number => 1 + (at % (packets.length - 1));
              for (const j of [...injections].sort((a, b) => pos(a.at) - pos(b.at)).reverse()) {
                const at = pos(j.at);
                const ref = packets[at]!;
                // At most 6 stray packets: fewer in a row than it takes to switch streams (8).
                if (j.kind === 'foreign' && ++foreignRun >= 7) continue;
                list.splice(at, 0, {
                  sequenceNumber: j.kind === 'malformed' ? (ref.sequenceNumber + j.seqOffset) & 0xffff : j.seqOffset & 0xffff,
                  timestamp: j.timestamp,
                  marker: j.marker,
                  ssrc: j.kind === 'malformed' ? ref.ssrc : ref.ssrc ^ 0x5a5a,
                  payload: j.kind === 'malformed' ? j.payload : j.foreignPayload,
                });
              }
              const r = run(list);
              expect(r.stats.resets).toBe(0);
              expect(r.stats.lost).toBe(0);
              expect(r.frames.length).toBe(clean.length);
              r.frames.forEach((f, i) => {
                const c = clean[i]!;
                expect(f.timestamp).toBe(c.timestamp);
                expect(Buffer.from(f.data).equals(Buffer.from(c.data))).toBe(true);
              });
            },
          ),
        );
      },
      fuzzTimeout(60_000),
    );
  });
});

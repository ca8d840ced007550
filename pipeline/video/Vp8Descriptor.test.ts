import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseVp8Descriptor, parseVp8PayloadHeader } from './Vp8Descriptor.js';

describe('parseVp8Descriptor', () => {
  it('parses the one-byte form', () => {
    const d = parseVp8Descriptor(Uint8Array.of(0x10, 0xaa));
    expect(d).toMatchObject({ length: 1, startOfPartition: true, partitionId: 0, nonReference: false, pictureId: undefined });
    const n = parseVp8Descriptor(Uint8Array.of(0x23, 0xaa));
    expect(n).toMatchObject({ length: 1, startOfPartition: false, partitionId: 3, nonReference: true });
  });

  it('parses a 7-bit picture id', () => {
    expect(parseVp8Descriptor(Uint8Array.of(0x90, 0x80, 0x45, 0xff))).toMatchObject({ length: 3, pictureId: 0x45, pictureIdBits: 7 });
  });

  it('parses a 15-bit picture id, TL0PICIDX, TID/Y and KEYIDX', () => {
    // X S | I L T K | M + pid hi | pid lo | TL0PICIDX | TID=2 Y=1 KEYIDX=5
    const d = parseVp8Descriptor(Uint8Array.of(0x90, 0xf0, 0x80 | 0x12, 0x34, 0x07, (2 << 6) | 0x20 | 5, 0x9d));
    expect(d).toMatchObject({ length: 6, pictureId: 0x1234, pictureIdBits: 15, tl0PicIdx: 7, temporalId: 2, layerSync: true, keyIdx: 5 });
  });

  it('parses K without T (KEYIDX only)', () => {
    const d = parseVp8Descriptor(Uint8Array.of(0x80, 0x10, 0x1f, 0x00));
    expect(d).toMatchObject({ length: 3, keyIdx: 31, temporalId: undefined });
  });

  it('rejects truncated extensions', () => {
    expect(parseVp8Descriptor(new Uint8Array(0))).toBeNull();
    expect(parseVp8Descriptor(Uint8Array.of(0x80))).toBeNull();
    expect(parseVp8Descriptor(Uint8Array.of(0x80, 0x80))).toBeNull();
    expect(parseVp8Descriptor(Uint8Array.of(0x80, 0x80, 0x80))).toBeNull();
    expect(parseVp8Descriptor(Uint8Array.of(0x80, 0x40))).toBeNull();
    expect(parseVp8Descriptor(Uint8Array.of(0x80, 0x20))).toBeNull();
  });

  it('never throws and stays within the input on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 12 }), (b) => {
        const d = parseVp8Descriptor(b);
        if (d !== null) {
          expect(d.length).toBeGreaterThanOrEqual(1);
          expect(d.length).toBeLessThanOrEqual(b.length);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('parseVp8PayloadHeader', () => {
  it('reads a keyframe header with size and scale', () => {
    // P=0 (key), version 0, show_frame=1, first partition size 0x123
    const size = 0x123;
    const b0 = 0x10 | ((size & 7) << 5);
    const h = parseVp8PayloadHeader(Uint8Array.of(b0, (size >> 3) & 0xff, size >> 11, 0x9d, 0x01, 0x2a, 0x80, 0x02 | 0x40, 0xe0, 0x01));
    expect(h).toEqual({ keyframe: true, version: 0, showFrame: true, firstPartitionSize: size, width: 640, height: 480, horizontalScale: 1, verticalScale: 0 });
  });

  it('reads an interframe header', () => {
    expect(parseVp8PayloadHeader(Uint8Array.of(0x01, 0, 0))).toMatchObject({ keyframe: false, showFrame: false, width: 0 });
  });

  it('rejects keyframes without the start code or with zero size, and short input', () => {
    expect(parseVp8PayloadHeader(Uint8Array.of(0x10, 0, 0, 0x9d, 0x01, 0x2b, 1, 0, 1, 0))).toBeNull();
    expect(parseVp8PayloadHeader(Uint8Array.of(0x10, 0, 0, 0x9d, 0x01, 0x2a, 0, 0, 1, 0))).toBeNull();
    expect(parseVp8PayloadHeader(Uint8Array.of(0x10, 0, 0, 0x9d))).toBeNull();
    expect(parseVp8PayloadHeader(Uint8Array.of(0x11))).toBeNull();
  });

  it('never throws on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 16 }), (b) => {
        const h = parseVp8PayloadHeader(b);
        if (h?.keyframe) expect(h.width * h.height).toBeGreaterThan(0);
      }),
      { numRuns: 2000 },
    );
  });
});

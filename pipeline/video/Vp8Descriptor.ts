/**
 * RFC 7741 VP8 RTP payload descriptor and the VP8 payload header (RFC 6386 section 9.1)
 * that starts every frame. Pure functions; malformed input returns null, never throws.
 *
 *        0 1 2 3 4 5 6 7
 *       +-+-+-+-+-+-+-+-+
 *       |X|R|N|S|R| PID | (REQUIRED)
 *       +-+-+-+-+-+-+-+-+
 *  X:   |I|L|T|K| RSV   | (OPTIONAL)
 *       +-+-+-+-+-+-+-+-+
 *  I:   |M| PictureID   | (OPTIONAL, 7 or 15 bits)
 *       +-+-+-+-+-+-+-+-+
 *  L:   |   TL0PICIDX   | (OPTIONAL)
 *       +-+-+-+-+-+-+-+-+
 *  T/K: |TID|Y| KEYIDX  | (OPTIONAL)
 *       +-+-+-+-+-+-+-+-+
 */

export interface Vp8Descriptor {
  /** Bytes taken by the descriptor; the VP8 data follows. */
  length: number;
  /** N: the frame can be discarded without affecting others. */
  nonReference: boolean;
  /** S: first packet of a VP8 partition. */
  startOfPartition: boolean;
  partitionId: number;
  /** 7- or 15-bit picture id, when present. */
  pictureId: number | undefined;
  pictureIdBits: 7 | 15 | undefined;
  tl0PicIdx: number | undefined;
  temporalId: number | undefined;
  layerSync: boolean | undefined;
  keyIdx: number | undefined;
}

export function parseVp8Descriptor(p: Uint8Array): Vp8Descriptor | null {
  if (p.length < 1) return null;
  const b0 = p[0]!;
  const d: Vp8Descriptor = {
    length: 1,
    nonReference: (b0 & 0x20) !== 0,
    startOfPartition: (b0 & 0x10) !== 0,
    partitionId: b0 & 0x07,
    pictureId: undefined,
    pictureIdBits: undefined,
    tl0PicIdx: undefined,
    temporalId: undefined,
    layerSync: undefined,
    keyIdx: undefined,
  };
  if (d.partitionId > 7) return null;
  if ((b0 & 0x80) === 0) return d;
  if (p.length < 2) return null;
  const x = p[1]!;
  let o = 2;
  if (x & 0x80) {
    if (o >= p.length) return null;
    const m = p[o]!;
    if (m & 0x80) {
      if (o + 1 >= p.length) return null;
      d.pictureId = ((m & 0x7f) << 8) | p[o + 1]!;
      d.pictureIdBits = 15;
      o += 2;
    } else {
      d.pictureId = m & 0x7f;
      d.pictureIdBits = 7;
      o += 1;
    }
  }
  if (x & 0x40) {
    if (o >= p.length) return null;
    d.tl0PicIdx = p[o]!;
    o += 1;
  }
  if (x & 0x30) {
    if (o >= p.length) return null;
    const t = p[o]!;
    if (x & 0x20) {
      d.temporalId = t >> 6;
      d.layerSync = (t & 0x20) !== 0;
    }
    if (x & 0x10) d.keyIdx = t & 0x1f;
    o += 1;
  }
  d.length = o;
  return d;
}

export interface Vp8PayloadHeader {
  keyframe: boolean;
  version: number;
  showFrame: boolean;
  firstPartitionSize: number;
  /** Keyframes only; 0 for interframes. */
  width: number;
  height: number;
  horizontalScale: number;
  verticalScale: number;
}

/** Parses the first bytes of a VP8 frame (the data after the descriptor of the S=1, PID=0 packet). */
export function parseVp8PayloadHeader(f: Uint8Array): Vp8PayloadHeader | null {
  if (f.length < 3) return null;
  const b0 = f[0]!;
  const keyframe = (b0 & 0x01) === 0;
  const version = (b0 >> 1) & 0x07;
  if (version > 3) return null;
  const h: Vp8PayloadHeader = {
    keyframe,
    version,
    showFrame: (b0 & 0x10) !== 0,
    firstPartitionSize: (b0 >> 5) | (f[1]! << 3) | (f[2]! << 11),
    width: 0,
    height: 0,
    horizontalScale: 0,
    verticalScale: 0,
  };
  if (!keyframe) return h;
  if (f.length < 10) return null;
  if (f[3] !== 0x9d || f[4] !== 0x01 || f[5] !== 0x2a) return null;
  const w = f[6]! | (f[7]! << 8);
  const hh = f[8]! | (f[9]! << 8);
  h.width = w & 0x3fff;
  h.horizontalScale = w >> 14;
  h.height = hh & 0x3fff;
  h.verticalScale = hh >> 14;
  if (h.width === 0 || h.height === 0) return null;
  return h;
}

/**
 * IVF container framing (the format libvpx's tools and ffmpeg's `ivf` demuxer read), used to
 * stream depacketized VP8 frames into ffmpeg's stdin.
 *
 *   file header, 32 bytes, little endian:
 *     'DKIF' | u16 version=0 | u16 header size=32 | 'VP80' | u16 width | u16 height |
 *     u32 timebase denominator | u32 timebase numerator | u32 frame count | u32 unused
 *   frame header, 12 bytes: u32 frame size | u64 pts (in timebase units)
 *
 * For a live stream the frame count is unknown and written as 0; ffmpeg ignores it for
 * demuxing. Width and height are hints: the decoder takes the real size from each keyframe.
 */

export const IVF_HEADER_BYTES = 32;
export const IVF_FRAME_HEADER_BYTES = 12;

export interface IvfHeader {
  fourcc: string;
  width: number;
  height: number;
  timebaseDen: number;
  timebaseNum: number;
  frameCount: number;
}

export function ivfFileHeader(h: Omit<IvfHeader, 'frameCount' | 'fourcc'> & { frameCount?: number; fourcc?: string }): Uint8Array {
  const b = new Uint8Array(IVF_HEADER_BYTES);
  const v = new DataView(b.buffer);
  b.set([0x44, 0x4b, 0x49, 0x46], 0); // DKIF
  v.setUint16(4, 0, true);
  v.setUint16(6, IVF_HEADER_BYTES, true);
  const fourcc = h.fourcc ?? 'VP80';
  for (let i = 0; i < 4; i++) b[8 + i] = fourcc.charCodeAt(i) & 0xff;
  v.setUint16(12, h.width & 0xffff, true);
  v.setUint16(14, h.height & 0xffff, true);
  v.setUint32(16, h.timebaseDen >>> 0, true);
  v.setUint32(20, h.timebaseNum >>> 0, true);
  v.setUint32(24, (h.frameCount ?? 0) >>> 0, true);
  return b;
}

/** One IVF frame: 12-byte header followed by the frame data, in a single buffer. */
export function ivfFrame(data: Uint8Array, pts: number): Uint8Array {
  const b = new Uint8Array(IVF_FRAME_HEADER_BYTES + data.length);
  const v = new DataView(b.buffer);
  v.setUint32(0, data.length, true);
  v.setBigUint64(4, BigInt(Math.max(0, Math.trunc(pts))), true);
  b.set(data, IVF_FRAME_HEADER_BYTES);
  return b;
}

export interface IvfFile {
  header: IvfHeader;
  frames: { pts: number; data: Uint8Array }[];
}

/** Parses a whole IVF file (used by tests and tools). Returns null when it is not IVF. */
export function parseIvf(buf: Uint8Array): IvfFile | null {
  if (buf.length < IVF_HEADER_BYTES) return null;
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf[0] !== 0x44 || buf[1] !== 0x4b || buf[2] !== 0x49 || buf[3] !== 0x46) return null;
  const headerLen = v.getUint16(6, true);
  if (headerLen < IVF_HEADER_BYTES || headerLen > buf.length) return null;
  const header: IvfHeader = {
    fourcc: String.fromCharCode(buf[8]!, buf[9]!, buf[10]!, buf[11]!),
    width: v.getUint16(12, true),
    height: v.getUint16(14, true),
    timebaseDen: v.getUint32(16, true),
    timebaseNum: v.getUint32(20, true),
    frameCount: v.getUint32(24, true),
  };
  const frames: IvfFile['frames'] = [];
  let o = headerLen;
  while (o + IVF_FRAME_HEADER_BYTES <= buf.length) {
    const size = v.getUint32(o, true);
    const pts = Number(v.getBigUint64(o + 4, true));
    o += IVF_FRAME_HEADER_BYTES;
    if (o + size > buf.length) break;
    frames.push({ pts, data: buf.slice(o, o + size) });
    o += size;
  }
  return { header, frames };
}

/** Stateful writer: emits the file header once, then frames. */
export class IvfWriter {
  #headerWritten = false;
  readonly #header: Omit<IvfHeader, 'frameCount' | 'fourcc'>;

  constructor(header: Omit<IvfHeader, 'frameCount' | 'fourcc'>) {
    this.#header = header;
  }

  /** Bytes to write for this frame (prefixed by the file header on the first call). */
  frame(data: Uint8Array, pts: number): Uint8Array {
    const f = ivfFrame(data, pts);
    if (this.#headerWritten) return f;
    this.#headerWritten = true;
    const h = ivfFileHeader(this.#header);
    const out = new Uint8Array(h.length + f.length);
    out.set(h, 0);
    out.set(f, h.length);
    return out;
  }
}

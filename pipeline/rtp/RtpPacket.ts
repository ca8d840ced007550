/**
 * RFC 3550 RTP packet parsing without copying: the payload, CSRC list and header
 * extension are views into the caller's buffer, valid as long as that buffer is.
 */
import { DfdError } from '../../kernel/errors.js';

export const RTP_HEADER_SIZE = 12;

export interface RtpHeaderExtension {
  /** "Defined by profile" field, e.g. 0xBEDE for RFC 8285 one-byte extensions. */
  profile: number;
  /** Extension data (length * 4 bytes), a view into the packet. */
  data: Uint8Array;
}

export interface RtpPacket {
  version: 2;
  padding: boolean;
  marker: boolean;
  payloadType: number;
  /** 16-bit sequence number as sent. */
  sequenceNumber: number;
  /** 32-bit RTP timestamp as sent. */
  timestamp: number;
  ssrc: number;
  /** Contributing sources, 0..15 entries. */
  csrcs: number[];
  headerExtension: RtpHeaderExtension | undefined;
  /** Payload without header and padding, a view into the packet. */
  payload: Uint8Array;
  /** Number of padding bytes removed from the end (0 when no padding). */
  paddingLength: number;
}

function malformed(detail: string, details?: Record<string, unknown>): DfdError {
  return new DfdError('ERR_RTP_MALFORMED', detail, details);
}

/**
 * Parses one RTP packet. Throws DfdError('ERR_RTP_MALFORMED') for anything that is not a
 * well-formed version 2 packet; never anything else.
 */
export function parseRtpPacket(buf: Uint8Array): RtpPacket {
  const len = buf.byteLength;
  if (len < RTP_HEADER_SIZE) throw malformed('packet shorter than the fixed header', { length: len });
  const b0 = buf[0]!;
  const b1 = buf[1]!;
  const version = b0 >>> 6;
  if (version !== 2) throw malformed('version is not 2', { version });
  const padding = (b0 & 0x20) !== 0;
  const extension = (b0 & 0x10) !== 0;
  const csrcCount = b0 & 0x0f;
  const marker = (b1 & 0x80) !== 0;
  const payloadType = b1 & 0x7f;
  const sequenceNumber = (buf[2]! << 8) | buf[3]!;
  const timestamp = ((buf[4]! << 24) | (buf[5]! << 16) | (buf[6]! << 8) | buf[7]!) >>> 0;
  const ssrc = ((buf[8]! << 24) | (buf[9]! << 16) | (buf[10]! << 8) | buf[11]!) >>> 0;

  let offset = RTP_HEADER_SIZE;
  const csrcs: number[] = [];
  if (offset + csrcCount * 4 > len) throw malformed('CSRC list overruns the packet', { csrcCount, length: len });
  for (let i = 0; i < csrcCount; i++) {
    csrcs.push(((buf[offset]! << 24) | (buf[offset + 1]! << 16) | (buf[offset + 2]! << 8) | buf[offset + 3]!) >>> 0);
    offset += 4;
  }

  let headerExtension: RtpHeaderExtension | undefined;
  if (extension) {
    if (offset + 4 > len) throw malformed('header extension overruns the packet', { length: len });
    const profile = (buf[offset]! << 8) | buf[offset + 1]!;
    const words = (buf[offset + 2]! << 8) | buf[offset + 3]!;
    offset += 4;
    if (offset + words * 4 > len) throw malformed('header extension overruns the packet', { words, length: len });
    headerExtension = { profile, data: buf.subarray(offset, offset + words * 4) };
    offset += words * 4;
  }

  let end = len;
  let paddingLength = 0;
  if (padding) {
    paddingLength = buf[len - 1]!;
    if (paddingLength === 0) throw malformed('padding flag set with zero padding length');
    if (offset + paddingLength > len) throw malformed('padding overruns the payload', { paddingLength, length: len });
    end = len - paddingLength;
  }

  return {
    version: 2,
    padding,
    marker,
    payloadType,
    sequenceNumber,
    timestamp,
    ssrc,
    csrcs,
    headerExtension,
    payload: buf.subarray(offset, end),
    paddingLength,
  };
}

export interface RtpPacketInit {
  payloadType: number;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  payload: Uint8Array;
  marker?: boolean;
  csrcs?: readonly number[];
  headerExtension?: { profile: number; data: Uint8Array };
  /** Padding bytes to append (0..255). */
  padding?: number;
}

/** Serialises an RTP packet (for tests, fixtures and loopback tools). */
export function serializeRtpPacket(p: RtpPacketInit): Buffer {
  const csrcs = p.csrcs ?? [];
  if (csrcs.length > 15) throw new DfdError('ERR_BAD_REQUEST', 'at most 15 CSRCs');
  const ext = p.headerExtension;
  if (ext && ext.data.byteLength % 4 !== 0) throw new DfdError('ERR_BAD_REQUEST', 'extension data must be a multiple of 4 bytes');
  const pad = p.padding ?? 0;
  if (pad < 0 || pad > 255) throw new DfdError('ERR_BAD_REQUEST', 'padding must be 0..255');
  const size = RTP_HEADER_SIZE + csrcs.length * 4 + (ext ? 4 + ext.data.byteLength : 0) + p.payload.byteLength + pad;
  const out = Buffer.alloc(size);
  out[0] = 0x80 | (pad > 0 ? 0x20 : 0) | (ext ? 0x10 : 0) | csrcs.length;
  out[1] = (p.marker ? 0x80 : 0) | (p.payloadType & 0x7f);
  out.writeUInt16BE(p.sequenceNumber & 0xffff, 2);
  out.writeUInt32BE(p.timestamp >>> 0, 4);
  out.writeUInt32BE(p.ssrc >>> 0, 8);
  let o = RTP_HEADER_SIZE;
  for (const c of csrcs) {
    out.writeUInt32BE(c >>> 0, o);
    o += 4;
  }
  if (ext) {
    out.writeUInt16BE(ext.profile & 0xffff, o);
    out.writeUInt16BE(ext.data.byteLength / 4, o + 2);
    out.set(ext.data, o + 4);
    o += 4 + ext.data.byteLength;
  }
  out.set(p.payload, o);
  o += p.payload.byteLength;
  if (pad > 0) out[size - 1] = pad;
  return out;
}

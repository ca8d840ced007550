/**
 * 48 kHz mono PCM -> 20 ms Opus frames -> RTP packets, with sequence number and timestamp
 * continuity across prompts. mediasoup's router codec is `audio/opus` 48000/2, so frames
 * are encoded as stereo with the mono signal on both channels.
 */
import { randomInt } from 'node:crypto';
import opus from '@discordjs/opus';
import { DfdError } from '../../kernel/errors.js';

export interface OpusRtpPacketizerOptions {
  payloadType: number;
  ssrc: number;
  /** Encoder channels: 2 matches mediasoup's opus/48000/2. */
  channels: 1 | 2;
  /** Opus target bitrate, bit/s. */
  bitrate: number;
  /** First sequence number and timestamp; random by default (RFC 3550). */
  initialSeq?: number;
  initialTimestamp?: number;
}

export const defaultOpusRtpPacketizerOptions: Omit<OpusRtpPacketizerOptions, 'payloadType' | 'ssrc'> = {
  channels: 2,
  bitrate: 32000,
};

export const OPUS_RATE = 48000;
/** Samples per channel in one 20 ms frame. */
export const FRAME_SAMPLES = 960;

export interface RtpHeader {
  payloadType: number;
  marker: boolean;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  payload: Buffer;
}

/** Parses the fixed RTP header (plus CSRCs and header extension). */
export function readRtpHeader(buf: Buffer): RtpHeader {
  if (buf.length < 12 || buf[0] === undefined || (buf[0] >> 6) !== 2) throw new DfdError('ERR_RTP_MALFORMED', 'not an RTPv2 packet');
  const b0 = buf[0];
  const cc = b0 & 0x0f;
  let off = 12 + 4 * cc;
  if (b0 & 0x10) {
    if (buf.length < off + 4) throw new DfdError('ERR_RTP_MALFORMED', 'truncated header extension');
    off += 4 + 4 * buf.readUInt16BE(off + 2);
  }
  let end = buf.length;
  if (b0 & 0x20) end -= buf[buf.length - 1] ?? 0;
  if (off > end) throw new DfdError('ERR_RTP_MALFORMED', 'header longer than packet');
  const b1 = buf[1] ?? 0;
  return {
    payloadType: b1 & 0x7f,
    marker: (b1 & 0x80) !== 0,
    sequenceNumber: buf.readUInt16BE(2),
    timestamp: buf.readUInt32BE(4),
    ssrc: buf.readUInt32BE(8),
    payload: buf.subarray(off, end),
  };
}

export class OpusRtpPacketizer {
  readonly options: OpusRtpPacketizerOptions;
  private readonly encoder: opus.OpusEncoder;
  private seq: number;
  private ts: number;
  private readonly pcm: Buffer;
  /** True until the first packet of a talk spurt has been written (sets the marker bit). */
  private spurtStart = true;

  constructor(options: Pick<OpusRtpPacketizerOptions, 'payloadType' | 'ssrc'> & Partial<OpusRtpPacketizerOptions>) {
    this.options = { ...defaultOpusRtpPacketizerOptions, ...options };
    const o = this.options;
    if (!Number.isInteger(o.payloadType) || o.payloadType < 0 || o.payloadType > 127) throw new DfdError('ERR_CONFIG', 'payload type must be 0..127');
    if (!Number.isInteger(o.ssrc) || o.ssrc < 0 || o.ssrc > 0xffffffff) throw new DfdError('ERR_CONFIG', 'ssrc must be a 32-bit unsigned integer');
    this.encoder = new opus.OpusEncoder(OPUS_RATE, o.channels);
    this.encoder.setBitrate(o.bitrate);
    this.seq = o.initialSeq ?? randomInt(0x10000);
    this.ts = o.initialTimestamp ?? randomInt(0x100000000);
    this.pcm = Buffer.alloc(FRAME_SAMPLES * o.channels * 2);
  }

  get nextSequenceNumber(): number {
    return this.seq;
  }

  get nextTimestamp(): number {
    return this.ts;
  }

  /** Advances the RTP clock over a pause (no packets) so the receiver's jitter buffer sees real time. */
  skip(samples: number): void {
    this.ts = (this.ts + Math.max(0, Math.round(samples))) >>> 0;
    this.spurtStart = true;
  }

  /** One RTP packet for the 20 ms frame at `offset` of 48 kHz mono `pcm` (zero-padded). */
  packetizeFrame(pcm: Int16Array, offset: number): Buffer {
    const ch = this.options.channels;
    for (let i = 0; i < FRAME_SAMPLES; i++) {
      const v = offset + i < pcm.length ? (pcm[offset + i] ?? 0) : 0;
      for (let c = 0; c < ch; c++) this.pcm.writeInt16LE(v, 2 * (i * ch + c));
    }
    const payload = this.encoder.encode(this.pcm);
    const header = Buffer.alloc(12);
    header[0] = 0x80;
    header[1] = (this.spurtStart ? 0x80 : 0) | this.options.payloadType;
    header.writeUInt16BE(this.seq, 2);
    header.writeUInt32BE(this.ts, 4);
    header.writeUInt32BE(this.options.ssrc, 8);
    this.spurtStart = false;
    this.seq = (this.seq + 1) & 0xffff;
    this.ts = (this.ts + FRAME_SAMPLES) >>> 0;
    return Buffer.concat([header, payload]);
  }

  /** Number of 20 ms frames `samples` of 48 kHz PCM make. */
  static frameCount(samples: number): number {
    return Math.ceil(samples / FRAME_SAMPLES);
  }

  /** All packets for a whole clip (for tests and offline use; the injector paces frames itself). */
  packetize(pcm: Int16Array): Buffer[] {
    const out: Buffer[] = [];
    for (let off = 0; off < pcm.length; off += FRAME_SAMPLES) out.push(this.packetizeFrame(pcm, off));
    return out;
  }
}

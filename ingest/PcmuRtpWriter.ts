/**
 * Turns the media chunks of a phone leg (mu-law bytes with the platform's chunk counter and
 * millisecond timestamp) into RTP packets for the leg's PCMU producer, so the pipeline's
 * reorder buffer, loss accounting and decoder see a normal 8 kHz RTP stream:
 *
 *   sequence number  = base + chunk (a missing chunk is a sequence gap: counted as loss)
 *   RTP timestamp    = samples so far (1 byte = 1 sample at 8 kHz), moved forward to the
 *                      platform's timestamp when that is ahead by `jumpMs` or more (a gap in
 *                      the audio); small jitter of the platform timestamp is ignored.
 */
import { PCMU_RATE } from '../pipeline/audio/PcmuDecoder.js';
import { serializeRtpPacket } from '../pipeline/rtp/RtpPacket.js';

export interface PcmuRtpWriterOptions {
  ssrc: number;
  payloadType: number;
  /** The platform timestamp must run this far ahead of the samples received to count as a gap, ms. */
  jumpMs: number;
  /** Random bases, as RFC 3550 asks (fixed in tests). */
  seqBase: number;
  timestampBase: number;
}

export class PcmuRtpWriter {
  readonly options: PcmuRtpWriterOptions;
  #firstChunk: number | undefined;
  #firstTimestampMs = 0;
  /** Samples since the first chunk where the next chunk starts (RTP time, unwrapped). */
  #next = 0;

  constructor(options: PcmuRtpWriterOptions) {
    this.options = options;
  }

  /** One RTP packet (12-byte header, no CSRC, no extension, marker on the first) carrying `payload`. */
  packet(payload: Uint8Array, chunk: number, timestampMs: number): Buffer {
    const o = this.options;
    const first = this.#firstChunk === undefined;
    if (first) {
      this.#firstChunk = chunk;
      this.#firstTimestampMs = timestampMs;
    }
    const fromClock = Math.round((timestampMs - this.#firstTimestampMs) * (PCMU_RATE / 1000));
    let at = this.#next;
    if (fromClock - at >= o.jumpMs * (PCMU_RATE / 1000)) at = fromClock;
    this.#next = at + payload.length;
    const seq = (o.seqBase + (chunk - this.#firstChunk!)) & 0xffff;
    const ts = (o.timestampBase + at) >>> 0;
    return serializeRtpPacket({ payloadType: o.payloadType, sequenceNumber: seq, timestamp: ts, ssrc: o.ssrc, payload, marker: first });
  }
}

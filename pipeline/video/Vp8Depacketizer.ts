/**
 * VP8 depacketizer (RFC 7741): turns the RTP packets of one VP8 stream into complete,
 * decodable VP8 frames.
 *
 * Assembly: packets are held in a small buffer keyed by extended (unwrapped) sequence number.
 * A frame is emitted only when every packet from its first one (S=1, PID=0) to its last one
 * (marker bit, or the packet before a timestamp change) is present with contiguous sequence
 * numbers and the same RTP timestamp, and when the frame starts exactly where the previous
 * consumed packet ended. Packets may arrive out of order inside that window.
 *
 * Loss: a missing sequence number is declared lost once `reorderWindowPackets` later packets
 * are buffered behind it or it has been missing for `maxReorderDelayMs` of arrival time.
 * The broken frame is dropped, and so is every following delta frame until the next keyframe
 * (a decoder fed a broken reference chain produces garbage); `keyframe-needed` is emitted,
 * rate limited. Padding-only packets (empty payload) keep the sequence continuous.
 *
 * Malformed input (bad descriptor, truncated payload header, keyframe without start code) is
 * counted and never thrown; the packet is treated as lost.
 *
 * Memory: at most `maxPendingPackets` packets are buffered and a frame is at most
 * `maxFrameBytes`; packet payloads are copied so callers may reuse their buffers.
 */
import { KeyframeRequestLimiter } from './KeyframeRequestLimiter.js';
import { TypedEmitter } from '../../kernel/TypedEmitter.js';
import { parseVp8Descriptor, parseVp8PayloadHeader } from './Vp8Descriptor.js';

export interface Vp8DepacketizerOptions {
  /** Largest frame accepted, bytes. Larger frames are dropped (and the chain gated). */
  maxFrameBytes: number;
  /** Packets buffered while waiting for missing ones; beyond this the gap is declared lost. */
  maxPendingPackets: number;
  /** A gap is declared lost when this many packets are buffered beyond it. */
  reorderWindowPackets: number;
  /** A gap is declared lost after this much arrival time. */
  maxReorderDelayMs: number;
  /** Minimum interval between two `keyframe-needed` events. */
  keyframeRequestIntervalMs: number;
  /**
   * Packets from another SSRC are ignored (counted) unless this many arrive in a row, which
   * is taken as a new stream: a stray packet cannot break the current one.
   */
  ssrcSwitchPackets: number;
  /** A sequence jump larger than this resets the stream (sender restart). */
  maxSequenceJump: number;
}

export const defaultVp8DepacketizerOptions: Vp8DepacketizerOptions = {
  maxFrameBytes: 1_000_000,
  maxPendingPackets: 512,
  reorderWindowPackets: 24,
  maxReorderDelayMs: 100,
  keyframeRequestIntervalMs: 1000,
  maxSequenceJump: 3000,
  ssrcSwitchPackets: 8,
};

/** The fields of an RTP packet the depacketizer needs (a `RtpPacket` from ../rtp/RtpPacket.ts fits). */
export interface Vp8RtpInput {
  sequenceNumber: number;
  timestamp: number;
  marker: boolean;
  ssrc: number;
  payload: Uint8Array;
}

export interface Vp8Frame {
  /** Unwrapped RTP timestamp (90 kHz), monotonic for the stream. */
  timestamp: number;
  keyframe: boolean;
  showFrame: boolean;
  /** From the keyframe header; 0 for delta frames. */
  width: number;
  height: number;
  /** The VP8 bitstream of the whole frame (all partitions). */
  data: Uint8Array;
  packets: number;
  /** Extended sequence numbers of the first and last packet. */
  firstSeq: number;
  lastSeq: number;
  pictureId: number | undefined;
  /** Arrival time (caller clock, ms) of the packet that completed the frame. */
  arrivalMs: number;
}

export type KeyframeReason = 'start' | 'loss' | 'awaiting-keyframe' | 'decoder-restart' | 'decoder-overload' | 'reset';

export interface Vp8DepacketizerEvents {
  frame: [Vp8Frame];
  'keyframe-needed': [{ reason: KeyframeReason }];
}

export interface Vp8DepacketizerStats {
  packets: number;
  padding: number;
  malformed: number;
  late: number;
  duplicates: number;
  /** Sequence numbers that never arrived. */
  lost: number;
  /** Frames fully assembled (including those later dropped while waiting for a keyframe). */
  framesAssembled: number;
  /** Frames not delivered: broken by loss, oversize, or delta frames waiting for a keyframe. */
  framesDropped: number;
  keyframes: number;
  keyframeRequests: number;
  resets: number;
  /** Packets ignored because they came from another SSRC. */
  foreignSsrc: number;
  pendingPackets: number;
  awaitingKeyframe: boolean;
}

interface Pkt {
  ts: number;
  marker: boolean;
  /** S=1 and PID=0: first packet of a frame. */
  frameStart: boolean;
  padding: boolean;
  data: Uint8Array;
  keyframe: boolean;
  showFrame: boolean;
  width: number;
  height: number;
  pictureId: number | undefined;
  arrivalMs: number;
}

export class Vp8Depacketizer extends TypedEmitter<Vp8DepacketizerEvents> {
  readonly #o: Vp8DepacketizerOptions;
  readonly #buf = new Map<number, Pkt>();
  readonly #limiter: KeyframeRequestLimiter;
  #ssrc: number | null = null;
  #candidateSsrc: number | null = null;
  #candidateCount = 0;
  /** Highest extended sequence number seen (for unwrapping). */
  #highest: number | null = null;
  /** Next extended sequence number to consume. */
  #expected: number | null = null;
  /** True when `#expected` is only a lower bound and the next frame start must be searched. */
  #seeking = true;
  #seekCountsLoss = false;
  #gapSeq: number | null = null;
  #gapSinceMs = 0;
  #awaitingKeyframe = true;
  #lastRawTs: number | null = null;
  #extTs = 0;
  readonly #s = {
    packets: 0,
    padding: 0,
    malformed: 0,
    late: 0,
    duplicates: 0,
    lost: 0,
    framesAssembled: 0,
    framesDropped: 0,
    keyframes: 0,
    keyframeRequests: 0,
    resets: 0,
    foreignSsrc: 0,
  };

  constructor(options: Partial<Vp8DepacketizerOptions> = {}) {
    super();
    this.#o = { ...defaultVp8DepacketizerOptions, ...options };
    this.#limiter = new KeyframeRequestLimiter(this.#o.keyframeRequestIntervalMs);
  }

  get awaitingKeyframe(): boolean {
    return this.#awaitingKeyframe;
  }

  stats(): Vp8DepacketizerStats {
    return { ...this.#s, pendingPackets: this.#buf.size, awaitingKeyframe: this.#awaitingKeyframe };
  }

  /** Feeds one RTP packet. Never throws. */
  push(p: Vp8RtpInput, arrivalMs: number): void {
    this.#s.packets++;
    if (this.#ssrc !== null && p.ssrc !== this.#ssrc) {
      if (p.ssrc !== this.#candidateSsrc) {
        this.#candidateSsrc = p.ssrc;
        this.#candidateCount = 0;
      }
      if (++this.#candidateCount < this.#o.ssrcSwitchPackets) {
        this.#s.foreignSsrc++;
        return;
      }
      this.#reset();
    }
    this.#candidateSsrc = null;
    this.#ssrc = p.ssrc;
    // Extended sequence number; `#highest` only moves for accepted packets (#insert), so a
    // malformed packet with a wild sequence number cannot fake a loss.
    const ext = this.#unwrapSeq(p.sequenceNumber);

    const pkt = this.#classify(p, arrivalMs);
    if (pkt === null) {
      this.#s.malformed++;
    } else if (this.#expected !== null && Math.abs(ext - this.#expected) > this.#o.maxSequenceJump) {
      // Sender restarted or jumped: start over from this packet.
      this.#reset();
      this.#insert(ext, pkt);
    } else if (this.#expected !== null && ext < this.#expected && this.#seeking && !this.#seekCountsLoss && this.#s.framesAssembled === 0) {
      // Start of the stream, packets reordered: the first one seen was not the earliest.
      this.#expected = ext;
      this.#insert(ext, pkt);
    } else if (this.#expected !== null && ext < this.#expected) {
      this.#s.late++;
    } else if (this.#buf.has(ext)) {
      this.#s.duplicates++;
    } else {
      this.#insert(ext, pkt);
    }

    this.#drain();
    this.#checkGap(arrivalMs);
    if (this.#awaitingKeyframe) this.#requestKeyframe(this.#s.framesAssembled === 0 ? 'start' : 'awaiting-keyframe', arrivalMs);
  }

  #insert(ext: number, pkt: Pkt): void {
    if (this.#highest === null || ext > this.#highest) this.#highest = ext;
    if (this.#expected === null) {
      this.#expected = ext;
      this.#seeking = true;
      this.#seekCountsLoss = false;
    }
    this.#buf.set(ext, pkt);
  }

  #unwrapSeq(seq: number): number {
    if (this.#highest === null) return seq;
    const delta = ((seq - (this.#highest & 0xffff) + 0x8000) & 0xffff) - 0x8000;
    return this.#highest + delta;
  }

  #classify(p: Vp8RtpInput, arrivalMs: number): Pkt | null {
    const base = { ts: p.timestamp >>> 0, marker: p.marker, arrivalMs, keyframe: false, showFrame: false, width: 0, height: 0 };
    if (p.payload.length === 0) {
      return { ...base, frameStart: false, padding: true, data: new Uint8Array(0), pictureId: undefined };
    }
    const d = parseVp8Descriptor(p.payload);
    if (d === null || d.length >= p.payload.length) return null;
    const data = p.payload.slice(d.length);
    const frameStart = d.startOfPartition && d.partitionId === 0;
    const pkt: Pkt = { ...base, frameStart, padding: false, data, pictureId: d.pictureId };
    if (frameStart) {
      const h = parseVp8PayloadHeader(data);
      if (h === null) return null;
      pkt.keyframe = h.keyframe;
      pkt.showFrame = h.showFrame;
      pkt.width = h.width;
      pkt.height = h.height;
    }
    return pkt;
  }

  #drain(): void {
    for (;;) {
      const exp = this.#expected;
      if (exp === null) return;
      if (this.#seeking && !this.#seek()) return;
      const first = this.#buf.get(exp);
      if (first === undefined) return;
      if (first.padding) {
        this.#buf.delete(exp);
        this.#s.padding++;
        this.#expected = exp + 1;
        continue;
      }
      if (!first.frameStart) {
        // A continuation packet without its start: the frame cannot be decoded.
        this.#breakChain();
        continue;
      }
      // Walk the frame.
      let end = exp;
      let bytes = 0;
      let complete = false;
      let broken = false;
      for (let e = exp; ; e++) {
        const q = this.#buf.get(e);
        if (q === undefined) break;
        if (e > exp && (q.ts !== first.ts || q.frameStart || q.padding)) {
          // Previous packet ended the frame although its marker bit was not set.
          if (q.ts !== first.ts) {
            end = e - 1;
            complete = true;
          } else broken = true;
          break;
        }
        bytes += q.data.length;
        if (bytes > this.#o.maxFrameBytes) {
          broken = true;
          break;
        }
        end = e;
        if (q.marker) {
          complete = true;
          break;
        }
      }
      if (broken) {
        this.#breakChain();
        continue;
      }
      if (!complete) return;
      this.#emitFrame(exp, end, first, bytes);
    }
  }

  /** Looks for the next frame start at or after `#expected`; true when found. */
  #seek(): boolean {
    const exp = this.#expected!;
    let start: number | null = null;
    for (const [k, v] of this.#buf) {
      if (k >= exp && v.frameStart && (start === null || k < start)) start = k;
    }
    if (start === null) {
      // Nothing to start from yet. Continuation and padding packets can only become useful if
      // a reordered frame start still arrives, so keep just the most recent ones.
      const keepFrom = this.#highest! - this.#o.reorderWindowPackets;
      if (keepFrom > exp) {
        const dropped = this.#dropBelow(keepFrom);
        if (this.#seekCountsLoss) this.#s.lost += keepFrom - exp - dropped;
        this.#expected = keepFrom;
      }
      return false;
    }
    const present = this.#dropBelow(start);
    if (this.#seekCountsLoss) this.#s.lost += start - exp - present;
    this.#expected = start;
    this.#seeking = false;
    return true;
  }

  /** Deletes buffered packets below `ext`; returns how many there were. */
  #dropBelow(ext: number): number {
    let n = 0;
    for (const k of [...this.#buf.keys()]) {
      if (k < ext) {
        this.#buf.delete(k);
        n++;
      }
    }
    return n;
  }

  /** The frame at `#expected` is broken: skip to the next frame start, wait for a keyframe. */
  #breakChain(): void {
    this.#s.framesDropped++;
    this.#awaitingKeyframe = true;
    this.#seeking = true;
    this.#seekCountsLoss = true;
    // Skip the current (broken) start packet so the seek finds the next one.
    const exp = this.#expected!;
    if (this.#buf.delete(exp)) this.#expected = exp + 1;
  }

  #checkGap(arrivalMs: number): void {
    for (;;) {
      const exp = this.#expected;
      if (exp === null || this.#seeking || this.#buf.size === 0) return;
      // First missing sequence number at or after the expected one.
      let hole = exp;
      while (this.#buf.has(hole)) hole++;
      if (hole > this.#highest!) {
        this.#gapSeq = null;
        return;
      }
      if (this.#gapSeq !== hole) {
        this.#gapSeq = hole;
        this.#gapSinceMs = arrivalMs;
      }
      const expired =
        this.#highest! - hole >= this.#o.reorderWindowPackets ||
        arrivalMs - this.#gapSinceMs >= this.#o.maxReorderDelayMs ||
        this.#buf.size > this.#o.maxPendingPackets;
      if (!expired) return;
      // The hole is lost. Packets before it are the head of a frame that cannot complete
      // (complete frames were already drained); packets right after it may be its tail.
      const head = this.#dropBelow(hole);
      const next = this.#buf.get(hole + 1);
      if (head > 0 || (next !== undefined && !next.frameStart && !next.padding)) this.#s.framesDropped++;
      this.#expected = hole;
      this.#gapSeq = null;
      this.#awaitingKeyframe = true;
      this.#seeking = true;
      this.#seekCountsLoss = true;
      this.#drain();
      if (this.#awaitingKeyframe) this.#requestKeyframe('loss', arrivalMs);
    }
  }

  #emitFrame(firstSeq: number, lastSeq: number, first: Pkt, bytes: number): void {
    const data = new Uint8Array(bytes);
    let o = 0;
    let arrivalMs = first.arrivalMs;
    for (let e = firstSeq; e <= lastSeq; e++) {
      const q = this.#buf.get(e)!;
      data.set(q.data, o);
      o += q.data.length;
      if (q.arrivalMs > arrivalMs) arrivalMs = q.arrivalMs;
      this.#buf.delete(e);
    }
    this.#expected = lastSeq + 1;
    this.#s.framesAssembled++;
    if (this.#lastRawTs === null) this.#extTs = first.ts;
    else this.#extTs += (((first.ts - this.#lastRawTs) | 0) as number);
    this.#lastRawTs = first.ts;

    if (this.#awaitingKeyframe && !first.keyframe) {
      this.#s.framesDropped++;
      return;
    }
    if (first.keyframe) {
      this.#s.keyframes++;
      this.#awaitingKeyframe = false;
    }
    this.safeEmit('frame', {
      timestamp: this.#extTs,
      keyframe: first.keyframe,
      showFrame: first.showFrame,
      width: first.width,
      height: first.height,
      data,
      packets: lastSeq - firstSeq + 1,
      firstSeq,
      lastSeq,
      pictureId: first.pictureId,
      arrivalMs,
    });
  }

  #requestKeyframe(reason: KeyframeReason, nowMs: number): void {
    if (!this.#limiter.tryAcquire(nowMs)) return;
    this.#s.keyframeRequests++;
    this.safeEmit('keyframe-needed', { reason });
  }

  #reset(): void {
    this.#s.resets++;
    this.#buf.clear();
    this.#highest = null;
    this.#expected = null;
    this.#seeking = true;
    this.#seekCountsLoss = false;
    this.#gapSeq = null;
    this.#awaitingKeyframe = true;
    this.#lastRawTs = null;
  }
}

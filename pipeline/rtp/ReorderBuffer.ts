/**
 * A bounded jitter/reorder buffer for one RTP stream. Packets go in in arrival order and
 * come out strictly in extended-sequence order, each with the number of packets skipped
 * just before it (`lostBefore`) so the decoder can conceal the gap.
 *
 * - Holds at most `maxPackets` packets and at most `maxHoldMs` behind a gap.
 * - Duplicates (already buffered or released) and late packets (behind the release point)
 *   are dropped and counted.
 * - An SSRC change resets the stream at once; a sequence or timestamp jump larger than
 *   `maxSeqJump` / `maxTimestampJump` resets it once a second packet confirms the new
 *   numbering (a lone outlier is dropped and counted instead). Before any reset the
 *   packets still buffered are released, so nothing valid is lost silently.
 *
 * Memory is fixed at construction: one slot array and one history array.
 */
import type { RtpPacket } from './RtpPacket.js';
import { SeqUnwrapper, TimestampUnwrapper } from './SeqUnwrapper.js';

export interface ReorderBufferOptions {
  /** Most packets held while waiting for a missing one. */
  maxPackets: number;
  /** Longest time (ms of arrival clock) a packet waits behind a gap. */
  maxHoldMs: number;
  /** Sequence jump (either way) treated as a new numbering rather than loss or reordering. */
  maxSeqJump: number;
  /** Timestamp jump (either way, clock units) treated as a new numbering. */
  maxTimestampJump: number;
  /** A packet confirms a pending jump if its sequence is this close after the outlier. */
  jumpConfirmWindow: number;
  /** Released sequence numbers remembered for duplicate detection (rounded up to a power of two). */
  historySize: number;
}

export const defaultReorderBufferOptions: ReorderBufferOptions = {
  maxPackets: 64,
  maxHoldMs: 80,
  maxSeqJump: 1000,
  maxTimestampJump: 48_000 * 30,
  jumpConfirmWindow: 16,
  historySize: 1024,
};

export interface OrderedPacket {
  packet: RtpPacket;
  /** Sequence number extended across 16-bit wraps. */
  extSeq: number;
  /** Timestamp extended across 32-bit wraps. */
  extTimestamp: number;
  arrivalMs: number;
  /** Packets skipped (never released) immediately before this one. */
  lostBefore: number;
}

export type ReorderResetReason = 'ssrc' | 'seq-jump' | 'timestamp-jump';

export interface ReorderSink {
  onPacket(p: OrderedPacket): void;
  /** Called after the old numbering's packets were released and before the new one starts. */
  onReset(reason: ReorderResetReason): void;
}

export interface ReorderStats {
  received: number;
  released: number;
  duplicates: number;
  late: number;
  lost: number;
  resets: number;
  outliers: number;
  buffered: number;
}

function pow2AtLeast(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

export class ReorderBuffer {
  readonly #opts: ReorderBufferOptions;
  readonly #sink: ReorderSink;
  readonly #slots: (OrderedPacket | undefined)[];
  readonly #slotMask: number;
  /** history[extSeq & mask] === extSeq + 1 when extSeq was released. */
  readonly #history: Float64Array;
  readonly #historyMask: number;
  readonly #seq = new SeqUnwrapper();
  readonly #ts = new TimestampUnwrapper();

  #ssrc: number | undefined;
  #started = false;
  #nextSeq = 0;
  #highestTs = 0;
  #buffered = 0;
  #pendingLost = 0;
  #candidate: { ssrc: number; seq: number; reason: ReorderResetReason } | undefined;

  readonly #stats: Omit<ReorderStats, 'buffered'> = { received: 0, released: 0, duplicates: 0, late: 0, lost: 0, resets: 0, outliers: 0 };

  constructor(sink: ReorderSink, options: Partial<ReorderBufferOptions> = {}) {
    this.#opts = { ...defaultReorderBufferOptions, ...options };
    const o = this.#opts;
    if (!(o.maxPackets >= 1) || !(o.historySize >= o.maxPackets) || !(o.maxSeqJump >= o.maxPackets)) {
      throw new RangeError('ReorderBuffer: need maxPackets >= 1, historySize >= maxPackets, maxSeqJump >= maxPackets');
    }
    const slots = pow2AtLeast(o.maxPackets);
    this.#slots = new Array<OrderedPacket | undefined>(slots).fill(undefined);
    this.#slotMask = slots - 1;
    const hist = pow2AtLeast(o.historySize);
    this.#history = new Float64Array(hist);
    this.#historyMask = hist - 1;
    this.#sink = sink;
  }

  get options(): Readonly<ReorderBufferOptions> {
    return this.#opts;
  }

  stats(): ReorderStats {
    return { ...this.#stats, buffered: this.#buffered };
  }

  /** Accepts one parsed packet. Never throws (sink errors aside, which callers must contain). */
  push(packet: RtpPacket, arrivalMs: number): void {
    this.#stats.received++;
    if (this.#ssrc !== undefined && packet.ssrc !== this.#ssrc) {
      this.#restart('ssrc');
    }
    if (this.#started) {
      const extSeq = this.#seq.peek(packet.sequenceNumber);
      const extTs = this.#ts.peek(packet.timestamp);
      const seqHigh = this.#seq.last ?? extSeq;
      const seqJump = Math.abs(extSeq - seqHigh) > this.#opts.maxSeqJump;
      const tsJump = Math.abs(extTs - this.#highestTs) > this.#opts.maxTimestampJump;
      if (seqJump || tsJump) {
        const c = this.#candidate;
        const d = c ? (packet.sequenceNumber - c.seq + 0x10000) % 0x10000 : 0;
        if (c && c.ssrc === packet.ssrc && d >= 1 && d <= this.#opts.jumpConfirmWindow) {
          this.#restart(c.reason);
        } else {
          this.#candidate = { ssrc: packet.ssrc, seq: packet.sequenceNumber, reason: seqJump ? 'seq-jump' : 'timestamp-jump' };
          this.#stats.outliers++;
          return;
        }
      }
    }
    this.#candidate = undefined;

    const extSeq = this.#seq.unwrap(packet.sequenceNumber);
    const extTs = this.#ts.unwrap(packet.timestamp);
    if (!this.#started) {
      this.#started = true;
      this.#ssrc = packet.ssrc;
      this.#nextSeq = extSeq;
      this.#highestTs = extTs;
    } else if (extTs > this.#highestTs) {
      this.#highestTs = extTs;
    }

    if (extSeq < this.#nextSeq) {
      const h = this.#history[extSeq & this.#historyMask];
      if (extSeq >= this.#nextSeq - this.#history.length && h === extSeq + 1) this.#stats.duplicates++;
      else this.#stats.late++;
      return;
    }
    const slot = extSeq & this.#slotMask;
    if (extSeq < this.#nextSeq + this.#opts.maxPackets && this.#slots[slot] !== undefined) {
      this.#stats.duplicates++;
      return;
    }
    // Make room: the window [nextSeq, nextSeq + maxPackets) must contain extSeq.
    const minNext = extSeq - this.#opts.maxPackets + 1;
    if (minNext > this.#nextSeq) {
      if (this.#buffered === 0) {
        this.#skip(minNext - this.#nextSeq);
      } else {
        while (this.#nextSeq < minNext) {
          if (!this.#releaseHead()) this.#skip(1);
        }
      }
    }
    this.#slots[slot] = { packet, extSeq, extTimestamp: extTs, arrivalMs, lostBefore: 0 };
    this.#buffered++;
    this.#drainInOrder();
    this.poll(arrivalMs);
  }

  /** Releases packets that waited longer than maxHoldMs behind a gap. Call on a timer too. */
  poll(nowMs: number): void {
    while (this.#buffered > 0 && this.#slots[this.#nextSeq & this.#slotMask] === undefined) {
      let minArrival = Infinity;
      let first = -1;
      for (let i = 1; i < this.#opts.maxPackets; i++) {
        const p = this.#slots[(this.#nextSeq + i) & this.#slotMask];
        if (p !== undefined && p.extSeq === this.#nextSeq + i) {
          if (first < 0) first = i;
          if (p.arrivalMs < minArrival) minArrival = p.arrivalMs;
        }
      }
      if (first < 0 || nowMs - minArrival < this.#opts.maxHoldMs) return;
      this.#skip(first);
      this.#drainInOrder();
    }
  }

  /** Releases everything buffered, in order, counting the gaps as lost. */
  flush(): void {
    while (this.#buffered > 0) {
      if (!this.#releaseHead()) this.#skip(1);
    }
  }

  /** Releases what is buffered and forgets the stream (next packet starts a new numbering). */
  reset(): void {
    this.flush();
    this.#ssrc = undefined;
    this.#started = false;
    this.#candidate = undefined;
    this.#pendingLost = 0;
    this.#seq.reset();
    this.#ts.reset();
  }

  #restart(reason: ReorderResetReason): void {
    this.reset();
    this.#stats.resets++;
    this.#sink.onReset(reason);
  }

  #skip(n: number): void {
    this.#nextSeq += n;
    this.#pendingLost += n;
    this.#stats.lost += n;
  }

  #drainInOrder(): void {
    while (this.#buffered > 0 && this.#releaseHead());
  }

  /** Releases the packet at nextSeq if present. */
  #releaseHead(): boolean {
    const slot = this.#nextSeq & this.#slotMask;
    const p = this.#slots[slot];
    if (p === undefined || p.extSeq !== this.#nextSeq) return false;
    this.#slots[slot] = undefined;
    this.#buffered--;
    this.#history[p.extSeq & this.#historyMask] = p.extSeq + 1;
    p.lostBefore = this.#pendingLost;
    this.#pendingLost = 0;
    this.#nextSeq++;
    this.#stats.released++;
    this.#sink.onPacket(p);
    return true;
  }
}

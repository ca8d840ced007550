/**
 * A cheap RTP load source: many Opus streams sent over UDP on loopback from one paced
 * timer, each looping the same pre-encoded speech. Used by the benchmark and the load
 * generator; each stream goes to an RTP ingest port of the SFU.
 *
 * Phases: independent callers do not send in step. Stream i is sent in phase slot
 * i mod `phases` of each 20 ms period (slots 20 / phases ms apart), so the SFU sees the
 * packets spread over the period as from real calls; `phases: 1` sends every stream in one
 * burst per period (lockstep: the worst case for queueing in the SFU).
 */
import dgram from 'node:dgram';
import { serializeRtpPacket } from '../pipeline/rtp/RtpPacket.js';

export interface RtpTarget {
  ip: string;
  port: number;
  ssrc: number;
  payloadType: number;
}

interface StreamState extends RtpTarget {
  seq: number;
  ts: number;
  frame: number;
  sent: number;
}

export interface RtpLoadSenderOptions {
  /** Pre-encoded 20 ms Opus payloads, looped. */
  frames: readonly Uint8Array[];
  /** Called with (ssrc, seq, sendTimeMs) for every packet, e.g. to measure forwarding delay. */
  onSend?: (ssrc: number, seq: number, sentAtMs: number) => void;
  /** Send slots per 20 ms period (1: lockstep bursts). Default 10 (a slot every 2 ms). */
  phases?: number;
}

function isLoopback(ip: string): boolean {
  return ip === '::1' || ip.startsWith('127.');
}

export class RtpLoadSender {
  readonly #socket = dgram.createSocket('udp4');
  readonly #streams: StreamState[] = [];
  readonly #opts: RtpLoadSenderOptions;
  #timer: NodeJS.Timeout | undefined;
  #startMs = 0;
  #sentTicks = 0;
  #closed = false;

  readonly #phases: number;

  constructor(opts: RtpLoadSenderOptions) {
    if (opts.frames.length === 0) throw new Error('no frames');
    const phases = opts.phases ?? 10;
    if (!Number.isInteger(phases) || phases < 1 || phases > 20) throw new Error('phases must be an integer from 1 to 20');
    this.#opts = opts;
    this.#phases = phases;
  }

  /** Adds a stream; only loopback targets are accepted (this is a load generator). */
  add(target: RtpTarget): void {
    if (!isLoopback(target.ip)) throw new Error(`refusing to send load to non-loopback address ${target.ip}`);
    // Streams start at different points of the clip so they are not in lockstep.
    this.#streams.push({ ...target, seq: (target.ssrc * 7) & 0xffff, ts: (target.ssrc * 13) >>> 0, frame: this.#streams.length * 37, sent: 0 });
  }

  get streams(): number {
    return this.#streams.length;
  }

  get packetsSent(): number {
    return this.#streams.reduce((n, s) => n + s.sent, 0);
  }

  /** Starts (or restarts after stop()) the 20 ms pacing; streams keep their seq and timestamps. */
  start(): void {
    if (this.#timer !== undefined || this.#closed) return;
    this.#startMs = performance.now();
    this.#sentTicks = 0;
    const slotMs = 20 / this.#phases;
    const tick = (): void => {
      // Drift-corrected pacing: send every slot that is due (each stream once per 20 ms).
      const due = Math.floor((performance.now() - this.#startMs) / slotMs);
      while (this.#sentTicks < due) {
        this.#sendSlot(this.#sentTicks % this.#phases);
        this.#sentTicks++;
      }
      this.#timer = setTimeout(tick, Math.max(1, this.#startMs + (this.#sentTicks + 1) * slotMs - performance.now()));
    };
    tick();
  }

  #sendSlot(slot: number): void {
    const now = Date.now();
    for (let i = slot; i < this.#streams.length; i += this.#phases) {
      const s = this.#streams[i]!;
      const payload = this.#opts.frames[s.frame % this.#opts.frames.length]!;
      const pkt = serializeRtpPacket({ payloadType: s.payloadType, sequenceNumber: s.seq, timestamp: s.ts, ssrc: s.ssrc, payload, marker: false });
      this.#socket.send(pkt, s.port, s.ip);
      this.#opts.onSend?.(s.ssrc, s.seq, now);
      s.seq = (s.seq + 1) & 0xffff;
      s.ts = (s.ts + 960) >>> 0;
      s.frame++;
      s.sent++;
    }
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  close(): void {
    this.stop();
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.close();
  }
}

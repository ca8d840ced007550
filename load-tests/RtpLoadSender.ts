/**
 * A cheap RTP load source: many Opus streams sent over UDP on loopback from one paced
 * timer (20 ms), each looping the same pre-encoded speech. Used by the benchmark and
 * the load generator; each stream goes to an RTP ingest port of the SFU.
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

  constructor(opts: RtpLoadSenderOptions) {
    if (opts.frames.length === 0) throw new Error('no frames');
    this.#opts = opts;
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
    const tick = (): void => {
      // Drift-corrected 20 ms pacing: send every packet that is due.
      const due = Math.floor((performance.now() - this.#startMs) / 20);
      while (this.#sentTicks < due) {
        this.#sendAll();
        this.#sentTicks++;
      }
      this.#timer = setTimeout(tick, Math.max(1, this.#startMs + (this.#sentTicks + 1) * 20 - performance.now()));
    };
    tick();
  }

  #sendAll(): void {
    const now = Date.now();
    for (const s of this.#streams) {
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

/**
 * Where a room's taps deliver their RTP when taps run over UDP (`tapTransport: 'udp'`): one
 * loopback UDP socket per room, the remote end of a PlainTransport whose consumers are the
 * taps. mediasoup sends a tap's packets as it sends to any participant (one datagram per
 * packet, no channel message), and this socket hands each to the tap registered for its
 * SSRC. RTCP the transport sends (sender reports) and packets of unknown SSRCs are counted
 * and dropped. Nothing but the mediasoup worker can reach the socket meaningfully: it is
 * bound to 127.0.0.1 and packets from any other source address or port are refused.
 */
import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { counter } from '../kernel/metrics.js';

export type TapPacketHandler = (packet: Buffer, arrivalMs: number) => void;

export interface TapReceiverStats {
  delivered: number;
  rtcp: number;
  unknownSsrc: number;
  foreign: number;
  malformed: number;
}

const refused = counter<'reason'>({
  name: 'dfd_tap_udp_refused_total',
  help: 'Datagrams on a tap socket not delivered to a tap: rtcp (sender reports), unknown-ssrc, foreign (not from the mediasoup transport), malformed',
  labelNames: ['reason'],
});

/** Smallest RTP header. */
const RTP_HEADER = 12;

export class TapReceiver {
  readonly #socket: dgram.Socket;
  readonly #handlers = new Map<number, TapPacketHandler>();
  readonly #stats: TapReceiverStats = { delivered: 0, rtcp: 0, unknownSsrc: 0, foreign: 0, malformed: 0 };
  /** The mediasoup transport's own address, once known (packets from elsewhere are refused). */
  #source: { address: string; port: number } | undefined;
  #closed = false;

  private constructor(socket: dgram.Socket) {
    this.#socket = socket;
    socket.on('message', (msg, rinfo) => this.#onMessage(msg, rinfo));
    socket.on('error', () => this.close());
  }

  /** Binds a loopback socket; `recvBufferBytes` is asked for (the kernel may cap it at net.core.rmem_max). */
  static async open(recvBufferBytes = 4 << 20): Promise<TapReceiver> {
    const socket = dgram.createSocket({ type: 'udp4' });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', () => {
        socket.off('error', reject);
        resolve();
      });
    });
    try {
      socket.setRecvBufferSize(recvBufferBytes);
    } catch {
      /* the kernel's default buffer stays */
    }
    return new TapReceiver(socket);
  }

  get port(): number {
    return (this.#socket.address() as AddressInfo).port;
  }

  /** Only datagrams from this address (the PlainTransport's tuple) are accepted. */
  expectSource(address: string, port: number): void {
    this.#source = { address, port };
  }

  /** Routes packets of `ssrc` to `handler` until the returned function is called. */
  register(ssrc: number, handler: TapPacketHandler): () => void {
    this.#handlers.set(ssrc >>> 0, handler);
    return () => {
      if (this.#handlers.get(ssrc >>> 0) === handler) this.#handlers.delete(ssrc >>> 0);
    };
  }

  stats(): TapReceiverStats {
    return { ...this.#stats };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#handlers.clear();
    try {
      this.#socket.close();
    } catch {
      /* already closed */
    }
  }

  #refuse(reason: keyof Omit<TapReceiverStats, 'delivered'>): void {
    this.#stats[reason]++;
    refused.inc({ reason: reason === 'unknownSsrc' ? 'unknown-ssrc' : reason });
  }

  #onMessage(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const arrivalMs = Date.now();
    const src = this.#source;
    if (src && (rinfo.address !== src.address || rinfo.port !== src.port)) return this.#refuse('foreign');
    if (msg.length < RTP_HEADER || msg[0]! >> 6 !== 2) return this.#refuse('malformed');
    // RFC 5761: a second byte of 192-223 is RTCP (packet types 200-206), not RTP.
    const b1 = msg[1]!;
    if (b1 >= 192 && b1 <= 223) return this.#refuse('rtcp');
    const handler = this.#handlers.get(msg.readUInt32BE(8));
    if (!handler) return this.#refuse('unknownSsrc');
    this.#stats.delivered++;
    handler(msg, arrivalMs);
  }
}

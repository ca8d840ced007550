/**
 * SIP over UDP and TCP on one port (RFC 3261 section 18): datagrams are one message each; a TCP
 * connection is framed by Content-Length (SipStreamFramer). Every message arrives with where it
 * came from (`SipPeer`), and answers go back the same way: to the source address and port of a
 * datagram (rport behaviour, so callers behind NAT are reached), or on the same TCP connection.
 * Limits: message size (by the parser), open TCP connections, idle TCP connections closed.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { TypedEmitter } from '../../kernel/TypedEmitter.js';
import { counter, gauge } from '../../kernel/metrics.js';
import { createLogger } from '../../kernel/log.js';
import { SipStreamFramer } from './SipMessage.js';

const log = createLogger('ingest.sip.transport');
const transportErrors = counter<'reason'>({ name: 'dfd_sip_transport_errors_total', help: 'SIP transport problems (malformed stream, too many connections, socket errors)', labelNames: ['reason'] });
const tcpConnections = gauge({ name: 'dfd_sip_tcp_connections', help: 'Open SIP TCP connections' });

export type SipPeer = { transport: 'udp'; address: string; port: number } | { transport: 'tcp'; address: string; port: number; socket: net.Socket };

export interface SipTransportOptions {
  host: string;
  port: number;
  maxTcpConnections: number;
  tcpIdleMs: number;
}

export interface SipTransportEvents {
  message: [buf: Buffer, peer: SipPeer];
}

export class SipTransport extends TypedEmitter<SipTransportEvents> {
  readonly options: SipTransportOptions;
  readonly #udp: dgram.Socket;
  readonly #tcp: net.Server;
  readonly #conns = new Set<net.Socket>();
  #port = 0;
  #closed = false;

  private constructor(options: SipTransportOptions, udp: dgram.Socket, tcp: net.Server) {
    super();
    this.options = options;
    this.#udp = udp;
    this.#tcp = tcp;
  }

  /** Binds UDP and TCP on `port` (0: one free port for both). */
  static async listen(options: SipTransportOptions): Promise<SipTransport> {
    // Port 0: UDP picks a free port and TCP takes the same number, which a TCP socket may already hold
    // (UDP and TCP ports are allocated apart): then both are tried again on another port.
    const attempts = options.port === 0 ? 20 : 1;
    let bound: { udp: dgram.Socket; tcp: net.Server; port: number } | undefined;
    for (let i = 1; !bound; i++) {
      try {
        bound = await bindPair(options);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || i >= attempts) throw e;
      }
    }
    const { udp, tcp, port } = bound;
    const t = new SipTransport(options, udp, tcp);
    t.#port = port;
    udp.on('message', (msg, rinfo) => {
      // CRLF keep-alives (RFC 5626) carry no message.
      if (msg.length <= 4 && msg.toString('latin1').trim() === '') return;
      t.safeEmit('message', msg, { transport: 'udp', address: rinfo.address, port: rinfo.port });
    });
    udp.on('error', (e) => {
      transportErrors.inc({ reason: 'udp-error' });
      log.warn('sip udp socket error', { err: e });
    });
    tcp.on('connection', (socket) => t.#onConnection(socket));
    return t;
  }

  get port(): number {
    return this.#port;
  }

  send(peer: SipPeer, buf: Buffer): void {
    if (this.#closed) return;
    if (peer.transport === 'udp') {
      this.#udp.send(buf, peer.port, peer.address, (err) => {
        if (err) transportErrors.inc({ reason: 'udp-send' });
      });
      return;
    }
    if (!peer.socket.destroyed) peer.socket.write(buf);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const c of this.#conns) c.destroy();
    this.#conns.clear();
    tcpConnections.set(0);
    await new Promise<void>((r) => this.#tcp.close(() => r()));
    await new Promise<void>((r) => this.#udp.close(() => r()));
    this.removeAllListeners();
  }

  #onConnection(socket: net.Socket): void {
    if (this.#closed || this.#conns.size >= this.options.maxTcpConnections) {
      transportErrors.inc({ reason: 'too-many-connections' });
      socket.destroy();
      return;
    }
    this.#conns.add(socket);
    tcpConnections.set(this.#conns.size);
    socket.setTimeout(this.options.tcpIdleMs, () => socket.destroy());
    const peer: SipPeer = { transport: 'tcp', address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0, socket };
    const framer = new SipStreamFramer();
    framer.on('message', (m: Buffer) => this.safeEmit('message', m, peer));
    socket.on('data', (chunk: Buffer) => {
      try {
        framer.push(chunk);
      } catch {
        // A stream that cannot be framed cannot be resynchronised: close it.
        transportErrors.inc({ reason: 'malformed-stream' });
        socket.destroy();
      }
    });
    socket.on('error', () => transportErrors.inc({ reason: 'tcp-error' }));
    socket.on('close', () => {
      this.#conns.delete(socket);
      tcpConnections.set(this.#conns.size);
    });
  }
}

/** A UDP socket and a TCP server on one port number (options.port, or a free one when 0). */
async function bindPair(options: SipTransportOptions): Promise<{ udp: dgram.Socket; tcp: net.Server; port: number }> {
  const udp = dgram.createSocket({ type: options.host.includes(':') ? 'udp6' : 'udp4' });
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject);
    udp.bind(options.port, options.host, () => {
      udp.off('error', reject);
      resolve();
    });
  });
  const port = udp.address().port;
  const tcp = net.createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(port, options.host, () => {
        tcp.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    udp.close();
    throw e;
  }
  return { udp, tcp, port };
}

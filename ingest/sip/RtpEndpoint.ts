/**
 * One RTP stream of a SIP call, received and sent by this process (the documented alternative to
 * a mediasoup PlainTransport: the service must transcode PCMA and send prompts from the very
 * address the caller sends to, as SBCs and phones behind NAT expect):
 *
 *   UDP port pair (even RTP port, RTCP on port + 1) from the configured range
 *   <- RTP from the far end: parsed, payload type checked, source locked to the first sender
 *      (symmetric RTP; packets from any other address are counted and dropped)
 *   -> `media` events: payload, unwrapped sequence number and RTP timestamp
 *   -> send(): RTP to the far end (the learned source, else the SDP address)
 *   <- RTCP: counted (receiver and sender reports are not needed by the analysis)
 *
 * A packet that is not RTP, of another payload type than negotiated (telephone-event aside),
 * or larger than `maxPacketBytes` is counted by reason and dropped; nothing throws.
 */
import dgram from 'node:dgram';
import { DfdError } from '../../kernel/errors.js';
import { TypedEmitter } from '../../kernel/TypedEmitter.js';
import { counter } from '../../kernel/metrics.js';
import { parseRtpPacket } from '../../pipeline/rtp/RtpPacket.js';

const rtpDropped = counter<'reason'>({ name: 'dfd_sip_rtp_dropped_total', help: 'RTP packets of SIP calls dropped, by reason', labelNames: ['reason'] });
const rtcpPackets = counter({ name: 'dfd_sip_rtcp_packets_total', help: 'RTCP packets received on SIP calls' });

export interface RtpEndpointOptions {
  host: string;
  minPort: number;
  maxPort: number;
  /** Payload type negotiated in the SDP (0 PCMU, 8 PCMA). */
  payloadType: number;
  /** RFC 4733 telephone-event payload type, if negotiated (ignored, not counted as an error). */
  telephoneEventPt: number | undefined;
  maxPacketBytes: number;
}

export interface RtpMedia {
  payload: Uint8Array;
  /** Sequence number unwrapped past 65535 (monotonic for in-order packets). */
  seq: number;
  /** RTP timestamp unwrapped past 2^32. */
  timestamp: number;
  marker: boolean;
  /** The whole packet as received (the listener may keep or modify it: nobody else uses it). */
  packet: Buffer;
}

export interface RtpEndpointEvents {
  media: [RtpMedia];
}

export class RtpEndpoint extends TypedEmitter<RtpEndpointEvents> {
  readonly options: RtpEndpointOptions;
  readonly port: number;
  readonly #rtp: dgram.Socket;
  readonly #rtcp: dgram.Socket;
  #remote: { address: string; port: number } | undefined;
  #learned = false;
  #lastSeq: number | undefined;
  #seqCycles = 0;
  #lastTs: number | undefined;
  #tsCycles = 0;
  #closed = false;
  #received = 0;
  #sent = 0;

  private constructor(options: RtpEndpointOptions, port: number, rtp: dgram.Socket, rtcp: dgram.Socket) {
    super();
    this.options = options;
    this.port = port;
    this.#rtp = rtp;
    this.#rtcp = rtcp;
    rtp.on('message', (msg, rinfo) => this.#onRtp(msg, rinfo));
    rtp.on('error', () => rtpDropped.inc({ reason: 'socket-error' }));
    rtcp.on('message', () => rtcpPackets.inc());
    rtcp.on('error', () => undefined);
  }

  /** Binds an even RTP port and the next (RTCP) from the range; ERR_INGEST_CAPACITY when none is free. */
  static async open(options: RtpEndpointOptions): Promise<RtpEndpoint> {
    const { minPort, maxPort } = options;
    if (minPort % 2 !== 0 || maxPort <= minPort) throw new DfdError('ERR_CONFIG', 'RTP port range must start even and hold at least one pair', { minPort, maxPort });
    const pairs = Math.floor((maxPort - minPort + 1) / 2);
    const first = Math.floor(Math.random() * pairs);
    for (let i = 0; i < Math.min(pairs, 64); i++) {
      const port = minPort + ((first + i) % pairs) * 2;
      const rtp = await bind(options.host, port);
      if (!rtp) continue;
      const rtcp = await bind(options.host, port + 1);
      if (!rtcp) {
        rtp.close();
        continue;
      }
      return new RtpEndpoint(options, port, rtp, rtcp);
    }
    throw new DfdError('ERR_INGEST_CAPACITY', 'no free RTP port pair in the range', { minPort, maxPort });
  }

  /** Where to send until the far end's first packet tells (the SDP's connection address and port). */
  setRemote(address: string, port: number): void {
    if (!this.#learned) this.#remote = { address, port };
  }

  get remote(): { address: string; port: number } | undefined {
    return this.#remote;
  }

  get received(): number {
    return this.#received;
  }

  get sent(): number {
    return this.#sent;
  }

  /** Sends one RTP packet to the far end (nothing when no address is known yet, or closed). */
  send(packet: Buffer): void {
    const r = this.#remote;
    if (this.#closed || !r || r.port === 0) return;
    this.#rtp.send(packet, r.port, r.address, (err) => {
      if (err) rtpDropped.inc({ reason: 'send-failed' });
    });
    this.#sent++;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.removeAllListeners();
    for (const s of [this.#rtp, this.#rtcp]) {
      try {
        s.close();
      } catch {
        // already closed
      }
    }
  }

  #onRtp(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (this.#closed) return;
    if (msg.length > this.options.maxPacketBytes) return void rtpDropped.inc({ reason: 'too-large' });
    if (this.#learned && (rinfo.address !== this.#remote?.address || rinfo.port !== this.#remote.port)) return void rtpDropped.inc({ reason: 'other-source' });
    let p;
    try {
      p = parseRtpPacket(msg);
    } catch {
      return void rtpDropped.inc({ reason: 'malformed' });
    }
    if (p.payloadType !== this.options.payloadType) {
      if (p.payloadType !== this.options.telephoneEventPt) rtpDropped.inc({ reason: 'payload-type' });
      return;
    }
    if (!this.#learned) {
      // Symmetric RTP: from now on the far end is where its media comes from.
      this.#learned = true;
      this.#remote = { address: rinfo.address, port: rinfo.port };
    }
    this.#received++;
    this.safeEmit('media', { payload: p.payload, seq: this.#unwrapSeq(p.sequenceNumber), timestamp: this.#unwrapTs(p.timestamp), marker: p.marker, packet: msg });
  }

  #unwrapSeq(s: number): number {
    if (this.#lastSeq !== undefined) {
      const d = s - this.#lastSeq;
      if (d < -0x8000) this.#seqCycles++;
      else if (d > 0x8000 && this.#seqCycles > 0) return (this.#seqCycles - 1) * 0x10000 + s; // a late packet from before a wrap
    }
    this.#lastSeq = s;
    return this.#seqCycles * 0x10000 + s;
  }

  #unwrapTs(t: number): number {
    if (this.#lastTs !== undefined) {
      const d = t - this.#lastTs;
      if (d < -0x80000000) this.#tsCycles++;
      else if (d > 0x80000000 && this.#tsCycles > 0) return (this.#tsCycles - 1) * 0x100000000 + t;
    }
    this.#lastTs = t;
    return this.#tsCycles * 0x100000000 + t;
  }
}

function bind(host: string, port: number): Promise<dgram.Socket | undefined> {
  return new Promise((resolve) => {
    const s = dgram.createSocket({ type: host.includes(':') ? 'udp6' : 'udp4' });
    const fail = (): void => {
      s.close();
      resolve(undefined);
    };
    s.once('error', fail);
    s.bind(port, host, () => {
      s.off('error', fail);
      resolve(s);
    });
  });
}

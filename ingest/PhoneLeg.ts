/**
 * One phone leg (the caller of a call that came in over a media-stream WebSocket) as a
 * participant of the SFU, so it goes through exactly what meeting participants go through:
 *
 *   ingest session --mu-law chunks--> PhoneLeg --RTP (PCMU, 8 kHz)--> DirectTransport producer
 *     in the call's own Room --> MediaTap --> AnalysisPipeline (G.711 decode, 8 -> 16 kHz,
 *     VAD, windows marked 'telephone') --> detectors --> verdict --> events, dashboard, challenges
 *
 * The call is a room of its own (`roomId`, e.g. "twilio-<callSid>"), the caller a server-side
 * peer in it. Closing the leg makes the peer leave and closes the room (the call ends in the
 * registry, the pipeline and challenge-response forget it). What the room tells its peers
 * (verdicts, challenges, room closed) reaches the leg's `notify` events.
 */
import { randomInt } from 'node:crypto';
import type { RoomManager } from '../sfu/RoomManager.js';
import type { Room } from '../sfu/Room.js';
import { Peer } from '../sfu/Peer.js';
import type { types } from '../sfu/mediasoup.js';
import { DfdError } from '../kernel/errors.js';
import { TypedEmitter } from '../kernel/TypedEmitter.js';
import { createLogger } from '../kernel/log.js';
import { PcmuRtpWriter } from './PcmuRtpWriter.js';

const log = createLogger('ingest.leg');

/** RFC 3551 static payload type of PCMU. */
const PCMU_PAYLOAD_TYPE = 0;

export interface PhoneLegOptions {
  roomId: string;
  peerId: string;
  displayName: string;
  /** The tenant of the ingest key the call came with (absent: the default tenant): the room is created for it. */
  tenant?: string;
  /** Platform timestamp jumps of at least this much are gaps in the RTP timeline, ms. */
  jumpMs: number;
  /** Join the call's room when another leg of the same call opened it (SIPREC: caller and agent). */
  shareRoom?: boolean;
  /**
   * What the leg's producer carries. PCMU (default) is built from mu-law chunks by `push()`;
   * a SIP leg that negotiated Opus or G.722 forwards the far end's RTP as it is with `forward()`
   * (payload type of the SDP, SSRC rewritten to the producer's).
   */
  codec?: { mimeType: 'audio/PCMU' | 'audio/opus' | 'audio/G722'; payloadType: number };
}

export interface PhoneLegEvents {
  /** The room closed under the leg (shutdown, mediasoup worker died, operator). */
  roomclosed: [reason: string];
  /** A signalling-style notification the room sent to this participant (verdict, challenge, ...). */
  notify: [method: string, data: Record<string, unknown>];
}

export class PhoneLeg extends TypedEmitter<PhoneLegEvents> {
  readonly roomId: string;
  readonly peerId: string;
  readonly room: Room;
  readonly #producer: types.Producer;
  readonly #rtp: PcmuRtpWriter;
  #closed = false;
  #packets = 0;

  readonly #ssrc: number;
  readonly #payloadType: number;

  private constructor(room: Room, peer: Peer, producer: types.Producer, rtp: PcmuRtpWriter, ids: { ssrc: number; payloadType: number }) {
    super();
    this.#ssrc = ids.ssrc;
    this.#payloadType = ids.payloadType;
    this.room = room;
    this.roomId = room.id;
    this.peerId = peer.id;
    this.#producer = producer;
    this.#rtp = rtp;
  }

  /**
   * Creates the call's room and joins the caller with a PCMU producer (tapped for analysis).
   * Throws ERR_INGEST_CALL_EXISTS when the room already exists (a second stream for the call).
   */
  static async open(rooms: RoomManager, options: PhoneLegOptions): Promise<PhoneLeg> {
    if (rooms.get(options.roomId) && !options.shareRoom) throw new DfdError('ERR_INGEST_CALL_EXISTS', undefined, { roomId: options.roomId });
    const room = await rooms.getOrCreate(options.roomId, options.tenant);
    if (room.peers.has(options.peerId)) throw new DfdError('ERR_INGEST_CALL_EXISTS', undefined, { roomId: options.roomId });
    let leg: PhoneLeg | undefined;
    const peer = new Peer({
      id: options.peerId,
      displayName: options.displayName,
      role: 'participant',
      notify: (method, data) => {
        if (leg) leg.#onNotify(method, data);
      },
    });
    const ssrc = randomInt(1, 0xffffffff);
    const codec = options.codec ?? { mimeType: 'audio/PCMU', payloadType: PCMU_PAYLOAD_TYPE };
    try {
      room.join(peer);
      const producer = await room.createDirectIngest(peer, { kind: 'audio', mimeType: codec.mimeType, ssrc, payloadType: codec.payloadType });
      const rtp = new PcmuRtpWriter({ ssrc, payloadType: codec.payloadType, jumpMs: options.jumpMs, seqBase: randomInt(0, 0x10000), timestampBase: randomInt(0, 0x100000000) });
      leg = new PhoneLeg(room, peer, producer, rtp, { ssrc, payloadType: codec.payloadType });
      return leg;
    } catch (e) {
      PhoneLeg.#release(room, peer.id);
      throw e;
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** RTP packets sent into the SFU. */
  get packets(): number {
    return this.#packets;
  }

  /** One chunk of the caller's audio: mu-law bytes, the platform's chunk counter and timestamp (ms). */
  push(payload: Uint8Array, chunk: number, timestampMs: number): void {
    if (this.#closed || this.#producer.closed) return;
    try {
      this.#producer.send(this.#rtp.packet(payload, chunk, timestampMs));
      this.#packets++;
    } catch (e) {
      log.warn('phone leg packet send failed', { roomId: this.roomId, error: e });
    }
  }

  /**
   * One RTP packet of the far end, forwarded as it is (Opus or G.722 over SIP): the SSRC and payload type
   * are rewritten to the producer's; sequence numbers and timestamps stay the sender's, so the
   * pipeline sees the call's own loss and jitter. `packet` is modified in place.
   */
  forward(packet: Buffer): void {
    if (this.#closed || this.#producer.closed || packet.length < 12) return;
    packet[1] = (packet[1]! & 0x80) | (this.#payloadType & 0x7f);
    packet.writeUInt32BE(this.#ssrc, 8);
    try {
      this.#producer.send(packet);
      this.#packets++;
    } catch (e) {
      log.warn('phone leg packet send failed', { roomId: this.roomId, error: e });
    }
  }

  /** The caller hung up or the stream ended: the peer leaves, the call's room closes. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    PhoneLeg.#release(this.room, this.peerId);
    this.removeAllListeners();
  }

  #onNotify(method: string, data: Record<string, unknown>): void {
    if (this.#closed) return;
    if (method === 'roomClosed') {
      this.#closed = true;
      this.safeEmit('roomclosed', typeof data['reason'] === 'string' ? data['reason'] : 'closed');
      this.removeAllListeners();
      return;
    }
    this.safeEmit('notify', method, data);
  }

  /** The peer leaves; the room, which is the call's own, closes once nobody is left. */
  static #release(room: Room, peerId: string): void {
    try {
      room.leave(peerId);
      if (room.peers.size === 0) room.close('empty');
    } catch (e) {
      log.warn('phone leg release failed', { roomId: room.id, error: e });
    }
  }
}

/**
 * A room is one mediasoup router on one worker. Every participant hears and sees every
 * other (consumers are created on request for each producer), and every producer is
 * tapped for the analysis pipeline through a DirectTransport.
 */
import type { types } from './mediasoup.js';
import { mediaCodecs } from './mediaCodecs.js';
import { MediaTap } from './MediaTap.js';
import type { Peer } from './Peer.js';
import { TypedEmitter } from '../kernel/TypedEmitter.js';
import { DEFAULT_TENANT } from '../kernel/tenant.js';
import { DfdError } from '../kernel/errors.js';
import { createLogger } from '../kernel/log.js';
import type { MediaKind } from '../pipeline/messages.js';

const log = createLogger('sfu.room');

/**
 * mediasoup refusing parameters a client sent (RTP/DTLS parameters, RTP capabilities): its own
 * validation (TypeError, UnsupportedError) or the worker's answer to the request (an Error whose
 * message ends with " [method:...]"). A bad request, not a fault of ours. A closed channel or
 * object (InvalidStateError) and a channel timeout stay what they are.
 */
function refusedByMediasoup(e: unknown): DfdError | undefined {
  if (!(e instanceof Error) || e instanceof DfdError || e.name === 'InvalidStateError') return undefined;
  if (e instanceof TypeError || e.name === 'UnsupportedError' || / \[method:[\w.]+\]$/.test(e.message)) {
    return new DfdError('ERR_BAD_REQUEST', e.message.slice(0, 200), undefined, { cause: e });
  }
  return undefined;
}

/** Runs a mediasoup call on parameters a client sent: a refusal of them becomes ERR_BAD_REQUEST. */
async function withClientParameters<T>(call: () => Promise<T> | T): Promise<T> {
  try {
    return await call();
  } catch (e) {
    throw refusedByMediasoup(e) ?? e;
  }
}

export interface RoomOptions {
  maxPeers: number;
  maxTransportsPerPeer: number;
  maxProducersPerPeer: number;
  listenIp: string;
  announcedIp: string | undefined;
  initialAvailableOutgoingBitrate: number;
  /** The tenant the room belongs to (kernel/tenant.ts): its calls, events and calibration are that tenant's. */
  tenant: string;
  /**
   * A WebRTC audio producer whose client does not say whether its noise suppressor runs is
   * taken to run one (what getUserMedia does unless told otherwise). Plain-RTP and phone-leg
   * ingest never are.
   */
  assumeSenderNoiseSuppression: boolean;
}

export const defaultRoomOptions: RoomOptions = {
  maxPeers: 16,
  maxTransportsPerPeer: 4,
  maxProducersPerPeer: 4,
  listenIp: '127.0.0.1',
  announcedIp: undefined,
  initialAvailableOutgoingBitrate: 1_000_000,
  tenant: DEFAULT_TENANT,
  assumeSenderNoiseSuppression: true,
};

/** `moved`: another service node took the room's lease (this node missed its heartbeats; cluster/RoomPlacement.ts). */
export type RoomCloseReason = 'worker-died' | 'empty' | 'shutdown' | 'operator' | 'moved';

export interface RoomEvents {
  tapopen: [tap: MediaTap];
  peerjoined: [peer: Peer];
  peerleft: [peer: Peer];
  close: [reason: RoomCloseReason];
}

export interface WebRtcTransportParams {
  id: string;
  iceParameters: types.IceParameters;
  iceCandidates: types.IceCandidate[];
  dtlsParameters: types.DtlsParameters;
}

export interface ConsumerParams {
  consumerId: string;
  producerId: string;
  peerId: string;
  kind: MediaKind;
  rtpParameters: types.RtpParameters;
}

export class Room extends TypedEmitter<RoomEvents> {
  readonly id: string;
  /** The tenant the room belongs to (fixed at creation). */
  readonly tenant: string;
  readonly router: types.Router;
  readonly workerIndex: number;
  readonly options: RoomOptions;
  readonly createdAt = Date.now();
  readonly peers = new Map<string, Peer>();
  readonly taps = new Map<string, MediaTap>();
  /** Server-side producers (challenge prompts), each audible to one target peer only. */
  readonly #private = new Map<string, { producer: types.Producer; targetPeerId: string }>();
  readonly #tapTransport: types.DirectTransport;
  #closed = false;

  private constructor(id: string, router: types.Router, tapTransport: types.DirectTransport, workerIndex: number, options: RoomOptions) {
    super();
    this.id = id;
    this.tenant = options.tenant;
    this.router = router;
    this.#tapTransport = tapTransport;
    this.workerIndex = workerIndex;
    this.options = options;
    router.on('workerclose', () => this.close('worker-died'));
  }

  static async create(id: string, worker: types.Worker, workerIndex: number, options: Partial<RoomOptions> = {}): Promise<Room> {
    const router = await worker.createRouter({ mediaCodecs });
    const tapTransport = await router.createDirectTransport({ maxMessageSize: 262144 });
    return new Room(id, router, tapTransport, workerIndex, { ...defaultRoomOptions, ...options });
  }

  get closed(): boolean {
    return this.#closed;
  }

  get rtpCapabilities(): types.RtpCapabilities {
    return this.router.rtpCapabilities;
  }

  join(peer: Peer): void {
    this.#assertOpen();
    if (this.peers.has(peer.id)) throw new DfdError('ERR_ALREADY_JOINED', undefined, { peerId: peer.id });
    if (this.peers.size >= this.options.maxPeers) throw new DfdError('ERR_ROOM_FULL', undefined, { limit: this.options.maxPeers });
    for (const other of this.peers.values()) other.notify('peerJoined', { peerId: peer.id, displayName: peer.displayName, role: peer.role });
    this.peers.set(peer.id, peer);
    this.safeEmit('peerjoined', peer);
  }

  leave(peerId: string): void {
    const peer = this.peers.get(peerId);
    if (!peer) return;
    this.peers.delete(peerId);
    peer.close();
    for (const other of this.peers.values()) other.notify('peerLeft', { peerId });
    this.safeEmit('peerleft', peer);
  }

  /** Existing peers and their producers, for a newcomer. */
  snapshot(exceptPeerId?: string): { peerId: string; displayName: string; role: string; producers: { producerId: string; kind: MediaKind }[] }[] {
    return [...this.peers.values()]
      .filter((p) => p.id !== exceptPeerId)
      .map((p) => ({
        peerId: p.id,
        displayName: p.displayName,
        role: p.role,
        producers: [...p.producers.values()].map((pr) => ({ producerId: pr.id, kind: pr.kind })),
      }));
  }

  async createWebRtcTransport(peer: Peer, direction: 'send' | 'recv'): Promise<WebRtcTransportParams> {
    this.#assertOpen();
    if (peer.transports.size >= this.options.maxTransportsPerPeer) {
      throw new DfdError('ERR_TOO_MANY_TRANSPORTS', undefined, { limit: this.options.maxTransportsPerPeer });
    }
    const transport = await this.router.createWebRtcTransport({
      listenIps: [{ ip: this.options.listenIp, ...(this.options.announcedIp ? { announcedIp: this.options.announcedIp } : {}) }],
      enableUdp: true,
      enableTcp: true,
      preferUdp: true,
      initialAvailableOutgoingBitrate: this.options.initialAvailableOutgoingBitrate,
      appData: { peerId: peer.id, direction },
    });
    if (peer.closed) {
      // The peer left while the transport was being created: nothing may leak.
      transport.close();
      throw new DfdError('ERR_CLOSED', 'peer left');
    }
    peer.transports.set(transport.id, transport);
    transport.on('routerclose', () => peer.transports.delete(transport.id));
    transport.observer.on('close', () => peer.transports.delete(transport.id));
    return {
      id: transport.id,
      iceParameters: transport.iceParameters,
      iceCandidates: transport.iceCandidates,
      dtlsParameters: transport.dtlsParameters,
    };
  }

  async connectTransport(peer: Peer, transportId: string, dtlsParameters: types.DtlsParameters): Promise<void> {
    const transport = this.#transport(peer, transportId);
    await withClientParameters(() => transport.connect({ dtlsParameters }));
  }

  /**
   * A WebRTC producer of `peer`. `sender.noiseSuppression`: whether the client's noise suppressor
   * runs on this audio (MediaStreamTrack.getSettings()); absent, `assumeSenderNoiseSuppression`.
   */
  async produce(peer: Peer, transportId: string, kind: MediaKind, rtpParameters: types.RtpParameters, sender: { noiseSuppression?: boolean } = {}): Promise<string> {
    this.#assertOpen();
    if (peer.role === 'observer') throw new DfdError('ERR_FORBIDDEN', 'observers cannot publish');
    if (peer.producers.size >= this.options.maxProducersPerPeer) {
      throw new DfdError('ERR_TOO_MANY_PRODUCERS', undefined, { limit: this.options.maxProducersPerPeer });
    }
    const transport = this.#transport(peer, transportId);
    const producer = await withClientParameters(() => transport.produce({ kind, rtpParameters, appData: { peerId: peer.id } }));
    await this.#adopt(peer, producer, { senderNoiseSuppression: kind === 'audio' && (sender.noiseSuppression ?? this.options.assumeSenderNoiseSuppression) });
    return producer.id;
  }

  /**
   * A new producer of `peer`: tracked, tapped for analysis, announced to every other peer (and its
   * end too). `senderNoiseSuppression`: its audio passed the sender's noise suppressor; `gatewayLeg`: a
   * server-side ingest's producer (a gateway's leg, which cannot say so).
   */
  async #adopt(peer: Peer, producer: types.Producer, tap: { senderNoiseSuppression?: boolean; gatewayLeg?: boolean }): Promise<void> {
    peer.producers.set(producer.id, producer);
    producer.observer.on('close', () => {
      peer.producers.delete(producer.id);
      for (const other of this.peers.values()) if (other !== peer) other.notify('producerClosed', { producerId: producer.id, peerId: peer.id });
    });
    await this.#openTap(peer, producer, tap);
    for (const other of this.peers.values()) {
      if (other !== peer) other.notify('newProducer', { peerId: peer.id, producerId: producer.id, kind: producer.kind });
    }
  }

  /**
   * Plain-RTP ingest for a server-side peer (a SIP/telephony gateway, or the load
   * generator): a comedia PlainTransport that takes Opus (or VP8) RTP on a UDP port,
   * produced and tapped like any WebRTC producer. Returns where to send the RTP.
   */
  async createRtpIngest(peer: Peer, opts: { kind: MediaKind; ssrc: number; payloadType: number }): Promise<{ ip: string; port: number; producerId: string }> {
    const rtpParameters = this.#ingestRtpParameters(peer, opts);
    const transport = await this.router.createPlainTransport({ listenIp: { ip: this.options.listenIp }, rtcpMux: true, comedia: true });
    const producer = await transport.produce({ kind: opts.kind, rtpParameters, appData: { peerId: peer.id } });
    peer.plainTransports.set(transport.id, transport);
    transport.observer.on('close', () => peer.plainTransports.delete(transport.id));
    await this.#adopt(peer, producer, { gatewayLeg: true });
    return { ip: transport.tuple.localIp, port: transport.tuple.localPort, producerId: producer.id };
  }

  /**
   * The RTP parameters of a server-side ingest producer: one router codec (the first of the kind,
   * or the one named by `mimeType`) at the sender's payload type and SSRC. Checks the room is open
   * and the peer may add a producer.
   */
  #ingestRtpParameters(peer: Peer, opts: { kind: MediaKind; mimeType?: string; ssrc: number; payloadType: number }): types.RtpParameters {
    this.#assertOpen();
    if (peer.producers.size >= this.options.maxProducersPerPeer) {
      throw new DfdError('ERR_TOO_MANY_PRODUCERS', undefined, { limit: this.options.maxProducersPerPeer });
    }
    const codec = mediaCodecs.find((c) => c.kind === opts.kind && (opts.mimeType === undefined || c.mimeType.toLowerCase() === opts.mimeType.toLowerCase()));
    if (!codec) throw new DfdError('ERR_CANNOT_CONSUME', 'codec not offered by the router', { mimeType: opts.mimeType ?? opts.kind });
    return {
      codecs: [
        {
          mimeType: codec.mimeType,
          clockRate: codec.clockRate,
          payloadType: opts.payloadType,
          ...(codec.channels !== undefined ? { channels: codec.channels } : {}),
          parameters: codec.mimeType.toLowerCase() === 'audio/opus' ? { useinbandfec: 1 } : {},
          rtcpFeedback: [],
        },
      ],
      encodings: [{ ssrc: opts.ssrc }],
    };
  }

  /**
   * In-process ingest for a server-side peer (a phone leg: ingest/): a DirectTransport
   * producer of one router codec (e.g. audio/PCMU), produced and tapped like any WebRTC
   * producer. The caller sends RTP with `producer.send()`; closing the peer closes it.
   */
  async createDirectIngest(peer: Peer, opts: { kind: MediaKind; mimeType: string; ssrc: number; payloadType: number }): Promise<types.Producer> {
    const rtpParameters = this.#ingestRtpParameters(peer, opts);
    const transport = await this.router.createDirectTransport({ maxMessageSize: 262144, appData: { peerId: peer.id, ingest: true } });
    if (peer.closed) {
      transport.close();
      throw new DfdError('ERR_CLOSED', 'peer left');
    }
    peer.directTransports.set(transport.id, transport);
    transport.observer.on('close', () => peer.directTransports.delete(transport.id));
    const producer = await transport.produce({ kind: opts.kind, rtpParameters, appData: { peerId: peer.id } });
    await this.#adopt(peer, producer, { gatewayLeg: true });
    return producer;
  }

  /**
   * Offers a server-side producer (a challenge prompt) to ONE peer: only that peer is told
   * about it and only that peer may consume it. It is not tapped for analysis.
   */
  offerPrivateProducer(producer: types.Producer, targetPeerId: string, label: string): void {
    this.#assertOpen();
    const target = this.peers.get(targetPeerId);
    if (!target) throw new DfdError('ERR_PEER_NOT_FOUND', undefined, { peerId: targetPeerId });
    this.#private.set(producer.id, { producer, targetPeerId });
    producer.observer.on('close', () => this.#private.delete(producer.id));
    target.notify('newProducer', { peerId: label, producerId: producer.id, kind: producer.kind, private: true });
  }

  async consume(peer: Peer, transportId: string, producerId: string): Promise<ConsumerParams> {
    this.#assertOpen();
    if (!peer.rtpCapabilities) throw new DfdError('ERR_BAD_REQUEST', 'send setRtpCapabilities before consuming');
    const priv = this.#private.get(producerId);
    const owner = priv ? undefined : this.#producerOwner(producerId);
    if (priv && priv.targetPeerId !== peer.id) throw new DfdError('ERR_PRODUCER_NOT_FOUND');
    if (!priv && !owner) throw new DfdError('ERR_PRODUCER_NOT_FOUND');
    if (owner?.peer === peer) throw new DfdError('ERR_CANNOT_CONSUME', 'own producer');
    // mediasoup normalises the capabilities it checks in place: it gets copies, so a refused request changes nothing.
    const caps = peer.rtpCapabilities;
    if (!(await withClientParameters(() => this.router.canConsume({ producerId, rtpCapabilities: structuredClone(caps) })))) throw new DfdError('ERR_CANNOT_CONSUME');
    const transport = this.#transport(peer, transportId);
    const consumer = await withClientParameters(() => transport.consume({ producerId, rtpCapabilities: structuredClone(caps), paused: true }));
    peer.consumers.set(consumer.id, consumer);
    const gone = (): void => {
      if (peer.consumers.delete(consumer.id)) peer.notify('consumerClosed', { consumerId: consumer.id });
    };
    consumer.on('producerclose', gone);
    consumer.on('transportclose', () => peer.consumers.delete(consumer.id));
    return { consumerId: consumer.id, producerId, peerId: owner?.peer.id ?? 'server', kind: consumer.kind, rtpParameters: consumer.rtpParameters };
  }

  async resumeConsumer(peer: Peer, consumerId: string): Promise<void> {
    const consumer = peer.consumers.get(consumerId);
    if (!consumer) throw new DfdError('ERR_CONSUMER_NOT_FOUND');
    await consumer.resume();
    if (consumer.kind === 'video') await consumer.requestKeyFrame();
  }

  async pauseConsumer(peer: Peer, consumerId: string): Promise<void> {
    const consumer = peer.consumers.get(consumerId);
    if (!consumer) throw new DfdError('ERR_CONSUMER_NOT_FOUND');
    await consumer.pause();
  }

  async setProducerPaused(peer: Peer, producerId: string, paused: boolean): Promise<void> {
    const producer = peer.producers.get(producerId);
    if (!producer) throw new DfdError('ERR_PRODUCER_NOT_FOUND');
    if (paused) await producer.pause();
    else await producer.resume();
  }

  closeProducer(peer: Peer, producerId: string): void {
    const producer = peer.producers.get(producerId);
    if (!producer) throw new DfdError('ERR_PRODUCER_NOT_FOUND');
    producer.close();
  }

  close(reason: RoomCloseReason): void {
    if (this.#closed) return;
    this.#closed = true;
    log.info('room closed', { roomId: this.id, reason });
    for (const peer of this.peers.values()) {
      peer.notify('roomClosed', { reason });
      peer.close();
    }
    this.peers.clear();
    for (const tap of this.taps.values()) tap.close();
    this.taps.clear();
    if (!this.router.closed) this.router.close();
    this.safeEmit('close', reason);
  }

  async #openTap(peer: Peer, producer: types.Producer, flags: { senderNoiseSuppression?: boolean; gatewayLeg?: boolean }): Promise<void> {
    const consumer = await this.#tapTransport.consume({ producerId: producer.id, rtpCapabilities: this.router.rtpCapabilities, paused: true });
    const info = { roomId: this.id, tenant: this.tenant, peerId: peer.id, producerId: producer.id, kind: producer.kind };
    const tap = new MediaTap(consumer, { ...info, ...(flags.senderNoiseSuppression === true ? { senderNoiseSuppression: true } : {}), ...(flags.gatewayLeg === true && producer.kind === 'audio' ? { gatewayLeg: true } : {}) });
    this.taps.set(producer.id, tap);
    tap.on('close', () => this.taps.delete(producer.id));
    this.safeEmit('tapopen', tap);
  }

  #transport(peer: Peer, transportId: string): types.WebRtcTransport {
    const t = peer.transports.get(transportId);
    if (!t) throw new DfdError('ERR_TRANSPORT_NOT_FOUND');
    return t;
  }

  #producerOwner(producerId: string): { peer: Peer; producer: types.Producer } | undefined {
    for (const peer of this.peers.values()) {
      const producer = peer.producers.get(producerId);
      if (producer) return { peer, producer };
    }
    return undefined;
  }

  #assertOpen(): void {
    if (this.#closed) throw new DfdError('ERR_CLOSED', 'room');
  }
}

/**
 * A meeting participant in the browser on top of mediasoup-client: joins, publishes the
 * microphone and camera, and consumes every other participant's producers.
 */
import { Device } from 'mediasoup-client';
import type { types } from 'mediasoup-client';
import { SignallingClient } from './SignallingClient.js';

export interface RemoteTrack {
  peerId: string;
  consumerId: string;
  producerId: string;
  kind: 'audio' | 'video';
  track: MediaStreamTrack;
}

export interface MeetingCallbacks {
  onRemoteTrack?: (t: RemoteTrack) => void;
  onRemoteTrackEnded?: (consumerId: string) => void;
  onPeerJoined?: (peerId: string, displayName: string) => void;
  onPeerLeft?: (peerId: string) => void;
  onNotification?: (method: string, data: Record<string, unknown>) => void;
  /** The signalling socket closed (`code` is the WebSocket close code). */
  onClosed?: (reason: string, code: number) => void;
}

interface JoinReply {
  roomId: string;
  peerId: string;
  displayName: string;
  routerRtpCapabilities: types.RtpCapabilities;
  peers: { peerId: string; displayName: string; producers: { producerId: string; kind: 'audio' | 'video' }[] }[];
}

export class MeetingClient {
  readonly signalling: SignallingClient;
  readonly device = new Device();
  readonly peerNames = new Map<string, string>();
  readonly consumers = new Map<string, types.Consumer>();
  readonly producers = new Map<string, types.Producer>();
  #send: types.Transport | undefined;
  #recv: types.Transport | undefined;
  roomId = '';
  peerId = '';

  constructor(
    wsUrl: string,
    private readonly cb: MeetingCallbacks = {},
  ) {
    this.signalling = new SignallingClient(wsUrl);
    this.signalling.onNotification((m, d) => void this.#onNotification(m, d));
    void this.signalling.closed.then(({ reason, code }) => this.cb.onClosed?.(reason, code));
  }

  async join(token: string): Promise<JoinReply> {
    await this.signalling.opened;
    const reply = await this.signalling.request<JoinReply>('join', { token });
    this.roomId = reply.roomId;
    this.peerId = reply.peerId;
    await this.device.load({ routerRtpCapabilities: reply.routerRtpCapabilities });
    await this.signalling.request('setRtpCapabilities', { rtpCapabilities: this.device.rtpCapabilities });
    this.#send = await this.#createTransport('send');
    this.#recv = await this.#createTransport('recv');
    for (const p of reply.peers) {
      this.peerNames.set(p.peerId, p.displayName);
      this.cb.onPeerJoined?.(p.peerId, p.displayName);
    }
    // The producers in the join reply, then those announced (newProducer) while the transports were
    // being set up: without the recv transport they could not be consumed yet, and dropping them
    // would leave this participant deaf or blind to someone for the whole call.
    const early = this.#early.splice(0);
    for (const p of reply.peers) for (const pr of p.producers) await this.#consumeSafely(p.peerId, pr.producerId);
    for (const e of early) await this.#consumeSafely(e.peerId, e.producerId);
    return reply;
  }

  async publish(stream: MediaStream): Promise<void> {
    if (!this.#send) throw new Error('not joined');
    for (const track of stream.getTracks()) await this.#produce(this.#send, track);
  }

  /**
   * Sends `track` instead of the current track of its kind (device picker): swapped into the same producer, no
   * renegotiation. An audio track whose noise suppressor runs where the current one's does not (or the other way
   * round) goes out as a new producer instead (closeProducer, produce): the service calibrates its voice detectors
   * by what the producer said when it was made.
   */
  async replaceTrack(track: MediaStreamTrack): Promise<boolean> {
    let replaced = false;
    for (const producer of [...this.producers.values()]) {
      if (producer.kind !== track.kind || producer.closed) continue;
      if (track.kind === 'audio' && this.#send && noiseSuppressionOf(track).noiseSuppression !== producer.appData['noiseSuppression']) {
        await this.signalling.request('closeProducer', { producerId: producer.id });
        producer.close();
        this.producers.delete(producer.id);
        await this.#produce(this.#send, track);
      } else {
        await producer.replaceTrack({ track });
      }
      replaced = true;
    }
    return replaced;
  }

  async #produce(transport: types.Transport, track: MediaStreamTrack): Promise<void> {
    const producer = await transport.produce({
      track,
      // The page owns its tracks: they outlive a transport (rejoin) and a replaced track.
      stopTracks: false,
      ...(track.kind === 'video' ? { encodings: [{ maxBitrate: 800_000 }] } : {}),
      ...(track.kind === 'audio' ? { codecOptions: { opusStereo: false, opusDtx: false, opusFec: true }, appData: noiseSuppressionOf(track) } : {}),
    });
    this.producers.set(producer.id, producer);
  }

  /** Inbound/outbound RTP stats per kind, for tests and diagnostics. */
  async stats(): Promise<{ inbound: Record<string, unknown>[]; outbound: Record<string, unknown>[] }> {
    const inbound: Record<string, unknown>[] = [];
    const outbound: Record<string, unknown>[] = [];
    for (const t of [this.#recv, this.#send]) {
      if (!t) continue;
      const report = await t.getStats();
      report.forEach((s: Record<string, unknown>) => {
        if (s['type'] === 'inbound-rtp') inbound.push({ kind: s['kind'], ssrc: s['ssrc'], packetsReceived: s['packetsReceived'], bytesReceived: s['bytesReceived'], framesDecoded: s['framesDecoded'], totalSamplesReceived: s['totalSamplesReceived'], audioLevel: s['audioLevel'] });
        if (s['type'] === 'outbound-rtp') outbound.push({ kind: s['kind'], packetsSent: s['packetsSent'], bytesSent: s['bytesSent'], framesEncoded: s['framesEncoded'] });
      });
    }
    return { inbound, outbound };
  }

  leave(): void {
    this.signalling.close();
    this.#send?.close();
    this.#recv?.close();
  }

  async #createTransport(direction: 'send' | 'recv'): Promise<types.Transport> {
    const params = await this.signalling.request<{ id: string; iceParameters: types.IceParameters; iceCandidates: types.IceCandidate[]; dtlsParameters: types.DtlsParameters }>(
      'createWebRtcTransport',
      { direction },
    );
    const transport = direction === 'send' ? this.device.createSendTransport(params) : this.device.createRecvTransport(params);
    transport.on('connect', ({ dtlsParameters }, callback, errback) => {
      this.signalling.request('connectWebRtcTransport', { transportId: transport.id, dtlsParameters }).then(() => callback(), errback);
    });
    if (direction === 'send') {
      transport.on('produce', ({ kind, rtpParameters, appData }, callback, errback) => {
        // Tell the service whether the browser's noise suppressor runs on this audio: it calibrates the voice detectors for it.
        const ns = appData['noiseSuppression'];
        this.signalling
          .request<{ producerId: string }>('produce', { transportId: transport.id, kind, rtpParameters, ...(typeof ns === 'boolean' ? { noiseSuppression: ns } : {}) })
          .then(({ producerId }) => callback({ id: producerId }), errback);
      });
    }
    return transport;
  }

  /** Producers announced before the recv transport existed, consumed once it does. */
  #early: { peerId: string; producerId: string }[] = [];
  /** Producers consumed (or being consumed): each at most once. */
  readonly #consumed = new Set<string>();

  /** Consumes, logging a failure (a producer may close before it is consumed) instead of failing the join. */
  async #consumeSafely(peerId: string, producerId: string): Promise<void> {
    try {
      await this.#consume(peerId, producerId);
    } catch (e) {
      console.warn('consume failed', e);
    }
  }

  async #consume(peerId: string, producerId: string): Promise<void> {
    if (!this.#recv) {
      this.#early.push({ peerId, producerId });
      return;
    }
    if (this.#consumed.has(producerId)) return;
    this.#consumed.add(producerId);
    const p = await this.signalling.request<{ consumerId: string; producerId: string; kind: 'audio' | 'video'; rtpParameters: types.RtpParameters }>('consume', {
      transportId: this.#recv.id,
      producerId,
    });
    const consumer = await this.#recv.consume({ id: p.consumerId, producerId: p.producerId, kind: p.kind, rtpParameters: p.rtpParameters });
    this.consumers.set(consumer.id, consumer);
    await this.signalling.request('resumeConsumer', { consumerId: consumer.id });
    this.cb.onRemoteTrack?.({ peerId, consumerId: consumer.id, producerId, kind: p.kind, track: consumer.track });
  }

  async #onNotification(method: string, data: Record<string, unknown>): Promise<void> {
    this.cb.onNotification?.(method, data);
    switch (method) {
      case 'peerJoined':
        this.peerNames.set(String(data['peerId']), String(data['displayName']));
        this.cb.onPeerJoined?.(String(data['peerId']), String(data['displayName']));
        break;
      case 'peerLeft':
        this.cb.onPeerLeft?.(String(data['peerId']));
        break;
      case 'newProducer':
        await this.#consumeSafely(String(data['peerId']), String(data['producerId']));
        break;
      case 'consumerClosed': {
        const id = String(data['consumerId']);
        this.consumers.get(id)?.close();
        this.consumers.delete(id);
        this.cb.onRemoteTrackEnded?.(id);
        break;
      }
    }
  }
}

/** What the browser says of its noise suppressor on an audio track ({} when it does not say). */
function noiseSuppressionOf(track: MediaStreamTrack): { noiseSuppression?: boolean } {
  const ns = track.getSettings().noiseSuppression;
  return typeof ns === 'boolean' ? { noiseSuppression: ns } : {};
}

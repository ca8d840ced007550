/**
 * A tap on one producer: a paused consumer whose RTP goes to Node, never to a participant.
 * The consumer is on the room's tap transport: a DirectTransport (each packet a message on
 * mediasoup's channel to Node) or a PlainTransport sending UDP to the room's TapReceiver on
 * loopback (each packet one datagram, as to any participant; see Room's `tapTransport`).
 * The pipeline attaches a sink, then resumes the tap; for video the tap requests a keyframe
 * as soon as it is resumed. What participants receive is untouched: the tap is just one more
 * consumer of the producer.
 */
import type { types } from './mediasoup.js';
import { TypedEmitter } from '../kernel/TypedEmitter.js';
import { counter } from '../kernel/metrics.js';
import type { MediaSource, MediaSourceCodec, MediaSourceEvents, MediaSourceInfo } from '../pipeline/MediaSource.js';
import type { TapReceiver } from './TapReceiver.js';

export type TapCodec = MediaSourceCodec;

export interface TapInfo extends MediaSourceInfo {
  /** SSRC of the tap's outgoing stream (what the sink sees). */
  ssrc: number | undefined;
}

export type MediaTapEvents = MediaSourceEvents;

const tapPackets = counter<'kind'>({ name: 'dfd_tap_rtp_packets_total', help: 'RTP packets delivered by media taps', labelNames: ['kind'] });

export class MediaTap extends TypedEmitter<MediaTapEvents> implements MediaSource {
  readonly info: TapInfo;
  readonly #consumer: types.Consumer;
  #closed = false;
  #packets = 0;
  #unregister: (() => void) | undefined;

  /** `receiver`: the room's UDP tap socket when the consumer is on a PlainTransport; else its 'rtp' events. */
  constructor(consumer: types.Consumer, info: Omit<TapInfo, 'id' | 'codec' | 'ssrc'>, receiver?: TapReceiver) {
    super();
    this.#consumer = consumer;
    const codec = consumer.rtpParameters.codecs[0];
    this.info = {
      ...info,
      id: consumer.id,
      codec: {
        mimeType: codec?.mimeType ?? 'unknown',
        payloadType: codec?.payloadType ?? -1,
        clockRate: codec?.clockRate ?? 0,
        ...(codec?.channels !== undefined ? { channels: codec.channels } : {}),
        parameters: { ...(codec?.parameters ?? {}) },
      },
      ssrc: consumer.rtpParameters.encodings?.[0]?.ssrc,
    };
    const label = { kind: info.kind };
    const deliver = (packet: Buffer, arrivalMs: number): void => {
      this.#packets++;
      tapPackets.inc(label);
      this.safeEmit('rtp', packet, arrivalMs);
    };
    const ssrc = this.info.ssrc;
    if (receiver && ssrc !== undefined) this.#unregister = receiver.register(ssrc, deliver);
    else consumer.on('rtp', (packet: Buffer) => deliver(packet, Date.now()));
    consumer.on('transportclose', () => this.close());
    consumer.on('producerclose', () => this.close());
  }

  get closed(): boolean {
    return this.#closed;
  }

  get paused(): boolean {
    return this.#consumer.paused;
  }

  /** Packets delivered since the tap opened. */
  get packets(): number {
    return this.#packets;
  }

  /** Call once the sink is attached. Video taps request a keyframe straight away. */
  async resume(): Promise<void> {
    if (this.#closed) return;
    await this.#consumer.resume();
    if (this.info.kind === 'video') await this.requestKeyFrame();
  }

  async requestKeyFrame(): Promise<void> {
    if (this.#closed || this.info.kind !== 'video') return;
    try {
      await this.#consumer.requestKeyFrame();
    } catch {
      /* consumer closing */
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#unregister?.();
    if (!this.#consumer.closed) this.#consumer.close();
    this.safeEmit('close');
    this.removeAllListeners();
  }
}

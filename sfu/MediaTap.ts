/**
 * A tap on one producer: a paused DirectTransport consumer whose RTP goes to Node,
 * never to a participant. The pipeline attaches a sink, then resumes the tap; for video
 * the tap requests a keyframe as soon as it is resumed. What participants receive is
 * untouched: the tap is just one more consumer of the producer.
 */
import type { types } from './mediasoup.js';
import { TypedEmitter } from '../kernel/TypedEmitter.js';
import { counter } from '../kernel/metrics.js';
import type { MediaSource, MediaSourceCodec, MediaSourceEvents, MediaSourceInfo } from '../pipeline/MediaSource.js';

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

  constructor(consumer: types.Consumer, info: Omit<TapInfo, 'id' | 'codec' | 'ssrc'>) {
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
    consumer.on('rtp', (packet: Buffer) => {
      this.#packets++;
      tapPackets.inc(label);
      this.safeEmit('rtp', packet, Date.now());
    });
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
    if (!this.#consumer.closed) this.#consumer.close();
    this.safeEmit('close');
    this.removeAllListeners();
  }
}

/**
 * The pipeline's input port. A media source is one incoming stream of one participant: an
 * SFU tap on a WebRTC producer today, a phone leg's plain RTP, or anything else that can
 * hand over RTP packets. Sources start paused; the consumer attaches its listeners and
 * then resumes the source. The pipeline defines this port; the sources implement it
 * (`sfu/MediaTap.ts`), so the pipeline imports nothing of the SFU.
 */
import type { MediaKind } from './messages.js';

export interface MediaSourceCodec {
  mimeType: string;
  payloadType: number;
  clockRate: number;
  channels?: number;
  parameters: Record<string, unknown>;
}

export interface MediaSourceInfo {
  /** Unique per source (an SFU tap uses its consumer id). */
  id: string;
  roomId: string;
  /** The tenant of the room (absent: the service's default tenant): picks the tenant's calibration. */
  tenant?: string;
  peerId: string;
  producerId: string;
  kind: MediaKind;
  codec: MediaSourceCodec;
  /**
   * Audio: the sender ran a noise suppressor before encoding (a browser's getUserMedia does by
   * default). It removes the room noise between words that real recordings carry and speech
   * synthesis lacks, so detectors score these windows with their `calibration.suppressed`.
   */
  senderNoiseSuppression?: boolean;
  /**
   * Audio: the source is a gateway's leg (a SIP/telephony gateway's, or plain-RTP ingest), not a
   * browser's. Such a leg never says whether its far end suppressed noise, so its Opus audio is
   * judged as a leg family of its own (AudioQuality.codec 'sip-opus', Manifest verdict.weightSipOpus).
   */
  gatewayLeg?: boolean;
}

export interface MediaSourceEvents {
  /** One RTP packet of the source's stream. */
  rtp: [packet: Buffer, arrivalMs: number];
  /** The source ended; no more packets come. */
  close: [];
}

export interface MediaSource {
  readonly info: MediaSourceInfo;
  on<K extends keyof MediaSourceEvents>(event: K, listener: (...args: MediaSourceEvents[K]) => void): unknown;
  off<K extends keyof MediaSourceEvents>(event: K, listener: (...args: MediaSourceEvents[K]) => void): unknown;
  /** Starts the flow of packets (sources start paused). */
  resume(): Promise<void> | void;
  close(): void;
  /** Video only: ask the sender for a keyframe (the decoder lost its reference). */
  requestKeyFrame?(): unknown;
}

/** What takes sources in (the analysis pipeline), with the participant lifecycle it needs. */
export interface MediaSourceConsumer {
  addSource(source: MediaSource): void;
  /** The participant left: its state may be forgotten once its sources close. */
  participantLeft(roomId: string, peerId: string): void;
  /** The room closed: all of its participants' state may be forgotten. */
  roomClosed(roomId: string): void;
}

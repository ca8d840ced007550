/**
 * The audio codecs a tapped stream may carry: WebRTC Opus (48 kHz clock), G.711 mu-law
 * (PCMU, 8 kHz) from a phone leg, or G.722 (16 kHz audio on an 8 kHz RTP clock) from a SIP call. Kept apart from AudioStreamProcessor so the main thread
 * can name a codec without loading the decoders.
 */
import type { LegCodec } from '../../detectors/registry/Manifest.js';

export type AudioCodec = 'opus' | 'pcmu' | 'g722';

/** The codec for an RTP mime type (e.g. "audio/PCMU"), or undefined when unsupported. */
export function audioCodecOf(mimeType: string): AudioCodec | undefined {
  const m = mimeType.toLowerCase();
  return m === 'audio/opus' ? 'opus' : m === 'audio/pcmu' ? 'pcmu' : m === 'audio/g722' ? 'g722' : undefined;
}

/**
 * The mark a stream's windows carry for their leg family (AudioQuality.codec): 'g722' for a G.722
 * leg, 'sip-opus' for Opus from a gateway's leg (`gatewayLeg`: SIP or plain RTP), none otherwise
 * (a browser's Opus, a phone leg's G.711). One rule for the service and the offline tools.
 */
export function legCodecOf(codec: string, gatewayLeg: boolean): LegCodec | undefined {
  return codec === 'g722' ? 'g722' : codec === 'opus' && gatewayLeg ? 'sip-opus' : undefined;
}

/**
 * Packet time of both audio paths: WebRTC Opus sends 20 ms frames, Twilio 20 ms mu-law chunks
 * (160 bytes at 8 kHz).
 */
export const AUDIO_PACKET_MS = 20;

/** Samples (RTP clock ticks) in one packet at `clockRate`: 960 for Opus (48 kHz), 160 for PCMU (8 kHz). */
export function samplesPerPacket(clockRate: number): number {
  return Math.round((clockRate * AUDIO_PACKET_MS) / 1000);
}

/**
 * Fraction (0..1) of a stream's audio made up by loss concealment, from its counters:
 * `concealedSamples` counts RTP clock ticks of the stream (`clockRate`), so the packets are
 * weighed at that rate too.
 */
export function concealedFraction(s: { concealedSamples: number; packets: number; clockRate: number }): number {
  return Math.min(1, s.concealedSamples / Math.max(1, s.packets * samplesPerPacket(s.clockRate)));
}

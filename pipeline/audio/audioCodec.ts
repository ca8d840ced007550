/**
 * The audio codecs a tapped stream may carry: WebRTC Opus (48 kHz clock), or G.711 mu-law
 * (PCMU, 8 kHz) from a phone leg. Kept apart from AudioStreamProcessor so the main thread
 * can name a codec without loading the decoders.
 */
export type AudioCodec = 'opus' | 'pcmu';

/** The codec for an RTP mime type (e.g. "audio/PCMU"), or undefined when unsupported. */
export function audioCodecOf(mimeType: string): AudioCodec | undefined {
  const m = mimeType.toLowerCase();
  return m === 'audio/opus' ? 'opus' : m === 'audio/pcmu' ? 'pcmu' : undefined;
}

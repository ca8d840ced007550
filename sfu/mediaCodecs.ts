import type { types } from './mediasoup.js';

/**
 * Codecs every router offers. Opus is what the audio pipeline decodes; VP8 what the video path decodes.
 * PCMU (G.711 mu-law, 8 kHz) and G.722 carry phone legs (ingest/), decoded by the pipeline too; they come
 * after Opus so browsers keep sending Opus.
 */
export const mediaCodecs: types.RtpCodecCapability[] = [
  { kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 },
  { kind: 'audio', mimeType: 'audio/PCMU', clockRate: 8000, preferredPayloadType: 0 },
  // G.722 carries SIP calls that negotiate it (16 kHz audio on an 8 kHz RTP clock, RFC 3551).
  { kind: 'audio', mimeType: 'audio/G722', clockRate: 8000, preferredPayloadType: 9 },
  {
    kind: 'video',
    mimeType: 'video/VP8',
    clockRate: 90000,
    parameters: { 'x-google-start-bitrate': 800 },
  },
];

import type { types } from './mediasoup.js';

/**
 * Codecs every router offers. Opus is what the audio pipeline decodes; VP8 what the video path decodes.
 * PCMU (G.711 mu-law, 8 kHz) carries phone legs (ingest/), decoded by the pipeline too; it comes after
 * Opus so browsers keep sending Opus.
 */
export const mediaCodecs: types.RtpCodecCapability[] = [
  { kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 },
  { kind: 'audio', mimeType: 'audio/PCMU', clockRate: 8000, preferredPayloadType: 0 },
  {
    kind: 'video',
    mimeType: 'video/VP8',
    clockRate: 90000,
    parameters: { 'x-google-start-bitrate': 800 },
  },
];

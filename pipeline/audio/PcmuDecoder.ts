/**
 * G.711 mu-law (PCMU, RTP payload type 0, 8 kHz) as a stream decoder with the same shape
 * as OpusDecoder, so the audio path of a tapped stream can take telephone audio (a phone
 * leg from ingest/) as well as WebRTC Opus. Decoding is the bit-exact table of
 * `G711.ts`; a gap is concealed with silence (SilenceConcealingDecoder).
 */
import { SilenceConcealingDecoder } from './SilenceConcealingDecoder.js';
import { muLawDecodeFloat } from './G711.js';

/** PCMU is sampled at 8 kHz: one sample per byte and per RTP tick. */
export const PCMU_RATE = 8000;

export class PcmuDecoder extends SilenceConcealingDecoder {
  constructor() {
    super('PcmuDecoder');
  }

  /** Decodes one payload (one mu-law byte per sample) to float PCM at 8 kHz. View valid until the next call. */
  decode(payload: Uint8Array): Float32Array {
    this.assertOpen();
    const out = muLawDecodeFloat(payload, this.scratch(payload.length));
    this.counts.decodedPackets++;
    this.counts.decodedSamples += payload.length;
    return out;
  }
}

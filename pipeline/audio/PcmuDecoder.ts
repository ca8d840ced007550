/**
 * G.711 mu-law (PCMU, RTP payload type 0, 8 kHz) as a stream decoder with the same shape
 * as OpusDecoder, so the audio path of a tapped stream can take telephone audio (a phone
 * leg from ingest/) as well as WebRTC Opus. Decoding is the bit-exact table of
 * `G711.ts`; a gap is concealed with silence (G.711 has no codec PLC; the gap is counted
 * as concealment, which the window quality reports).
 */
import { DfdError } from '../../kernel/errors.js';
import { muLawDecodeFloat } from './G711.js';

/** PCMU is sampled at 8 kHz: one sample per byte and per RTP tick. */
export const PCMU_RATE = 8000;

export interface PcmuDecoderStats {
  decodedPackets: number;
  decodedSamples: number;
  /** Always 0: every byte is a valid mu-law code. Kept for the decoder interface. */
  decodeErrors: number;
  concealedSamples: number;
}

export class PcmuDecoder {
  /** Scratch output; views into it are valid until the next call. */
  #out = new Float32Array(1600);
  #closed = false;
  readonly #stats: PcmuDecoderStats = { decodedPackets: 0, decodedSamples: 0, decodeErrors: 0, concealedSamples: 0 };

  stats(): PcmuDecoderStats {
    return { ...this.#stats };
  }

  #scratch(n: number): Float32Array {
    if (this.#out.length < n) this.#out = new Float32Array(n);
    return this.#out;
  }

  /** Decodes one payload (one mu-law byte per sample) to float PCM at 8 kHz. View valid until the next call. */
  decode(payload: Uint8Array): Float32Array {
    if (this.#closed) throw new DfdError('ERR_CLOSED', 'PcmuDecoder');
    const out = muLawDecodeFloat(payload, this.#scratch(payload.length));
    this.#stats.decodedPackets++;
    this.#stats.decodedSamples += payload.length;
    return out;
  }

  /** `samples` samples of silence standing in for lost packets. View valid until the next call. */
  conceal(samples: number): Float32Array {
    if (this.#closed) throw new DfdError('ERR_CLOSED', 'PcmuDecoder');
    const n = Math.max(0, Math.floor(samples));
    const out = this.#scratch(n);
    out.fill(0, 0, n);
    this.#stats.concealedSamples += n;
    return out.subarray(0, n);
  }

  close(): void {
    this.#closed = true;
  }
}

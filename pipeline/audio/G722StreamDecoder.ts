/**
 * G.722 (RTP payload type 9: 16 kHz audio on an 8 kHz RTP clock, RFC 3551) as a stream
 * decoder with the shape of OpusDecoder and PcmuDecoder, for SIP calls that negotiated it:
 * wideband telephone audio straight at the windows' 16 kHz (no resampler). One byte is one
 * RTP tick and two output samples; a gap is concealed with silence (G.722 has no codec PLC),
 * counted as concealment; the decoder state carries across packets.
 */
import { DfdError } from '../../kernel/errors.js';
import { G722Decoder } from './G722.js';

export interface G722StreamDecoderStats {
  decodedPackets: number;
  decodedSamples: number;
  /** Always 0: every byte is a valid G.722 code. Kept for the decoder interface. */
  decodeErrors: number;
  concealedSamples: number;
}

export class G722StreamDecoder {
  readonly #codec = new G722Decoder();
  #pcm = new Int16Array(3200);
  #out = new Float32Array(3200);
  #closed = false;
  readonly #stats: G722StreamDecoderStats = { decodedPackets: 0, decodedSamples: 0, decodeErrors: 0, concealedSamples: 0 };

  stats(): G722StreamDecoderStats {
    return { ...this.#stats };
  }

  #scratch(n: number): Float32Array {
    if (this.#out.length < n) this.#out = new Float32Array(n);
    return this.#out;
  }

  /** Decodes one payload to float PCM at 16 kHz (two samples per byte). View valid until the next call. */
  decode(payload: Uint8Array): Float32Array {
    if (this.#closed) throw new DfdError('ERR_CLOSED', 'G722StreamDecoder');
    const n = payload.length * 2;
    if (this.#pcm.length < n) this.#pcm = new Int16Array(n);
    const pcm = this.#codec.decode(payload, this.#pcm);
    const out = this.#scratch(n);
    for (let i = 0; i < n; i++) out[i] = pcm[i]! / 32768;
    this.#stats.decodedPackets++;
    this.#stats.decodedSamples += n;
    return out.subarray(0, n);
  }

  /** `samples` samples (16 kHz) of silence standing in for lost packets. View valid until the next call. */
  conceal(samples: number): Float32Array {
    if (this.#closed) throw new DfdError('ERR_CLOSED', 'G722StreamDecoder');
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

/**
 * What the table codecs' stream decoders (G.711 PCMU, G.722) share, in the shape of
 * OpusDecoder: counters, a scratch output buffer (views valid until the next call), and loss
 * concealed with silence (these codecs have no PLC of their own; the gap is counted as
 * concealment, which the window quality reports). A subclass decodes one payload.
 */
import { DfdError } from '../../kernel/errors.js';

export interface TableDecoderStats {
  decodedPackets: number;
  decodedSamples: number;
  /** Always 0: every byte is a valid code. Kept for the decoder interface. */
  decodeErrors: number;
  concealedSamples: number;
}

export abstract class SilenceConcealingDecoder {
  readonly #name: string;
  #out = new Float32Array(3200);
  #closed = false;
  protected readonly counts: TableDecoderStats = { decodedPackets: 0, decodedSamples: 0, decodeErrors: 0, concealedSamples: 0 };

  protected constructor(name: string) {
    this.#name = name;
  }

  /** Decodes one payload to float PCM. View valid until the next call. */
  abstract decode(payload: Uint8Array): Float32Array;

  stats(): TableDecoderStats {
    return { ...this.counts };
  }

  /** `samples` samples of silence standing in for lost packets. View valid until the next call. */
  conceal(samples: number): Float32Array {
    this.assertOpen();
    const n = Math.max(0, Math.floor(samples));
    const out = this.scratch(n);
    out.fill(0, 0, n);
    this.counts.concealedSamples += n;
    return out.subarray(0, n);
  }

  close(): void {
    this.#closed = true;
  }

  protected assertOpen(): void {
    if (this.#closed) throw new DfdError('ERR_CLOSED', this.#name);
  }

  /** The scratch output, at least `n` long. */
  protected scratch(n: number): Float32Array {
    if (this.#out.length < n) this.#out = new Float32Array(n);
    return this.#out;
  }
}

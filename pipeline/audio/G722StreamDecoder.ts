/**
 * G.722 (RTP payload type 9: 16 kHz audio on an 8 kHz RTP clock, RFC 3551) as a stream
 * decoder with the shape of OpusDecoder and PcmuDecoder, for SIP calls that negotiated it:
 * wideband telephone audio straight at the windows' 16 kHz (no resampler). One byte is one
 * RTP tick and two output samples; a gap is concealed with silence (SilenceConcealingDecoder);
 * the decoder state carries across packets.
 */
import { SilenceConcealingDecoder } from './SilenceConcealingDecoder.js';
import { G722Decoder } from './G722.js';

export class G722StreamDecoder extends SilenceConcealingDecoder {
  readonly #codec = new G722Decoder();
  #pcm = new Int16Array(3200);

  constructor() {
    super('G722StreamDecoder');
  }

  /** Decodes one payload to float PCM at 16 kHz (two samples per byte). View valid until the next call. */
  decode(payload: Uint8Array): Float32Array {
    this.assertOpen();
    const n = payload.length * 2;
    if (this.#pcm.length < n) this.#pcm = new Int16Array(n);
    const pcm = this.#codec.decode(payload, this.#pcm);
    const out = this.scratch(n);
    for (let i = 0; i < n; i++) out[i] = pcm[i]! / 32768;
    this.counts.decodedPackets++;
    this.counts.decodedSamples += n;
    return out.subarray(0, n);
  }
}

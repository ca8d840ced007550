/**
 * Opus decoding for one mono stream at 48 kHz or straight to 8/12/16/24 kHz (libopus decodes
 * natively at those rates), on top of libopus through @discordjs/opus.
 *
 * Concealment: @discordjs/opus has no explicit PLC call, but its `decode()` forwards an
 * empty buffer to `opus_decode(len = 0)`, which libopus treats as a lost packet and
 * answers with its real packet-loss concealment (SILK/CELT extrapolation that fades out).
 * The binding always asks for 5760 samples (120 ms at 48 kHz) in that case, so one PLC call covers
 * gaps up to 120 ms; we keep as many samples as the gap needs and fill the rest of a longer
 * gap with silence. Every concealed sample (PLC or silence) is counted.
 * Caveat: the decoder state advances by the full 120 ms even when a shorter gap is filled;
 * libopus cross-fades into the next real packet, so the effect is a slightly quieter onset.
 * At 16 kHz (the pipeline's rate) the binding's fixed 5760-sample request is 360 ms of PLC:
 * one call costs about 0.26 ms of CPU (13 ordinary packet decodes), the concealed 20 ms and
 * the packets after it match the 48 kHz decode resampled (docs/performance.md, 2026-12-03).
 *
 * Decode failures (corrupt payloads) are counted and answered with concealment of the
 * packet's nominal duration; nothing is thrown.
 */
import opus from '@discordjs/opus';
import { DfdError } from '../../kernel/errors.js';

export type OpusBandwidth = 'NB' | 'MB' | 'WB' | 'SWB' | 'FB';
export type OpusMode = 'SILK' | 'HYBRID' | 'CELT';

export interface OpusToc {
  config: number;
  mode: OpusMode;
  bandwidth: OpusBandwidth;
  stereo: boolean;
  /** Samples per frame at 48 kHz (120 .. 2880). */
  frameSamples: number;
  /** Frames in the packet (1 .. 48). */
  frameCount: number;
  /** frameSamples * frameCount. */
  durationSamples: number;
}

const SILK_SIZES = [480, 960, 1920, 2880];
const CELT_SIZES = [120, 240, 480, 960];
const HYBRID_SIZES = [480, 960];

/**
 * Parses the TOC byte (RFC 6716 section 3.1) and the frame count. Throws
 * DfdError('ERR_DECODE_FAILED') for empty packets, code 3 packets without a count byte,
 * zero frames or more than 120 ms of audio.
 */
export function parseOpusToc(payload: Uint8Array): OpusToc {
  if (payload.byteLength < 1) throw new DfdError('ERR_DECODE_FAILED', 'empty Opus packet');
  const toc = payload[0]!;
  const config = toc >>> 3;
  const stereo = (toc & 0x04) !== 0;
  const code = toc & 0x03;
  let mode: OpusMode;
  let bandwidth: OpusBandwidth;
  let frameSamples: number;
  if (config < 12) {
    mode = 'SILK';
    bandwidth = (['NB', 'MB', 'WB'] as const)[config >>> 2]!;
    frameSamples = SILK_SIZES[config & 3]!;
  } else if (config < 16) {
    mode = 'HYBRID';
    bandwidth = config < 14 ? 'SWB' : 'FB';
    frameSamples = HYBRID_SIZES[config & 1]!;
  } else {
    mode = 'CELT';
    bandwidth = (['NB', 'WB', 'SWB', 'FB'] as const)[(config - 16) >>> 2]!;
    frameSamples = CELT_SIZES[config & 3]!;
  }
  let frameCount: number;
  if (code === 0) frameCount = 1;
  else if (code === 1 || code === 2) frameCount = 2;
  else {
    if (payload.byteLength < 2) throw new DfdError('ERR_DECODE_FAILED', 'code 3 Opus packet without frame count');
    frameCount = payload[1]! & 0x3f;
    if (frameCount === 0) throw new DfdError('ERR_DECODE_FAILED', 'Opus packet with zero frames');
  }
  const durationSamples = frameSamples * frameCount;
  if (durationSamples > 5760) throw new DfdError('ERR_DECODE_FAILED', 'Opus packet longer than 120 ms', { durationSamples });
  return { config, mode, bandwidth, stereo, frameSamples, frameCount, durationSamples };
}

export interface OpusDecoderOptions {
  /** Longest gap (48 kHz samples) filled by libopus PLC; the rest of a longer gap is silence. */
  maxPlcSamples: number;
  /**
   * Output rate: 48000, or 8000/12000/16000/24000 to let libopus decode straight to the rate
   * the detectors use (cheaper than decoding at 48 kHz and resampling).
   */
  sampleRate: number;
}

export const defaultOpusDecoderOptions: OpusDecoderOptions = {
  maxPlcSamples: 5760,
  sampleRate: 48000,
};

/** Rates libopus decodes to natively. */
export const OPUS_DECODE_RATES: readonly number[] = [8000, 12000, 16000, 24000, 48000];

export interface OpusDecoderStats {
  decodedPackets: number;
  decodedSamples: number;
  decodeErrors: number;
  /** Samples produced by concealment (PLC or silence). */
  concealedSamples: number;
}

const SCALE = 1 / 32768;
const MAX_DECODE = 5760;
const EMPTY = Buffer.alloc(0);

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Converts the first n int16 LE samples of `pcm` to float. */
function toFloat(pcm: Buffer, n: number, out: Float32Array): void {
  if (LITTLE_ENDIAN && pcm.byteOffset % 2 === 0) {
    const s16 = new Int16Array(pcm.buffer, pcm.byteOffset, n);
    for (let i = 0; i < n; i++) out[i] = s16[i]! * SCALE;
  } else {
    for (let i = 0; i < n; i++) out[i] = pcm.readInt16LE(i * 2) * SCALE;
  }
}

export class OpusDecoder {
  readonly #opts: OpusDecoderOptions;
  #codec: InstanceType<typeof opus.OpusEncoder> | undefined;
  /** Scratch output; views into it are valid until the next call. */
  #out = new Float32Array(MAX_DECODE);
  #primed = false;
  readonly #stats: OpusDecoderStats = { decodedPackets: 0, decodedSamples: 0, decodeErrors: 0, concealedSamples: 0 };

  constructor(options: Partial<OpusDecoderOptions> = {}) {
    this.#opts = { ...defaultOpusDecoderOptions, ...options };
    if (!OPUS_DECODE_RATES.includes(this.#opts.sampleRate)) throw new DfdError('ERR_CONFIG', 'unsupported Opus decode rate', { sampleRate: this.#opts.sampleRate });
    this.#codec = new opus.OpusEncoder(this.#opts.sampleRate, 1);
  }

  /** Output samples per 48 kHz RTP tick: 1 at 48 kHz, 1/3 at 16 kHz. */
  get rateRatio(): number {
    return this.#opts.sampleRate / 48000;
  }

  stats(): OpusDecoderStats {
    return { ...this.#stats };
  }

  #scratch(n: number): Float32Array {
    if (this.#out.length < n) this.#out = new Float32Array(n);
    return this.#out;
  }

  /**
   * Decodes one Opus payload to mono float PCM in [-1, 1) at `sampleRate`. The result is a view into
   * a scratch buffer, valid until the next call. A corrupt payload is counted and replaced
   * by concealment of its nominal duration (20 ms when the TOC is unreadable).
   */
  decode(payload: Uint8Array): Float32Array {
    if (!this.#codec) throw new DfdError('ERR_CLOSED', 'OpusDecoder');
    let pcm: Buffer;
    try {
      const buf = Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
      if (buf.byteLength === 0) throw new DfdError('ERR_DECODE_FAILED', 'empty payload');
      pcm = this.#codec.decode(buf);
    } catch {
      this.#stats.decodeErrors++;
      let n = 960;
      try {
        n = parseOpusToc(payload).durationSamples;
      } catch {
        // unreadable TOC: assume the usual 20 ms
      }
      return this.conceal(Math.round(n * this.rateRatio));
    }
    const n = pcm.byteLength >>> 1;
    const out = this.#scratch(n);
    toFloat(pcm, n, out);
    this.#primed = true;
    this.#stats.decodedPackets++;
    this.#stats.decodedSamples += n;
    return out.subarray(0, n);
  }

  /**
   * Produces `samples` samples (at `sampleRate`) to stand in for lost packets: libopus PLC for
   * the first maxPlcSamples (48 kHz units), silence after that (or for all of it before the first real packet).
   * View valid until the next call.
   */
  conceal(samples: number): Float32Array {
    if (!this.#codec) throw new DfdError('ERR_CLOSED', 'OpusDecoder');
    const n = Math.max(0, Math.floor(samples));
    const out = this.#scratch(n);
    out.fill(0, 0, n);
    if (n > 0 && this.#primed) {
      try {
        const pcm = this.#codec.decode(EMPTY);
        const m = Math.min(n, pcm.byteLength >>> 1, Math.round(this.#opts.maxPlcSamples * this.rateRatio));
        toFloat(pcm, m, out);
      } catch {
        this.#stats.decodeErrors++;
      }
    }
    this.#stats.concealedSamples += n;
    return out.subarray(0, n);
  }

  close(): void {
    this.#codec = undefined;
  }
}

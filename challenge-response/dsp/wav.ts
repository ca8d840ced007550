/**
 * Minimal RIFF/WAVE reader (and writer) for 16-bit PCM (what espeak-ng and sox write), and one-shot
 * resampling through the pipeline's resampler, so the module needs no codec library.
 */
import { DfdError } from '../../kernel/errors.js';
import { resampleClip } from '../../pipeline/audio/Resampler.js';

export interface PcmClip {
  sampleRate: number;
  /** Mono samples in -1..1 (channels are averaged). */
  samples: Float32Array;
}

export function parseWav(buf: Buffer): PcmClip {
  if (buf.length < 12 || buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') {
    throw new DfdError('ERR_DECODE_FAILED', 'not a RIFF/WAVE buffer');
  }
  let off = 12;
  let sampleRate = 0;
  let channels = 0;
  let bits = 0;
  let format = 0;
  while (off + 8 <= buf.length) {
    const id = buf.toString('ascii', off, off + 4);
    let size = buf.readUInt32LE(off + 4);
    const body = off + 8;
    if (id === 'fmt ' && body + 16 <= buf.length) {
      format = buf.readUInt16LE(body);
      channels = buf.readUInt16LE(body + 2);
      sampleRate = buf.readUInt32LE(body + 4);
      bits = buf.readUInt16LE(body + 14);
    } else if (id === 'data') {
      // espeak-ng --stdout writes 0xFFFFFFFF-ish sizes when streaming: clamp to the buffer.
      if (size === 0 || body + size > buf.length) size = buf.length - body;
      if (format !== 1 || bits !== 16 || channels < 1 || sampleRate <= 0) {
        throw new DfdError('ERR_DECODE_FAILED', 'only 16-bit PCM WAV is supported', { format, bits, channels });
      }
      const frames = Math.floor(size / (2 * channels));
      const samples = new Float32Array(frames);
      for (let i = 0; i < frames; i++) {
        let sum = 0;
        for (let c = 0; c < channels; c++) sum += buf.readInt16LE(body + 2 * (i * channels + c));
        samples[i] = sum / channels / 32768;
      }
      return { sampleRate, samples };
    }
    off = body + size + (size & 1);
  }
  throw new DfdError('ERR_DECODE_FAILED', 'WAV has no data chunk');
}

/** 16-bit PCM mono RIFF/WAVE of samples in -1..1 (clipped), the format parseWav reads. */
export function encodeWav(samples: Float32Array, sampleRate: number): Buffer {
  const b = Buffer.alloc(44 + samples.length * 2);
  b.write('RIFF', 0, 'ascii');
  b.writeUInt32LE(36 + samples.length * 2, 4);
  b.write('WAVEfmt ', 8, 'ascii');
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20);
  b.writeUInt16LE(1, 22);
  b.writeUInt32LE(sampleRate, 24);
  b.writeUInt32LE(sampleRate * 2, 28);
  b.writeUInt16LE(2, 32);
  b.writeUInt16LE(16, 34);
  b.write('data', 36, 'ascii');
  b.writeUInt32LE(samples.length * 2, 40);
  for (let i = 0; i < samples.length; i++) b.writeInt16LE(Math.round(Math.max(-1, Math.min(1, samples[i]!)) * 32767), 44 + i * 2);
  return b;
}

/** One-shot resampling of a whole clip with the pipeline's band-limited resampler (a copy, never the input). */
export function resample(input: Float32Array, fromRate: number, toRate: number): Float32Array {
  return fromRate === toRate ? input.slice() : resampleClip(input, fromRate, toRate);
}

import { describe, expect, it } from 'vitest';
import { encodeWav, parseWav } from './wav.js';
import { DfdError } from '../../kernel/errors.js';

describe('encodeWav / parseWav', () => {
  it('round-trips 16-bit mono PCM at its rate, clipping out-of-range samples', () => {
    const x = new Float32Array([0, 0.5, -0.5, 0.25, 1.5, -2, 1e-4]);
    const buf = encodeWav(x, 16000);
    expect(buf.length).toBe(44 + x.length * 2);
    expect(buf.toString('ascii', 0, 4)).toBe('RIFF');
    expect(buf.readUInt32LE(4)).toBe(buf.length - 8);
    const { sampleRate, samples } = parseWav(buf);
    expect(sampleRate).toBe(16000);
    expect(samples).toHaveLength(x.length);
    const want = [0, 0.5, -0.5, 0.25, 1, -1, 1e-4];
    // one 16-bit step (the writer scales by 32767, the reader divides by 32768)
    for (let i = 0; i < want.length; i++) expect(Math.abs(samples[i]! - want[i]!)).toBeLessThan(2 / 32768);
    expect(parseWav(encodeWav(new Float32Array(0), 48000))).toEqual({ sampleRate: 48000, samples: new Float32Array(0) });
  });

  it('rejects what is not a WAV with a typed error', () => {
    expect(() => parseWav(Buffer.from('not a wav file'))).toThrowError(DfdError);
  });
});

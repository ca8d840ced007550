import { describe, expect, it } from 'vitest';
import { isDfdError } from '../../kernel/errors.js';
import { OpusDecoder, parseOpusToc } from './OpusDecoder.js';
import { encodeOpus } from '../testing/audioSupport.js';

function sine(freq: number, n: number, amp = 0.3): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = amp * Math.sin((2 * Math.PI * freq * i) / 48000);
  return x;
}

function rms(x: Float32Array): number {
  let s = 0;
  for (const v of x) s += v * v;
  return Math.sqrt(s / Math.max(1, x.length));
}

describe('parseOpusToc', () => {
  it.each([
    // [toc byte, mode, bandwidth, frameSamples]
    [0 << 3, 'SILK', 'NB', 480],
    [5 << 3, 'SILK', 'MB', 960],
    [11 << 3, 'SILK', 'WB', 2880],
    [12 << 3, 'HYBRID', 'SWB', 480],
    [15 << 3, 'HYBRID', 'FB', 960],
    [16 << 3, 'CELT', 'NB', 120],
    [21 << 3, 'CELT', 'WB', 240],
    [26 << 3, 'CELT', 'SWB', 480],
    [31 << 3, 'CELT', 'FB', 960],
  ] as const)('TOC %i -> %s %s %i', (toc, mode, bandwidth, frameSamples) => {
    const t = parseOpusToc(Uint8Array.from([toc, 0]));
    expect(t).toMatchObject({ mode, bandwidth, frameSamples, frameCount: 1, durationSamples: frameSamples, stereo: false });
  });

  it('reads frame counts for codes 1, 2 and 3 and the stereo flag', () => {
    expect(parseOpusToc(Uint8Array.from([(31 << 3) | 0x04 | 1, 0])).frameCount).toBe(2);
    expect(parseOpusToc(Uint8Array.from([(31 << 3) | 0x04 | 1, 0])).stereo).toBe(true);
    expect(parseOpusToc(Uint8Array.from([(31 << 3) | 2, 0])).frameCount).toBe(2);
    const t = parseOpusToc(Uint8Array.from([(16 << 3) | 3, 0x80 | 5]));
    expect(t.frameCount).toBe(5);
    expect(t.durationSamples).toBe(600);
  });

  it('rejects empty packets, missing counts, zero frames and over-long packets', () => {
    for (const bytes of [[], [3], [(31 << 3) | 3, 0], [(31 << 3) | 3, 7]]) {
      let err: unknown;
      try {
        parseOpusToc(Uint8Array.from(bytes));
      } catch (e) {
        err = e;
      }
      expect(isDfdError(err, 'ERR_DECODE_FAILED')).toBe(true);
    }
  });

  it('parses what the real encoder produces (CELT-only or hybrid at 48 kHz, 20 ms)', () => {
    const [pkt] = encodeOpus(sine(440, 960));
    const t = parseOpusToc(pkt!);
    expect(t.durationSamples).toBe(960);
    expect(['WB', 'SWB', 'FB']).toContain(t.bandwidth);
  });
});

describe('OpusDecoder', () => {
  it('decodes real Opus packets to 48 kHz float PCM close to the input', () => {
    const x = sine(440, 48000);
    const packets = encodeOpus(x, 64000);
    const dec = new OpusDecoder();
    const out = new Float32Array(packets.length * 960);
    packets.forEach((p, i) => out.set(dec.decode(p), i * 960));
    expect(dec.stats()).toMatchObject({ decodedPackets: 50, decodedSamples: 48000, decodeErrors: 0, concealedSamples: 0 });
    // Codec delay is a few ms; compare levels after the start.
    expect(rms(out.subarray(4800))).toBeGreaterThan(rms(x) * 0.8);
    expect(rms(out.subarray(4800))).toBeLessThan(rms(x) * 1.2);
  });

  it('conceals a lost packet with libopus PLC that continues the signal, and counts it', () => {
    const x = sine(300, 48000);
    const packets = encodeOpus(x, 64000);
    const dec = new OpusDecoder();
    for (let i = 0; i < 20; i++) dec.decode(packets[i]!);
    const plc = Float32Array.from(dec.conceal(960));
    expect(plc.length).toBe(960);
    // Real PLC extrapolates the tone: clearly not silence.
    expect(rms(plc)).toBeGreaterThan(0.05);
    expect(dec.stats().concealedSamples).toBe(960);
    // A gap longer than the PLC limit ends in silence.
    const long = Float32Array.from(dec.conceal(8000));
    expect(long.length).toBe(8000);
    expect(rms(long.subarray(5760))).toBe(0);
    expect(dec.stats().concealedSamples).toBe(8960);
    // Decoding resumes normally after concealment.
    expect(dec.decode(packets[22]!).length).toBe(960);
  });

  it('decodes straight to 16 kHz and conceals there with libopus PLC (limit scaled to the rate)', () => {
    const x = sine(300, 48000);
    const packets = encodeOpus(x, 32000);
    const dec = new OpusDecoder({ sampleRate: 16000 });
    expect(dec.rateRatio).toBeCloseTo(1 / 3, 12);
    for (let i = 0; i < 20; i++) expect(dec.decode(packets[i]!).length).toBe(320);
    const plc = Float32Array.from(dec.conceal(320));
    expect(plc.length).toBe(320);
    expect(rms(plc)).toBeGreaterThan(0.05);
    // maxPlcSamples is in 48 kHz units: 5760 -> 1920 samples of PLC at 16 kHz, then silence.
    const long = Float32Array.from(dec.conceal(3000));
    expect(rms(long.subarray(1920))).toBe(0);
    expect(dec.stats()).toMatchObject({ decodedPackets: 20, decodedSamples: 6400, concealedSamples: 3320, decodeErrors: 0 });
    expect(dec.decode(packets[30]!).length).toBe(320);
    expect(() => new OpusDecoder({ sampleRate: 44100 })).toThrow(expect.objectContaining({ code: 'ERR_CONFIG' }));
  });

  it('conceals with silence before the first packet', () => {
    const dec = new OpusDecoder();
    const z = dec.conceal(480);
    expect(z.length).toBe(480);
    expect(rms(z)).toBe(0);
  });

  it('counts corrupt payloads and returns concealment instead of throwing', () => {
    const dec = new OpusDecoder();
    const [good] = encodeOpus(sine(440, 960));
    dec.decode(good!);
    const out = dec.decode(Uint8Array.from([0xff, 0xff, 0xff]));
    expect(out.length).toBeGreaterThan(0);
    expect(dec.decode(new Uint8Array(0)).length).toBe(960);
    expect(dec.stats().decodeErrors).toBe(2);
  });
});

/**
 * Fuzz: Opus payloads. parseOpusToc is checked exhaustively against RFC 6716 (every TOC byte,
 * every frame-count byte); the libopus decoder is fed random and corrupted payloads at every
 * output rate (it returns finite PCM in [-1, 1) of a bounded length and keeps decoding real
 * packets afterwards: a corrupt payload is concealment, never a throw or a crash); and the audio
 * pipeline's entry, AudioStreamProcessor.push, takes any mix of random bytes, RTCP, other payload
 * types and garbage Opus without throwing, counting each packet exactly where it belongs.
 * Corpus: test/fuzz/corpus/opus.json (hex payloads; expect is parseOpusToc's outcome).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FuzzBoundary, fromHex, fuzzTimeout, loadCorpus, outcome } from '../../test/helpers/fuzz.js';
import type { StreamRef } from '../messages.js';
import { parseRtpPacket, serializeRtpPacket } from '../rtp/RtpPacket.js';
import { AudioStreamProcessor } from './AudioStreamProcessor.js';
import { OPUS_DECODE_RATES, OpusDecoder, parseOpusToc, type OpusToc } from './OpusDecoder.js';
import { SileroVadModel } from './SileroVad.js';
import { encodeOpus } from '../testing/audioSupport.js';

const fuzz = new FuzzBoundary('opus');
const CODES = ['ERR_DECODE_FAILED'] as const;
const PT = 100;

/** RFC 6716 table 2, written out independently of the parser: [mode, bandwidth, frame ms] per config. */
function rfcConfig(config: number): [OpusToc['mode'], OpusToc['bandwidth'], number] {
  const silk = ['NB', 'MB', 'WB'] as const;
  const celt = ['NB', 'WB', 'SWB', 'FB'] as const;
  if (config < 12) return ['SILK', silk[Math.floor(config / 4)]!, [10, 20, 40, 60][config % 4]!];
  if (config < 16) return ['HYBRID', config < 14 ? 'SWB' : 'FB', [10, 20][config % 2]!];
  return ['CELT', celt[Math.floor((config - 16) / 4)]!, [2.5, 5, 10, 20][config % 4]!];
}

/** What parseOpusToc must return for a packet starting with `toc` (and `next`), or undefined: refused. */
function rfcToc(toc: number, next: number | undefined): OpusToc | undefined {
  const config = toc >> 3;
  const [mode, bandwidth, ms] = rfcConfig(config);
  const frameSamples = ms * 48;
  const code = toc & 3;
  let frameCount: number;
  if (code === 0) frameCount = 1;
  else if (code < 3) frameCount = 2;
  else if (next === undefined) return undefined;
  else frameCount = next & 0x3f;
  if (frameCount === 0 || frameSamples * frameCount > 120 * 48) return undefined;
  return { config, mode, bandwidth, stereo: (toc & 4) !== 0, frameSamples, frameCount, durationSamples: frameSamples * frameCount };
}

function tone(n: number): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = 0.3 * Math.sin((2 * Math.PI * 220 * i) / 48000) + 0.05 * Math.sin(i * 1.7);
  return x;
}
const realPackets = encodeOpus(tone(48000 / 5), 32000);

const corruptedOpus = fc
  .tuple(fc.constantFrom(...realPackets), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { maxLength: 6 }), fc.option(fc.nat(), { nil: undefined }))
  .map(([p, flips, cut]) => {
    const b = Uint8Array.from(p);
    for (const [at, mask] of flips) b[at % b.length] = b[at % b.length]! ^ mask;
    return cut === undefined ? b : b.subarray(0, cut % (b.length + 1));
  });
const opusPayload = fc.oneof(fc.uint8Array({ maxLength: 1500 }), corruptedOpus, fc.constantFrom(...realPackets).map((p) => Uint8Array.from(p)));

function expectPcm(pcm: Float32Array, rate: number): void {
  expect(pcm.length).toBeLessThanOrEqual((5760 * rate) / 48000);
  for (const v of pcm) {
    if (!(v >= -1 && v < 1)) expect.fail(`sample ${v} outside [-1, 1)`);
  }
}

describe('fuzz: Opus payloads', () => {
  it('replays the corpus: parseOpusToc keeps its outcome, the decoder takes every payload', () => {
    const dec = new OpusDecoder();
    fuzz.replay(loadCorpus<string>('opus'), (hex) => {
      const bytes = fromHex(hex);
      expectPcm(dec.decode(bytes), 48000);
      return outcome(() => parseOpusToc(bytes), CODES);
    });
    dec.close();
  });

  it('parseOpusToc agrees with RFC 6716 on every TOC byte and every frame-count byte', () => {
    let n = 0;
    for (let toc = 0; toc < 256; toc++) {
      for (const next of (toc & 3) === 3 ? [undefined, ...Array.from({ length: 256 }, (_, i) => i)] : [undefined, 0, 0xff]) {
        const bytes = next === undefined ? Uint8Array.of(toc) : Uint8Array.of(toc, next);
        const want = rfcToc(toc, next);
        let got: OpusToc | undefined;
        const r = outcome(() => (got = parseOpusToc(bytes)), CODES);
        expect(r, `toc ${toc} next ${String(next)}`).toBe(want ? 'ok' : 'ERR_DECODE_FAILED');
        if (want) expect(got).toEqual(want);
        n++;
      }
    }
    expect(outcome(() => parseOpusToc(new Uint8Array(0)), CODES)).toBe('ERR_DECODE_FAILED');
    fuzz.count(n + 1);
  });

  it('the decoder answers any payload with bounded, finite PCM and keeps decoding real packets', () => {
    fuzz.check(
      fc.property(fc.constantFrom(...OPUS_DECODE_RATES), fc.array(opusPayload, { minLength: 1, maxLength: 12 }), (rate, payloads) => {
        const dec = new OpusDecoder({ sampleRate: rate });
        for (const p of payloads) expectPcm(dec.decode(p), rate);
        const s = dec.stats();
        expect(s.decodedPackets).toBeLessThanOrEqual(payloads.length);
        expect(s.decodedPackets + s.decodeErrors).toBeGreaterThanOrEqual(payloads.length);
        // Garbage left the decoder usable: a real 20 ms packet decodes to 20 ms.
        expect(dec.decode(realPackets[3]!).length).toBe((960 * rate) / 48000);
        expect(dec.stats().decodedPackets).toBe(s.decodedPackets + 1);
        dec.close();
      }),
      2,
    );
  });

  describe('AudioStreamProcessor.push (the audio pipeline entry)', () => {
    let vad: SileroVadModel;
    beforeAll(async () => {
      vad = await SileroVadModel.load();
    });
    afterAll(async () => {
      await vad?.close();
    });
    const stream: StreamRef = { roomId: 'fuzz', peerId: 'p1', producerId: 'prod1', kind: 'audio' };

    const rtcp = fc
      .tuple(fc.integer({ min: 0, max: 31 }), fc.integer({ min: 200, max: 207 }), fc.uint8Array({ minLength: 4, maxLength: 64 }))
      .map(([count, pt, body]) => Uint8Array.from([0x80 | count, pt, 0, body.length >> 2, ...body]));
    const packet = fc.oneof(
      { weight: 6, arbitrary: fc.record({ kind: fc.constant('opus' as const), payload: opusPayload, pt: fc.constant(PT), seqJump: fc.integer({ min: -3, max: 5 }) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('opus' as const), payload: opusPayload, pt: fc.integer({ min: 0, max: 127 }), seqJump: fc.integer({ min: -3, max: 5 }) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('raw' as const), bytes: fc.uint8Array({ maxLength: 200 }) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('raw' as const), bytes: rtcp }) },
    );

    it(
      'never throws, counts every packet where it belongs, and flushes',
      async () => {
        await fuzz.checkAsync(
          fc.asyncProperty(fc.array(packet, { minLength: 1, maxLength: 80 }), fc.integer({ min: 0, max: 0xffff }), async (packets, firstSeq) => {
            const p = new AudioStreamProcessor(stream, vad, { payloadType: PT });
            const windows: Float32Array[] = [];
            p.on('window', (w) => windows.push(w.samples));
            let seq = firstSeq;
            let ts = 12345;
            const want = { malformed: 0, wrongPayloadType: 0, empty: 0 };
            for (const [i, k] of packets.entries()) {
              let bytes: Uint8Array;
              if (k.kind === 'raw') bytes = k.bytes;
              else {
                seq = (seq + k.seqJump) & 0xffff;
                ts = (ts + 960 * k.seqJump) >>> 0;
                bytes = serializeRtpPacket({ payloadType: k.pt, sequenceNumber: seq, timestamp: ts, ssrc: 0xabc, payload: k.payload });
              }
              try {
                const r = parseRtpPacket(bytes);
                if (r.payloadType !== PT) want.wrongPayloadType++;
                else if (r.payload.byteLength === 0) want.empty++;
              } catch {
                want.malformed++;
              }
              p.push(bytes, 1_700_000_000_000 + i * 20);
            }
            await p.flush();
            // A packet that made a stage throw would be counted as malformed on top of these.
            expect(p.stats()).toMatchObject({ packets: packets.length, ...want });
            for (const w of windows) for (const v of w) if (!Number.isFinite(v)) expect.fail('non-finite sample in a window');
            p.close();
          }),
          0.5,
        );
      },
      fuzzTimeout(60_000),
    );
  });
});

/**
 * Concealment as the `quality` events report it (src/Service.ts): weighed at the stream's own
 * RTP clock, so a phone leg (PCMU, 8 kHz, 160 samples per 20 ms packet) with 10 % loss reads
 * the same as an Opus stream (48 kHz, 960 per packet) with 10 % loss. The PCMU case runs a real
 * AudioStreamProcessor on mu-law RTP with dropped packets.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StreamRef } from '../messages.js';
import { AudioStreamProcessor } from './AudioStreamProcessor.js';
import { audioCodecOf, concealedFraction, samplesPerPacket } from './audioCodec.js';
import { muLawEncodeFloat } from './G711.js';
import { SileroVadModel } from './SileroVad.js';
import { packetise, simulateNetwork } from '../testing/audioSupport.js';

const stream: StreamRef = { roomId: 'twilio-CA1', peerId: 'caller', producerId: 'prod-pcmu', kind: 'audio' };

let model: SileroVadModel;
beforeAll(async () => {
  model = await SileroVadModel.load();
});
afterAll(async () => {
  await model.close();
});

describe('audio codec units', () => {
  it('names codecs and their packet sizes', () => {
    expect(audioCodecOf('audio/PCMU')).toBe('pcmu');
    expect(audioCodecOf('audio/opus')).toBe('opus');
    expect(audioCodecOf('audio/G722')).toBe('g722');
    expect(audioCodecOf('audio/PCMA')).toBeUndefined();
    expect(samplesPerPacket(48_000)).toBe(960);
    expect(samplesPerPacket(8_000)).toBe(160);
  });

  it('weighs concealed samples at the stream clock: one lost packet in ten is 0.1 for Opus and for PCMU', () => {
    expect(concealedFraction({ concealedSamples: 960, packets: 10, clockRate: 48_000 })).toBeCloseTo(0.1, 10);
    expect(concealedFraction({ concealedSamples: 160, packets: 10, clockRate: 8_000 })).toBeCloseTo(0.1, 10);
    expect(concealedFraction({ concealedSamples: 0, packets: 0, clockRate: 8_000 })).toBe(0);
    expect(concealedFraction({ concealedSamples: 10_000, packets: 1, clockRate: 8_000 })).toBe(1);
  });

  it('a lossy PCMU phone stream through the real processor: the fraction matches the loss (not a sixth of it)', async () => {
    const tone = new Float32Array(8_000 * 4);
    for (let i = 0; i < tone.length; i++) tone[i] = 0.3 * Math.sin((2 * Math.PI * 440 * i) / 8_000);
    const payloads: Uint8Array[] = [];
    for (let i = 0; i + 160 <= tone.length; i += 160) payloads.push(muLawEncodeFloat(tone.subarray(i, i + 160)));
    const packets = packetise(payloads, { payloadType: 0, samplesPerPacket: 160 });
    // 10 % of the packets never arrive (never the first); no jitter, so every gap is a loss.
    const arrivals = simulateNetwork(packets, { lossRate: 0.1, jitterMs: 0, seed: 7 });
    const p = new AudioStreamProcessor(stream, model, { codec: 'pcmu', payloadType: 0, clockRate: 8_000 });
    for (const [i, a] of arrivals.entries()) p.push(a.packet.bytes, 1_700_000_000_000 + i * 20);
    await p.flush();
    const st = p.stats();
    p.close();

    const lost = packets.length - arrivals.length;
    expect(st.lost).toBe(lost);
    // A lost packet at the very end is never seen as a gap; every other one is concealed.
    expect(st.concealedSamples).toBeGreaterThanOrEqual((lost - 1) * 160);
    const fraction = concealedFraction({ ...st, clockRate: 8_000 });
    expect(fraction).toBeCloseTo(lost / st.packets, 1);
    expect(fraction).toBeGreaterThan(0.08);
    // What the service reported before: samples counted at 8 kHz, packets weighed as 48 kHz Opus.
    expect(st.concealedSamples / (st.packets * 960)).toBeLessThan(fraction / 5);
  });
});

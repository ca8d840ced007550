import path from 'node:path';
import { fileURLToPath } from 'node:url';
import opus from '@discordjs/opus';
import type { types as ms } from 'mediasoup';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isDfdError } from '../../kernel/errors.js';
import { analyseAudio } from '../dsp/analyse.js';
import { matchMelody } from '../dsp/melody.js';
import { resample } from '../dsp/wav.js';
import { FRAME_SAMPLES, OpusRtpPacketizer, readRtpHeader } from './OpusRtpPacketizer.js';
import { synthesizeMelody, synthesizePrompt } from './PromptAudio.js';
import { PromptInjector, type PromptEnded } from './PromptInjector.js';
import { promptPlayer } from './promptPlayer.js';
import { ChallengeManager } from '../ChallengeManager.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const toFloat = (x: Int16Array): Float32Array => Float32Array.from(x, (v) => v / 32768);
const energy = (x: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += (x[i] ?? 0) ** 2;
  return s / Math.max(1, x.length);
};

/** Pearson correlation of 10 ms RMS envelopes, after finding the best lag within +-maxLag frames. */
function envelopeCorrelation(a: Float32Array, b: Float32Array, sr: number, maxLag = 20): number {
  const env = (x: Float32Array): number[] => {
    const hop = sr / 100;
    const out: number[] = [];
    for (let i = 0; i + hop <= x.length; i += hop) out.push(Math.sqrt(energy(x.subarray(i, i + hop))));
    return out;
  };
  const ea = env(a);
  const eb = env(b);
  let best = -1;
  for (let lag = -maxLag; lag <= maxLag; lag++) {
    const xs: number[] = [];
    const ys: number[] = [];
    for (let i = 0; i < ea.length; i++) {
      const j = i + lag;
      if (j >= 0 && j < eb.length) {
        xs.push(ea[i]!);
        ys.push(eb[j]!);
      }
    }
    const mx = xs.reduce((p, v) => p + v, 0) / xs.length;
    const my = ys.reduce((p, v) => p + v, 0) / ys.length;
    let sxy = 0;
    let sxx = 0;
    let syy = 0;
    for (let i = 0; i < xs.length; i++) {
      sxy += (xs[i]! - mx) * (ys[i]! - my);
      sxx += (xs[i]! - mx) ** 2;
      syy += (ys[i]! - my) ** 2;
    }
    best = Math.max(best, sxy / Math.sqrt(sxx * syy));
  }
  return best;
}

describe('PromptAudio', () => {
  it('synthesizes espeak-ng speech at 48 kHz with the melody appended', async () => {
    const melody = [
      { midi: 55, durationSec: 0.5 },
      { midi: 62, durationSec: 0.5 },
      { midi: 59, durationSec: 0.5 },
    ];
    const speechOnly = await synthesizePrompt({ text: 'Please hum this tune.' });
    const withTune = await synthesizePrompt({ text: 'Please hum this tune.', melody });
    expect(speechOnly.length).toBeGreaterThan(48000 * 0.8);
    expect(withTune.length - speechOnly.length).toBeGreaterThanOrEqual(Math.round(1.5 * 48000));
    expect(energy(toFloat(speechOnly))).toBeGreaterThan(1e-3);
    // The appended tune, taken back to 16 kHz, follows its own melody.
    const tail = resample(toFloat(withTune.subarray(withTune.length - 1.5 * 48000)), 48000, 16000);
    const a = analyseAudio(tail);
    expect(matchMelody(a.f0, a.hopSec, melody).distanceSemitones).toBeLessThan(0.5);
  });
  it('refuses empty or oversized text and a missing binary with typed errors', async () => {
    await expect(synthesizePrompt({ text: '' })).rejects.toMatchObject({ code: 'ERR_PROMPT_FAILED' });
    await expect(synthesizePrompt({ text: 'x'.repeat(600) })).rejects.toMatchObject({ code: 'ERR_PROMPT_FAILED' });
    await expect(synthesizePrompt({ text: 'hello' }, { espeakBin: '/nonexistent/espeak' })).rejects.toMatchObject({ code: 'ERR_PROMPT_FAILED' });
  });
  it('passes text on stdin, so option-like text is spoken, not parsed', async () => {
    const pcm = await synthesizePrompt({ text: '--help -w /tmp/x.wav' });
    expect(pcm.length).toBeGreaterThan(48000 * 0.5);
  });
});

describe('OpusRtpPacketizer', () => {
  it('writes continuous RTP and Opus that decodes back to the input', () => {
    const tone = Int16Array.from(synthesizeMelody([{ midi: 69, durationSec: 1 }], 48000, 0.5), (v) => Math.round(v * 32767));
    const p = new OpusRtpPacketizer({ payloadType: 111, ssrc: 0x1234abcd, initialSeq: 65534, initialTimestamp: 0xffffff00 });
    const pkts = p.packetize(tone);
    expect(pkts.length).toBe(Math.ceil(tone.length / FRAME_SAMPLES));
    const headers = pkts.map(readRtpHeader);
    expect(headers[0]!.marker).toBe(true);
    expect(headers[1]!.marker).toBe(false);
    expect(headers.map((h) => h.sequenceNumber).slice(0, 4)).toEqual([65534, 65535, 0, 1]);
    expect(headers[1]!.timestamp).toBe((0xffffff00 + 960) >>> 0);
    expect(headers[2]!.timestamp).toBe((0xffffff00 + 1920) >>> 0);
    expect(headers.every((h) => h.payloadType === 111 && h.ssrc === 0x1234abcd)).toBe(true);
    const dec = new opus.OpusEncoder(48000, 2);
    const out: number[] = [];
    for (const h of headers) {
      const pcm = dec.decode(h.payload);
      for (let i = 0; i < pcm.length; i += 4) out.push(pcm.readInt16LE(i) / 32768);
    }
    const decoded = Float32Array.from(out);
    const a = analyseAudio(resample(decoded, 48000, 16000));
    expect(Math.abs(a.measurements.f0MedianHz - 440)).toBeLessThan(5);
    expect(energy(decoded) / energy(toFloat(tone))).toBeGreaterThan(0.7);
    // A pause advances the timestamp and starts a new talk spurt.
    p.skip(48000);
    const next = readRtpHeader(p.packetizeFrame(tone, 0));
    expect(next.timestamp).toBe((headers[headers.length - 1]!.timestamp + 960 + 48000) >>> 0);
    expect(next.marker).toBe(true);
  });
  it('rejects malformed RTP and bad options with typed errors', () => {
    expect(() => readRtpHeader(Buffer.from([0x00, 1, 2]))).toThrow(expect.objectContaining({ code: 'ERR_RTP_MALFORMED' }));
    expect(() => new OpusRtpPacketizer({ payloadType: 200, ssrc: 1 })).toThrow(expect.objectContaining({ code: 'ERR_CONFIG' }));
  });
});

describe('PromptInjector with a real mediasoup worker', () => {
  let worker: ms.Worker;
  let router: ms.Router;
  beforeEach(async () => {
    process.env['MEDIASOUP_WORKER_BIN'] ??= path.join(repo, '.deps/mediasoup-worker/mediasoup-worker');
    const mediasoup = await import('mediasoup');
    worker = await mediasoup.createWorker({ logLevel: 'warn' });
    router = await worker.createRouter({ mediaCodecs: [{ kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 }] });
  });
  afterEach(() => {
    worker.close();
  });

  it('delivers the prompt to a consumer that decodes to the same audio', async () => {
    const prompt = await synthesizePrompt({ text: 'Please whisper this phrase. The orange boat drifted past the wall.' });
    const injector = await PromptInjector.create(router, 'peer-a');
    expect(injector.producer.appData).toMatchObject({ challengePrompt: true, targetPeerId: 'peer-a' });
    const recv = await router.createDirectTransport({ maxMessageSize: 262144 });
    const consumer = await recv.consume({ producerId: injector.producerId, rtpCapabilities: router.rtpCapabilities });
    const packets: Buffer[] = [];
    consumer.on('rtp', (pkt: Buffer) => packets.push(Buffer.from(pkt)));
    const events: string[] = [];
    injector.on('started', () => events.push('started'));
    injector.on('ended', (e) => events.push(`ended:${e.reason}`));
    const ended = await injector.play(prompt);
    expect(ended.reason).toBe('completed');
    expect(events).toEqual(['started', 'ended:completed']);
    const frames = OpusRtpPacketizer.frameCount(prompt.length);
    // Every frame is either sent or, after an event-loop stall on a loaded machine, skipped as too late.
    expect(ended.framesSent + ended.framesSkipped).toBe(frames);
    expect(ended.framesSkipped).toBeLessThan(frames / 4);
    // The DirectTransport loses nothing: every sent frame arrives (the last ones may still be in flight; bounded wait).
    const deadline = Date.now() + 60_000;
    while (packets.length < ended.framesSent && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(packets.length).toBe(ended.framesSent);
    const headers = packets.map(readRtpHeader);
    for (let i = 1; i < headers.length; i++) expect((headers[i]!.sequenceNumber - headers[i - 1]!.sequenceNumber) & 0xffff).toBe(1);
    // Decode onto the RTP timeline, so skipped frames stay silent gaps and the rest keeps its place.
    const dec = new opus.OpusEncoder(48000, 2);
    const out = new Float32Array(prompt.length + 960);
    for (const h of headers) {
      const pcm = dec.decode(h.payload);
      const at = (h.timestamp - headers[0]!.timestamp) >>> 0;
      for (let i = 0, j = at; i < pcm.length && j < out.length; i += 4, j++) out[j] = pcm.readInt16LE(i) / 32768;
    }
    const decoded = out;
    const original = toFloat(prompt);
    expect(energy(decoded) / energy(original)).toBeGreaterThan(0.6);
    expect(energy(decoded) / energy(original)).toBeLessThan(1.4);
    expect(envelopeCorrelation(original, decoded, 48000)).toBeGreaterThan(0.9);
    injector.close();
    expect(injector.transport.closed).toBe(true);
  }, 120_000);

  it('refuses a second prompt while one plays, stops on close, and is closed by its router', async () => {
    const injector = await PromptInjector.create(router, 'peer-b');
    // A consumer of the prompt shows it playing: its packets arrive as the injector paces them.
    const recv = await router.createDirectTransport({ maxMessageSize: 262144 });
    const consumer = await recv.consume({ producerId: injector.producerId, rtpCapabilities: router.rtpCapabilities });
    const playedFrames = 5;
    const playing100ms = new Promise<void>((resolve) => {
      let packets = 0;
      consumer.on('rtp', () => {
        if (++packets === playedFrames) resolve();
      });
    });
    const pcm = new Int16Array(48000 * 5).fill(1000);
    const first = injector.play(pcm);
    try {
      await injector.play(pcm);
      expect.unreachable();
    } catch (e) {
      expect(isDfdError(e, 'ERR_CHALLENGE_ACTIVE')).toBe(true);
    }
    // Close mid-prompt, once its first 100 ms (5 frames of 20 ms) reached the consumer.
    await playing100ms;
    injector.close();
    const ended: PromptEnded = await first;
    expect(ended.reason).toBe('closed');
    expect(ended.framesSent).toBeGreaterThanOrEqual(playedFrames);
    expect(ended.framesSent).toBeLessThan(250);
    await expect(injector.play(pcm)).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    const other = await PromptInjector.create(router, 'peer-c');
    const playing = other.play(pcm);
    router.close();
    expect((await playing).reason).toBe('closed');
  });

  it('plays a ChallengeManager prompt to the challenged peer before the response window opens', async () => {
    const injector = await PromptInjector.create(router, 'peer-d');
    const recv = await router.createDirectTransport({ maxMessageSize: 262144 });
    const consumer = await recv.consume({ producerId: injector.producerId, rtpCapabilities: router.rtpCapabilities });
    let packets = 0;
    consumer.on('rtp', () => packets++);
    const manager = new ChallengeManager({ callId: 'call-x', playPrompt: promptPlayer(() => injector) });
    manager.addParticipant({ peerId: 'peer-d', hasAudio: true, hasVideo: false });
    const c = manager.requestChallenge('peer-d', 'operator', 'sing-melody');
    expect(c.state).toBe('prompting');
    const awaiting = new Promise<number>((resolve) => c.on('state', (s) => s.to === 'awaiting-response' && resolve(packets)));
    const packetsAtResponse = await awaiting;
    // Words + gap + 3-5 notes of 0.5 s: well over 100 frames of 20 ms.
    expect(packetsAtResponse).toBeGreaterThan(100);
    manager.close();
    injector.close();
  });
});

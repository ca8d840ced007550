/**
 * A phone leg's audio as the pipeline sees it: real speech converted to 8 kHz mu-law (the
 * Twilio payload), chunked as Twilio chunks it, turned into RTP by PcmuRtpWriter and fed to
 * the real AudioStreamProcessor (G.711 decode, 8 -> 16 kHz, Silero VAD, windows).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PcmuRtpWriter } from './PcmuRtpWriter.js';
import { parseRtpPacket } from '../pipeline/rtp/RtpPacket.js';
import { AudioStreamProcessor } from '../pipeline/audio/AudioStreamProcessor.js';
import { SileroVadModel } from '../pipeline/audio/SileroVad.js';
import type { AudioWindow, StreamRef } from '../pipeline/messages.js';
import { phoneSpeechMuLaw } from './testing/phoneSpeech.js';

const writer = (): PcmuRtpWriter => new PcmuRtpWriter({ ssrc: 0x01020304, payloadType: 0, jumpMs: 10, seqBase: 65530, timestampBase: 2 ** 32 - 800 });

describe('PcmuRtpWriter', () => {
  it('writes RTP v2 headers: PT 0, sequence from the chunk counter (wrapping), timestamp in samples', () => {
    const w = writer();
    const a = parseRtpPacket(w.packet(new Uint8Array(160), 1, 0));
    const b = parseRtpPacket(w.packet(new Uint8Array(160), 2, 20));
    expect([a.payloadType, a.ssrc, a.sequenceNumber, a.timestamp, a.marker, a.payload.length]).toEqual([0, 0x01020304, 65530, 2 ** 32 - 800, true, 160]);
    expect([b.sequenceNumber, b.timestamp, b.marker]).toEqual([65531, 2 ** 32 - 640, false]);
    // Across the 16-bit and 32-bit wraps.
    let last = b;
    for (let c = 3; c <= 12; c++) last = parseRtpPacket(w.packet(new Uint8Array(160), c, (c - 1) * 20));
    expect([last.sequenceNumber, last.timestamp]).toEqual([(65530 + 11) & 0xffff, (2 ** 32 - 800 + 11 * 160) % 2 ** 32]);
  });

  it('a missing chunk is a sequence gap and its time is skipped; timestamp jitter below jumpMs is ignored', () => {
    const w = writer();
    w.packet(new Uint8Array(160), 1, 0);
    const jitter = parseRtpPacket(w.packet(new Uint8Array(160), 2, 23));
    expect(jitter.timestamp).toBe((2 ** 32 - 800 + 160) % 2 ** 32);
    const afterGap = parseRtpPacket(w.packet(new Uint8Array(160), 4, 60));
    expect(afterGap.sequenceNumber).toBe((65530 + 3) & 0xffff);
    expect(afterGap.timestamp).toBe((2 ** 32 - 800 + 480) % 2 ** 32);
  });
});

describe('telephone audio through the real audio path', () => {
  let model: SileroVadModel;
  let speech: Buffer;
  const stream: StreamRef = { roomId: 'twilio-CA1', peerId: 'caller', producerId: 'p', kind: 'audio' };

  beforeAll(async () => {
    model = await SileroVadModel.load();
    speech = phoneSpeechMuLaw();
  });
  afterAll(async () => {
    await model.close();
  });

  async function run(skipChunks: ReadonlySet<number>): Promise<AudioWindow[]> {
    const proc = new AudioStreamProcessor(stream, model, { codec: 'pcmu', payloadType: 0, clockRate: 8000 });
    const windows: AudioWindow[] = [];
    proc.on('window', (w) => windows.push(w));
    const w = writer();
    const t0 = 1_700_000_000_000;
    for (let c = 0; c * 160 < speech.length; c++) {
      if (skipChunks.has(c)) continue;
      const payload = new Uint8Array(speech.subarray(c * 160, c * 160 + 160));
      proc.push(w.packet(payload, c + 1, c * 20), t0 + c * 20);
      if (c % 25 === 24) await proc.whenIdle();
    }
    await proc.flush();
    proc.close();
    return windows;
  }

  it('real speech becomes 16 kHz speech windows marked telephone, narrowband, 64 kb/s, no loss', async () => {
    const windows = await run(new Set());
    expect(windows.length).toBeGreaterThanOrEqual(8);
    for (const win of windows) {
      expect(win.sampleRate).toBe(16000);
      expect(win.quality).toMatchObject({ channel: 'telephone', bandwidth: 'NB', packetLoss: 0, concealed: 0 });
      // The estimate counts the packets whose start falls inside the window: within a packet or two of 64 kb/s.
      expect(Math.abs(win.quality.bitrate - 64000)).toBeLessThan(3200);
      expect(win.speechSeconds).toBeGreaterThan(0.5);
    }
  });

  it('lost chunks are counted as loss and concealed', async () => {
    const lost = new Set(Array.from({ length: 40 }, (_, i) => 100 + i * 10));
    const windows = await run(lost);
    expect(windows.some((w) => w.quality.packetLoss > 0 && w.quality.concealed > 0)).toBe(true);
  });
});

import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DecodedVideoFrame } from './FfmpegVp8Decoder.js';
import { encodeVp8, packetizeVp8, referenceRgb, waitFor, writeRtp, type TestRtpPacket } from './testing/vp8Fixtures.js';
import { VideoStreamProcessor, type VideoStreamProcessorOptions } from './VideoStreamProcessor.js';

const facePhoto = path.resolve('node_modules/@vladmandic/face-api/demo/sample1.jpg'); // 1920x1280

let clip: TestRtpPacket[]; // 3 s, 640x480, 30 fps, keyframes at frames 0, 30, 60
let face: TestRtpPacket[]; // 2 s at 10 fps, 640x426 still photo
const open: VideoStreamProcessor[] = [];

beforeAll(() => {
  clip = packetizeVp8(encodeVp8({ width: 640, height: 480, fps: 30, seconds: 3, gop: 30 }));
  face = packetizeVp8(encodeVp8({ image: facePhoto, width: 640, height: 426, fps: 10, seconds: 2, gop: 10, bitrate: '800k' }));
});

afterEach(() => {
  for (const p of open.splice(0)) p.close();
});

function processor(opts: Partial<VideoStreamProcessorOptions> = {}): { p: VideoStreamProcessor; frames: DecodedVideoFrame[]; requests: string[] } {
  const p = new VideoStreamProcessor({ payloadType: 96, ...opts });
  open.push(p);
  const frames: DecodedVideoFrame[] = [];
  const requests: string[] = [];
  p.on('frame', (f) => frames.push(f));
  p.on('keyframe-needed', (e) => requests.push(e.reason));
  return { p, frames, requests };
}

/** Packets of frames [from, to), each frame's packets in reverse order (reordering within a frame). */
function framesReversed(list: readonly TestRtpPacket[], from: number, to: number): TestRtpPacket[] {
  const out: TestRtpPacket[] = [];
  for (let i = from; i < to; i++) out.push(...list.filter((x) => x.frame === i).reverse());
  return out;
}

function feed(p: VideoStreamProcessor, list: readonly TestRtpPacket[], t0: number): void {
  for (const x of list) p.push(x.bytes, t0 + x.frame * 33);
}

function meanRgb(rgb: Uint8Array): [number, number, number] {
  const m = [0, 0, 0];
  for (let i = 0; i < rgb.length; i++) m[i % 3]! += rgb[i]!;
  const n = rgb.length / 3;
  return [m[0]! / n, m[1]! / n, m[2]! / n];
}

describe('VideoStreamProcessor', () => {
  it('asks for a keyframe at start', async () => {
    const { requests } = processor();
    await Promise.resolve();
    expect(requests).toEqual(['start']);
  });

  it('turns VP8 RTP (reordered within frames) into RGB frames of the output size at the configured rate', async () => {
    const { p, frames } = processor({ decoder: { outputWidth: 320, outputHeight: 240, maxFps: 5 } });
    feed(p, framesReversed(clip, 0, 90), Date.now());
    await waitFor(() => frames.length >= 15, 30_000, '15 frames');
    expect(frames.length).toBe(15); // 3 s at 5 fps
    for (const f of frames) expect([f.width, f.height, f.rgb.length, f.sourceWidth]).toEqual([320, 240, 320 * 240 * 3, 640]);
    const steps = frames.slice(1).map((f, i) => Math.round(f.ptsMs - frames[i]!.ptsMs));
    expect(new Set(steps)).toEqual(new Set([200]));
    const s = p.stats();
    expect(s).toMatchObject({ health: 'ok', lost: 0, malformed: 0, framesAssembled: 90, framesDropped: 0, keyframes: 3, framesDecoded: 15, decoderRestarts: 0 });
    expect(s.frameRate).toBeCloseTo(5, 1);
    expect(s.packets).toBe(clip.length);
  });

  it('decodes a face video that resembles the source photo', async () => {
    const { p, frames } = processor({ decoder: { outputWidth: 320, outputHeight: 240, maxFps: 2 } });
    feed(p, face, Date.now());
    await waitFor(() => frames.length >= 4, 30_000, '4 frames'); // 2 s at 2 fps
    const ref = referenceRgb(facePhoto, 640, 426, 320, 240);
    const got = frames[frames.length - 1]!.rgb;
    expect(got.length).toBe(ref.length);
    const [gm, rm] = [meanRgb(got), meanRgb(ref)];
    for (let c = 0; c < 3; c++) expect(Math.abs(gm[c]! - rm[c]!)).toBeLessThan(4);
    let err = 0;
    for (let i = 0; i < got.length; i++) err += Math.abs(got[i]! - ref[i]!);
    expect(err / got.length).toBeLessThan(12); // mean absolute error per channel, 0..255
  });

  it('restarts a killed ffmpeg and resumes after the next keyframe', async () => {
    const { p, frames, requests } = processor({ decoder: { outputWidth: 160, outputHeight: 120, maxFps: 5, restartBaseDelayMs: 50 }, keyframeRequestIntervalMs: 0 });
    const health: string[] = [];
    p.on('health', (e) => health.push(e.health));
    const t0 = Date.now();
    feed(p, clip.filter((x) => x.frame < 40), t0);
    // Frames 0..39 at 5 fps: 0, 200, ..., 1200 ms (7 frames).
    await waitFor(() => frames.length >= 7, 30_000, 'first frames');
    const pid = p.decoderPid!;
    process.kill(pid, 'SIGKILL');
    await waitFor(() => p.stats().decoderRestarts === 1 && p.decoderPid !== undefined && p.decoderPid !== pid && requests.includes('decoder-restart'), 10_000, 'restart');
    const before = frames.length;
    feed(p, clip.filter((x) => x.frame >= 40), t0);
    await waitFor(() => frames.length >= before + 5, 30_000, 'frames after restart');
    // Frames 40..59 are deltas on a dead decoder's chain: the first new frame is keyframe 60 (2 s).
    const firstAfter = frames[before]!;
    expect(Math.round(firstAfter.ptsMs - frames[0]!.ptsMs)).toBe(2000);
    const s = p.stats();
    expect(s.decoderRestarts).toBe(1);
    expect(s.framesDropped).toBe(20);
    expect(health).toEqual(['ok', 'decoder-restarting', 'awaiting-keyframe', 'ok']);
  });

  it('a stream without a keyframe yields no frames and repeated, rate-limited keyframe requests', async () => {
    const { p, frames, requests } = processor({ keyframeRequestIntervalMs: 500 });
    const deltas = clip.filter((x) => x.frame >= 1 && x.frame < 30); // 29 frames, about 0.96 s at 33 ms
    const t0 = Date.now();
    for (let round = 0; round < 3; round++) {
      // Same frames again with fresh sequence numbers and timestamps, as a live sender would.
      for (const x of deltas) {
        const seq = x.sequenceNumber + round * 1000;
        const bytes = writeRtp({ ...x, sequenceNumber: seq, timestamp: x.timestamp + round * 90_000 });
        p.push(bytes, t0 + round * 1000 + x.frame * 33);
      }
    }
    expect(frames).toEqual([]);
    const s = p.stats();
    expect(s.health).toBe('awaiting-keyframe');
    expect(s.framesDecoded).toBe(0);
    expect(s.framesDropped).toBe(s.framesAssembled);
    // About 2.9 s of packets with at most one request per 500 ms.
    expect(requests.length).toBeGreaterThanOrEqual(4);
    expect(requests.length).toBeLessThanOrEqual(7);
  });

  it('counts bad input (garbage, truncated RTP, wrong payload type) and keeps decoding good packets', async () => {
    const { p, frames } = processor({ decoder: { outputWidth: 64, outputHeight: 48, maxFps: 5 } });
    const t0 = Date.now();
    expect(() => {
      p.push(new Uint8Array(0), t0);
      p.push(Uint8Array.of(0x80, 96, 0, 1), t0); // truncated header
      p.push(Uint8Array.of(0x40, ...new Array<number>(20).fill(7)), t0); // version 1
      p.push(writeRtp({ payloadType: 97, sequenceNumber: 1, timestamp: 1, ssrc: 1, marker: true, payload: Uint8Array.of(0x10, 1, 2, 3) }), t0);
      p.push(writeRtp({ payloadType: 96, sequenceNumber: 999, timestamp: 1, ssrc: clip[0]!.ssrc, marker: true, payload: Uint8Array.of(0x80) }), t0);
    }).not.toThrow();
    feed(p, clip.filter((x) => x.frame < 30), t0);
    await waitFor(() => frames.length >= 5, 30_000, 'frames');
    const s = p.stats();
    expect(s.malformed).toBe(5);
    expect(s.wrongPayloadType).toBe(1);
    expect(s.framesDecoded).toBeGreaterThanOrEqual(5);
  });

  it('keeps a fixed output size across a resolution change', async () => {
    const { p, frames } = processor({ decoder: { outputWidth: 160, outputHeight: 120, maxFps: 5 } });
    const small = packetizeVp8(encodeVp8({ width: 320, height: 180, fps: 30, seconds: 1, gop: 30 }), {
      firstSequence: clip[clip.length - 1]!.sequenceNumber + 1,
      firstTimestamp: clip[clip.length - 1]!.timestamp + 3000,
      firstPictureId: 90 + 100,
    });
    const t0 = Date.now();
    feed(p, clip, t0);
    for (const x of small) p.push(x.bytes, t0 + 3000 + x.frame * 33);
    await waitFor(() => frames.length >= 20, 30_000, '20 frames');
    expect(new Set(frames.map((f) => `${f.width}x${f.height}`))).toEqual(new Set(['160x120']));
    expect(frames[0]!.sourceWidth).toBe(640);
    expect(frames[frames.length - 1]!.sourceWidth).toBe(320);
    expect(p.stats().lost).toBe(0);
  });

  it('close() stops the decoder and ignores later packets', async () => {
    const { p } = processor();
    const pid = p.decoderPid!;
    p.close();
    expect(() => p.push(clip[0]!.bytes, Date.now())).not.toThrow();
    expect(p.stats().health).toBe('closed');
    expect(p.stats().packets).toBe(0);
    await waitFor(() => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    }, 5000, 'ffmpeg exit');
  });
});

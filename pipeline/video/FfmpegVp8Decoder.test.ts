import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { FfmpegVp8Decoder, type DecodedVideoFrame } from './FfmpegVp8Decoder.js';
import { encodeVp8, ivfToVp8Frames, waitFor } from './testing/vp8Fixtures.js';
import type { Vp8Frame } from './Vp8Depacketizer.js';

let frames: Vp8Frame[];
const open: FfmpegVp8Decoder[] = [];

function decoder(opts: ConstructorParameters<typeof FfmpegVp8Decoder>[0]): FfmpegVp8Decoder {
  const d = new FfmpegVp8Decoder(opts);
  open.push(d);
  return d;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

beforeAll(() => {
  // 4 s of 320x240 at 30 fps, keyframe every 30 frames.
  frames = ivfToVp8Frames(encodeVp8({ width: 320, height: 240, fps: 30, seconds: 4, gop: 30, bitrate: '400k' }), 12_345);
});

afterEach(() => {
  for (const d of open.splice(0)) d.close();
});

describe('FfmpegVp8Decoder', () => {
  it('selects frames at the configured rate and scales into the fixed output size', async () => {
    const d = decoder({ outputWidth: 160, outputHeight: 160, maxFps: 2 });
    const out: DecodedVideoFrame[] = [];
    d.on('frame', (f) => out.push(f));
    for (const f of frames) expect(d.decode(f)).toBe(true);
    await waitFor(() => out.length >= 8, 20_000, '8 frames');
    // 4 s at 2 fps: frames at 0, 0.5, ..., 3.5 s.
    expect(out.map((f) => Math.round(f.ptsMs - frames[0]!.timestamp / 90))).toEqual([0, 500, 1000, 1500, 2000, 2500, 3000, 3500]);
    for (const f of out) {
      expect(f.rgb.length).toBe(160 * 160 * 3);
      expect([f.width, f.height, f.sourceWidth, f.sourceHeight]).toEqual([160, 160, 320, 240]);
    }
    // 320x240 fitted into 160x160 is 160x120 centred: rows 0..19 are black padding.
    const rgb = out[0]!.rgb;
    let top = 0;
    for (let i = 0; i < 160 * 19 * 3; i++) top += rgb[i]!;
    let mid = 0;
    for (let i = 160 * 60 * 3; i < 160 * 100 * 3; i++) mid += rgb[i]!;
    expect(top / (160 * 19 * 3)).toBeLessThan(2);
    expect(mid / (160 * 40 * 3)).toBeGreaterThan(40);
    expect(d.stats()).toMatchObject({ framesIn: frames.length, framesSelected: 8, framesDecoded: 8, restarts: 0 });
  });

  it('drops delta frames until a keyframe and asks for one', async () => {
    const d = decoder({ outputWidth: 64, outputHeight: 48 });
    const reasons: string[] = [];
    d.on('keyframe-needed', (e) => reasons.push(e.reason));
    expect(d.decode(frames[1]!)).toBe(false);
    expect(d.decode(frames[2]!)).toBe(false);
    expect(d.stats().droppedAwaitingKeyframe).toBe(2);
    expect(reasons).toEqual(['awaiting-keyframe']); // rate limited
    expect(d.decode(frames[30]!)).toBe(true);
    expect(d.decode(frames[31]!)).toBe(true);
  });

  it('drops frames instead of buffering when ffmpeg stops reading, then recovers on a keyframe', async () => {
    const d = decoder({ outputWidth: 64, outputHeight: 48, maxQueuedBytes: 16 * 1024, stallTimeoutMs: 60_000 });
    const out: DecodedVideoFrame[] = [];
    const reasons: string[] = [];
    d.on('frame', (f) => out.push(f));
    d.on('keyframe-needed', (e) => reasons.push(e.reason));
    const pid = d.pid!;
    process.kill(pid, 'SIGSTOP');
    try {
      // Feed the clip repeatedly (with increasing timestamps) until the pipe and queue are full.
      let ts = frames[0]!.timestamp;
      for (let round = 0; round < 8; round++) {
        for (const f of frames) {
          d.decode({ ...f, timestamp: (ts += 3000) });
        }
      }
      const s = d.stats();
      expect(s.droppedOverload).toBeGreaterThan(0);
      expect(s.queuedBytes).toBeLessThanOrEqual(16 * 1024 + frames[0]!.data.length + 64);
      expect(reasons).toContain('decoder-overload');
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    const before = out.length;
    const ts = frames[0]!.timestamp + 10_000_000;
    for (const f of frames) d.decode({ ...f, timestamp: ts + f.timestamp });
    await waitFor(() => out.length > before + 3, 20_000, 'frames after overload');
    expect(d.stats().restarts).toBe(0);
  });

  it('retries a decoder that cannot start with bounded backoff, without throwing', async () => {
    const d = decoder({ ffmpegPath: '/nonexistent/ffmpeg', restartBaseDelayMs: 5, restartMaxDelayMs: 20 });
    const delays: number[] = [];
    d.on('restart', (e) => delays.push(e.delayMs));
    await waitFor(() => delays.length >= 5, 10_000, 'restarts');
    expect(Math.max(...delays)).toBeLessThanOrEqual(20);
    expect(delays.slice(0, 3)).toEqual([5, 10, 20]);
    expect(d.decode(frames[0]!)).toBe(false);
    expect(d.stats().droppedDecoderDown).toBe(1);
    expect(d.stats().framesDecoded).toBe(0);
  });

  it('restarts after a frame ffmpeg cannot decode, then asks for a keyframe', async () => {
    const d = decoder({ outputWidth: 64, outputHeight: 48, restartBaseDelayMs: 20 });
    const reasons: string[] = [];
    const restarts: string[] = [];
    d.on('keyframe-needed', (e) => reasons.push(e.reason));
    d.on('restart', (e) => restarts.push(`${e.reason}:${e.exitCode}`));
    const pid = d.pid;
    expect(d.decode(frames[0]!)).toBe(true);
    // A delta frame cut after its 3-byte header: the partition size points past the data.
    expect(d.decode({ ...frames[1]!, data: frames[1]!.data.subarray(0, 5) })).toBe(true);
    await waitFor(() => reasons.includes('decoder-restart'), 10_000, 'restart');
    expect(restarts).toEqual(['exit:1']);
    expect(d.pid).not.toBe(pid);
    expect(d.decode(frames[2]!)).toBe(false); // delta frame on a fresh decoder
    const out: DecodedVideoFrame[] = [];
    d.on('frame', (f) => out.push(f));
    for (const f of frames.slice(30, 60)) d.decode(f);
    await waitFor(() => out.length >= 5, 20_000, 'frames after restart');
  });

  it('restarts a stalled ffmpeg (no output for stallTimeoutMs)', async () => {
    const d = decoder({ outputWidth: 64, outputHeight: 48, stallTimeoutMs: 300, restartBaseDelayMs: 20 });
    const restarts: string[] = [];
    d.on('restart', (e) => restarts.push(e.reason));
    const pid = d.pid!;
    process.kill(pid, 'SIGSTOP');
    // The stall is judged on the wall clock (Date.now()) at the next decode: fake the clock, not the timers.
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      expect(d.decode(frames[0]!)).toBe(true);
      vi.advanceTimersByTime(301); // the selected frame is now past stallTimeoutMs with no output
      expect(d.decode(frames[1]!)).toBe(false); // detects the stall, kills the stopped child
    } finally {
      vi.useRealTimers();
    }
    expect(restarts).toEqual(['stall']);
    await waitFor(() => !alive(pid) && d.stats().state === 'running', 10_000, 'new decoder');
  });

  it('kills ffmpeg on close', async () => {
    const d = decoder({});
    const pid = d.pid!;
    expect(alive(pid)).toBe(true);
    d.close();
    await waitFor(() => !alive(pid), 5000, 'ffmpeg exit');
    expect(d.decode(frames[0]!)).toBe(false);
    expect(d.stats().state).toBe('closed');
  });
});

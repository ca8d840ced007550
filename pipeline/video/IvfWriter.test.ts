import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { IVF_FRAME_HEADER_BYTES, IVF_HEADER_BYTES, IvfWriter, ivfFileHeader, parseIvf } from './IvfWriter.js';
import { encodeVp8 } from './testing/vp8Fixtures.js';

describe('IvfWriter', () => {
  it('writes the 32-byte file header once, then 12-byte frame headers', () => {
    const w = new IvfWriter({ width: 640, height: 480, timebaseDen: 180_000, timebaseNum: 1 });
    const a = w.frame(Uint8Array.of(1, 2, 3), 7);
    const b = w.frame(Uint8Array.of(4), 2 ** 40);
    expect(a.length).toBe(IVF_HEADER_BYTES + IVF_FRAME_HEADER_BYTES + 3);
    expect(b.length).toBe(IVF_FRAME_HEADER_BYTES + 1);
    expect(Buffer.from(a.subarray(0, 4)).toString('latin1')).toBe('DKIF');
    const parsed = parseIvf(new Uint8Array([...a, ...b]));
    expect(parsed?.header).toEqual({ fourcc: 'VP80', width: 640, height: 480, timebaseDen: 180_000, timebaseNum: 1, frameCount: 0 });
    expect(parsed?.frames.map((f) => [f.pts, [...f.data]])).toEqual([
      [7, [1, 2, 3]],
      [2 ** 40, [4]],
    ]);
  });

  it('rejects data that is not IVF', () => {
    expect(parseIvf(new Uint8Array(10))).toBeNull();
    expect(parseIvf(new Uint8Array(40))).toBeNull();
    const h = ivfFileHeader({ width: 1, height: 1, timebaseDen: 1, timebaseNum: 1 });
    expect(parseIvf(h)?.frames).toEqual([]);
  });

  it('produces a stream that ffmpeg decodes frame for frame', () => {
    const src = encodeVp8({ width: 160, height: 120, seconds: 1, fps: 10, gop: 5 });
    const w = new IvfWriter({ width: 160, height: 120, timebaseDen: 90_000, timebaseNum: 1 });
    const stream = Buffer.concat(src.frames.map((f) => w.frame(f.data, f.pts * 9000)));
    const out = execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'ivf', '-i', 'pipe:0', '-f', 'rawvideo', '-pix_fmt', 'gray', '-fps_mode', 'passthrough', 'pipe:1'], {
      input: stream,
    });
    expect(out.length).toBe(src.frames.length * 160 * 120);
  });
});

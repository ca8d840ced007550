/**
 * Rendered camera frames -> a VP8 clip for live-call tests: written as Y4M
 * (detectors/face/testing/y4m.ts) in `dir`, then encoded to IVF by the real ffmpeg/libvpx in
 * realtime mode (keyframe every `gopSec`, no alt-ref, no lag), the way a browser sends it.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import type { RgbFrame } from '../../detectors/face/image.js';
import { writeY4m } from '../../detectors/face/testing/y4m.js';
import { DfdError } from '../../kernel/errors.js';
import { parseIvf, type IvfFile } from '../../pipeline/video/IvfWriter.js';

export function encodeVp8Clip(dir: string, name: string, frames: readonly RgbFrame[], fps: number, gopSec: number, bitrate: string): { y4m: string; ivf: IvfFile } {
  const y4m = path.join(dir, `${name}.y4m`);
  writeY4m(y4m, frames, fps);
  const gop = String(Math.max(1, Math.round(gopSec * fps)));
  const out = execFileSync(
    'ffmpeg',
    [
      '-hide_banner', '-loglevel', 'error', '-i', y4m,
      '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-g', gop, '-keyint_min', gop,
      '-b:v', bitrate, '-auto-alt-ref', '0', '-lag-in-frames', '0', '-f', 'ivf', 'pipe:1',
    ],
    { maxBuffer: 256 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const ivf = parseIvf(new Uint8Array(out.buffer, out.byteOffset, out.byteLength));
  if (ivf === null) throw new DfdError('ERR_FRAME_INVALID', 'ffmpeg did not produce IVF');
  // The sender paces by frame index: every rendered frame must be in the file, in order.
  if (ivf.frames.length !== frames.length || ivf.frames.some((f, i) => f.pts !== i)) {
    throw new DfdError('ERR_FRAME_INVALID', 'VP8 clip lost or reordered frames', { rendered: frames.length, encoded: ivf.frames.length });
  }
  return { y4m, ivf };
}

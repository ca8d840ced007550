/**
 * Writes RGB frames as a YUV4MPEG2 (Y4M) file, 4:2:0, e.g. rendered head-pose answers for
 * Chromium's fake camera (`--use-file-for-fake-video-capture=file.y4m`) or for ffmpeg.
 * Colour: BT.601 limited range (what ffmpeg assumes for untagged yuv420p); chroma is the
 * mean of each 2x2 block (centred siting, C420jpeg). Width and height must be even.
 */
import fs from 'node:fs';
import { DfdError } from '../../../kernel/errors.js';
import { checkFrame, type RgbFrame } from '../image.js';

/** One frame as I420 planes (Y, then U, then V). */
export function rgbToI420(frame: RgbFrame): Uint8Array {
  checkFrame(frame);
  const { width: W, height: H, rgb } = frame;
  if (W % 2 || H % 2) throw new DfdError('ERR_FRAME_INVALID', 'Y4M 4:2:0 needs an even width and height', { width: W, height: H });
  const out = new Uint8Array((W * H * 3) / 2);
  const uOff = W * H;
  const vOff = uOff + (W * H) / 4;
  for (let i = 0, p = 0; i < W * H; i++, p += 3) {
    out[i] = Math.round(16 + (65.481 * rgb[p]! + 128.553 * rgb[p + 1]! + 24.966 * rgb[p + 2]!) / 255);
  }
  for (let y = 0; y < H; y += 2) {
    for (let x = 0; x < W; x += 2) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (const [dx, dy] of [[0, 0], [1, 0], [0, 1], [1, 1]] as const) {
        const p = ((y + dy) * W + x + dx) * 3;
        r += rgb[p]!;
        g += rgb[p + 1]!;
        b += rgb[p + 2]!;
      }
      r /= 4;
      g /= 4;
      b /= 4;
      const c = (y / 2) * (W / 2) + x / 2;
      out[uOff + c] = Math.round(128 + (-37.797 * r - 74.203 * g + 112 * b) / 255);
      out[vOff + c] = Math.round(128 + (112 * r - 93.786 * g - 18.214 * b) / 255);
    }
  }
  return out;
}

/** The whole Y4M file for `frames` (all the same size) at `fps` frames per second. */
export function encodeY4m(frames: readonly RgbFrame[], fps: number): Buffer {
  const first = frames[0];
  if (!first) throw new DfdError('ERR_BAD_REQUEST', 'no frames to write');
  if (!(Number.isInteger(fps) && fps > 0)) throw new DfdError('ERR_BAD_REQUEST', 'fps must be a positive integer', { fps });
  const parts: Uint8Array[] = [Buffer.from(`YUV4MPEG2 W${first.width} H${first.height} F${fps}:1 Ip A1:1 C420jpeg\n`)];
  for (const f of frames) {
    if (f.width !== first.width || f.height !== first.height) throw new DfdError('ERR_FRAME_INVALID', 'all Y4M frames must have the same size');
    parts.push(Buffer.from('FRAME\n'), rgbToI420(f));
  }
  return Buffer.concat(parts);
}

export function writeY4m(file: string, frames: readonly RgbFrame[], fps: number): void {
  fs.writeFileSync(file, encodeY4m(frames, fps));
}

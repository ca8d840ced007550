/**
 * Test and benchmark helpers: decode the sample photos shipped in @vladmandic/face-api
 * (or any image) to an RgbFrame with ffmpeg, and build synthetic frames.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RgbFrame } from './image.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Path of sampleN.jpg (N = 1..6) inside node_modules/@vladmandic/face-api/demo. */
export function samplePhoto(n: number): string {
  return path.join(repoRoot, 'node_modules', '@vladmandic', 'face-api', 'demo', `sample${n}.jpg`);
}

/** Decodes an image with ffmpeg, scaled to `width` (height keeps the aspect, even). */
export function decodeImage(file: string, width: number, height = -2): RgbFrame {
  const probe = execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=width,height', '-of', 'csv=p=0', file], { encoding: 'utf8' });
  const [w0, h0] = probe.trim().split(',').map(Number) as [number, number];
  const h = height > 0 ? height : 2 * Math.round((h0 * width) / w0 / 2);
  const rgb = execFileSync('ffmpeg', ['-v', 'error', '-i', file, '-vf', `scale=${width}:${h}:flags=area`, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], {
    maxBuffer: 256 * 1024 * 1024,
  });
  return { width, height: h, rgb: new Uint8Array(rgb.buffer, rgb.byteOffset, rgb.byteLength) };
}

/** A frame of one colour, or of uniform noise from a seeded LCG when `noise` is set. */
export function syntheticFrame(width: number, height: number, opts: { value?: number; noise?: boolean; seed?: number } = {}): RgbFrame {
  const rgb = new Uint8Array(width * height * 3);
  if (opts.noise) {
    let s = opts.seed ?? 1;
    for (let i = 0; i < rgb.length; i++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      rgb[i] = s >>> 24;
    }
  } else {
    rgb.fill(opts.value ?? 0);
  }
  return { width, height, rgb };
}

/** Mirror image (left-right). */
export function flipHorizontal(frame: RgbFrame): RgbFrame {
  const { width: W, height: H } = frame;
  const rgb = new Uint8Array(frame.rgb.length);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const s = (y * W + x) * 3;
      const d = (y * W + (W - 1 - x)) * 3;
      rgb[d] = frame.rgb[s]!;
      rgb[d + 1] = frame.rgb[s + 1]!;
      rgb[d + 2] = frame.rgb[s + 2]!;
    }
  }
  return { width: W, height: H, rgb };
}

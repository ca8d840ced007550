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

/**
 * A webcam-like sequence of a real face: 640x480 views of sample1's right-hand face (the face
 * fixture's framing), the camera panning 6 px right and 3 px down per frame and zooming in 1 % every
 * other frame. Each zoom step decodes the photo once, so keep `frames` modest (10 takes about 1 s).
 */
export function movingFaceFrames(frames: number): RgbFrame[] {
  const W = 640;
  const H = 480;
  const photos = new Map<number, RgbFrame>();
  const out: RgbFrame[] = [];
  for (let i = 0; i < frames; i++) {
    const width = 1920 + 20 * Math.floor(i / 2);
    let photo = photos.get(width);
    if (!photo) {
      photo = decodeImage(samplePhoto(1), width);
      photos.set(width, photo);
    }
    const k = width / 1920;
    const x = Math.round(1230 * k) + 6 * i;
    const y = Math.round(60 * k) + 3 * i;
    if (x + W > photo.width || y + H > photo.height) throw new RangeError(`movingFaceFrames: ${frames} frames run off the photo`);
    const rgb = new Uint8Array(W * H * 3);
    for (let r = 0; r < H; r++) rgb.set(photo.rgb.subarray(((y + r) * photo.width + x) * 3, ((y + r) * photo.width + x + W) * 3), r * W * 3);
    out.push({ width: W, height: H, rgb });
  }
  return out;
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

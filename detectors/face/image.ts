/**
 * Plain RGB frames and the one resampling primitive every face model here uses:
 * an affine, bilinear sampler from a frame into a fixed-size tensor or crop.
 *
 * Coordinates: continuous pixel coordinates, pixel (i, j) covers [i, i+1) x [j, j+1),
 * its centre is (i + 0.5, j + 0.5). An `Affine` maps a continuous point of the OUTPUT
 * image to a continuous point of the SOURCE frame.
 */
import { DfdError } from '../../kernel/errors.js';

/** One decoded video frame: packed RGB, row-major, 3 bytes per pixel, no row padding. */
export interface RgbFrame {
  width: number;
  height: number;
  rgb: Uint8Array;
}

export type Point = [x: number, y: number];

/** [a, b, c, d, e, f]: x' = a*x + b*y + c, y' = d*x + e*y + f. */
export type Affine = [number, number, number, number, number, number];

/** Frame limits: 16 px to 8K on a side. */
export const minFrameSide = 16;
export const maxFrameSide = 8192;

/** Throws ERR_FRAME_INVALID when the frame cannot be an RGB frame of its stated size. */
export function checkFrame(frame: RgbFrame): void {
  const ok =
    frame !== null &&
    typeof frame === 'object' &&
    Number.isInteger(frame.width) &&
    Number.isInteger(frame.height) &&
    frame.width >= minFrameSide &&
    frame.height >= minFrameSide &&
    frame.width <= maxFrameSide &&
    frame.height <= maxFrameSide &&
    frame.rgb instanceof Uint8Array &&
    frame.rgb.length === frame.width * frame.height * 3;
  if (!ok) {
    const details: Record<string, unknown> = {
      width: frame?.width,
      height: frame?.height,
      bytes: frame?.rgb instanceof Uint8Array ? frame.rgb.length : undefined,
      minSide: minFrameSide,
      maxSide: maxFrameSide,
    };
    throw new DfdError('ERR_FRAME_INVALID', 'expected packed RGB, width*height*3 bytes', details);
  }
}

/**
 * Affine that maps an outW x outH output onto a square of side `side` (source pixels)
 * centred at (cx, cy) and rotated by `angle` radians (the output x axis follows the
 * source direction (cos angle, sin angle)).
 */
export function squareCropAffine(cx: number, cy: number, side: number, angle: number, outW: number, outH: number): Affine {
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  const sx = side / outW;
  const sy = side / outH;
  // source = centre + R(angle) * ((u, v) * s - side/2)
  const a = cos * sx;
  const b = -sin * sy;
  const d = sin * sx;
  const e = cos * sy;
  const c = cx - (cos * side) / 2 + (sin * side) / 2;
  const f = cy - (sin * side) / 2 - (cos * side) / 2;
  return [a, b, c, d, e, f];
}

export function applyAffine(m: Affine, x: number, y: number): Point {
  return [m[0] * x + m[1] * y + m[2], m[3] * x + m[4] * y + m[5]];
}

/**
 * Samples the frame through `m` into `dst` (HWC, 3 channels, outW x outH).
 * Float32 output: value = (sample * scale + offset). Uint8 output: rounded sample.
 * Points outside the frame read as black (0) before scaling.
 */
export function sampleAffine(frame: RgbFrame, m: Affine, outW: number, outH: number, dst: Float32Array | Uint8Array, scale = 1, offset = 0): void {
  const { width: W, height: H, rgb } = frame;
  const isFloat = dst instanceof Float32Array;
  const [a, b, c, d, e, f] = m;
  let o = 0;
  for (let v = 0; v < outH; v++) {
    const vy = v + 0.5;
    // source coordinates of the output pixel centre, shifted so integer = pixel centre
    let x = a * 0.5 + b * vy + c - 0.5;
    let y = d * 0.5 + e * vy + f - 0.5;
    for (let u = 0; u < outW; u++, x += a, y += d) {
      const x0 = Math.floor(x);
      const y0 = Math.floor(y);
      const fx = x - x0;
      const fy = y - y0;
      let r = 0;
      let g = 0;
      let bl = 0;
      if (x0 >= 0 && y0 >= 0 && x0 + 1 < W && y0 + 1 < H) {
        const i00 = (y0 * W + x0) * 3;
        const i10 = i00 + 3;
        const i01 = i00 + W * 3;
        const i11 = i01 + 3;
        const w00 = (1 - fx) * (1 - fy);
        const w10 = fx * (1 - fy);
        const w01 = (1 - fx) * fy;
        const w11 = fx * fy;
        r = rgb[i00]! * w00 + rgb[i10]! * w10 + rgb[i01]! * w01 + rgb[i11]! * w11;
        g = rgb[i00 + 1]! * w00 + rgb[i10 + 1]! * w10 + rgb[i01 + 1]! * w01 + rgb[i11 + 1]! * w11;
        bl = rgb[i00 + 2]! * w00 + rgb[i10 + 2]! * w10 + rgb[i01 + 2]! * w01 + rgb[i11 + 2]! * w11;
      } else if (x0 >= -1 && y0 >= -1 && x0 < W && y0 < H) {
        // border: missing neighbours count as black
        for (let k = 0; k < 4; k++) {
          const xi = x0 + (k & 1);
          const yi = y0 + (k >> 1);
          if (xi < 0 || yi < 0 || xi >= W || yi >= H) continue;
          const w = (k & 1 ? fx : 1 - fx) * (k >> 1 ? fy : 1 - fy);
          const i = (yi * W + xi) * 3;
          r += rgb[i]! * w;
          g += rgb[i + 1]! * w;
          bl += rgb[i + 2]! * w;
        }
      }
      if (isFloat) {
        dst[o] = r * scale + offset;
        dst[o + 1] = g * scale + offset;
        dst[o + 2] = bl * scale + offset;
      } else {
        dst[o] = r + 0.5;
        dst[o + 1] = g + 0.5;
        dst[o + 2] = bl + 0.5;
      }
      o += 3;
    }
  }
}

/**
 * The appearance side of `RegionVisibility`: a luma grid over the canonical face box
 * (faceRegionLayout.ts), cells of `cellIod` IOD with 2x2 bilinear sub-samples each, read from
 * a frame through a landmark fit (landmarkFit.ts); the rectangles of it judged on their own
 * (`layout`: each region, and the blocks of the regions split into blocks); and the
 * descriptor of a rectangle: the zero-mean, unit-variance patch and a block histogram of
 * signed gradient orientations (`hogBins` bins, magnitude weighted), both compared by
 * `cosine`, so brightness gain and offset do not matter. One grid per RegionVisibility,
 * overwritten by each `sample`.
 */
import type { FaceRegion } from './FaceObservation.js';
import { faceRegions, gridBounds, regionRects } from './faceRegionLayout.js';
import type { RgbFrame } from './image.js';
import type { Similarity } from './landmarkFit.js';

/** Orientation bins of the gradient histograms. */
export const hogBins = 8;

/** A rectangle of the luma grid judged on its own: a whole region or one block of it. */
export interface RegionGeometry {
  region: FaceRegion;
  isBlock: boolean;
  x0: number;
  y0: number;
  w: number;
  h: number;
  /** Histogram blocks across and down. */
  bx: number;
  by: number;
}

/** Normalised patch (w x h) and block gradient-orientation histogram (bx x by x hogBins) of a rectangle. */
export interface Descriptor {
  patch: Float32Array;
  hog: Float32Array;
}

export class LumaGrid {
  /** Cell side, IOD. */
  readonly cellIod: number;
  /** Cells across and down. */
  readonly gw: number;
  readonly gh: number;
  private readonly grid: Float32Array;

  constructor(cellIod: number) {
    const c = cellIod;
    this.cellIod = c;
    this.gw = Math.round((gridBounds[2] - gridBounds[0]) / c);
    this.gh = Math.round((gridBounds[3] - gridBounds[1]) / c);
    this.grid = new Float32Array(this.gw * this.gh);
  }

  /**
   * The rectangles of the grid judged on their own, in order: each region's (`regionRects`),
   * followed, for a region split into `blocks` (across, down), by each of its blocks.
   */
  layout(blocks: Partial<Record<FaceRegion, readonly [number, number]>>): RegionGeometry[] {
    const c = this.cellIod;
    const geometry: RegionGeometry[] = [];
    for (const region of faceRegions) {
      const [x0, y0, x1, y1] = regionRects[region];
      const gx0 = Math.max(0, Math.round((x0 - gridBounds[0]) / c));
      const gy0 = Math.max(0, Math.round((y0 - gridBounds[1]) / c));
      const w = Math.min(this.gw - gx0, Math.max(4, Math.round((x1 - x0) / c)));
      const h = Math.min(this.gh - gy0, Math.max(4, Math.round((y1 - y0) / c)));
      const tall = h >= 2 * w;
      const wide = w >= 2 * h;
      geometry.push({ region, isBlock: false, x0: gx0, y0: gy0, w, h, bx: tall ? 2 : wide ? 3 : 2, by: tall ? 3 : wide ? 1 : 2 });
      const [nx, ny] = blocks[region] ?? [1, 1];
      if (nx * ny <= 1) continue;
      for (let j = 0; j < ny; j++) {
        for (let i = 0; i < nx; i++) {
          const bx0 = gx0 + Math.floor((i * w) / nx);
          const by0 = gy0 + Math.floor((j * h) / ny);
          const bw = gx0 + Math.floor(((i + 1) * w) / nx) - bx0;
          const bh = gy0 + Math.floor(((j + 1) * h) / ny) - by0;
          if (bw >= 3 && bh >= 3) geometry.push({ region, isBlock: true, x0: bx0, y0: by0, w: bw, h: bh, bx: 1, by: 1 });
        }
      }
    }
    return geometry;
  }

  /** Reads the frame's luma over the canonical face box; frame point = scale * R * canonical + t. */
  sample(frame: RgbFrame, t: Similarity): void {
    const { scale, cos, sin, tx, ty } = t;
    const { width: W, height: H, rgb } = frame;
    const c = this.cellIod;
    const sub = [0.25, 0.75];
    let k = 0;
    for (let gy = 0; gy < this.gh; gy++) {
      for (let gx = 0; gx < this.gw; gx++, k++) {
        let sum = 0;
        for (const oy of sub) {
          for (const ox of sub) {
            const u = gridBounds[0] + (gx + ox) * c;
            const v = gridBounds[1] + (gy + oy) * c;
            const x = scale * (cos * u - sin * v) + tx - 0.5;
            const y = scale * (sin * u + cos * v) + ty - 0.5;
            const x0 = Math.min(W - 2, Math.max(0, Math.floor(x)));
            const y0 = Math.min(H - 2, Math.max(0, Math.floor(y)));
            const fx = Math.min(1, Math.max(0, x - x0));
            const fy = Math.min(1, Math.max(0, y - y0));
            const i00 = (y0 * W + x0) * 3;
            const i01 = i00 + W * 3;
            const l00 = 0.299 * rgb[i00]! + 0.587 * rgb[i00 + 1]! + 0.114 * rgb[i00 + 2]!;
            const l10 = 0.299 * rgb[i00 + 3]! + 0.587 * rgb[i00 + 4]! + 0.114 * rgb[i00 + 5]!;
            const l01 = 0.299 * rgb[i01]! + 0.587 * rgb[i01 + 1]! + 0.114 * rgb[i01 + 2]!;
            const l11 = 0.299 * rgb[i01 + 3]! + 0.587 * rgb[i01 + 4]! + 0.114 * rgb[i01 + 5]!;
            sum += (l00 * (1 - fx) + l10 * fx) * (1 - fy) + (l01 * (1 - fx) + l11 * fx) * fy;
          }
        }
        this.grid[k] = sum / 4;
      }
    }
  }

  /** Normalised patch and block gradient-orientation histogram of one region of the grid. */
  describe(g: RegionGeometry): Descriptor {
    const patch = new Float32Array(g.w * g.h);
    let mean = 0;
    for (let y = 0; y < g.h; y++) for (let x = 0; x < g.w; x++) mean += this.grid[(g.y0 + y) * this.gw + g.x0 + x]!;
    mean /= patch.length;
    let ss = 0;
    for (let y = 0; y < g.h; y++) {
      for (let x = 0; x < g.w; x++) {
        const v = this.grid[(g.y0 + y) * this.gw + g.x0 + x]! - mean;
        patch[y * g.w + x] = v;
        ss += v * v;
      }
    }
    const inv = 1 / Math.sqrt(ss / patch.length + 1);
    for (let i = 0; i < patch.length; i++) patch[i]! *= inv;

    const hog = new Float32Array(g.bx * g.by * hogBins);
    for (let y = 0; y < g.h; y++) {
      const gy = g.y0 + y;
      for (let x = 0; x < g.w; x++) {
        const gx = g.x0 + x;
        const xl = this.grid[gy * this.gw + Math.max(0, gx - 1)]!;
        const xr = this.grid[gy * this.gw + Math.min(this.gw - 1, gx + 1)]!;
        const yu = this.grid[Math.max(0, gy - 1) * this.gw + gx]!;
        const yd = this.grid[Math.min(this.gh - 1, gy + 1) * this.gw + gx]!;
        const dx = xr - xl;
        const dy = yd - yu;
        const mag = Math.hypot(dx, dy);
        if (mag === 0) continue;
        const t = ((Math.atan2(dy, dx) + Math.PI) / (2 * Math.PI)) * hogBins;
        const b0 = Math.floor(t) % hogBins;
        const f = t - Math.floor(t);
        const block = Math.min(g.by - 1, Math.floor((y * g.by) / g.h)) * g.bx + Math.min(g.bx - 1, Math.floor((x * g.bx) / g.w));
        hog[block * hogBins + b0]! += mag * (1 - f);
        hog[block * hogBins + ((b0 + 1) % hogBins)]! += mag * f;
      }
    }
    const n = Math.sqrt(dot(hog, hog)) + 1e-6;
    for (let i = 0; i < hog.length; i++) hog[i]! /= n;
    return { patch, hog };
  }
}

/** Cosine similarity of two descriptor parts. */
export function cosine(a: Float32Array, b: Float32Array): number {
  return dot(a, b) / Math.sqrt(Math.max(1e-12, dot(a, a) * dot(b, b)));
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/**
 * ROC and DET plots as PNG files, with no dependency beyond node:zlib: a small RGB raster,
 * anti-aliasing-free line drawing, a 5x7 bitmap font for titles and tick labels, and a
 * minimal PNG encoder (IHDR + one zlib IDAT + IEND, filter 0 on every row).
 *
 *   ROC: x = share of bona fide/real items flagged (false positive rate),
 *        y = share of spoof/fake items flagged (true positive rate), linear axes.
 *   DET: x = P_fa (spoof accepted), y = P_miss (bona fide rejected), both on normal-deviate
 *        (probit) axes from 0.1 % to 80 %, as in the NIST/ASVspoof DET convention.
 */
import { deflateSync, inflateSync } from 'node:zlib';
import { DfdError } from '../../kernel/errors.js';
import { operatingPoints } from './metrics.js';

// ---------------------------------------------------------------------------------- PNG

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'ascii');
  Buffer.from(data.buffer, data.byteOffset, data.byteLength).copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Encodes RGB8 pixels (width * height * 3 bytes, row-major) as a PNG file. */
export function encodePng(width: number, height: number, rgb: Uint8Array): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: truecolour
  ihdr[10] = 0; // deflate
  ihdr[11] = 0; // adaptive filtering
  ihdr[12] = 0; // no interlace
  const stride = width * 3;
  const raw = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (stride + 1)] = 0; // filter: none
    Buffer.from(rgb.buffer, rgb.byteOffset + y * stride, stride).copy(raw, y * (stride + 1) + 1);
  }
  return Buffer.concat([PNG_SIGNATURE, chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0))]);
}

export interface PngChunk {
  type: string;
  data: Buffer;
}

/** A strict PNG reader (for checking written files): signature, chunk CRCs, IHDR first, IEND last, IDAT inflated. */
export function readPng(png: Buffer): { width: number; height: number; colourType: number; rows: Buffer; chunks: PngChunk[] } {
  if (!png.subarray(0, 8).equals(PNG_SIGNATURE)) throw new DfdError('ERR_DECODE_FAILED', 'not a PNG signature');
  const chunks: PngChunk[] = [];
  let off = 8;
  while (off < png.length) {
    if (off + 12 > png.length) throw new DfdError('ERR_DECODE_FAILED', 'truncated PNG');
    const len = png.readUInt32BE(off);
    if (off + 12 + len > png.length) throw new DfdError('ERR_DECODE_FAILED', 'truncated PNG');
    const type = png.toString('ascii', off + 4, off + 8);
    const data = png.subarray(off + 8, off + 8 + len);
    const crc = png.readUInt32BE(off + 8 + len);
    if (crc !== crc32(png.subarray(off + 4, off + 8 + len))) throw new DfdError('ERR_DECODE_FAILED', 'PNG chunk CRC mismatch', { type });
    chunks.push({ type, data });
    off += 12 + len;
  }
  if (chunks[0]?.type !== 'IHDR' || chunks[chunks.length - 1]?.type !== 'IEND') throw new DfdError('ERR_DECODE_FAILED', 'PNG chunk order');
  const ihdr = chunks[0].data;
  const idat = Buffer.concat(chunks.filter((c) => c.type === 'IDAT').map((c) => c.data));
  return { width: ihdr.readUInt32BE(0), height: ihdr.readUInt32BE(4), colourType: ihdr[9]!, rows: inflateSync(idat), chunks };
}

// ------------------------------------------------------------------------------- raster

export type Rgb = readonly [number, number, number];

/** 5x7 glyphs, one string of 7 rows of 5 bits each ('#' = ink). Lower case renders as upper. */
const GLYPHS: Record<string, string> = {
  '0': '.###.#...##..###.#.###..##...#.###.',
  '1': '..#...##....#....#....#....#...###.',
  '2': '.###.#...#....#...#...#...#...#####',
  '3': '#####...#...#.....#.....##...#.###.',
  '4': '...#...##..#.#.#..#.#####...#....#.',
  '5': '######....####.....#....##...#.###.',
  '6': '..##..#...#....####.#...##...#.###.',
  '7': '#####....#...#...#...#....#....#...',
  '8': '.###.#...##...#.###.#...##...#.###.',
  '9': '.###.#...##...#.####....#...#..##..',
  '.': '..........................##...##..',
  ',': '.....................##....#...#...',
  '%': '##...##..#...#...#...#...#..##...##',
  '-': '................###................',
  '+': '.......#....#..#####..#....#.......',
  '=': '..........#####.....#####..........',
  '(': '...#...#...#....#....#.....#.....#.',
  ')': '.#.....#.....#....#....#...#...#...',
  '/': '.........#...#...#...#...#.........',
  ':': '.......##...##.........##...##.....',
  '_': '..............................#####',
  ' ': '...................................',
  A: '.###.#...##...#######...##...##...#',
  B: '####.#...##...#####.#...##...#####.',
  C: '.###.#...##....#....#....#...#.###.',
  D: '###..#..#.#...##...##...##..#.###..',
  E: '######....#....####.#....#....#####',
  F: '######....#....####.#....#....#....',
  G: '.###.#...##....#.####...##...#.####',
  H: '#...##...##...#######...##...##...#',
  I: '.###...#....#....#....#....#...###.',
  J: '..###...#....#....#....##..#..##...',
  K: '#...##..#.#.#..##...#.#..#..#.#...#',
  L: '#....#....#....#....#....#....#####',
  M: '#...###.###.#.##...##...##...##...#',
  N: '#...##...###..##.#.##..###...##...#',
  O: '.###.#...##...##...##...##...#.###.',
  P: '####.#...##...#####.#....#....#....',
  Q: '.###.#...##...##...##.#.##..#..##.#',
  R: '####.#...##...#####.#.#..#..#.#...#',
  S: '.####.....#.....###.....#....#####.',
  T: '#####..#....#....#....#....#....#..',
  U: '#...##...##...##...##...##...#.###.',
  V: '#...##...##...##...##...#.#.#...#..',
  W: '#...##...##...##.#.##.#.##.#.#.#.#.',
  X: '#...##...#.#.#...#...#.#.#...##...#',
  Y: '#...##...#.#.#...#....#....#....#..',
  Z: '#####....#...#...#...#...#....#####',
};

export class Raster {
  readonly width: number;
  readonly height: number;
  readonly rgb: Uint8Array;

  constructor(width: number, height: number, background: Rgb = [255, 255, 255]) {
    this.width = width;
    this.height = height;
    this.rgb = new Uint8Array(width * height * 3);
    for (let i = 0; i < width * height; i++) this.rgb.set(background, i * 3);
  }

  set(x: number, y: number, c: Rgb): void {
    const xi = Math.round(x);
    const yi = Math.round(y);
    if (xi < 0 || yi < 0 || xi >= this.width || yi >= this.height) return;
    this.rgb.set(c, (yi * this.width + xi) * 3);
  }

  /** Bresenham-style line of `thickness` pixels (square pen). */
  line(x0: number, y0: number, x1: number, y1: number, c: Rgb, thickness = 1): void {
    const steps = Math.max(1, Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0))));
    const r = Math.floor((thickness - 1) / 2);
    for (let i = 0; i <= steps; i++) {
      const x = x0 + ((x1 - x0) * i) / steps;
      const y = y0 + ((y1 - y0) * i) / steps;
      for (let dy = -r; dy <= thickness - 1 - r; dy++) for (let dx = -r; dx <= thickness - 1 - r; dx++) this.set(x + dx, y + dy, c);
    }
  }

  /** Dashed line: `on` pixels drawn, `off` skipped. */
  dashed(x0: number, y0: number, x1: number, y1: number, c: Rgb, on = 4, off = 4): void {
    const len = Math.hypot(x1 - x0, y1 - y0);
    for (let d = 0; d < len; d += on + off) {
      const a = d / len;
      const b = Math.min(1, (d + on) / len);
      this.line(x0 + (x1 - x0) * a, y0 + (y1 - y0) * a, x0 + (x1 - x0) * b, y0 + (y1 - y0) * b, c);
    }
  }

  /** Text in the 5x7 font at `scale`; returns the width drawn. Unknown characters print as '?' boxes. */
  text(x: number, y: number, s: string, c: Rgb, scale = 1): number {
    let cx = x;
    for (const ch of s.toUpperCase()) {
      const g = GLYPHS[ch];
      for (let row = 0; row < 7; row++) {
        for (let col = 0; col < 5; col++) {
          const ink = g ? g[row * 5 + col] === '#' : row === 0 || row === 6 || col === 0 || col === 4;
          if (!ink) continue;
          for (let sy = 0; sy < scale; sy++) for (let sx = 0; sx < scale; sx++) this.set(cx + col * scale + sx, y + row * scale + sy, c);
        }
      }
      cx += 6 * scale;
    }
    return cx - x;
  }

  static textWidth(s: string, scale = 1): number {
    return s.length * 6 * scale;
  }

  png(): Buffer {
    return encodePng(this.width, this.height, this.rgb);
  }
}

// ------------------------------------------------------------------------------- curves

/** Inverse of the standard normal CDF (Acklam's rational approximation, |rel. error| < 1.2e-9). */
export function probit(p: number): number {
  if (p <= 0) return Number.NEGATIVE_INFINITY;
  if (p >= 1) return Number.POSITIVE_INFINITY;
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  if (p < lo) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  }
  if (p > 1 - lo) return -probit(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
}

export interface CurvePoint {
  /** pMiss: share of bona fide items flagged at this threshold. */
  pMiss: number;
  /** pFa: share of spoof items not flagged. */
  pFa: number;
}

/** Every operating point of the score sets (metrics.ts convention), from flag-all to flag-none. */
export function curvePoints(bona: readonly number[], spoof: readonly number[]): CurvePoint[] {
  return operatingPoints(bona, spoof).map((p) => ({ pMiss: p.pMiss, pFa: p.pFa }));
}

// -------------------------------------------------------------------------------- plots

const INK: Rgb = [30, 30, 30];
const GRID: Rgb = [222, 222, 222];
const CURVE: Rgb = [31, 119, 180];
const CHANCE: Rgb = [150, 150, 150];
const MARK: Rgb = [214, 39, 40];

interface Frame {
  r: Raster;
  left: number;
  top: number;
  w: number;
  h: number;
}

function frame(title: string, xLabel: string, yLabel: string, size: number): Frame {
  const r = new Raster(size, size);
  const left = 64;
  const top = 44;
  const w = size - left - 24;
  const h = size - top - 56;
  r.text(Math.max(4, Math.round((size - Raster.textWidth(title, 2)) / 2)), 12, title, INK, 2);
  r.text(left + Math.round((w - Raster.textWidth(xLabel)) / 2), size - 18, xLabel, INK);
  // y label, written vertically one character per line
  const ys = yLabel.toUpperCase();
  const y0 = top + Math.round((h - ys.length * 9) / 2);
  for (let i = 0; i < ys.length; i++) r.text(6, y0 + i * 9, ys[i]!, INK);
  return { r, left, top, w, h };
}

function box(f: Frame): void {
  const { r, left, top, w, h } = f;
  r.line(left, top, left + w, top, INK);
  r.line(left, top + h, left + w, top + h, INK);
  r.line(left, top, left, top + h, INK);
  r.line(left + w, top, left + w, top + h, INK);
}

export interface PlotInfo {
  title: string;
  size?: number;
}

/** ROC curve PNG. `bona`/`spoof` are scores (higher = more likely spoof). */
export function rocPng(bona: readonly number[], spoof: readonly number[], info: PlotInfo): Buffer {
  const f = frame(info.title, 'FALSE POSITIVE RATE (REAL FLAGGED)', 'TRUE POSITIVE RATE', info.size ?? 480);
  const { r, left, top, w, h } = f;
  const X = (v: number): number => left + v * w;
  const Y = (v: number): number => top + (1 - v) * h;
  for (let i = 0; i <= 10; i++) {
    const v = i / 10;
    r.line(X(v), top, X(v), top + h, GRID);
    r.line(left, Y(v), left + w, Y(v), GRID);
    if (i % 2 === 0) {
      const label = v.toFixed(1);
      r.text(X(v) - Raster.textWidth(label) / 2, top + h + 6, label, INK);
      r.text(left - Raster.textWidth(label) - 5, Y(v) - 3, label, INK);
    }
  }
  r.dashed(X(0), Y(0), X(1), Y(1), CHANCE);
  box(f);
  // Operating points run from flag-all (fpr 1, tpr 1) to flag-none (0, 0).
  const pts = curvePoints(bona, spoof).map((p) => [p.pMiss, 1 - p.pFa] as const);
  for (let i = 1; i < pts.length; i++) r.line(X(pts[i - 1]![0]), Y(pts[i - 1]![1]), X(pts[i]![0]), Y(pts[i]![1]), CURVE, 2);
  return r.png();
}

const DET_TICKS = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8];
const DET_MIN = 0.001;
const DET_MAX = 0.8;

/** DET curve PNG on probit axes; `eer` (0..1), when given, is marked on the diagonal. */
export function detPng(bona: readonly number[], spoof: readonly number[], info: PlotInfo & { eer?: number }): Buffer {
  const f = frame(info.title, 'PFA: SPOOF/FAKE ACCEPTED (%)', 'PMISS: REAL REJECTED (%)', info.size ?? 480);
  const { r, left, top, w, h } = f;
  const lo = probit(DET_MIN);
  const hi = probit(DET_MAX);
  const clampP = (p: number): number => Math.min(DET_MAX, Math.max(DET_MIN, p));
  const X = (p: number): number => left + ((probit(clampP(p)) - lo) / (hi - lo)) * w;
  const Y = (p: number): number => top + (1 - (probit(clampP(p)) - lo) / (hi - lo)) * h;
  for (const t of DET_TICKS) {
    r.line(X(t), top, X(t), top + h, GRID);
    r.line(left, Y(t), left + w, Y(t), GRID);
    const label = String(Number((t * 100).toPrecision(2)));
    r.text(X(t) - Raster.textWidth(label) / 2, top + h + 6, label, INK);
    r.text(left - Raster.textWidth(label) - 5, Y(t) - 3, label, INK);
  }
  r.dashed(X(DET_MIN), Y(DET_MIN), X(DET_MAX), Y(DET_MAX), CHANCE);
  box(f);
  // Staircase between operating points, drawn in probability space then mapped.
  const pts = curvePoints(bona, spoof);
  for (let i = 1; i < pts.length; i++) {
    const a = pts[i - 1]!;
    const b = pts[i]!;
    r.line(X(a.pFa), Y(a.pMiss), X(b.pFa), Y(b.pMiss), CURVE, 2);
  }
  if (info.eer !== undefined && info.eer > 0) {
    const cx = X(info.eer);
    const cy = Y(info.eer);
    for (let a = 0; a < 64; a++) r.set(cx + 5 * Math.cos((a / 64) * 2 * Math.PI), cy + 5 * Math.sin((a / 64) * 2 * Math.PI), MARK);
  }
  return r.png();
}

/**
 * How visible each face region is in this frame, for the occlusion challenges ("pass a
 * hand over half of your face", "press a finger on your cheek"): 0 hidden .. 1 clear, per
 * `FaceRegion` (participant's own left = image right in an unmirrored frame). Fills
 * `FaceObservation.regions`; one instance per video stream, `update()` once per analysed
 * frame, `reset()` to forget the reference.
 *
 * FaceMesh has no per-landmark visibility, and a hand is skin-coloured, so an absolute
 * skin test cannot tell a cheek from a palm. Instead each stream learns what its own face
 * looks like and reports how far each region has moved away from that:
 *
 * 1. Canonical frame. The first `warmupFrames` usable frames (confident face, mesh
 *    present, pose close to the first ones) average the 468 mesh points, in the eye frame
 *    (origin between the eye centres, x towards the participant's left eye, unit = the
 *    inter-ocular distance, IOD), into a template shape. Later frames are mapped onto the
 *    template by robust (Huber-weighted) least-squares similarity fits: one to all points
 *    (eyes, mouth) and one to each side's own points (that side's half and cheek). A hand
 *    over one half makes FaceMesh bend that half; the other side's fit does not follow it.
 * 2. Appearance. A luma grid (cells of `cellIod` IOD, 2x2 bilinear sub-samples each) is
 *    read over the face in canonical coordinates. Each region is a fixed rectangle of it
 *    (`regionRects`); the cheeks are also split into 2x2 blocks (`blocks`) so a finger
 *    covering a quarter of a cheek still shows. Descriptor of a rectangle: the zero-mean
 *    patch and a block histogram of signed gradient orientations (8 bins, magnitude
 *    weighted). Similarity to the reference = mean of the patch correlation and the
 *    histogram cosine rescaled so unrelated texture reads about 0 (`hogFloor`). Both parts
 *    ignore brightness gain and offset.
 * 3. Reference. The warmup frames average into the reference descriptors and give each
 *    rectangle its clear level (its own typical similarity). Later frames refine both as a
 *    slow running average (`adaptRate`) only when every region but the mouth (speech)
 *    already reads at least `updateAbove` and the pose is within `updatePoseDeltaDeg` of
 *    the baseline, so a hand never becomes part of the reference. `staleAfterFrames`
 *    judged frames in a row without such a frame drop the reference so it is learnt again.
 * 4. Visibility = 1 - (clear level - similarity) / `hiddenDrop`, clipped to 0..1; for a
 *    region with blocks, the lowest of the region and its blocks.
 *
 * Returns `{}` (unknown, which the checkers treat as such) while the reference is being
 * learnt, without mesh landmarks, below `minConfidence`, and when yaw or pitch is more than
 * `maxYawDeltaDeg` / `maxPitchDeltaDeg` from the stream's baseline (appearance then
 * changes with pose, not with occlusion; the occlusion challenges are done facing the
 * camera).
 *
 * Limits: a 2D appearance model. Strong lighting changes during the response (a hand's
 * shadow on the uncovered half), expressions and large head motion lower the uncovered
 * regions too; the checkers then say "unclear" rather than "pass". Tested on face-api's
 * sample photos with a 2.5D head warp and an occluder pasted from real hand pixels
 * (detectors/face/testing/occlude.ts), not on recorded video of hands over faces.
 *
 * Cost: three 468-point fits, three passes over a 27x28 luma grid (4 bilinear samples per
 * cell) and 14 small descriptors (6 regions, 2x2 blocks of each cheek): about 1 ms per
 * frame on one core
 * (detectors/face/testing/occlusionBench.ts prints it).
 */
import type { FaceRegion } from './FaceObservation.js';
import { DfdError } from '../../kernel/errors.js';
import { MeshIndex, meshPointCount } from './FaceMesh.js';
import type { RgbFrame } from './image.js';

export interface RegionVisibilityOptions {
  /** Usable frames averaged into the template shape and the first reference. */
  warmupFrames: number;
  /** Running-average rate of the reference on accepted frames after the warmup. */
  adaptRate: number;
  /** Face confidence (detector score x mesh presence) needed to use a frame at all. */
  minConfidence: number;
  /**
   * Largest yaw / pitch change from the stream's baseline pose that still reports,
   * degrees. Pitch gets more room: FaceMesh's pitch swings by 10-20 degrees when a hand
   * covers half the face, and a pitch change alters both halves alike.
   */
  maxYawDeltaDeg: number;
  maxPitchDeltaDeg: number;
  /** Largest pose change from the baseline for a frame to refine the reference, degrees. */
  updatePoseDeltaDeg: number;
  /** Every region but the mouth (speech moves it) must be at least this visible for a frame to refine the reference. */
  updateAbove: number;
  /** Gradient-histogram cosine of unrelated patches (maps to 0 before averaging with the correlation). */
  hogFloor: number;
  /** Similarity drop below the region's clear level that counts as fully hidden (visibility 0). */
  hiddenDrop: number;
  /** Luma grid cell side, in inter-ocular distances. */
  cellIod: number;
  /**
   * Regions also judged block by block (blocks across, down): the region's visibility is
   * the lowest of the whole region and its blocks, so a finger that covers a quarter of a
   * cheek still registers.
   */
  blocks: Partial<Record<FaceRegion, readonly [number, number]>>;
  /**
   * Judged frames in a row without one that refines the reference, after which the
   * reference is dropped and learnt again (a call that started with a hand on the face, a
   * new camera or new lighting). 150 frames is 30 s at 5 fps, far longer than a challenge.
   */
  staleAfterFrames: number;
}

export const defaultRegionVisibilityOptions: RegionVisibilityOptions = {
  warmupFrames: 5,
  adaptRate: 0.05,
  minConfidence: 0.3,
  maxYawDeltaDeg: 20,
  maxPitchDeltaDeg: 30,
  updatePoseDeltaDeg: 10,
  updateAbove: 0.8,
  hogFloor: 0.5,
  hiddenDrop: 0.5,
  cellIod: 0.075,
  blocks: { leftCheek: [2, 2], rightCheek: [2, 2] },
  staleAfterFrames: 150,
};

/** What RegionVisibility needs of an analysed face (AnalyzedFace has all of it). */
export interface RegionVisibilityFace {
  /** 468 * 3 mesh values (x, y frame pixels, z); without them nothing is reported. */
  landmarks?: Float32Array;
  score: number;
  presence?: number;
  yawDeg: number;
  pitchDeg: number;
}

/** Canonical rectangle [x0, y0, x1, y1] in IOD units (origin between the eyes, x to the participant's left, y down). */
export type CanonicalRect = readonly [number, number, number, number];

/**
 * Region rectangles in the canonical eye frame. Measured on the face-api sample faces: the
 * eye centres sit at x = +-0.5, the nose tip near y = 0.7, the mouth corners near
 * (+-0.4, 1.0), the chin near y = 1.6, the cheek centres (mesh points 205 / 425) near
 * (+-0.6, 0.63) and the face outline at cheek-bone height near x = +-0.9 (frontal).
 * The halves leave the nose (+-0.2 along the midline) out of both: a hand over one half
 * runs along it.
 */
export const regionRects: Readonly<Record<FaceRegion, CanonicalRect>> = {
  leftHalf: [0.2, -0.45, 0.9, 1.45],
  rightHalf: [-0.9, -0.45, -0.2, 1.45],
  leftCheek: [0.32, 0.3, 0.88, 0.92],
  rightCheek: [-0.88, 0.3, -0.32, 0.92],
  eyes: [-0.85, -0.25, 0.85, 0.25],
  mouth: [-0.45, 0.85, 0.45, 1.35],
};

export const faceRegions: readonly FaceRegion[] = ['leftHalf', 'rightHalf', 'leftCheek', 'rightCheek', 'eyes', 'mouth'];

/** Per-region numbers behind the last `update()`, for tests and diagnostics. */
export interface RegionDetail {
  /** Patch correlation with the reference, -1..1. */
  ncc: number;
  /** Gradient-orientation histogram cosine with the reference, 0..1. */
  hog: number;
  /** Combined similarity. */
  similarity: number;
  /** Visibility of the whole region, and of its worst block (equal when it has no blocks). */
  whole: number;
  worstBlock: number;
  /** The region's own clear level (running mean similarity on accepted frames). */
  clearLevel: number;
}

export type RegionVisibilityState = 'warmup' | 'ready';

const gridBounds: CanonicalRect = [-1.0, -0.55, 1.0, 1.55];
const bins = 8;

/** A rectangle of the luma grid judged on its own: a whole region or one block of it. */
interface RegionGeometry {
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

interface Reference {
  patch: Float32Array;
  hog: Float32Array;
  clearLevel: number;
}

export class RegionVisibility {
  readonly options: RegionVisibilityOptions;
  private readonly gw: number;
  private readonly gh: number;
  private readonly grid: Float32Array;
  private readonly geometry: RegionGeometry[];
  private readonly weights = new Float64Array(meshPointCount);
  private template: Float64Array | undefined;
  private templateSum = new Float64Array(meshPointCount * 2);
  private refs: Reference[] = [];
  private warm: { patch: Float32Array; hog: Float32Array }[][] = [];
  private baseYaw = 0;
  private basePitch = 0;
  private poseSum = [0, 0];
  private sinceAccepted = 0;
  private lastDetails: Partial<Record<FaceRegion, RegionDetail>> = {};

  constructor(options: Partial<RegionVisibilityOptions> = {}) {
    const o = { ...defaultRegionVisibilityOptions, ...options };
    const ok =
      Number.isInteger(o.warmupFrames) &&
      o.warmupFrames >= 1 &&
      o.adaptRate > 0 &&
      o.adaptRate <= 1 &&
      o.hiddenDrop > 0 &&
      o.hogFloor >= 0 &&
      o.hogFloor < 1 &&
      o.cellIod >= 0.02 &&
      o.cellIod <= 0.25 &&
      o.staleAfterFrames >= 1;
    if (!ok) throw new DfdError('ERR_CONFIG', 'region visibility options out of range', { warmupFrames: o.warmupFrames, adaptRate: o.adaptRate, hiddenDrop: o.hiddenDrop, hogFloor: o.hogFloor, cellIod: o.cellIod });
    this.options = o;
    const c = this.options.cellIod;
    this.gw = Math.round((gridBounds[2] - gridBounds[0]) / c);
    this.gh = Math.round((gridBounds[3] - gridBounds[1]) / c);
    this.grid = new Float32Array(this.gw * this.gh);
    this.geometry = [];
    for (const region of faceRegions) {
      const [x0, y0, x1, y1] = regionRects[region];
      const gx0 = Math.max(0, Math.round((x0 - gridBounds[0]) / c));
      const gy0 = Math.max(0, Math.round((y0 - gridBounds[1]) / c));
      const w = Math.min(this.gw - gx0, Math.max(4, Math.round((x1 - x0) / c)));
      const h = Math.min(this.gh - gy0, Math.max(4, Math.round((y1 - y0) / c)));
      const tall = h >= 2 * w;
      const wide = w >= 2 * h;
      this.geometry.push({ region, isBlock: false, x0: gx0, y0: gy0, w, h, bx: tall ? 2 : wide ? 3 : 2, by: tall ? 3 : wide ? 1 : 2 });
      const [nx, ny] = this.options.blocks[region] ?? [1, 1];
      if (nx * ny <= 1) continue;
      for (let j = 0; j < ny; j++) {
        for (let i = 0; i < nx; i++) {
          const bx0 = gx0 + Math.floor((i * w) / nx);
          const by0 = gy0 + Math.floor((j * h) / ny);
          const bw = gx0 + Math.floor(((i + 1) * w) / nx) - bx0;
          const bh = gy0 + Math.floor(((j + 1) * h) / ny) - by0;
          if (bw >= 3 && bh >= 3) this.geometry.push({ region, isBlock: true, x0: bx0, y0: by0, w: bw, h: bh, bx: 1, by: 1 });
        }
      }
    }
  }

  get state(): RegionVisibilityState {
    return this.template ? 'ready' : 'warmup';
  }

  /** Per-region similarity numbers of the last reported frame (empty when it reported nothing). */
  get details(): Partial<Record<FaceRegion, RegionDetail>> {
    return this.lastDetails;
  }

  /** Forgets the template, the reference and the baseline pose (new participant, new camera). */
  reset(): void {
    this.template = undefined;
    this.templateSum = new Float64Array(meshPointCount * 2);
    this.refs = [];
    this.warm = [];
    this.poseSum = [0, 0];
    this.baseYaw = 0;
    this.basePitch = 0;
    this.sinceAccepted = 0;
    this.lastDetails = {};
  }

  /**
   * One analysed frame of this stream: returns the visibility per region (0..1), or `{}`
   * while the reference is being learnt or when this frame cannot be judged.
   */
  update(face: RegionVisibilityFace | undefined, frame: RgbFrame): Partial<Record<FaceRegion, number>> {
    this.lastDetails = {};
    const o = this.options;
    const lm = face?.landmarks;
    if (!face || !lm || lm.length < meshPointCount * 3) return {};
    const confidence = face.score * (face.presence ?? 1);
    if (!(confidence >= o.minConfidence) || !Number.isFinite(face.yawDeg) || !Number.isFinite(face.pitchDeg)) return {};

    if (!this.template) {
      // Warmup: eye frame only; frames far from the pose of the first ones are skipped.
      const n = this.warm.length;
      if (n > 0 && this.poseDelta(face, this.poseSum[0]! / n, this.poseSum[1]! / n) > o.updatePoseDeltaDeg) return {};
      const eye = eyeFrame(lm);
      if (!eye) return {};
      for (let i = 0; i < meshPointCount; i++) {
        const [u, v] = eye.toCanonical(lm[3 * i]!, lm[3 * i + 1]!);
        this.templateSum[2 * i] = this.templateSum[2 * i]! + u;
        this.templateSum[2 * i + 1] = this.templateSum[2 * i + 1]! + v;
      }
      this.sampleGrid(frame, eye.scale, eye.cos, eye.sin, eye.tx, eye.ty);
      this.warm.push(this.geometry.map((g) => this.describe(g)));
      this.poseSum = [this.poseSum[0]! + face.yawDeg, this.poseSum[1]! + face.pitchDeg];
      if (this.warm.length >= o.warmupFrames) this.finishWarmup();
      return {};
    }

    if (Math.abs(face.yawDeg - this.baseYaw) > o.maxYawDeltaDeg || Math.abs(face.pitchDeg - this.basePitch) > o.maxPitchDeltaDeg) return {};
    // Each side is read through a fit to its own side's points (a hand over one half makes
    // FaceMesh bend that half, and it should not drag the other half's frame with it).
    const descriptors: { patch: Float32Array; hog: Float32Array }[] = new Array(this.geometry.length);
    const scores: { ncc: number; hog: number; similarity: number }[] = new Array(this.geometry.length);
    for (const anchor of ['all', 'left', 'right'] as const) {
      const fit = this.fitTemplate(lm, anchor);
      if (!fit) return {};
      this.sampleGrid(frame, fit.scale, fit.cos, fit.sin, fit.tx, fit.ty);
      this.geometry.forEach((g, k) => {
        if (anchorOf(g.region) !== anchor) return;
        const ref = this.refs[k]!;
        const d = this.describe(g);
        const ncc = cosine(d.patch, ref.patch);
        const hog = cosine(d.hog, ref.hog);
        scores[k] = { ncc, hog, similarity: this.combine(ncc, hog) };
        descriptors[k] = d;
      });
    }
    const out: Partial<Record<FaceRegion, number>> = {};
    let minVisibility = 1;
    this.geometry.forEach((g, k) => {
      const ref = this.refs[k]!;
      const { ncc, hog, similarity } = scores[k]!;
      const v = clamp01(1 - Math.max(0, ref.clearLevel - similarity) / o.hiddenDrop);
      // The mouth moves with speech; it must not keep the reference from updating.
      if (g.region !== 'mouth') minVisibility = Math.min(minVisibility, v);
      const detail = this.lastDetails[g.region];
      if (!g.isBlock) {
        out[g.region] = v;
        this.lastDetails[g.region] = { ncc, hog, similarity, clearLevel: ref.clearLevel, whole: v, worstBlock: v };
      } else if (detail) {
        detail.worstBlock = Math.min(detail.worstBlock, v);
        out[g.region] = Math.min(out[g.region] ?? 1, v);
      }
    });
    if (minVisibility >= o.updateAbove && this.poseDelta(face, this.baseYaw, this.basePitch) <= o.updatePoseDeltaDeg) {
      this.sinceAccepted = 0;
      this.geometry.forEach((_g, k) => {
        const ref = this.refs[k]!;
        const d = descriptors[k]!;
        blend(ref.patch, d.patch, o.adaptRate);
        blend(ref.hog, d.hog, o.adaptRate);
        ref.clearLevel += o.adaptRate * (scores[k]!.similarity - ref.clearLevel);
      });
    } else if (++this.sinceAccepted >= o.staleAfterFrames) {
      this.reset();
      return {};
    }
    return out;
  }

  /** Patch correlation and rescaled gradient-histogram cosine, averaged: 1 identical, about 0 unrelated. */
  private combine(ncc: number, hog: number): number {
    const f = this.options.hogFloor;
    return (ncc + (hog - f) / (1 - f)) / 2;
  }

  private poseDelta(face: RegionVisibilityFace, yaw: number, pitch: number): number {
    return Math.max(Math.abs(face.yawDeg - yaw), Math.abs(face.pitchDeg - pitch));
  }

  private finishWarmup(): void {
    const n = this.warm.length;
    const template = new Float64Array(meshPointCount * 2);
    for (let i = 0; i < template.length; i++) template[i] = this.templateSum[i]! / n;
    this.template = template;
    this.baseYaw = this.poseSum[0]! / n;
    this.basePitch = this.poseSum[1]! / n;
    this.geometry.forEach((g, k) => {
      const patch = new Float32Array(g.w * g.h);
      const hog = new Float32Array(g.bx * g.by * bins);
      for (const frameDescriptors of this.warm) {
        const d = frameDescriptors[k]!;
        addScaled(patch, d.patch, 1 / n);
        addScaled(hog, d.hog, 1 / n);
      }
      // The warmup frames' own similarity to their mean, slightly optimistic: the running
      // mean on accepted frames corrects it.
      let level = 0;
      for (const frameDescriptors of this.warm) {
        const d = frameDescriptors[k]!;
        level += this.combine(cosine(d.patch, patch), cosine(d.hog, hog)) / n;
      }
      this.refs.push({ patch, hog, clearLevel: level });
    });
    this.warm = [];
  }

  /**
   * Robust similarity (template -> frame): Huber-weighted least squares, a few rounds, on
   * all mesh points or only those of one side (template x beyond +-0.1 IOD).
   */
  private fitTemplate(lm: Float32Array, anchor: 'all' | 'left' | 'right'): { scale: number; cos: number; sin: number; tx: number; ty: number } | undefined {
    const q = this.template!;
    const w = this.weights;
    for (let i = 0; i < meshPointCount; i++) {
      const u = q[2 * i]!;
      w[i] = anchor === 'all' || (anchor === 'left' ? u > 0.1 : u < -0.1) ? 1 : 0;
    }
    let a = 1;
    let b = 0;
    let tx = 0;
    let ty = 0;
    for (let round = 0; round < 4; round++) {
      let sw = 0;
      let qx = 0;
      let qy = 0;
      let px = 0;
      let py = 0;
      for (let i = 0; i < meshPointCount; i++) {
        const wi = w[i]!;
        sw += wi;
        qx += wi * q[2 * i]!;
        qy += wi * q[2 * i + 1]!;
        px += wi * lm[3 * i]!;
        py += wi * lm[3 * i + 1]!;
      }
      qx /= sw;
      qy /= sw;
      px /= sw;
      py /= sw;
      let sxx = 0;
      let sxy = 0;
      let sqq = 0;
      for (let i = 0; i < meshPointCount; i++) {
        const wi = w[i]!;
        const ux = q[2 * i]! - qx;
        const uy = q[2 * i + 1]! - qy;
        const vx = lm[3 * i]! - px;
        const vy = lm[3 * i + 1]! - py;
        sxx += wi * (ux * vx + uy * vy);
        sxy += wi * (ux * vy - uy * vx);
        sqq += wi * (ux * ux + uy * uy);
      }
      if (!(sqq > 1e-12)) return undefined;
      a = sxx / sqq;
      b = sxy / sqq;
      tx = px - (a * qx - b * qy);
      ty = py - (b * qx + a * qy);
      const scale = Math.hypot(a, b);
      if (!(scale > 1e-6)) return undefined;
      // Huber weights on residuals in IOD units (k = 0.04 IOD).
      for (let i = 0; i < meshPointCount; i++) {
        const ex = a * q[2 * i]! - b * q[2 * i + 1]! + tx - lm[3 * i]!;
        const ey = b * q[2 * i]! + a * q[2 * i + 1]! + ty - lm[3 * i + 1]!;
        const r = Math.hypot(ex, ey) / scale;
        if (w[i]! > 0) w[i] = r <= 0.04 ? 1 : 0.04 / r;
      }
    }
    const scale = Math.hypot(a, b);
    return { scale, cos: a / scale, sin: b / scale, tx, ty };
  }

  /** Luma grid over the canonical face box; frame point = scale * R * canonical + t. */
  private sampleGrid(frame: RgbFrame, scale: number, cos: number, sin: number, tx: number, ty: number): void {
    const { width: W, height: H, rgb } = frame;
    const c = this.options.cellIod;
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
  private describe(g: RegionGeometry): { patch: Float32Array; hog: Float32Array } {
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

    const hog = new Float32Array(g.bx * g.by * bins);
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
        const t = ((Math.atan2(dy, dx) + Math.PI) / (2 * Math.PI)) * bins;
        const b0 = Math.floor(t) % bins;
        const f = t - Math.floor(t);
        const block = Math.min(g.by - 1, Math.floor((y * g.by) / g.h)) * g.bx + Math.min(g.bx - 1, Math.floor((x * g.bx) / g.w));
        hog[block * bins + b0]! += mag * (1 - f);
        hog[block * bins + ((b0 + 1) % bins)]! += mag * f;
      }
    }
    const n = Math.sqrt(dot(hog, hog)) + 1e-6;
    for (let i = 0; i < hog.length; i++) hog[i]! /= n;
    return { patch, hog };
  }
}

/** Eye frame from the mesh: canonical (u, v) <-> frame, origin between the eyes, unit = IOD. */
function eyeFrame(lm: Float32Array): { scale: number; cos: number; sin: number; tx: number; ty: number; toCanonical: (x: number, y: number) => [number, number] } | undefined {
  const p = (i: number): [number, number] => [lm[3 * i]!, lm[3 * i + 1]!];
  const ro = p(MeshIndex.rightEyeOuter);
  const ri = p(MeshIndex.rightEyeInner);
  const li = p(MeshIndex.leftEyeInner);
  const lo = p(MeshIndex.leftEyeOuter);
  const r: [number, number] = [(ro[0] + ri[0]) / 2, (ro[1] + ri[1]) / 2];
  const l: [number, number] = [(li[0] + lo[0]) / 2, (li[1] + lo[1]) / 2];
  const dx = l[0] - r[0];
  const dy = l[1] - r[1];
  const scale = Math.hypot(dx, dy);
  if (!(scale > 1e-6)) return undefined;
  const cos = dx / scale;
  const sin = dy / scale;
  const tx = (l[0] + r[0]) / 2;
  const ty = (l[1] + r[1]) / 2;
  return {
    scale,
    cos,
    sin,
    tx,
    ty,
    toCanonical: (x, y) => {
      const ex = x - tx;
      const ey = y - ty;
      return [(ex * cos + ey * sin) / scale, (-ex * sin + ey * cos) / scale];
    },
  };
}

/** Which landmark fit a region is read through: its own side's, or the whole face's. */
function anchorOf(region: FaceRegion): 'all' | 'left' | 'right' {
  if (region === 'leftHalf' || region === 'leftCheek') return 'left';
  if (region === 'rightHalf' || region === 'rightCheek') return 'right';
  return 'all';
}

function cosine(a: Float32Array, b: Float32Array): number {
  return dot(a, b) / Math.sqrt(Math.max(1e-12, dot(a, a) * dot(b, b)));
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function blend(acc: Float32Array, x: Float32Array, rate: number): void {
  for (let i = 0; i < acc.length; i++) acc[i]! += rate * (x[i]! - acc[i]!);
}

function addScaled(acc: Float32Array, x: Float32Array, k: number): void {
  for (let i = 0; i < acc.length; i++) acc[i]! += k * x[i]!;
}

function clamp01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}

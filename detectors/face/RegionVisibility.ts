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
 * This file holds the reference and the visibility (steps 3 and 4) and drives the rest:
 * options in RegionVisibilityOptions.ts, the canonical frame's region rectangles in
 * faceRegionLayout.ts, the eye frame and the template fits in landmarkFit.ts, the luma grid
 * and its descriptors in LumaGrid.ts.
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
import { meshPointCount } from './FaceMesh.js';
import type { RgbFrame } from './image.js';
import { defaultRegionVisibilityOptions, type RegionVisibilityOptions } from './RegionVisibilityOptions.js';
import { anchorOf } from './faceRegionLayout.js';
import { eyeFrame, fitTemplate } from './landmarkFit.js';
import { cosine, hogBins, LumaGrid, type Descriptor, type RegionGeometry } from './LumaGrid.js';

/** What RegionVisibility needs of an analysed face (AnalyzedFace has all of it). */
export interface RegionVisibilityFace {
  /** 468 * 3 mesh values (x, y frame pixels, z); without them nothing is reported. */
  landmarks?: Float32Array;
  score: number;
  presence?: number;
  yawDeg: number;
  pitchDeg: number;
}

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

interface Reference {
  patch: Float32Array;
  hog: Float32Array;
  clearLevel: number;
}

export class RegionVisibility {
  readonly options: RegionVisibilityOptions;
  private readonly grid: LumaGrid;
  private readonly geometry: RegionGeometry[];
  private readonly weights = new Float64Array(meshPointCount);
  private template: Float64Array | undefined;
  private templateSum = new Float64Array(meshPointCount * 2);
  private refs: Reference[] = [];
  private warm: Descriptor[][] = [];
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
    this.grid = new LumaGrid(this.options.cellIod);
    this.geometry = this.grid.layout(this.options.blocks);
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
      this.grid.sample(frame, eye);
      this.warm.push(this.geometry.map((g) => this.grid.describe(g)));
      this.poseSum = [this.poseSum[0]! + face.yawDeg, this.poseSum[1]! + face.pitchDeg];
      if (this.warm.length >= o.warmupFrames) this.finishWarmup();
      return {};
    }

    if (Math.abs(face.yawDeg - this.baseYaw) > o.maxYawDeltaDeg || Math.abs(face.pitchDeg - this.basePitch) > o.maxPitchDeltaDeg) return {};
    // Each side is read through a fit to its own side's points (a hand over one half makes
    // FaceMesh bend that half, and it should not drag the other half's frame with it).
    const descriptors: Descriptor[] = new Array(this.geometry.length);
    const scores: { ncc: number; hog: number; similarity: number }[] = new Array(this.geometry.length);
    for (const anchor of ['all', 'left', 'right'] as const) {
      const fit = fitTemplate(this.template, lm, anchor, this.weights);
      if (!fit) return {};
      this.grid.sample(frame, fit);
      this.geometry.forEach((g, k) => {
        if (anchorOf(g.region) !== anchor) return;
        const ref = this.refs[k]!;
        const d = this.grid.describe(g);
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
      const hog = new Float32Array(g.bx * g.by * hogBins);
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

/**
 * Options of `RegionVisibility` (per-region face visibility for the occlusion challenges)
 * and their defaults: warmup length and reference adaptation, the pose window within which
 * frames are judged, the similarity scale (`hogFloor`, `hiddenDrop`), the luma grid's cell
 * size, the cheeks' blocks and when a stale reference is learnt again. The algorithm they
 * tune is described in RegionVisibility.ts.
 */
import type { FaceRegion } from './FaceObservation.js';

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

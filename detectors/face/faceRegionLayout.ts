/**
 * The canonical face of `RegionVisibility`: the eye frame (origin between the eye centres,
 * x towards the participant's left eye, y down, unit = the inter-ocular distance, IOD), the
 * rectangle of each `FaceRegion` in it, the box the luma grid covers (`gridBounds`), and which
 * landmark fit each region is read through (`anchorOf`: its own side's, or the whole face's).
 */
import type { FaceRegion } from './FaceObservation.js';

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

/** The canonical box the luma grid covers (LumaGrid.ts), [x0, y0, x1, y1] in IOD units. */
export const gridBounds: CanonicalRect = [-1.0, -0.55, 1.0, 1.55];

/** The mesh points a fit uses: all of them, or one side's only (landmarkFit.ts). */
export type FitAnchor = 'all' | 'left' | 'right';

/** Which landmark fit a region is read through: its own side's, or the whole face's. */
export function anchorOf(region: FaceRegion): FitAnchor {
  if (region === 'leftHalf' || region === 'leftCheek') return 'left';
  if (region === 'rightHalf' || region === 'rightCheek') return 'right';
  return 'all';
}

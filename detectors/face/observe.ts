/**
 * What the challenge checkers see of one analysed frame: the largest face (the participant
 * in front of the camera) turned into a `FaceObservation`. The media worker and the test and
 * eval material use this one function, so tests observe exactly what a live call does.
 */
import type { FaceObservation, FaceRegion } from './FaceObservation.js';
import type { AnalyzedFace } from './FaceAnalyzer.js';

/** The face with the largest box, or undefined for none. */
export function largestFace(faces: readonly AnalyzedFace[]): AnalyzedFace | undefined {
  return faces.reduce<AnalyzedFace | undefined>((best, x) => (!best || x.box.width * x.box.height > best.box.width * best.box.height ? x : best), undefined);
}

/** A face (or its absence) at wall-clock `t` as the video checkers receive it. */
export function toFaceObservation(face: AnalyzedFace | undefined, t: number, regions: Partial<Record<FaceRegion, number>> = {}): FaceObservation {
  return face
    ? { t, faceFound: true, faceConfidence: face.score * (face.presence ?? 1), yawDeg: face.yawDeg, pitchDeg: face.pitchDeg, regions }
    : { t, faceFound: false, faceConfidence: 0, yawDeg: 0, pitchDeg: 0, regions: {} };
}

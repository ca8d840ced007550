/**
 * Aligned face crops for the face-forgery detector and coarse head pose for the
 * challenge module.
 *
 * Crop: rotate so the eyes are level (roll removed), square box centred on the detector
 * box, side = cropScale (1.3) x max(box w, box h), bilinear resize to 256x256, RGB HWC
 * uint8. Eyes come from the mesh (mean of each eye's two corners) when landmarks are
 * given, else from the detector keypoints.
 *
 * Head pose (degrees, approximate, roll removed first):
 *   yawDeg   > 0 when the nose points towards the image's right, < 0 towards its left.
 *   pitchDeg > 0 when the face tilts up (chin forward), < 0 when it tilts down.
 * With mesh landmarks (3D): yaw = atan2(dz, dx) of the outer-eye-corner vector
 * (33 -> 263), pitch = atan2(-dz, dy) of the forehead -> chin vector (10 -> 152), using
 * the model's relative depth z. Yaw is symmetric (a mirrored photo reads the opposite
 * yaw within a few degrees). Pitch carries a bias: the 10 faces of face-api samples 1, 3
 * and 4, all roughly facing the camera, read -8 to -25 degrees (mean about -16), so
 * compare pitch against a per-stream baseline rather than against 0.
 * With only the 6 detector keypoints: yaw from a cylinder head model,
 * atan((nose.x - earMid.x) / (earDistance / 2)); pitch from where the nose sits between
 * the eye line and the mouth, atan((0.55 - t) / 0.5) with t = (nose - eyes) / (mouth - eyes)
 * along the face's vertical axis (0.55 and 0.5 are anthropometric averages: nose height
 * and nose depth as fractions of the eye-mouth distance). Both are coarse (+-15 degrees);
 * use them to check the direction of a requested head turn, not its exact angle.
 */
import type { Box, DetectedFace } from './BlazeFace.js';
import { MeshIndex } from './FaceMesh.js';
import { sampleAffine, squareCropAffine, type Point, type RgbFrame } from './image.js';

export interface FaceAlignerOptions {
  /** Output side in pixels. */
  cropSize: number;
  /** Crop side as a multiple of max(box width, box height). */
  cropScale: number;
}

export const defaultFaceAlignerOptions: FaceAlignerOptions = {
  cropSize: 256,
  cropScale: 1.3,
};

export interface AlignedFace {
  /** cropSize x cropSize x 3 bytes, RGB, row-major. */
  crop: Uint8Array;
  /** In-plane rotation that was removed, degrees (positive = clockwise on screen). */
  rollDeg: number;
  yawDeg: number;
  pitchDeg: number;
}

const deg = (r: number): number => (r * 180) / Math.PI;

function meshPoint(points: Float32Array, i: number): [number, number, number] {
  return [points[3 * i]!, points[3 * i + 1]!, points[3 * i + 2]!];
}

/** Eye centres [subject's right, subject's left] in frame pixels. */
export function eyeCentres(face: Pick<DetectedFace, 'keypoints'>, landmarks?: Float32Array): [Point, Point] | undefined {
  if (landmarks && landmarks.length >= 468 * 3) {
    const a = meshPoint(landmarks, MeshIndex.rightEyeOuter);
    const b = meshPoint(landmarks, MeshIndex.rightEyeInner);
    const c = meshPoint(landmarks, MeshIndex.leftEyeInner);
    const d = meshPoint(landmarks, MeshIndex.leftEyeOuter);
    return [
      [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2],
      [(c[0] + d[0]) / 2, (c[1] + d[1]) / 2],
    ];
  }
  const r = face.keypoints[0];
  const l = face.keypoints[1];
  return r && l ? [r, l] : undefined;
}

/** Roll (radians) of the eye line; 0 when eyes are level. */
export function rollAngle(face: Pick<DetectedFace, 'keypoints'>, landmarks?: Float32Array): number {
  const eyes = eyeCentres(face, landmarks);
  if (!eyes) return 0;
  return Math.atan2(eyes[1][1] - eyes[0][1], eyes[1][0] - eyes[0][0]);
}

/** Head yaw and pitch in degrees, see the file comment for conventions and accuracy. */
export function headPose(face: Pick<DetectedFace, 'keypoints'>, landmarks?: Float32Array): { yawDeg: number; pitchDeg: number } {
  const roll = rollAngle(face, landmarks);
  const cos = Math.cos(roll);
  const sin = Math.sin(roll);
  // face axes: u along the eye line (towards the subject's left eye), v down the face
  const u = (dx: number, dy: number): number => dx * cos + dy * sin;
  const v = (dx: number, dy: number): number => -dx * sin + dy * cos;
  if (landmarks && landmarks.length >= 468 * 3) {
    const r = meshPoint(landmarks, MeshIndex.rightEyeOuter);
    const l = meshPoint(landmarks, MeshIndex.leftEyeOuter);
    const top = meshPoint(landmarks, MeshIndex.foreheadTop);
    const chin = meshPoint(landmarks, MeshIndex.chin);
    const yaw = Math.atan2(l[2] - r[2], u(l[0] - r[0], l[1] - r[1]));
    const pitch = Math.atan2(-(chin[2] - top[2]), v(chin[0] - top[0], chin[1] - top[1]));
    return { yawDeg: deg(yaw), pitchDeg: deg(pitch) };
  }
  const [re, le, nose, mouth, rear, lear] = face.keypoints;
  if (!re || !le || !nose || !mouth || !rear || !lear) return { yawDeg: 0, pitchDeg: 0 };
  const earMid: Point = [(rear[0] + lear[0]) / 2, (rear[1] + lear[1]) / 2];
  const earHalf = Math.max(1e-6, Math.abs(u(lear[0] - rear[0], lear[1] - rear[1])) / 2);
  const yaw = Math.atan(u(nose[0] - earMid[0], nose[1] - earMid[1]) / earHalf);
  const eyeMid: Point = [(re[0] + le[0]) / 2, (re[1] + le[1]) / 2];
  const eyeToMouth = v(mouth[0] - eyeMid[0], mouth[1] - eyeMid[1]);
  const t = eyeToMouth > 1e-6 ? v(nose[0] - eyeMid[0], nose[1] - eyeMid[1]) / eyeToMouth : 0.55;
  const pitch = Math.atan((0.55 - t) / 0.5);
  return { yawDeg: deg(yaw), pitchDeg: deg(pitch) };
}

export class FaceAligner {
  readonly options: FaceAlignerOptions;

  constructor(options: Partial<FaceAlignerOptions> = {}) {
    this.options = { ...defaultFaceAlignerOptions, ...options };
  }

  /** Crop geometry: centre, side and roll (radians) for a face. */
  cropGeometry(box: Box, roll: number): { cx: number; cy: number; side: number; roll: number } {
    return { cx: box.x + box.width / 2, cy: box.y + box.height / 2, side: this.options.cropScale * Math.max(box.width, box.height), roll };
  }

  /** The frame must already be validated (checkFrame). */
  align(frame: RgbFrame, face: Pick<DetectedFace, 'box' | 'keypoints'>, landmarks?: Float32Array, out?: Uint8Array): AlignedFace {
    const n = this.options.cropSize;
    const crop = out && out.length === n * n * 3 ? out : new Uint8Array(n * n * 3);
    const roll = rollAngle(face, landmarks);
    const g = this.cropGeometry(face.box, roll);
    sampleAffine(frame, squareCropAffine(g.cx, g.cy, g.side, roll, n, n), n, n, crop);
    return { crop, rollDeg: deg(roll), ...headPose(face, landmarks) };
  }
}

/**
 * What the video checkers see of one frame: head pose, how visible each face region is,
 * and the face detectors' own score. Produced by the face pipeline (BlazeFace / FaceMesh)
 * per analysed frame; plain serializable numbers.
 *
 * Conventions (participant's point of view, camera image NOT mirrored):
 * - yawDeg > 0: head turned to the participant's own left (nose moves to image right).
 * - pitchDeg > 0: looking up (chin raised).
 * - `leftHalf` / `leftCheek` are the participant's own left (image right).
 */

export type FaceRegion = 'leftHalf' | 'rightHalf' | 'leftCheek' | 'rightCheek' | 'eyes' | 'mouth';

export interface FaceObservation {
  /** Wall-clock ms of the frame. */
  t: number;
  /** Whether a face was found in the frame at all. */
  faceFound: boolean;
  /** Face detector confidence, 0..1. */
  faceConfidence: number;
  yawDeg: number;
  pitchDeg: number;
  /** Visibility / landmark confidence per region, 0 (hidden) .. 1 (clear). Missing = unknown. */
  regions: Partial<Record<FaceRegion, number>>;
  /** Face deepfake detector's pFake for this frame, when one ran. */
  detectorScore?: number;
}

export interface Point2 {
  x: number;
  y: number;
}

/** The landmarks the pose helper needs (image pixels, y down). BlazeFace gives all four. */
export interface PoseLandmarks {
  /** Participant's right eye (image left in an unmirrored image). */
  rightEye: Point2;
  leftEye: Point2;
  noseTip: Point2;
}

export interface PoseEstimatorOptions {
  /** Nose-tip depth in front of the eye plane, in inter-ocular distances. */
  noseDepth: number;
  /** Nose-tip drop below the eye line, in inter-ocular distances (frontal face). */
  noseDrop: number;
  /** Set when the image is mirrored (selfie view): flips the yaw sign. */
  mirrored: boolean;
}

/**
 * Typical adult proportions with BlazeFace's eye-centre keypoints: the nose tip sits about
 * 0.55 inter-ocular distances in front of the eyes and 0.6 below them.
 */
export const defaultPoseEstimatorOptions: PoseEstimatorOptions = { noseDepth: 0.55, noseDrop: 0.6, mirrored: false };

/**
 * Head yaw and pitch from three 2D landmarks. Approximation (weak perspective, rigid
 * average head, documented error of several degrees):
 * - Roll is removed by rotating into the eye-line frame.
 * - Yaw: the nose tip, `D'` in front of the eye plane, shifts sideways by D'·sin(yaw) while
 *   the inter-ocular distance I shrinks to I·cos(yaw), so dx/I' = (D'/I)·tan(yaw), where
 *   D' = H·sin(p) + D·cos(p) is the nose depth after pitch p.
 * - Pitch: the nose offset below the eye midpoint is H·cos(p) - D·sin(p) (p > 0 looking up),
 *   in units of the yaw-corrected inter-ocular distance.
 * Both are solved together by fixed-point iteration. Perspective, individual anatomy and
 * landmark noise are ignored: expect errors of 5-10 degrees on real faces, fine for
 * "turned by 30 degrees or not" but not for fine pose.
 */
export function estimatePose(lm: PoseLandmarks, options: Partial<PoseEstimatorOptions> = {}): { yawDeg: number; pitchDeg: number; rollDeg: number } {
  const o = { ...defaultPoseEstimatorOptions, ...options };
  const ex = lm.leftEye.x - lm.rightEye.x;
  const ey = lm.leftEye.y - lm.rightEye.y;
  const iodImage = Math.hypot(ex, ey);
  if (!(iodImage > 1e-6)) return { yawDeg: Number.NaN, pitchDeg: Number.NaN, rollDeg: Number.NaN };
  const roll = Math.atan2(ey, ex);
  const cx = (lm.leftEye.x + lm.rightEye.x) / 2;
  const cy = (lm.leftEye.y + lm.rightEye.y) / 2;
  const nx = lm.noseTip.x - cx;
  const ny = lm.noseTip.y - cy;
  // Rotate by -roll into the eye-line frame.
  const c = Math.cos(-roll);
  const s = Math.sin(-roll);
  const dx = (nx * c - ny * s) / iodImage;
  const dy = (nx * s + ny * c) / iodImage;
  // Yaw and pitch are coupled (pitch changes how far the nose sticks out towards the
  // camera), so solve them together by a few fixed-point rounds.
  const r = Math.hypot(o.noseDrop, o.noseDepth);
  const alpha = Math.atan2(o.noseDepth, o.noseDrop);
  let pitch = 0;
  let yaw = 0;
  for (let i = 0; i < 6; i++) {
    const depth = o.noseDrop * Math.sin(pitch) + o.noseDepth * Math.cos(pitch);
    yaw = Math.atan2(dx, Math.max(1e-3, depth));
    // The image inter-ocular distance shrank by cos(yaw); undo it for the vertical offset.
    const dyTrue = dy * Math.cos(yaw);
    pitch = Math.acos(Math.max(-1, Math.min(1, dyTrue / r))) - alpha;
  }
  if (o.mirrored) yaw = -yaw;
  const deg = 180 / Math.PI;
  return { yawDeg: yaw * deg, pitchDeg: pitch * deg, rollDeg: roll * deg };
}

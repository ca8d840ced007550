/**
 * Head-pose RENDERINGS of a real face photo, for testing the head-pose challenges through
 * the real face path. Not a recording of a person turning their head: a 2.5D warp of one
 * still photo.
 *
 * Model (`buildHeadModel`): the 468 FaceMesh landmarks of the face (x, y in frame pixels,
 * z relative depth at frame-pixel scale, negative towards the camera) plus rings built
 * from the face oval:
 * - head rings out to a silhouette (oval scaled about its centre: 1.25x at the sides, 1.45x
 *   above for hair, 1.1x below), curving back in depth to the head's pivot like a skull, so
 *   hair, ears and the sides of the head turn with the face; their points below the jaw
 *   (neck) rotate less, down to not at all;
 * - an outer ring (2.1x) and the frame corners that never move: the band between the
 *   silhouette and it is background and neck, stretched as the head turns.
 * All points are triangulated once: Delaunay on their 2D positions with the photo's own yaw
 * undone first (a turned photo folds its far cheek behind the silhouette; triangulating the
 * folded 2D positions would tear the face when it turns back).
 *
 * Pose (`renderPose`): every point is rotated about the pivot (midway between the mesh's
 * ear-side points 234 and 454, `pivotDepth` head widths behind the nose tip), by
 * R = Rz(roll) * Ry(yaw) * Rx(pitch) scaled by the point's weight (1 head, 0 fixed, in
 * between for the jaw-to-neck ring); projected orthographically (weak perspective, scale 1);
 * the triangles are painted back to front (band first, then the face mesh by mean depth),
 * each texture-mapped affinely from its frontal position in the original frame. Pixels no
 * moving triangle covers keep the original image.
 *
 * Angles follow challenge-response/face/FaceObservation.ts (unmirrored camera image):
 * yawDeg > 0 turns the head to the participant's own left (nose towards image right);
 * pitchDeg > 0 looks up (chin forward); rollDeg > 0 is clockwise on screen.
 *
 * Limits: one photo has no texture for what it does not show (the far side of the head,
 * under the chin): what a turn reveals is the photo's cheek and hair stretched, and on a
 * photo already turned 20+ degrees the side it hid shows as torn strips when turned back
 * past frontal. The face keeps its expression, lighting and eye gaze from the photo.
 */
import { DfdError } from '../../../kernel/errors.js';
import type { RgbFrame } from '../image.js';
import { MeshIndex, meshPointCount } from '../FaceMesh.js';
import { delaunay } from './delaunay.js';

/** MediaPipe face-oval landmark indices, in order around the face (forehead, subject's left, chin, right). */
export const faceOvalIndices: readonly number[] = [
  10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54,
  103, 67, 109,
];

const meshPoints = meshPointCount;
const { noseTip, rightFaceSide: earSideRight, leftFaceSide: earSideLeft, rightEyeOuter: eyeOuterRight, leftEyeOuter: eyeOuterLeft } = MeshIndex;

export interface HeadModelOptions {
  /** Pivot depth behind the nose tip, in head widths (3D distance between mesh points 234 and 454). */
  pivotDepth: number;
  /** Head ring: face oval scaled about its centre, at the sides, above and below. */
  headScaleSide: number;
  headScaleTop: number;
  headScaleBottom: number;
  /** Rings of points between the face oval and the head silhouette (finer texture mapping of hair and ears). */
  headRings: number;
  /** Fixed outer ring: face oval scale. */
  outerScale: number;
  /** Head-ring points whose downward direction (unit vector's y) exceeds `neckFrom` start to stay put; fixed from `neckTo`. */
  neckFrom: number;
  neckTo: number;
}

export const defaultHeadModelOptions: HeadModelOptions = {
  pivotDepth: 0.75,
  headScaleSide: 1.25,
  headScaleTop: 1.45,
  headScaleBottom: 1.1,
  headRings: 3,
  outerScale: 2.1,
  neckFrom: 0.45,
  neckTo: 0.85,
};

export interface HeadModel {
  width: number;
  height: number;
  /** x, y, z per point (frontal, frame pixels). */
  points: Float64Array;
  /** Share of the rotation each point follows, 0..1. */
  weights: Float64Array;
  /** Point indices, 3 per triangle. */
  triangles: Uint32Array;
  /** Centre of rotation (x, y, z frame pixels). */
  pivot: [number, number, number];
  /** Head width in pixels (3D distance 234-454). */
  headWidth: number;
}

export interface HeadPose {
  yawDeg: number;
  pitchDeg: number;
  rollDeg?: number;
}

const smoothstep = (a: number, b: number, v: number): number => {
  const t = Math.min(1, Math.max(0, (v - a) / (b - a)));
  return t * t * (3 - 2 * t);
};

/** Builds the head model of one face from its 468 FaceMesh landmarks in a width x height frame. */
export function buildHeadModel(landmarks: Float32Array, width: number, height: number, options: Partial<HeadModelOptions> = {}): HeadModel {
  const o = { ...defaultHeadModelOptions, ...options };
  if (landmarks.length < meshPoints * 3) throw new DfdError('ERR_BAD_REQUEST', 'expected 468 x 3 landmark values', { length: landmarks.length });
  const p = (i: number, k: number): number => landmarks[3 * i + k]!;
  const headWidth = Math.hypot(p(earSideLeft, 0) - p(earSideRight, 0), p(earSideLeft, 1) - p(earSideRight, 1), p(earSideLeft, 2) - p(earSideRight, 2));
  if (!(headWidth > 4)) throw new DfdError('ERR_BAD_REQUEST', 'face too small for a head model', { headWidth });
  const pivot: [number, number, number] = [
    (p(earSideLeft, 0) + p(earSideRight, 0)) / 2,
    (p(earSideLeft, 1) + p(earSideRight, 1)) / 2,
    p(noseTip, 2) + o.pivotDepth * headWidth,
  ];
  let cx = 0;
  let cy = 0;
  for (const i of faceOvalIndices) {
    cx += p(i, 0);
    cy += p(i, 1);
  }
  cx /= faceOvalIndices.length;
  cy /= faceOvalIndices.length;

  const ring = faceOvalIndices.length;
  const headRings = o.headRings;
  const corners: [number, number][] = [
    [0, 0],
    [width / 2, 0],
    [width, 0],
    [width, height / 2],
    [width, height],
    [width / 2, height],
    [0, height],
    [0, height / 2],
  ];
  const outerStart = meshPoints + headRings * ring;
  const cornerStart = outerStart + ring;
  const total = cornerStart + corners.length;
  const points = new Float64Array(total * 3);
  const weights = new Float64Array(total);
  for (let i = 0; i < meshPoints; i++) {
    points[3 * i] = p(i, 0);
    points[3 * i + 1] = p(i, 1);
    points[3 * i + 2] = p(i, 2);
    weights[i] = 1;
  }
  faceOvalIndices.forEach((m, k) => {
    const dx = p(m, 0) - cx;
    const dy = p(m, 1) - cy;
    const len = Math.hypot(dx, dy) || 1;
    const down = dy / len;
    // sides -> headScaleSide, straight up -> headScaleTop, straight down -> headScaleBottom
    const scale = down < 0 ? o.headScaleSide + (o.headScaleTop - o.headScaleSide) * -down : o.headScaleSide + (o.headScaleBottom - o.headScaleSide) * down;
    const headWeight = 1 - smoothstep(o.neckFrom, o.neckTo, down);
    // rings from the oval out to the head silhouette, curving back like a skull (quarter ellipse in depth)
    for (let r = 1; r <= headRings; r++) {
      const t = r / headRings;
      const h = meshPoints + (r - 1) * ring + k;
      const sc = 1 + (scale - 1) * t;
      points[3 * h] = cx + dx * sc;
      points[3 * h + 1] = cy + dy * sc;
      points[3 * h + 2] = p(m, 2) + (pivot[2] - p(m, 2)) * Math.sin((t * Math.PI) / 2);
      weights[h] = 1 - t * (1 - headWeight);
    }
    const f = outerStart + k;
    points[3 * f] = cx + dx * o.outerScale;
    points[3 * f + 1] = cy + dy * o.outerScale;
    points[3 * f + 2] = pivot[2];
    weights[f] = 0;
  });
  corners.forEach(([x, y], k) => {
    const f = cornerStart + k;
    points[3 * f] = x;
    points[3 * f + 1] = y;
    points[3 * f + 2] = pivot[2];
    weights[f] = 0;
  });
  // Triangulate the face as seen from the front: a photo turned by yaw0 has its far cheek
  // folded behind the silhouette, and a Delaunay of those 2D positions would tear when turned
  // back. The mesh's own yaw (outer eye corners, as FaceAligner measures it) is undone first.
  const yaw0 = Math.atan2(p(eyeOuterLeft, 2) - p(eyeOuterRight, 2), Math.hypot(p(eyeOuterLeft, 0) - p(eyeOuterRight, 0), p(eyeOuterLeft, 1) - p(eyeOuterRight, 1)));
  const frontal = rotatePoints(points, weights, pivot, { yawDeg: (-yaw0 * 180) / Math.PI, pitchDeg: 0 });
  const xy = new Float64Array(total * 2);
  for (let i = 0; i < total; i++) {
    xy[2 * i] = frontal[3 * i]!;
    xy[2 * i + 1] = frontal[3 * i + 1]!;
  }
  return { width, height, points, weights, triangles: delaunay(xy, 0.25), pivot, headWidth };
}

/** Rotated 3D positions of the model's points for a pose (see the file comment). */
export function posePoints(model: HeadModel, pose: HeadPose): Float64Array {
  return rotatePoints(model.points, model.weights, model.pivot, pose);
}

function rotatePoints(points: Float64Array, weights: Float64Array, pivot: readonly [number, number, number], pose: HeadPose): Float64Array {
  const out = new Float64Array(points.length);
  const [px, py, pz] = pivot;
  const rad = Math.PI / 180;
  for (let i = 0; i < weights.length; i++) {
    const w = weights[i]!;
    let x = points[3 * i]! - px;
    let y = points[3 * i + 1]! - py;
    let z = points[3 * i + 2]! - pz;
    if (w > 0) {
      // pitch about x: looking up lifts the nose (y decreases) and brings the chin forward
      const a = pose.pitchDeg * rad * w;
      const y1 = y * Math.cos(a) + z * Math.sin(a);
      const z1 = -y * Math.sin(a) + z * Math.cos(a);
      y = y1;
      z = z1;
      // yaw about y: turning to the participant's left moves the nose to image right
      const b = pose.yawDeg * rad * w;
      const x2 = x * Math.cos(b) - z * Math.sin(b);
      const z2 = x * Math.sin(b) + z * Math.cos(b);
      x = x2;
      z = z2;
      const c = (pose.rollDeg ?? 0) * rad * w;
      const x3 = x * Math.cos(c) - y * Math.sin(c);
      const y3 = x * Math.sin(c) + y * Math.cos(c);
      x = x3;
      y = y3;
    }
    out[3 * i] = x + px;
    out[3 * i + 1] = y + py;
    out[3 * i + 2] = z + pz;
  }
  return out;
}

/** Bilinear RGB sample at a continuous pixel position (edge pixels repeat). */
function sample(src: RgbFrame, x: number, y: number, dst: Uint8Array, o: number): void {
  const W = src.width;
  const H = src.height;
  const fx0 = Math.min(W - 1, Math.max(0, x - 0.5));
  const fy0 = Math.min(H - 1, Math.max(0, y - 0.5));
  const x0 = Math.min(W - 2, Math.floor(fx0));
  const y0 = Math.min(H - 2, Math.floor(fy0));
  const fx = fx0 - x0;
  const fy = fy0 - y0;
  const i00 = (y0 * W + x0) * 3;
  const i01 = i00 + W * 3;
  const rgb = src.rgb;
  for (let c = 0; c < 3; c++) {
    const top = rgb[i00 + c]! * (1 - fx) + rgb[i00 + 3 + c]! * fx;
    const bot = rgb[i01 + c]! * (1 - fx) + rgb[i01 + 3 + c]! * fx;
    dst[o + c] = top * (1 - fy) + bot * fy + 0.5;
  }
}

/** Paints one triangle: destination corners d (x0, y0, x1, y1, x2, y2) textured from source corners s. */
function paintTriangle(src: RgbFrame, dst: Uint8Array, d: readonly number[], s: readonly number[]): void {
  const [x0, y0, x1, y1, x2, y2] = d as [number, number, number, number, number, number];
  const det = (x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0);
  if (Math.abs(det) < 1e-6) return;
  const W = src.width;
  const H = src.height;
  const minX = Math.max(0, Math.floor(Math.min(x0, x1, x2)));
  const maxX = Math.min(W - 1, Math.ceil(Math.max(x0, x1, x2)));
  const minY = Math.max(0, Math.floor(Math.min(y0, y1, y2)));
  const maxY = Math.min(H - 1, Math.ceil(Math.max(y0, y1, y2)));
  const eps = -1e-3;
  for (let py = minY; py <= maxY; py++) {
    const y = py + 0.5;
    for (let px = minX; px <= maxX; px++) {
      const x = px + 0.5;
      const l1 = ((x - x0) * (y2 - y0) - (x2 - x0) * (y - y0)) / det;
      const l2 = ((x1 - x0) * (y - y0) - (x - x0) * (y1 - y0)) / det;
      const l0 = 1 - l1 - l2;
      if (l0 < eps || l1 < eps || l2 < eps) continue;
      sample(src, l0 * s[0]! + l1 * s[2]! + l2 * s[4]!, l0 * s[1]! + l1 * s[3]! + l2 * s[5]!, dst, (py * W + px) * 3);
    }
  }
}

/** Renders the head of `model` at `pose` over `frame` (the photo the model was built from). */
export function renderPose(frame: RgbFrame, model: HeadModel, pose: HeadPose): RgbFrame {
  if (frame.width !== model.width || frame.height !== model.height) {
    throw new DfdError('ERR_FRAME_INVALID', 'frame size differs from the head model', { width: frame.width, height: frame.height });
  }
  const q = posePoints(model, pose);
  const rgb = Uint8Array.from(frame.rgb);
  const tri = model.triangles;
  const band: { k: number; z: number }[] = [];
  const face: { k: number; z: number }[] = [];
  for (let k = 0; k < tri.length; k += 3) {
    const a = tri[k]!;
    const b = tri[k + 1]!;
    const c = tri[k + 2]!;
    if (model.weights[a] === 0 && model.weights[b] === 0 && model.weights[c] === 0) continue;
    const z = (q[3 * a + 2]! + q[3 * b + 2]! + q[3 * c + 2]!) / 3;
    (a < meshPoints && b < meshPoints && c < meshPoints ? face : band).push({ k, z });
  }
  // back to front: larger z is farther from the camera
  band.sort((u, v) => v.z - u.z);
  face.sort((u, v) => v.z - u.z);
  const d: number[] = [0, 0, 0, 0, 0, 0];
  const s: number[] = [0, 0, 0, 0, 0, 0];
  for (const { k } of [...band, ...face]) {
    for (let j = 0; j < 3; j++) {
      const i = tri[k + j]!;
      d[2 * j] = q[3 * i]!;
      d[2 * j + 1] = q[3 * i + 1]!;
      s[2 * j] = model.points[3 * i]!;
      s[2 * j + 1] = model.points[3 * i + 1]!;
    }
    paintTriangle(frame, rgb, d, s);
  }
  return { width: frame.width, height: frame.height, rgb };
}

/**
 * One stream's face track: lets FaceAnalyzer skip the detector (BlazeFace) on most frames and
 * place the mesh from the previous frame's landmarks instead, as MediaPipe's own face pipeline
 * does. The detector runs on the first frame, then every `redetectEvery` frames, and whenever
 * the track is lost (mesh presence low, face too small, frame size changed), so a second or a
 * larger face is picked up within `redetectEvery` frames.
 *
 * The track never invents a face: a tracked frame's face is where the mesh found it on that
 * frame. What it carries over is the geometry of the last detection (the anchor): the box and
 * the 6 keypoints the detector gave, moved by the similarity (shift, scale, in-plane rotation)
 * that takes the anchor frame's landmarks to the current ones. So the crop a tracked frame
 * yields has the scale a detection would give it (the crop side is 1.3 x the detector box), and
 * models trained on detector-placed crops see the same framing.
 *
 * State machine: `empty` -(anchor)-> `tracking` -(follow)-> `tracking`; `reset()` or a frame of
 * another size -> `empty`. `needsDetection()` is true in `empty` and every `redetectEvery`-th frame.
 * One instance per stream; not shared between streams.
 */
import type { Box, DetectedFace } from './BlazeFace.js';
import { MeshIndex, meshPointCount } from './FaceMesh.js';
import type { Point } from './image.js';

export interface FaceTrackOptions {
  /** Detector on one frame in this many (1 = every frame, no tracking). */
  redetectEvery: number;
}

export const defaultFaceTrackOptions: FaceTrackOptions = { redetectEvery: 5 };

/** Where the landmarks sit: centroid, spread (RMS distance to the centroid) and eye-line angle. */
interface Pose {
  cx: number;
  cy: number;
  size: number;
  angle: number;
}

function poseOf(points: Float32Array): Pose | undefined {
  let cx = 0;
  let cy = 0;
  for (let i = 0; i < meshPointCount; i++) {
    cx += points[3 * i]!;
    cy += points[3 * i + 1]!;
  }
  cx /= meshPointCount;
  cy /= meshPointCount;
  let ss = 0;
  for (let i = 0; i < meshPointCount; i++) {
    const dx = points[3 * i]! - cx;
    const dy = points[3 * i + 1]! - cy;
    ss += dx * dx + dy * dy;
  }
  const size = Math.sqrt(ss / meshPointCount);
  const eye = (a: number, b: number): Point => [(points[3 * a]! + points[3 * b]!) / 2, (points[3 * a + 1]! + points[3 * b + 1]!) / 2];
  const r = eye(MeshIndex.rightEyeOuter, MeshIndex.rightEyeInner);
  const l = eye(MeshIndex.leftEyeInner, MeshIndex.leftEyeOuter);
  const angle = Math.atan2(l[1] - r[1], l[0] - r[0]);
  return [cx, cy, size, angle].every(Number.isFinite) && size > 0 ? { cx, cy, size, angle } : undefined;
}

interface Anchor {
  face: DetectedFace;
  pose: Pose;
  width: number;
  height: number;
}

export class FaceTrack {
  readonly options: FaceTrackOptions;
  #anchor: Anchor | undefined;
  #last: Pose | undefined;
  #sinceDetection = 0;
  #detections = 0;
  #tracked = 0;

  constructor(options: Partial<FaceTrackOptions> = {}) {
    const o = { ...defaultFaceTrackOptions, ...options };
    if (!Number.isInteger(o.redetectEvery) || o.redetectEvery < 1) throw new RangeError(`redetectEvery must be an integer >= 1, got ${o.redetectEvery}`);
    this.options = o;
  }

  get state(): 'empty' | 'tracking' {
    return this.#anchor ? 'tracking' : 'empty';
  }

  /** Frames placed by the detector and by the track since this track was made. */
  stats(): { detections: number; tracked: number } {
    return { detections: this.#detections, tracked: this.#tracked };
  }

  /** Whether the next frame (of this size) must run the detector. */
  needsDetection(width: number, height: number): boolean {
    const a = this.#anchor;
    if (!a || a.width !== width || a.height !== height) return true;
    return this.#sinceDetection >= this.options.redetectEvery;
  }

  /** The box and keypoints to place the mesh on the next frame: the anchor moved to the last landmarks. */
  predict(): DetectedFace | undefined {
    return this.#anchor && this.#last ? this.#place(this.#last) : undefined;
  }

  /** A detector frame: the face to follow (with its mesh landmarks), or none (the track empties). */
  anchor(face: DetectedFace | undefined, landmarks: Float32Array | undefined, width: number, height: number): void {
    this.#detections++;
    this.#sinceDetection = 1;
    const pose = landmarks ? poseOf(landmarks) : undefined;
    if (!face || !pose) {
      this.reset();
      return;
    }
    this.#anchor = { face: { box: { ...face.box }, score: face.score, keypoints: face.keypoints.map((p): Point => [p[0], p[1]]) }, pose, width, height };
    this.#last = pose;
  }

  /**
   * A tracked frame: the mesh found the face at `landmarks`. Returns the detector-equivalent
   * box and keypoints there, or undefined when the landmarks are degenerate (the track empties).
   */
  follow(landmarks: Float32Array): DetectedFace | undefined {
    const pose = poseOf(landmarks);
    if (!this.#anchor || !pose) {
      this.reset();
      return undefined;
    }
    this.#tracked++;
    this.#sinceDetection++;
    this.#last = pose;
    return this.#place(pose);
  }

  reset(): void {
    this.#anchor = undefined;
    this.#last = undefined;
  }

  /** The anchor's box and keypoints under the similarity that takes the anchor's landmarks to `to`. */
  #place(to: Pose): DetectedFace {
    const a = this.#anchor!;
    const from = a.pose;
    const s = to.size / from.size;
    const rot = to.angle - from.angle;
    const cos = Math.cos(rot) * s;
    const sin = Math.sin(rot) * s;
    const map = (x: number, y: number): Point => {
      const dx = x - from.cx;
      const dy = y - from.cy;
      return [to.cx + cos * dx - sin * dy, to.cy + sin * dx + cos * dy];
    };
    const b = a.face.box;
    const [cx, cy] = map(b.x + b.width / 2, b.y + b.height / 2);
    const box: Box = { x: cx - (b.width * s) / 2, y: cy - (b.height * s) / 2, width: b.width * s, height: b.height * s };
    return { box, score: a.face.score, keypoints: a.face.keypoints.map(([x, y]) => map(x, y)) };
  }
}

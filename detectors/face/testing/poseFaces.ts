/**
 * Real faces for pose renderings: the 22 faces of the six group photos shipped in
 * @vladmandic/face-api (see detectors/face/fixtures.ts), each cut into its own 640x480
 * "webcam" frame with the face about `faceSize` pixels wide, plus its head model
 * (renderPose.ts) from one FaceMesh pass. Other faces of the group photo that fall in the
 * frame are covered by default (a call shows one person). Also turns a FaceAnalyzer result into the
 * `FaceObservation` the video checkers see, the way pipeline/media/MediaWorker.ts does.
 */
import type { FaceObservation } from '../FaceObservation.js';
import type { Box } from '../BlazeFace.js';
import type { FaceAnalysis, FaceAnalyzer } from '../FaceAnalyzer.js';
import { largestFace, toFaceObservation } from '../observe.js';
import { DfdError } from '../../../kernel/errors.js';
import { decodeImage, samplePhoto } from '../fixtures.js';
import { sampleAffine, type RgbFrame } from '../image.js';
import { buildHeadModel, type HeadModel, type HeadModelOptions } from './renderPose.js';

export interface PhotoFace {
  /** face-api sample photo number, 1..6. */
  photo: number;
  /** Position among that photo's faces, left to right, from 0. */
  index: number;
  /** Face box in the photo decoded 640 pixels wide (the size face.test.ts checks). */
  box: Box;
}

export interface PoseSource extends PhotoFace {
  /** width x height frame, face centred, `faceSize` px wide. */
  frame: RgbFrame;
  model: HeadModel;
  /** Whether the face is also the frame's largest (the one MediaWorker observes); neighbours from the group photo may be bigger. */
  isLargest: boolean;
  /** Other faces of the group photo covered in the frame (`isolate`). */
  othersCovered: number;
  /** Pose FaceAnalyzer reads on the unrotated frame. */
  baseline: { yawDeg: number; pitchDeg: number };
}

export interface PoseSourceOptions {
  width: number;
  height: number;
  /** Face box width in the output frame, pixels. */
  faceSize: number;
  /** Only faces at least this wide in the 640-wide decode (so the frame is never upscaled past the photo). */
  minBox: number;
  /**
   * Cover the other faces of the group photo that fall in the frame (box x 1.3, filled
   * with the frame's mean colour), so the frame shows one person as a call would: once
   * the rendered head turns, its box shrinks and a neighbour would otherwise become the
   * largest face, the one MediaWorker observes.
   */
  isolate: boolean;
  head: Partial<HeadModelOptions>;
}

export const defaultPoseSourceOptions: PoseSourceOptions = { width: 640, height: 480, faceSize: 170, minBox: 60, isolate: true, head: {} };

/** The faces in the six photos (detector at score 0.4, as in face.test.ts), photo by photo, left to right. */
export async function photoFaces(analyzer: FaceAnalyzer, photos: readonly number[] = [1, 2, 3, 4, 5, 6]): Promise<PhotoFace[]> {
  const out: PhotoFace[] = [];
  for (const photo of photos) {
    const a = await analyzer.analyze(decodeImage(samplePhoto(photo), 640));
    const faces = [...a.faces].sort((p, q) => p.box.x - q.box.x);
    faces.forEach((f, index) => out.push({ photo, index, box: { ...f.box } }));
  }
  return out;
}

/** The face whose box centre is nearest (x, y), or undefined. */
export function centralFace(analysis: FaceAnalysis, x: number, y: number): FaceAnalysis['faces'][number] | undefined {
  const d = (f: FaceAnalysis['faces'][number]): number => Math.hypot(f.box.x + f.box.width / 2 - x, f.box.y + f.box.height / 2 - y);
  return analysis.faces.reduce<FaceAnalysis['faces'][number] | undefined>((best, f) => (!best || d(f) < d(best) ? f : best), undefined);
}

/**
 * The FaceObservation MediaWorker.ts posts for this analysis at wall time `t`: largest face,
 * faceConfidence = score x mesh presence, FaceAligner's yaw and pitch. `regions` stays empty
 * (the pose checkers do not read it; MediaWorker fills it for the occlusion challenges).
 */
export function faceObservation(analysis: FaceAnalysis, t: number): FaceObservation {
  return toFaceObservation(largestFace(analysis.faces), t);
}

/** Fills a box (scaled about its centre) with the frame's mean colour. */
function fillBox(frame: RgbFrame, box: Box, scale: number): void {
  const { width: W, height: H, rgb } = frame;
  const mean = [0, 0, 0];
  for (let i = 0; i < rgb.length; i++) mean[i % 3]! += rgb[i]!;
  const n = W * H;
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  const x0 = Math.max(0, Math.floor(cx - (box.width * scale) / 2));
  const x1 = Math.min(W, Math.ceil(cx + (box.width * scale) / 2));
  const y0 = Math.max(0, Math.floor(cy - (box.height * scale) / 2));
  const y1 = Math.min(H, Math.ceil(cy + (box.height * scale) / 2));
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const o = (y * W + x) * 3;
      rgb[o] = mean[0]! / n;
      rgb[o + 1] = mean[1]! / n;
      rgb[o + 2] = mean[2]! / n;
    }
  }
}

/**
 * Cuts the frame for one photo face and builds its head model. Undefined when the face is
 * below `minBox` or the analyzer finds no mesh on the cut frame.
 */
export async function poseSource(analyzer: FaceAnalyzer, face: PhotoFace, options: Partial<PoseSourceOptions> = {}): Promise<PoseSource | undefined> {
  const o = { ...defaultPoseSourceOptions, ...options };
  if (face.box.width < o.minBox) return undefined;
  const k = o.faceSize / face.box.width;
  const photo = decodeImage(samplePhoto(face.photo), 2 * Math.round((640 * k) / 2));
  const sx = photo.width / 640;
  const cx = (face.box.x + face.box.width / 2) * sx;
  const cy = (face.box.y + face.box.height / 2) * sx;
  // Face centre at (W/2, 0.45 H); outside the photo reads black.
  const frame: RgbFrame = { width: o.width, height: o.height, rgb: new Uint8Array(o.width * o.height * 3) };
  sampleAffine(photo, [1, 0, cx - o.width / 2, 0, 1, cy - 0.45 * o.height], o.width, o.height, frame.rgb);
  const first = await analyzer.analyze(frame);
  const target = centralFace(first, o.width / 2, 0.45 * o.height);
  if (!target) return undefined;
  const others = first.faces.filter((f) => f !== target);
  if (o.isolate) for (const f of others) fillBox(frame, f.box, 1.3);
  const analysis = o.isolate && others.length > 0 ? await analyzer.analyze(frame) : first;
  const found = centralFace(analysis, o.width / 2, 0.45 * o.height);
  if (!found?.landmarks) return undefined;
  return {
    ...face,
    frame,
    model: buildHeadModel(found.landmarks, o.width, o.height, o.head),
    baseline: { yawDeg: found.yawDeg, pitchDeg: found.pitchDeg },
    isLargest: largestFace(analysis.faces) === found,
    othersCovered: o.isolate ? others.length : 0,
  };
}

/** The pose source of face `index` (left to right) of sample photo `photo`; ERR_NOT_FOUND when it is unusable. */
export async function photoPoseSource(analyzer: FaceAnalyzer, photo: number, index: number): Promise<PoseSource> {
  const face = (await photoFaces(analyzer, [photo]))[index];
  const src = face && (await poseSource(analyzer, face));
  if (!src) throw new DfdError('ERR_NOT_FOUND', 'no usable face', { photo, index });
  return src;
}

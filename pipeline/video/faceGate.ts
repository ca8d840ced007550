/**
 * What a face detector must not be asked to judge: the video counterpart of inference/audioGate.ts.
 * A face window gets an issue, and then no score (an abstention: its windows are dropped with reason
 * `unjudgeable-video` before inference, and the verdict sets the video modality aside with the reason
 * `video:<issue>` while the latest window has one), when
 *
 * - `several-faces`: a detector frame of the window shows a second face at least `comparableFaceRatio`
 *   as wide as the largest: whose face is the participant's is ambiguous (a small face in the
 *   background is not);
 * - `face-at-edge`: the followed face's box lies more than `maxOutsideShare` outside the frame: the
 *   crop is partly filler, which no model was trained on;
 * - `frozen`: the face region (a 24x24 grid of mean luma over this frame's face box, read from this
 *   frame and from the last one) changes by less than `frozenDiff` grey levels on average between
 *   every pair of consecutive frames: the same picture over and over (a frozen stream or an injected
 *   still, even re-encoded), so the window holds one image counted as many. The aligned crops are not
 *   compared: the mesh moves them a little on a still picture too;
 * - `dark`: the crops' mean luma is below `darkLuma`: too dark to show texture.
 *
 * No face at all (including a black frame) gives no crop and so no window. Pure functions, no state.
 */
import type { Box } from '../../detectors/face/BlazeFace.js';
import type { RgbFrame } from '../../detectors/face/image.js';
import type { FaceWindowIssue } from '../messages.js';

export interface FaceGateOptions {
  /** A second face at least this fraction of the largest face's box width makes a frame ambiguous. */
  comparableFaceRatio: number;
  /** Share of the face box's area outside the frame above which the face counts as cut off. */
  maxOutsideShare: number;
  /** Mean absolute difference (0-255) of the face-region luma grids under which two consecutive frames are the same picture. */
  frozenDiff: number;
  /** Mean luma (0-255) of the crops under which the window is too dark. */
  darkLuma: number;
}

export const defaultFaceGateOptions: FaceGateOptions = { comparableFaceRatio: 0.6, maxOutsideShare: 0.1, frozenDiff: 0.5, darkLuma: 20 };

/** The issue of one analysed frame: `faces` all faces placed on it, `face` the one the window keeps (one of `faces`). */
export function frameFaceIssue(faces: readonly { box: Box }[], face: { box: Box }, width: number, height: number, o: FaceGateOptions = defaultFaceGateOptions): FaceWindowIssue | undefined {
  for (const other of faces) {
    if (other === face) continue;
    if (other.box.width >= o.comparableFaceRatio * face.box.width) return 'several-faces';
  }
  const b = face.box;
  const area = b.width * b.height;
  if (area > 0) {
    const inside = Math.max(0, Math.min(b.x + b.width, width) - Math.max(b.x, 0)) * Math.max(0, Math.min(b.y + b.height, height) - Math.max(b.y, 0));
    if (1 - inside / area > o.maxOutsideShare) return 'face-at-edge';
  }
  return undefined;
}

/** Side of the face-region luma grid. */
export const FACE_GRID = 24;

/** Mean luma of a FACE_GRID x FACE_GRID grid of cells over the face box (the part inside the frame). */
export function faceLumaGrid(frame: RgbFrame, box: Box): Float32Array {
  const n = FACE_GRID;
  const sum = new Float64Array(n * n);
  const count = new Uint32Array(n * n);
  const x0 = Math.max(0, Math.floor(box.x));
  const y0 = Math.max(0, Math.floor(box.y));
  const x1 = Math.min(frame.width, Math.ceil(box.x + box.width));
  const y1 = Math.min(frame.height, Math.ceil(box.y + box.height));
  if (box.width > 0 && box.height > 0) {
    for (let y = y0; y < y1; y++) {
      const cy = Math.min(n - 1, Math.max(0, Math.floor(((y - box.y) / box.height) * n)));
      for (let x = x0; x < x1; x++) {
        const cx = Math.min(n - 1, Math.max(0, Math.floor(((x - box.x) / box.width) * n)));
        const i = (y * frame.width + x) * 3;
        sum[cy * n + cx]! += 0.299 * frame.rgb[i]! + 0.587 * frame.rgb[i + 1]! + 0.114 * frame.rgb[i + 2]!;
        count[cy * n + cx]! += 1;
      }
    }
  }
  const g = new Float32Array(n * n);
  for (let k = 0; k < g.length; k++) g[k] = count[k]! > 0 ? sum[k]! / count[k]! : 0;
  return g;
}

/** How much the face region changed: `box` read from the previous frame and from this one (same size). */
export function faceMotion(prev: RgbFrame, frame: RgbFrame, box: Box): number {
  return gridDiff(faceLumaGrid(prev, box), faceLumaGrid(frame, box));
}

/** Mean absolute difference of two face grids. */
export function gridDiff(a: Float32Array, b: Float32Array): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d += Math.abs(a[i]! - b[i]!);
  return a.length > 0 ? d / a.length : 0;
}

const ORDER: readonly FaceWindowIssue[] = ['several-faces', 'face-at-edge', 'frozen', 'dark'];

/**
 * The window's issue, if any: the frames' issues (`frameIssues`), whether the picture moved
 * (`motion`: gridDiff between consecutive frames of the window, the first against the frame before it
 * when that had the face too), and the crops' brightness (`crops`: RGB crops of `bytes` bytes each).
 * The first issue in a fixed order is reported.
 */
export function faceWindowIssue(crops: readonly Uint8Array[], bytes: number, frameIssues: ReadonlySet<FaceWindowIssue>, motion: readonly number[], o: FaceGateOptions = defaultFaceGateOptions): FaceWindowIssue | undefined {
  const found = new Set(frameIssues);
  if (motion.length > 0 && motion.every((d) => d < o.frozenDiff)) found.add('frozen');
  if (crops.length > 0) {
    let sum = 0;
    for (const c of crops) for (let i = 0; i < bytes; i += 3) sum += 0.299 * c[i]! + 0.587 * c[i + 1]! + 0.114 * c[i + 2]!;
    if (sum / (crops.length * (bytes / 3)) < o.darkLuma) found.add('dark');
  }
  return ORDER.find((x) => found.has(x));
}

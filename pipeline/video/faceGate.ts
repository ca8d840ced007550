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
 * - `frozen`: every pair of consecutive crops differs by less than `frozenDiff` grey levels on average:
 *   the same picture over and over (a frozen or injected still frame), so the window holds one image
 *   counted as many;
 * - `dark`: the crops' mean luma is below `darkLuma`: too dark to show texture.
 *
 * No face at all (including a black frame) gives no crop and so no window. Pure functions, no state.
 */
import type { Box } from '../../detectors/face/BlazeFace.js';
import type { FaceWindowIssue } from '../messages.js';

export interface FaceGateOptions {
  /** A second face at least this fraction of the largest face's box width makes a frame ambiguous. */
  comparableFaceRatio: number;
  /** Share of the face box's area outside the frame above which the face counts as cut off. */
  maxOutsideShare: number;
  /** Mean absolute difference (0-255) under which two consecutive crops are the same picture. */
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

const ORDER: readonly FaceWindowIssue[] = ['several-faces', 'face-at-edge', 'frozen', 'dark'];

/**
 * The window's issue, if any: the frames' issues (`frameIssues`), then the crops' own (frozen, dark).
 * `crops`: the window's RGB crops of `bytes` bytes each. The first issue in a fixed order is reported.
 */
export function faceWindowIssue(crops: readonly Uint8Array[], bytes: number, frameIssues: ReadonlySet<FaceWindowIssue>, o: FaceGateOptions = defaultFaceGateOptions): FaceWindowIssue | undefined {
  const found = new Set(frameIssues);
  if (crops.length >= 2) {
    let moving = false;
    for (let k = 1; k < crops.length && !moving; k++) {
      const a = crops[k - 1]!;
      const b = crops[k]!;
      let d = 0;
      for (let i = 0; i < bytes; i++) d += Math.abs(a[i]! - b[i]!);
      if (d / bytes >= o.frozenDiff) moving = true;
    }
    if (!moving) found.add('frozen');
  }
  if (crops.length > 0) {
    let sum = 0;
    for (const c of crops) for (let i = 0; i < bytes; i += 3) sum += 0.299 * c[i]! + 0.587 * c[i + 1]! + 0.114 * c[i + 2]!;
    if (sum / (crops.length * (bytes / 3)) < o.darkLuma) found.add('dark');
  }
  return ORDER.find((x) => found.has(x));
}

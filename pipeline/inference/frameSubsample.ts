/**
 * Which frames of a face window the face-forgery model scores when it scores only K of them
 * (InferencePoolOptions.faceForgeryFrames, DFD_FACE_FORGERY_FRAMES). The K frames are
 * consecutive positions of the window (wrapping round) and start K positions further on in
 * each window of a stream, so over a few windows every frame position is scored.
 *
 * Why it costs little: the frames of one 5-frame window (one second at 5 fps) look alike to
 * the model. Over the held-out folds of the model's CV, the mean leave-method-out clip AUROC
 * through the call preset was 0.746 scoring all 5 frames and 0.756 scoring 2 (a second
 * training seed: 0.684 and 0.679; detectors/training/face/subsample_study.py mirrors this
 * selection).
 */
import type { FaceWindow } from '../messages.js';

/** How many of a window's `frames` are scored when the setting is `k`: k, or all of them when k is 0 or at least `frames`. */
export function scoredFrameCount(frames: number, k: number): number {
  return k > 0 && k < frames ? k : frames;
}

/** The frame indices (ascending) of window `seq` that are scored when `k` of its `frames` are (scoredFrameCount). */
export function scoredFrames(seq: number, frames: number, k: number): number[] {
  if (scoredFrameCount(frames, k) === frames) return Array.from({ length: frames }, (_, i) => i);
  const start = (((Math.trunc(seq) * k) % frames) + frames) % frames;
  const out: number[] = [];
  for (let j = 0; j < k; j++) out.push((start + j) % frames);
  return out.sort((a, b) => a - b);
}

/**
 * The window with only its scored frames: a new window owning a copy of those crops (so it can
 * be transferred on its own), or the same window when every frame is scored. Its `wallStart`,
 * `wallEnd` and quality are the whole window's: the score still stands for that second.
 */
export function subsampleFaceWindow(w: FaceWindow, k: number): FaceWindow {
  const keep = scoredFrames(w.seq, w.frames, k);
  if (keep.length === w.frames) return w;
  const size = w.width * w.height * 3;
  const crops = new Uint8Array(keep.length * size);
  keep.forEach((f, i) => crops.set(w.crops.subarray(f * size, (f + 1) * size), i * size));
  return { ...w, crops, frames: keep.length };
}

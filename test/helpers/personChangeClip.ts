/**
 * A "camera" clip in which the person changes, for the live face-continuity test: one face of
 * the @vladmandic/face-api sample photos looking at the camera for `firstSec`, then another
 * person's face for `secondSec`, each rendered from its still photo with its own FaceMesh head
 * model and small natural jitter (detectors/face/testing/renderPose.ts), encoded to VP8
 * (test/helpers/vp8Clip.ts). With `second` left out the same person stays throughout (the control).
 * Renderings of photos, not recordings of people.
 */
import { FaceAnalyzer } from '../../detectors/face/FaceAnalyzer.js';
import type { RgbFrame } from '../../detectors/face/image.js';
import { photoPoseSource } from '../../detectors/face/testing/poseFaces.js';
import { renderPose } from '../../detectors/face/testing/renderPose.js';
import { jitter } from '../../challenge-response/eval/renderedAnswers.js';
import type { IvfFile } from '../../pipeline/video/IvfWriter.js';
import { encodeVp8Clip } from './vp8Clip.js';

export interface PhotoFaceRef {
  /** face-api sample photo (1..6) and the face's index, left to right. */
  photo: number;
  index: number;
}

export interface PersonChangeClipOptions {
  first: PhotoFaceRef;
  /** Undefined: `first` for the whole clip. */
  second: PhotoFaceRef | undefined;
  firstSec: number;
  secondSec: number;
  fps: number;
  gopSec: number;
  bitrate: string;
}

/** Two near-frontal faces the rendered-pose tests use (challenge-response/checkers/videoRendered.test.ts). */
export const defaultPersonChangeClipOptions: PersonChangeClipOptions = {
  first: { photo: 5, index: 0 },
  second: { photo: 6, index: 3 },
  firstSec: 12,
  secondSec: 12,
  fps: 5,
  gopSec: 1,
  bitrate: '1M',
};

export interface PersonChangeClip {
  options: PersonChangeClipOptions;
  ivf: IvfFile;
  /** Clip time at which the second person appears, s. */
  changeSec: number;
}

export async function renderPersonChangeClip(dir: string, name: string, options: Partial<PersonChangeClipOptions> = {}): Promise<PersonChangeClip> {
  const o = { ...defaultPersonChangeClipOptions, ...options };
  const analyzer = await FaceAnalyzer.create({ minScore: 0.4, maxFaces: 10 });
  const frames: RgbFrame[] = [];
  try {
    const a = await photoPoseSource(analyzer, o.first.photo, o.first.index);
    const b = o.second ? await photoPoseSource(analyzer, o.second.photo, o.second.index) : a;
    const n = Math.round((o.firstSec + o.secondSec) * o.fps);
    for (let i = 0; i < n; i++) {
      const t = i / o.fps;
      const src = t < o.firstSec ? a : b;
      const j = jitter(t, 0);
      frames.push(renderPose(src.frame, src.model, { yawDeg: j.yaw, pitchDeg: j.pitch, rollDeg: j.roll }));
    }
  } finally {
    await analyzer.close();
  }
  return { options: o, ivf: encodeVp8Clip(dir, name, frames, o.fps, o.gopSec, o.bitrate).ivf, changeSec: o.firstSec };
}

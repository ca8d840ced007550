/**
 * A "camera" clip of a head turn for live-call tests, made at test time from a real face
 * photo: a face of the @vladmandic/face-api sample photos (detectors/face/testing/poseFaces.ts)
 * rendered with its own FaceMesh head model (detectors/face/testing/renderPose.ts), so it
 * is a 2.5D warp of one still photo, not a recording of a person turning their head.
 *
 * One cycle of the clip (meant to be looped):
 *   0 .. frontalSec                        looking at the camera, small natural jitter
 *   frontalSec .. +rampSec                 turning `turnDeg` to the participant's LEFT
 *   .. +holdSec                            holding the turn (with jitter)
 *   .. +rampSec                            back to the camera (the next cycle's frontal phase follows)
 *
 * Encoded to VP8 IVF by the real ffmpeg/libvpx in realtime mode (test/helpers/vp8Clip.ts).
 */
import { FaceAnalyzer } from '../../detectors/face/FaceAnalyzer.js';
import { photoPoseSource } from '../../detectors/face/testing/poseFaces.js';
import { renderPose } from '../../detectors/face/testing/renderPose.js';
import type { RgbFrame } from '../../detectors/face/image.js';
import { bump, jitter } from '../../challenge-response/eval/renderedAnswers.js';
import type { IvfFile } from '../../pipeline/video/IvfWriter.js';
import { encodeVp8Clip } from './vp8Clip.js';

export interface HeadTurnClipOptions {
  /** face-api sample photo (1..6) and the face's index, left to right. */
  photo: number;
  index: number;
  fps: number;
  frontalSec: number;
  rampSec: number;
  holdSec: number;
  /** Yaw of the held turn, degrees (> 0: the participant's left, FaceObservation convention). */
  turnDeg: number;
  /** Keyframe interval, s. */
  gopSec: number;
  bitrate: string;
}

/** sample5's first face: near-frontal (its photo reads about 1 degree of yaw), as in videoRendered.test.ts. */
export const defaultHeadTurnClipOptions: HeadTurnClipOptions = {
  photo: 5,
  index: 0,
  fps: 5,
  frontalSec: 12,
  rampSec: 1.5,
  holdSec: 12,
  turnDeg: 50,
  gopSec: 1,
  bitrate: '1M',
};

export interface HeadTurnClip {
  options: HeadTurnClipOptions;
  y4m: string;
  ivf: IvfFile;
  /** Length of one cycle, s. */
  cycleSec: number;
  /** Within a cycle, s: the turn starts, reaches `turnDeg`, starts going back. */
  turnStartSec: number;
  holdStartSec: number;
  holdEndSec: number;
  /** The face's pose on the unrotated frame as FaceAnalyzer reads it. */
  photoPose: { yawDeg: number; pitchDeg: number };
}

/** Yaw and pitch (before jitter) at `t` seconds into a cycle. */
export function headTurnPose(t: number, o: HeadTurnClipOptions): { yaw: number; pitch: number } {
  const a = o.frontalSec;
  const b = a + o.rampSec;
  const c = b + o.holdSec;
  return { yaw: o.turnDeg * bump(t, a, b, c, c + o.rampSec), pitch: 0 };
}

export async function renderHeadTurnClip(dir: string, options: Partial<HeadTurnClipOptions> = {}): Promise<HeadTurnClip> {
  const o = { ...defaultHeadTurnClipOptions, ...options };
  const cycleSec = o.frontalSec + 2 * o.rampSec + o.holdSec;
  const n = Math.round(cycleSec * o.fps);
  const analyzer = await FaceAnalyzer.create({ minScore: 0.4, maxFaces: 10 });
  const frames: RgbFrame[] = [];
  let photoPose: { yawDeg: number; pitchDeg: number };
  try {
    const src = await photoPoseSource(analyzer, o.photo, o.index);
    photoPose = src.baseline;
    for (let i = 0; i < n; i++) {
      const t = i / o.fps;
      const p = headTurnPose(t, o);
      const j = jitter(t, 0);
      frames.push(renderPose(src.frame, src.model, { yawDeg: p.yaw + j.yaw, pitchDeg: p.pitch + j.pitch, rollDeg: j.roll }));
    }
  } finally {
    await analyzer.close();
  }
  const { y4m, ivf } = encodeVp8Clip(dir, 'head-turn', frames, o.fps, o.gopSec, o.bitrate);
  return {
    options: o,
    y4m,
    ivf,
    cycleSec,
    turnStartSec: o.frontalSec,
    holdStartSec: o.frontalSec + o.rampSec,
    holdEndSec: o.frontalSec + o.rampSec + o.holdSec,
    photoPose,
  };
}

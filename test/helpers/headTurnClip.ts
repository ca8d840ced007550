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
 * Written as Y4M (detectors/face/testing/y4m.ts) in `dir`, then encoded to VP8 IVF by the
 * real ffmpeg/libvpx in realtime mode (keyframe every `gopSec`), the way a browser sends it.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { FaceAnalyzer } from '../../detectors/face/FaceAnalyzer.js';
import { photoFaces, poseSource } from '../../detectors/face/testing/poseFaces.js';
import { renderPose } from '../../detectors/face/testing/renderPose.js';
import { writeY4m } from '../../detectors/face/testing/y4m.js';
import type { RgbFrame } from '../../detectors/face/image.js';
import { bump, jitter } from '../../challenge-response/eval/renderedAnswers.js';
import { parseIvf, type IvfFile } from '../../pipeline/video/IvfWriter.js';
import { DfdError } from '../../kernel/errors.js';

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
    const face = (await photoFaces(analyzer, [o.photo]))[o.index];
    const src = face && (await poseSource(analyzer, face));
    if (!src) throw new DfdError('ERR_NOT_FOUND', 'no usable face', { photo: o.photo, index: o.index });
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
  const y4m = path.join(dir, 'head-turn.y4m');
  writeY4m(y4m, frames, o.fps);
  const gop = String(Math.max(1, Math.round(o.gopSec * o.fps)));
  const out = execFileSync(
    'ffmpeg',
    [
      '-hide_banner', '-loglevel', 'error', '-i', y4m,
      '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-g', gop, '-keyint_min', gop,
      '-b:v', o.bitrate, '-auto-alt-ref', '0', '-lag-in-frames', '0', '-f', 'ivf', 'pipe:1',
    ],
    { maxBuffer: 256 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const ivf = parseIvf(new Uint8Array(out.buffer, out.byteOffset, out.byteLength));
  if (ivf === null) throw new DfdError('ERR_FRAME_INVALID', 'ffmpeg did not produce IVF');
  // The sender paces by frame index: every rendered frame must be in the file, in order.
  if (ivf.frames.length !== n || ivf.frames.some((f, i) => f.pts !== i)) {
    throw new DfdError('ERR_FRAME_INVALID', 'VP8 clip lost or reordered frames', { rendered: n, encoded: ivf.frames.length });
  }
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

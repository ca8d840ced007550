/**
 * Head pose through the runtime face path on RENDERINGS of real photos (not recordings of
 * people turning their heads): each face of the six @vladmandic/face-api group photos with
 * a box >= 60 px (640-wide decode) is cut into a 640x480 frame, its FaceMesh head model is
 * rotated to every yaw in -60..60 (step 15) x pitch in -30..30 (step 10)
 * (detectors/face/testing/renderPose.ts), and each rendering goes through FaceAnalyzer
 * (BlazeFace + FaceMesh + FaceAligner pose), as pipeline/media/MediaWorker.ts runs it.
 *
 * Errors are measured against the face's own unrotated reading (the photo's pose is not
 * frontal and pitch carries the face path's bias): error = (measured - baseline) - rendered.
 * "lost" = no face near the rendered head; "noMesh" = face found but mesh presence below
 * 0.5, so the pose came from the 6 detector keypoints; "notLargest" = another face in the
 * frame was larger (MediaWorker would observe that one instead).
 *
 * With --answers, every usable face also answers the head-turn and look-up-down challenges
 * along scripted trajectories (challenge-response/eval/renderedAnswers.ts: 5 fps, 8 s, resting
 * pose from 25 still frames) and the catalogue checkers' verdicts are counted.
 *
 * With --y4m DIR, writes three answers of sample5's first face as 640x480 5 fps Y4M files
 * (head turn 50 degrees left, still, up 35 then down 35) for a browser's fake camera, then exits.
 *
 *   node --import tsx challenge-response/eval/poseRendered.ts [--faces N] [--answers] [--y4m DIR]
 */
import fs from 'node:fs';
import path from 'node:path';
import { FaceAnalyzer } from '../../detectors/face/FaceAnalyzer.js';
import { writeY4m } from '../../detectors/face/testing/y4m.js';
import { centralFace, defaultPoseSourceOptions, photoFaces, poseSource } from '../../detectors/face/testing/poseFaces.js';
import { largestFace } from '../../detectors/face/observe.js';
import { renderPose } from '../../detectors/face/testing/renderPose.js';
import type { CheckResult } from '../checkers/types.js';
import { answerFps, catalogueParams, nod, onlyUp, RenderedAnswers, still, turn, upThenDown, type Trajectory } from './renderedAnswers.js';

const yaws = [-60, -45, -30, -15, 0, 15, 30, 45, 60];
const pitches = [-30, -20, -10, 0, 10, 20, 30];

interface Cell {
  yawErr: number[];
  pitchErr: number[];
  lost: number;
  noMesh: number;
  notLargest: number;
}

const r1 = (v: number): number => Math.round(v * 10) / 10;

function stats(v: number[]): { n: number; mean: number; meanAbs: number; p90Abs: number; maxAbs: number } {
  const abs = v.map(Math.abs).sort((a, b) => a - b);
  const mean = v.reduce((a, b) => a + b, 0) / Math.max(1, v.length);
  return {
    n: v.length,
    mean: r1(mean),
    meanAbs: r1(abs.reduce((a, b) => a + b, 0) / Math.max(1, v.length)),
    p90Abs: r1(abs[Math.min(abs.length - 1, Math.floor(0.9 * (abs.length - 1)))] ?? NaN),
    maxAbs: r1(abs.at(-1) ?? NaN),
  };
}

interface AnswerCase {
  challenge: 'head-turn' | 'look-up-down';
  label: string;
  /** What a person doing this did: the asked movement or not. */
  compliant: boolean;
  side?: 'left' | 'right';
  trajectory: Trajectory;
}

const answerCases: AnswerCase[] = [
  { challenge: 'head-turn', label: 'turn 50 left, asked left', compliant: true, side: 'left', trajectory: turn(50) },
  { challenge: 'head-turn', label: 'turn 50 right, asked right', compliant: true, side: 'right', trajectory: turn(-50) },
  { challenge: 'head-turn', label: 'turn 35 left, asked left', compliant: true, side: 'left', trajectory: turn(35) },
  { challenge: 'head-turn', label: 'still, asked left', compliant: false, side: 'left', trajectory: still },
  { challenge: 'head-turn', label: 'turn 50 right, asked left (wrong side)', compliant: false, side: 'left', trajectory: turn(-50) },
  { challenge: 'head-turn', label: 'turn 10 left, asked left', compliant: false, side: 'left', trajectory: turn(10) },
  { challenge: 'look-up-down', label: 'up 35 then down 35', compliant: true, trajectory: upThenDown(35) },
  { challenge: 'look-up-down', label: 'up 25 then down 25', compliant: true, trajectory: upThenDown(25) },
  { challenge: 'look-up-down', label: 'still', compliant: false, trajectory: still },
  { challenge: 'look-up-down', label: 'nod 4 down, twice', compliant: false, trajectory: nod(4) },
  { challenge: 'look-up-down', label: 'up 35 only', compliant: false, trajectory: onlyUp(35) },
];

/** Checker verdicts per answer case over the faces (see renderedAnswers.ts). */
async function answerCounts(faces: { photo: number; index: number }[]): Promise<unknown[]> {
  const ra = await RenderedAnswers.create(faces);
  const out = [];
  try {
    for (const c of answerCases) {
      const counts: Record<CheckResult, number> = { pass: 0, fail: 0, unclear: 0 };
      const detail: string[] = [];
      for (let k = 0; k < faces.length; k++) {
        const o = await ra.check(c.challenge, k, c.trajectory, catalogueParams(c.challenge, c.side));
        counts[o.result]++;
        const m = o.measurements;
        detail.push(c.challenge === 'head-turn' ? `${o.result[0]}:${r1(m['maxTurnDeg'] ?? NaN)}/${m['framesTurned']}` : `${o.result[0]}:${r1(m['maxUpDeg'] ?? NaN)}/${r1(m['maxDownDeg'] ?? NaN)}/${r1(m['rangeDeg'] ?? NaN)}`);
      }
      out.push({ challenge: c.challenge, answer: c.label, compliant: c.compliant, ...counts, perFace: detail.join(' ') });
    }
  } finally {
    await ra.close();
  }
  return out;
}

async function writeAnswersY4m(dir: string): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  const ra = await RenderedAnswers.create([{ photo: 5, index: 0 }]);
  try {
    for (const [name, trajectory] of [['turn-left-50', turn(50)], ['still', still], ['up-down-35', upThenDown(35)]] as const) {
      const file = path.join(dir, `${name}.y4m`);
      writeY4m(file, ra.frames(0, trajectory), answerFps);
      process.stdout.write(`${file}\n`);
    }
  } finally {
    await ra.close();
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.includes('--y4m')) {
    await writeAnswersY4m(args[args.indexOf('--y4m') + 1] ?? '.');
    return;
  }
  const maxFaces = args.includes('--faces') ? Number(args[args.indexOf('--faces') + 1]) : Infinity;
  const analyzer = await FaceAnalyzer.create({ minScore: 0.4, maxFaces: 10 });
  const faces = await photoFaces(analyzer);
  const cells = new Map<string, Cell>();
  // subset '' = every face, 'frontal' = faces whose photo pose reads |yaw| <= 15 degrees
  const cell = (y: number, p: number, subset = ''): Cell => {
    const key = `${subset}${y},${p}`;
    let c = cells.get(key);
    if (!c) cells.set(key, (c = { yawErr: [], pitchErr: [], lost: 0, noMesh: 0, notLargest: 0 }));
    return c;
  };
  const perFace = [];
  let used = 0;
  for (const face of faces) {
    if (used >= maxFaces) break;
    const src = await poseSource(analyzer, face);
    if (!src) continue;
    used++;
    const cx = src.frame.width / 2;
    const cy = 0.45 * src.frame.height;
    const yawAt0: (number | null)[] = [];
    for (const y of yaws) {
      for (const p of pitches) {
        const frame = renderPose(src.frame, src.model, { yawDeg: y, pitchDeg: p });
        const a = await analyzer.analyze(frame);
        const f = centralFace(a, cx, cy);
        const frontal = Math.abs(src.baseline.yawDeg) <= 15;
        const c = cell(y, p);
        const cf = frontal ? cell(y, p, 'frontal') : undefined;
        // "near the rendered head": box centre within one face width of the frame centre
        if (!f || Math.hypot(f.box.x + f.box.width / 2 - cx, f.box.y + f.box.height / 2 - cy) > defaultPoseSourceOptions.faceSize) {
          for (const x of cf ? [c, cf] : [c]) x.lost++;
          if (p === 0) yawAt0.push(null);
          continue;
        }
        for (const x of cf ? [c, cf] : [c]) {
          if (!f.landmarks) x.noMesh++;
          if (largestFace(a.faces) !== f) x.notLargest++;
          x.yawErr.push(f.yawDeg - src.baseline.yawDeg - y);
          x.pitchErr.push(f.pitchDeg - src.baseline.pitchDeg - p);
        }
        if (p === 0) yawAt0.push(r1(f.yawDeg - src.baseline.yawDeg));
      }
    }
    perFace.push({ photo: face.photo, index: face.index, box640: Math.round(face.box.width), baselineYawDeg: r1(src.baseline.yawDeg), baselinePitchDeg: r1(src.baseline.pitchDeg), isLargest: src.isLargest, measuredYawAtPitch0: yawAt0 });
  }
  await analyzer.close();
  const byYaw = yaws.map((y) => {
    const cs = pitches.map((p) => cell(y, p));
    return {
      renderedYawDeg: y,
      frames: used * pitches.length,
      lost: cs.reduce((a, c) => a + c.lost, 0),
      noMesh: cs.reduce((a, c) => a + c.noMesh, 0),
      notLargest: cs.reduce((a, c) => a + c.notLargest, 0),
      yawErrDeg: stats(cs.flatMap((c) => c.yawErr)),
      yawErrDegAtPitch0: stats(cell(y, 0).yawErr),
    };
  });
  const frontalFaces = perFace.filter((f) => Math.abs(f.baselineYawDeg) <= 15).length;
  const frontal = {
    faces: frontalFaces,
    byYaw: yaws.map((y) => ({
      renderedYawDeg: y,
      frames: frontalFaces * pitches.length,
      lost: pitches.reduce((a, p) => a + cell(y, p, 'frontal').lost, 0),
      noMesh: pitches.reduce((a, p) => a + cell(y, p, 'frontal').noMesh, 0),
      yawErrDeg: stats(pitches.flatMap((p) => cell(y, p, 'frontal').yawErr)),
      yawErrDegAtPitch0: stats(cell(y, 0, 'frontal').yawErr),
    })),
    byPitch: pitches.map((p) => ({
      renderedPitchDeg: p,
      frames: frontalFaces * yaws.length,
      lost: yaws.reduce((a, y) => a + cell(y, p, 'frontal').lost, 0),
      noMesh: yaws.reduce((a, y) => a + cell(y, p, 'frontal').noMesh, 0),
      pitchErrDeg: stats(yaws.flatMap((y) => cell(y, p, 'frontal').pitchErr)),
      pitchErrDegAtYaw0: stats(cell(0, p, 'frontal').pitchErr),
    })),
  };
  const byPitch = pitches.map((p) => {
    const cs = yaws.map((y) => cell(y, p));
    return {
      renderedPitchDeg: p,
      frames: used * yaws.length,
      lost: cs.reduce((a, c) => a + c.lost, 0),
      noMesh: cs.reduce((a, c) => a + c.noMesh, 0),
      pitchErrDeg: stats(cs.flatMap((c) => c.pitchErr)),
      pitchErrDegAtYaw0: stats(cell(0, p).pitchErr),
      pitchErrDegAtAbsYawLe30: stats(yaws.filter((y) => Math.abs(y) <= 30).flatMap((y) => cell(y, p).pitchErr)),
    };
  });
  const answers = args.includes('--answers') ? await answerCounts(perFace.map((f) => ({ photo: f.photo, index: f.index }))) : undefined;
  const out = {
    command: `node --import tsx challenge-response/eval/poseRendered.ts${args.length ? ' ' + args.join(' ') : ''}`,
    note: 'renderings of real photos (2.5D warp of the FaceMesh head model), not recordings of people turning their heads',
    faces: used,
    framesPerFace: yaws.length * pitches.length,
    byYaw,
    byPitch,
    frontal,
    perFace,
    ...(answers ? { answers } : {}),
  };
  process.stdout.write(JSON.stringify(out, null, 2) + '\n');
}

void main();

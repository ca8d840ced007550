/**
 * Video challenges (GOTCHA-style): head turns, half-face occlusion by a hand, a finger
 * pressed on a cheek, looking up then down. Face swaps tend to break exactly there; the
 * checker judges compliance, the face detectors' scores during the response judge the rest.
 */
import type { FaceObservation, FaceRegion } from '../../detectors/face/FaceObservation.js';
import type { CheckOutcome, PoseBaseline, VideoCheckInput } from './types.js';
import { percentile } from '../dsp/level.js';

/*
 * Every per-frame value is smoothed with a centred median of 3 found frames before it is
 * judged: one noisy landmark frame can neither make a pass nor block a fail. Pose angles are
 * relative to the caller's resting pose (`poseBaseline`: medians of the frames before the
 * challenge, kept by ChallengeManager); without one, to the camera (0 degrees). The face
 * path reads frontal faces a few degrees low in pitch, which the baseline removes.
 */

export interface VideoCheckOptions {
  /** Fewer observations than this: unclear. */
  minObservations: number;
  /** Face found in less than this share of frames: unclear. */
  minFaceShare: number;
  /** Consecutive-or-not frames that must show the asked pose / occlusion. */
  minFrames: number;
  /** Yaw that counts as a profile turn, and the most a non-turn reaches, degrees. */
  turnPassDeg: number;
  turnFailDeg: number;
  /** Pitch that counts as up/down, and the range under which it fails, degrees. */
  pitchPassDeg: number;
  pitchFailRangeDeg: number;
  /** Visibility at or below which a region counts as covered / above which it is clear. */
  coveredBelow: number;
  clearAbove: number;
}

export const defaultVideoCheckOptions: VideoCheckOptions = {
  minObservations: 5,
  minFaceShare: 0.5,
  minFrames: 3,
  turnPassDeg: 30,
  turnFailDeg: 12,
  pitchPassDeg: 15,
  pitchFailRangeDeg: 8,
  coveredBelow: 0.4,
  clearAbove: 0.75,
};

/** Centred median of 3 (ends: median of the two or one available). */
export function median3(v: readonly number[]): number[] {
  return v.map((x, i) => {
    const w = [v[i - 1], x, v[i + 1]].filter((y): y is number => y !== undefined).sort((a, b) => a - b);
    return w.length === 3 ? (w[1] as number) : w.reduce((a, b) => a + b, 0) / w.length;
  });
}

/** The resting pose of a run of face observations (found faces): medians of yaw and pitch. */
export function restingPose(frames: readonly Pick<FaceObservation, 'yawDeg' | 'pitchDeg'>[]): PoseBaseline {
  return { yawDeg: percentile(frames.map((f) => f.yawDeg), 0.5), pitchDeg: percentile(frames.map((f) => f.pitchDeg), 0.5), frames: frames.length };
}

/** One pose angle over the found frames, smoothed and relative to the resting pose. */
function poseSeries(input: VideoCheckInput, key: 'yawDeg' | 'pitchDeg'): { values: number[]; restDeg: number } {
  const raw = input.observations.filter((f) => f.faceFound && Number.isFinite(f[key])).map((f) => f[key]);
  const base = input.poseBaseline?.[key];
  const rest = base !== undefined && Number.isFinite(base) ? base : 0;
  return { values: median3(raw).map((x) => x - rest), restDeg: rest };
}

function gate(obs: readonly FaceObservation[], o: VideoCheckOptions): CheckOutcome | undefined {
  const found = obs.filter((f) => f.faceFound).length;
  const measurements = { observations: obs.length, faceShare: obs.length > 0 ? found / obs.length : 0 };
  if (obs.length < o.minObservations) return { result: 'unclear', measurements, reason: 'too few video frames' };
  if (found / obs.length < o.minFaceShare) return { result: 'unclear', measurements, reason: 'face not visible in most frames' };
  return undefined;
}

export function checkHeadTurn(input: VideoCheckInput, options: Partial<VideoCheckOptions> = {}): CheckOutcome {
  const o = { ...defaultVideoCheckOptions, ...options };
  const g = gate(input.observations, o);
  if (g) return g;
  const sign = input.params.side === 'right' ? -1 : 1;
  const { values, restDeg } = poseSeries(input, 'yawDeg');
  const yaws = values.map((y) => sign * y);
  const maxTurnDeg = yaws.length > 0 ? Math.max(...yaws) : Number.NaN;
  const framesTurned = yaws.filter((y) => y >= o.turnPassDeg).length;
  const measurements = { maxTurnDeg, framesTurned, restYawDeg: restDeg };
  if (framesTurned >= o.minFrames) return { result: 'pass', measurements, reason: 'head turned to the side asked' };
  if (maxTurnDeg <= o.turnFailDeg) return { result: 'fail', measurements, reason: 'head not turned to the side asked' };
  return { result: 'unclear', measurements, reason: 'head turned only partly' };
}

function occlusion(input: VideoCheckInput, covered: FaceRegion, clear: FaceRegion, o: VideoCheckOptions, what: string): CheckOutcome {
  const g = gate(input.observations, o);
  if (g) return g;
  const frames = input.observations.filter((f) => f.faceFound && f.regions[covered] !== undefined && Number.isFinite(f.regions[covered]));
  const vis = median3(frames.map((f) => f.regions[covered] as number));
  const otherRaw = frames.map((f) => f.regions[clear]);
  const other = otherRaw.every((x) => x !== undefined && Number.isFinite(x)) ? median3(otherRaw as number[]) : undefined;
  let framesCovered = 0;
  let framesDimmed = 0;
  vis.forEach((v, i) => {
    if (v < o.clearAbove) framesDimmed++;
    if (v <= o.coveredBelow && (other === undefined || (other[i] ?? 0) >= o.clearAbove)) framesCovered++;
  });
  const measurements = { framesCovered, framesDimmed, minVisibility: vis.length > 0 ? Math.min(...vis) : Number.NaN, p10Visibility: percentile(vis, 0.1) };
  if (vis.length === 0) return { result: 'unclear', measurements, reason: 'region visibility not reported' };
  if (framesCovered >= o.minFrames) return { result: 'pass', measurements, reason: `${what} as asked` };
  if (framesDimmed < o.minFrames) return { result: 'fail', measurements, reason: `${what} not seen` };
  return { result: 'unclear', measurements, reason: `${what} seen only partly` };
}

export function checkHandOverHalf(input: VideoCheckInput, options: Partial<VideoCheckOptions> = {}): CheckOutcome {
  const side = input.params.side ?? 'left';
  return occlusion(input, side === 'left' ? 'leftHalf' : 'rightHalf', side === 'left' ? 'rightHalf' : 'leftHalf', { ...defaultVideoCheckOptions, ...options }, 'half of the face covered');
}

export function checkFingerOnCheek(input: VideoCheckInput, options: Partial<VideoCheckOptions> = {}): CheckOutcome {
  const side = input.params.side ?? 'left';
  const o = { ...defaultVideoCheckOptions, coveredBelow: 0.6, ...options };
  return occlusion(input, side === 'left' ? 'leftCheek' : 'rightCheek', 'eyes', o, 'finger pressed on the cheek');
}

export function checkLookUpDown(input: VideoCheckInput, options: Partial<VideoCheckOptions> = {}): CheckOutcome {
  const o = { ...defaultVideoCheckOptions, ...options };
  const g = gate(input.observations, o);
  if (g) return g;
  const { values: pitches, restDeg } = poseSeries(input, 'pitchDeg');
  const maxUp = pitches.length > 0 ? Math.max(...pitches) : Number.NaN;
  const maxDown = pitches.length > 0 ? Math.min(...pitches) : Number.NaN;
  // The spread that decides "did not move": p90 - p10 of the smoothed pitch, so a still
  // head's tracker noise (a few degrees per frame) does not read as a nod.
  const rangeDeg = percentile(pitches, 0.9) - percentile(pitches, 0.1);
  const measurements = { maxUpDeg: maxUp, maxDownDeg: maxDown, rangeDeg, restPitchDeg: restDeg };
  const firstUp = pitches.findIndex((p) => p >= o.pitchPassDeg);
  const downAfter = firstUp >= 0 && pitches.slice(firstUp).some((p) => p <= -o.pitchPassDeg);
  if (downAfter) return { result: 'pass', measurements, reason: 'looked up then down' };
  if (rangeDeg < o.pitchFailRangeDeg) return { result: 'fail', measurements, reason: 'head did not tilt up and down' };
  return { result: 'unclear', measurements, reason: 'up-then-down movement incomplete' };
}

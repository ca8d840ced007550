/**
 * Video challenges (GOTCHA-style): head turns, half-face occlusion by a hand, a finger
 * pressed on a cheek, looking up then down. Face swaps tend to break exactly there; the
 * checker judges compliance, the face detectors' scores during the response judge the rest.
 */
import type { FaceObservation, FaceRegion } from '../face/FaceObservation.js';
import type { CheckOutcome, VideoCheckInput } from './types.js';

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
  const yaws = input.observations.filter((f) => f.faceFound && Number.isFinite(f.yawDeg)).map((f) => sign * f.yawDeg);
  const maxTurnDeg = yaws.length > 0 ? Math.max(...yaws) : Number.NaN;
  const framesTurned = yaws.filter((y) => y >= o.turnPassDeg).length;
  const measurements = { maxTurnDeg, framesTurned };
  if (framesTurned >= o.minFrames) return { result: 'pass', measurements, reason: 'head turned to the side asked' };
  if (maxTurnDeg <= o.turnFailDeg) return { result: 'fail', measurements, reason: 'head not turned to the side asked' };
  return { result: 'unclear', measurements, reason: 'head turned only partly' };
}

function occlusion(input: VideoCheckInput, covered: FaceRegion, clear: FaceRegion, o: VideoCheckOptions, what: string): CheckOutcome {
  const g = gate(input.observations, o);
  if (g) return g;
  let framesCovered = 0;
  let minVisibility = Number.POSITIVE_INFINITY;
  for (const f of input.observations) {
    if (!f.faceFound) continue;
    const v = f.regions[covered];
    const other = f.regions[clear];
    if (v === undefined) continue;
    minVisibility = Math.min(minVisibility, v);
    if (v <= o.coveredBelow && (other === undefined || other >= o.clearAbove)) framesCovered++;
  }
  const measurements = { framesCovered, minVisibility: Number.isFinite(minVisibility) ? minVisibility : Number.NaN };
  if (!Number.isFinite(minVisibility)) return { result: 'unclear', measurements, reason: 'region visibility not reported' };
  if (framesCovered >= o.minFrames) return { result: 'pass', measurements, reason: `${what} as asked` };
  if (minVisibility >= o.clearAbove) return { result: 'fail', measurements, reason: `${what} not seen` };
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
  const pitches = input.observations.filter((f) => f.faceFound && Number.isFinite(f.pitchDeg)).map((f) => f.pitchDeg);
  const maxUp = pitches.length > 0 ? Math.max(...pitches) : Number.NaN;
  const maxDown = pitches.length > 0 ? Math.min(...pitches) : Number.NaN;
  const measurements = { maxUpDeg: maxUp, maxDownDeg: maxDown };
  const firstUp = pitches.findIndex((p) => p >= o.pitchPassDeg);
  const downAfter = firstUp >= 0 && pitches.slice(firstUp).some((p) => p <= -o.pitchPassDeg);
  if (downAfter) return { result: 'pass', measurements, reason: 'looked up then down' };
  if (maxUp - maxDown < o.pitchFailRangeDeg) return { result: 'fail', measurements, reason: 'head did not tilt up and down' };
  return { result: 'unclear', measurements, reason: 'up-then-down movement incomplete' };
}

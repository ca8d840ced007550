/**
 * SYNTHETIC face-observation sequences for the video challenges, in the form the face
 * pipeline produces (`FaceObservation`: pose in degrees, region visibility 0..1) at 10 fps
 * over the response window, with tracker noise and occasional lost frames. They test the
 * checkers' decision logic on plausible trajectories; they do not test the face pipeline
 * (BlazeFace/FaceMesh) on real video, which is where real errors would come from.
 */
import type { FaceObservation, FaceRegion } from '../../detectors/face/FaceObservation.js';
import type { RandomSource } from '../random.js';

export interface LabelledSequence {
  compliant: boolean;
  recipe: string;
  observations: FaceObservation[];
}

const FPS = 10;

function gauss(rng: RandomSource): number {
  const u = Math.max(1e-9, rng.float());
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.float());
}

const clamp01 = (v: number): number => Math.min(1, Math.max(0, v));

/** Smooth bump 0 -> 1 -> 0 between `start` and `end` (s), holding 1 over the middle `hold` share. */
function bump(t: number, start: number, end: number, hold = 0.4): number {
  if (t <= start || t >= end) return 0;
  const x = (t - start) / (end - start);
  const ramp = (1 - hold) / 2;
  if (x < ramp) return 0.5 - 0.5 * Math.cos((Math.PI * x) / ramp);
  if (x > 1 - ramp) return 0.5 - 0.5 * Math.cos((Math.PI * (1 - x)) / ramp);
  return 1;
}

interface Shape {
  yaw?: (t: number) => number;
  pitch?: (t: number) => number;
  regions?: (t: number) => Partial<Record<FaceRegion, number>>;
}

/** Per-frame tracker noise: pose sd in degrees, region visibility sd. */
export interface TrackerNoise {
  poseSd: number;
  regionSd: number;
}

/** Several degrees of pose error from three landmarks (see FaceObservation.ts), a little visibility jitter. */
export const defaultTrackerNoise: TrackerNoise = { poseSd: 2.5, regionSd: 0.05 };

/** A sequence over `seconds` with tracker noise and ~4 % lost frames. */
function sequence(seconds: number, shape: Shape, rng: RandomSource, noise: TrackerNoise): FaceObservation[] {
  const out: FaceObservation[] = [];
  for (let k = 0; k < seconds * FPS; k++) {
    const t = k / FPS;
    const lost = rng.float() < 0.04;
    const regions: Partial<Record<FaceRegion, number>> = { leftHalf: 0.95, rightHalf: 0.95, leftCheek: 0.92, rightCheek: 0.92, eyes: 0.93, mouth: 0.9, ...(shape.regions?.(t) ?? {}) };
    for (const key of Object.keys(regions) as FaceRegion[]) regions[key] = clamp01((regions[key] ?? 0) + noise.regionSd * gauss(rng));
    out.push({
      t: 1_000_000 + k * (1000 / FPS),
      faceFound: !lost,
      faceConfidence: lost ? 0.2 : 0.9,
      yawDeg: (shape.yaw?.(t) ?? 0) + noise.poseSd * gauss(rng),
      pitchDeg: (shape.pitch?.(t) ?? 0) + noise.poseSd * gauss(rng),
      regions,
    });
  }
  return out;
}

const u = (rng: RandomSource, lo: number, hi: number): number => lo + (hi - lo) * rng.float();

/** One compliant and one non-compliant sequence for `kind` (side "left"/"right" as issued), variant `i`. */
export function videoSequences(kind: string, side: 'left' | 'right', seconds: number, i: number, rng: RandomSource, noise: TrackerNoise = defaultTrackerNoise): { compliant: LabelledSequence; nonCompliant: LabelledSequence } {
  const sign = side === 'left' ? 1 : -1;
  const start = u(rng, 0.5, 1.5);
  const end = start + u(rng, 1.5, Math.max(1.6, seconds - start - 0.5));
  const v = i % 3;
  const half = (s: 'left' | 'right'): FaceRegion => (s === 'left' ? 'leftHalf' : 'rightHalf');
  const cheek = (s: 'left' | 'right'): FaceRegion => (s === 'left' ? 'leftCheek' : 'rightCheek');
  const other = side === 'left' ? 'right' : 'left';
  switch (kind) {
    case 'head-turn': {
      const peak = u(rng, 35, 65);
      const compliant = { compliant: true, recipe: `turn ${Math.round(peak)} deg to the asked side`, observations: sequence(seconds, { yaw: (t) => sign * peak * bump(t, start, end) }, rng, noise) };
      const nonCompliant =
        v === 0
          ? { compliant: false, recipe: 'no turn', observations: sequence(seconds, {}, rng, noise) }
          : v === 1
            ? { compliant: false, recipe: 'turn to the other side', observations: sequence(seconds, { yaw: (t) => -sign * peak * bump(t, start, end) }, rng, noise) }
            : { compliant: false, recipe: 'nod instead of turn', observations: sequence(seconds, { pitch: (t) => 20 * bump(t, start, end) }, rng, noise) };
      return { compliant, nonCompliant };
    }
    case 'hand-over-half': {
      const depth = u(rng, 0.02, 0.3);
      const cover = (s: 'left' | 'right') => (t: number) => ({ [half(s)]: 0.95 - (0.95 - depth) * bump(t, start, end, 0.3) });
      const compliant = { compliant: true, recipe: 'asked half covered', observations: sequence(seconds, { regions: cover(side) }, rng, noise) };
      const nonCompliant =
        v === 0
          ? { compliant: false, recipe: 'nothing covered', observations: sequence(seconds, {}, rng, noise) }
          : v === 1
            ? { compliant: false, recipe: 'other half covered', observations: sequence(seconds, { regions: cover(other) }, rng, noise) }
            : { compliant: false, recipe: 'hand waved beside the face (brief, shallow dip)', observations: sequence(seconds, { regions: (t) => ({ [half(side)]: 0.95 - 0.1 * bump(t, start, start + 0.4) }) }, rng, noise) };
      return { compliant, nonCompliant };
    }
    case 'finger-on-cheek': {
      const depth = u(rng, 0.2, 0.5);
      const press = (s: 'left' | 'right') => (t: number) => ({ [cheek(s)]: 0.92 - (0.92 - depth) * bump(t, start, end, 0.5) });
      const compliant = { compliant: true, recipe: 'finger on the asked cheek', observations: sequence(seconds, { regions: press(side) }, rng, noise) };
      const nonCompliant =
        v === 0
          ? { compliant: false, recipe: 'no finger', observations: sequence(seconds, {}, rng, noise) }
          : v === 1
            ? { compliant: false, recipe: 'finger on the other cheek', observations: sequence(seconds, { regions: press(other) }, rng, noise) }
            : { compliant: false, recipe: 'scratched the nose (no cheek occlusion)', observations: sequence(seconds, { regions: (t) => ({ mouth: 0.9 - 0.3 * bump(t, start, end) }) }, rng, noise) };
      return { compliant, nonCompliant };
    }
    case 'look-up-down': {
      const up = u(rng, 18, 35);
      const down = u(rng, 18, 35);
      const mid = (start + end) / 2;
      const compliant = { compliant: true, recipe: `up ${Math.round(up)} then down ${Math.round(down)} deg`, observations: sequence(seconds, { pitch: (t) => up * bump(t, start, mid) - down * bump(t, mid, end) }, rng, noise) };
      const nonCompliant =
        v === 0
          ? { compliant: false, recipe: 'no movement', observations: sequence(seconds, {}, rng, noise) }
          : v === 1
            ? { compliant: false, recipe: 'turned the head sideways instead', observations: sequence(seconds, { yaw: (t) => 35 * bump(t, start, end) }, rng, noise) }
            : { compliant: false, recipe: 'small nod (5 deg)', observations: sequence(seconds, { pitch: (t) => 5 * bump(t, start, mid) - 5 * bump(t, mid, end) }, rng, noise) };
      return { compliant, nonCompliant };
    }
    default:
      throw new Error(`no synthetic sequences for ${kind}`);
  }
}

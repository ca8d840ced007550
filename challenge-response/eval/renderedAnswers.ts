/**
 * Video answers to the head-pose challenges made from RENDERINGS of real faces (not
 * recordings of people moving their heads): a face of the @vladmandic/face-api sample
 * photos is rotated along a trajectory (detectors/face/testing/renderPose.ts), every frame
 * goes through the runtime FaceAnalyzer and becomes the FaceObservation MediaWorker makes,
 * and the catalogue's checker judges the answer against the resting pose ChallengeManager
 * would hand it (medians of the last 25 found frames before the challenge: here 5 s of the
 * same face holding still with jitter). 5 fps, 8 s per answer, like a real response window.
 *
 * Analyses are cached per (face, pose rounded to 0.5 degree): holds and repeated answers
 * render the same frame once.
 */
import { FaceAnalyzer } from '../../detectors/face/FaceAnalyzer.js';
import { faceObservation, photoPoseSource, type PoseSource } from '../../detectors/face/testing/poseFaces.js';
import { renderPose, type HeadPose } from '../../detectors/face/testing/renderPose.js';
import type { RgbFrame } from '../../detectors/face/image.js';
import { DfdError } from '../../kernel/errors.js';
import { catalogueEntry } from '../catalogue.js';
import type { ChallengeParams, CheckOutcome, PoseBaseline } from '../checkers/types.js';
import { restingPose } from '../checkers/video.js';
import type { FaceObservation } from '../../detectors/face/FaceObservation.js';
import type { RandomSource } from '../random.js';

export const answerFps = 5;
export const answerSeconds = 8;
/** ChallengeManager's default `poseBaselineFrames`. */
export const restFrames = 25;

/** A head movement: yaw and pitch in degrees (FaceObservation conventions) at t seconds into the answer. */
export type Trajectory = (t: number) => { yaw: number; pitch: number };

/** 0 -> 1 -> 0: ramp up over [a, b], hold until c, ramp down until d (raised cosine). */
export function bump(t: number, a: number, b: number, c: number, d: number): number {
  if (t <= a || t >= d) return 0;
  if (t < b) return 0.5 - 0.5 * Math.cos((Math.PI * (t - a)) / (b - a));
  if (t <= c) return 1;
  return 0.5 + 0.5 * Math.cos((Math.PI * (t - c)) / (d - c));
}

/** Deterministic jitter of a person holding still: a few sines per axis, about +-1.5 degrees. */
export function jitter(t: number, seed: number): { yaw: number; pitch: number; roll: number } {
  const s = (f: number, ph: number): number => Math.sin(2 * Math.PI * f * t + ph + seed);
  return { yaw: 1.0 * s(0.31, 0) + 0.5 * s(0.83, 1), pitch: 0.9 * s(0.23, 2) + 0.5 * s(0.71, 3), roll: 0.8 * s(0.17, 4) };
}

/** Head turn of `deg` (> 0: participant's left) in 1.5 s, held 3 s, back in 1.5 s. */
export const turn = (deg: number): Trajectory => (t) => ({ yaw: deg * bump(t, 1, 2.5, 5.5, 7), pitch: 0 });
/** Up `deg` (1-3.5 s), then down `deg` (4.2-6.8 s). */
export const upThenDown = (deg: number): Trajectory => (t) => ({ yaw: 0, pitch: deg * bump(t, 1, 1.8, 2.7, 3.5) - deg * bump(t, 4.2, 5, 6, 6.8) });
/** Up `deg` and held, never down. */
export const onlyUp = (deg: number): Trajectory => (t) => ({ yaw: 0, pitch: deg * bump(t, 1, 1.8, 6, 7) });
/** A nod of `deg` down and back, twice. */
export const nod = (deg: number): Trajectory => (t) => ({ yaw: 0, pitch: -deg * bump(t, 1, 1.6, 2, 2.6) - deg * bump(t, 4, 4.6, 5, 5.6) });
export const still: Trajectory = () => ({ yaw: 0, pitch: 0 });

/** Params as the catalogue draws them, with the side forced through the random source. */
export function catalogueParams(id: string, side?: 'left' | 'right'): ChallengeParams {
  const rng: RandomSource = { int: (n) => (side === 'right' ? 1 : 0) % Math.max(1, n), float: () => (side === 'right' ? 0.99 : 0) };
  const entry = catalogueEntry(id);
  if (!entry) throw new DfdError('ERR_NOT_FOUND', 'no such challenge', { id });
  const p = entry.make(rng).params;
  if (side && p.side !== side) throw new DfdError('ERR_CONFIG', 'catalogue did not draw the side asked', { id, side });
  return p;
}

export class RenderedAnswers {
  readonly sources: readonly PoseSource[];
  private readonly analyzer: FaceAnalyzer;
  private readonly cache = new Map<string, Omit<FaceObservation, 't'>>();

  private constructor(analyzer: FaceAnalyzer, sources: PoseSource[]) {
    this.analyzer = analyzer;
    this.sources = sources;
  }

  /** Faces given as (photo 1..6, index left to right among that photo's faces). */
  static async create(faces: readonly { photo: number; index: number }[]): Promise<RenderedAnswers> {
    const analyzer = await FaceAnalyzer.create({ minScore: 0.4, maxFaces: 10 });
    const sources: PoseSource[] = [];
    try {
      for (const c of faces) sources.push(await photoPoseSource(analyzer, c.photo, c.index));
    } catch (e) {
      await analyzer.close();
      throw e;
    }
    return new RenderedAnswers(analyzer, sources);
  }

  /** What MediaWorker would observe on face `k` rendered at `pose` (no timestamp). */
  async observe(k: number, pose: HeadPose): Promise<Omit<FaceObservation, 't'>> {
    const src = this.sources[k];
    if (!src) throw new DfdError('ERR_NOT_FOUND', 'no such face', { k });
    const r = (v: number | undefined): number => Math.round((v ?? 0) * 2) / 2;
    const q: HeadPose = { yawDeg: r(pose.yawDeg), pitchDeg: r(pose.pitchDeg), rollDeg: r(pose.rollDeg) };
    const key = `${k}:${q.yawDeg},${q.pitchDeg},${q.rollDeg}`;
    let o = this.cache.get(key);
    if (!o) {
      const { t: _t, ...rest } = faceObservation(await this.analyzer.analyze(renderPose(src.frame, src.model, q)), 0);
      o = rest;
      this.cache.set(key, o);
    }
    return o;
  }

  /** The rendered frames of an 8 s answer (same poses as `answer`), e.g. for detectors/face/testing/y4m.ts. */
  frames(k: number, trajectory: Trajectory): RgbFrame[] {
    const src = this.sources[k];
    if (!src) throw new DfdError('ERR_NOT_FOUND', 'no such face', { k });
    const out: RgbFrame[] = [];
    for (let i = 0; i < answerFps * answerSeconds; i++) {
      const t = i / answerFps;
      const p = trajectory(t);
      const j = jitter(t, k);
      out.push(renderPose(src.frame, src.model, { yawDeg: p.yaw + j.yaw, pitchDeg: p.pitch + j.pitch, rollDeg: j.roll }));
    }
    return out;
  }

  /** The FaceObservations of an 8 s answer of face `k` following `trajectory` (plus jitter). */
  async answer(k: number, trajectory: Trajectory): Promise<FaceObservation[]> {
    const out: FaceObservation[] = [];
    for (let i = 0; i < answerFps * answerSeconds; i++) {
      const t = i / answerFps;
      const p = trajectory(t);
      const j = jitter(t, k);
      out.push({ t: 1_000_000 + i * (1000 / answerFps), ...(await this.observe(k, { yawDeg: p.yaw + j.yaw, pitchDeg: p.pitch + j.pitch, rollDeg: j.roll })) });
    }
    return out;
  }

  /** The resting pose before the challenge, as ChallengeManager keeps it (medians of the last 25 found frames). */
  async restPose(k: number): Promise<PoseBaseline> {
    const found: Omit<FaceObservation, 't'>[] = [];
    for (let i = 0; i < restFrames; i++) {
      const j = jitter(-5 + i / answerFps, k + 0.5);
      const o = await this.observe(k, { yawDeg: j.yaw, pitchDeg: j.pitch, rollDeg: j.roll });
      if (o.faceFound) found.push(o);
    }
    return restingPose(found);
  }

  /** The catalogue checker's outcome for face `k` answering challenge `id` along `trajectory`. */
  async check(id: string, k: number, trajectory: Trajectory, params: ChallengeParams): Promise<CheckOutcome & { poseBaseline: PoseBaseline }> {
    const entry = catalogueEntry(id);
    if (!entry || entry.modality !== 'video') throw new DfdError('ERR_NOT_FOUND', 'no such video challenge', { id });
    const poseBaseline = await this.restPose(k);
    return { ...entry.check({ observations: await this.answer(k, trajectory), params, poseBaseline }), poseBaseline };
  }

  close(): Promise<void> {
    return this.analyzer.close();
  }
}

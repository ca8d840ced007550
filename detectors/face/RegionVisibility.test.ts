import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDfdError } from '../../kernel/errors.js';
import { FaceAnalyzer, type AnalyzedFace } from './FaceAnalyzer.js';
import type { RgbFrame } from './image.js';
import { faceRegions } from './faceRegionLayout.js';
import { RegionVisibility } from './RegionVisibility.js';
import { largestFace } from './observe.js';
import { fingerPlacement, handPlacement, loadHandPatch, occlusionScene, sceneFrames, seededRandom, type Occluder, type OcclusionScene } from './testing/occlude.js';

interface Analysed {
  face: AnalyzedFace | undefined;
  frame: RgbFrame;
}

let analyzer: FaceAnalyzer;
let scene: OcclusionScene;
/** Unoccluded frames: the first 8 teach the reference, the rest are judged. */
let clear: Analysed[];
/** The participant's right half under a hand (image left). */
let rightHalfCovered: Analysed[];
/** A finger on the participant's left cheek (image right). */
let leftCheekFinger: Analysed[];

async function analyse(frames: RgbFrame[]): Promise<Analysed[]> {
  const out: Analysed[] = [];
  for (const frame of frames) out.push({ face: largestFace((await analyzer.analyze(frame)).faces), frame });
  return out;
}

/** A RegionVisibility that has learnt the reference from the first `n` clear frames. */
function learnt(n = 8, options: ConstructorParameters<typeof RegionVisibility>[0] = {}): RegionVisibility {
  const v = new RegionVisibility(options);
  for (const a of clear.slice(0, n)) v.update(a.face, a.frame);
  return v;
}

beforeAll(async () => {
  analyzer = await FaceAnalyzer.create({});
  // face-api sample5, the face in the middle of the top row (blurry, looking slightly up and to its right)
  scene = await occlusionScene(analyzer, 5, [1209, 348], loadHandPatch());
  const rnd = seededRandom(20261126);
  const lm = scene.landmarks;
  const none = (n: number): undefined[] => new Array<undefined>(n).fill(undefined);
  const jitter = (i: number): [number, number] => [((i % 3) - 1) * 0.04, ((i % 2) - 0.5) * 0.06];
  const hand = (i: number): Occluder => ({ shape: 'palm', place: handPlacement(lm, 'right', 'over', jitter(i)) });
  const finger = (i: number): Occluder => ({ shape: 'finger', place: fingerPlacement(lm, 'left', 'on', jitter(i)) });
  clear = await analyse(sceneFrames(scene, rnd, none(12)));
  rightHalfCovered = await analyse(sceneFrames(scene, rnd, [0, 1, 2, 3, 4].map(hand)));
  leftCheekFinger = await analyse(sceneFrames(scene, rnd, [0, 1, 2, 3, 4].map(finger)));
});

afterAll(async () => {
  await analyzer?.close();
});

describe('RegionVisibility', () => {
  it('rejects options out of range with ERR_CONFIG', () => {
    for (const bad of [{ warmupFrames: 0 }, { adaptRate: 0 }, { hiddenDrop: 0 }, { hogFloor: 1 }, { cellIod: 0.5 }, { staleAfterFrames: 0 }]) {
      let err: unknown;
      try {
        new RegionVisibility(bad);
      } catch (e) {
        err = e;
      }
      expect(isDfdError(err, 'ERR_CONFIG'), JSON.stringify(bad)).toBe(true);
    }
  });

  it('test material: the occluders lie on the side they are meant for (left = image right)', () => {
    const lm = scene.landmarks;
    const midX = (lm[3 * 33]! + lm[3 * 133]! + lm[3 * 362]! + lm[3 * 263]!) / 4;
    expect(handPlacement(lm, 'left').centre[0]).toBeGreaterThan(midX);
    expect(handPlacement(lm, 'right').centre[0]).toBeLessThan(midX);
    expect(fingerPlacement(lm, 'left').centre[0]).toBeGreaterThan(midX);
    expect(fingerPlacement(lm, 'right').centre[0]).toBeLessThan(midX);
    // the pasted hand changes the frame on its side only
    const pasted = sceneFrames({ ...scene, options: { ...scene.options, poseJitterDeg: 0, shiftPx: 0, scaleJitter: 0, rollDeg: 0 } }, () => 0.5, [undefined, { shape: 'palm', place: handPlacement(lm, 'left') }]);
    const diff = (x0: number, x1: number): number => {
      let d = 0;
      for (let y = 0; y < scene.base.height; y++) for (let x = x0; x < x1; x++) d += Math.abs(pasted[0]!.rgb[(y * scene.base.width + x) * 3]! - pasted[1]!.rgb[(y * scene.base.width + x) * 3]!);
      return d / ((x1 - x0) * scene.base.height);
    };
    expect(diff(Math.round(midX) + 20, Math.round(midX) + 80)).toBeGreaterThan(10);
    expect(diff(Math.round(midX) - 80, Math.round(midX) - 20)).toBeLessThan(1);
  });

  it('finds the face with its mesh in every test frame', () => {
    for (const a of [...clear, ...rightHalfCovered, ...leftCheekFinger]) expect(a.face?.landmarks).toBeDefined();
  });

  it('reports nothing while it learns, then all six regions; reset() starts over', () => {
    const v = new RegionVisibility({ warmupFrames: 5 });
    clear.slice(0, 5).forEach((a) => {
      expect(v.state).toBe('warmup');
      expect(v.update(a.face, a.frame)).toEqual({});
    });
    expect(v.state).toBe('ready');
    const r = v.update(clear[8]!.face, clear[8]!.frame);
    expect(Object.keys(r).sort()).toEqual([...faceRegions].sort());
    for (const x of Object.values(r)) expect(x).toBeGreaterThanOrEqual(0);
    for (const x of Object.values(r)) expect(x).toBeLessThanOrEqual(1);
    v.reset();
    expect(v.state).toBe('warmup');
    expect(v.update(clear[9]!.face, clear[9]!.frame)).toEqual({});
  });

  it('reports nothing without a face, without mesh points, at low confidence or far from the resting pose', () => {
    const v = learnt();
    const a = clear[8]!;
    const face = a.face!;
    expect(v.update(undefined, a.frame)).toEqual({});
    const { landmarks: _dropped, ...noMesh } = face;
    expect(v.update(noMesh, a.frame)).toEqual({});
    expect(v.update({ ...face, score: 0.2, presence: 1 }, a.frame)).toEqual({});
    expect(v.update({ ...face, yawDeg: face.yawDeg + 35 }, a.frame)).toEqual({});
    expect(v.update({ ...face, pitchDeg: face.pitchDeg - 45 }, a.frame)).toEqual({});
    // the same face at its own pose is judged
    expect(Object.keys(v.update(face, a.frame))).toHaveLength(6);
  });

  it('reads unoccluded frames as clear', () => {
    const v = learnt();
    for (const a of clear.slice(8)) {
      const r = v.update(a.face, a.frame);
      for (const region of faceRegions) expect(r[region], region).toBeGreaterThanOrEqual(0.75);
    }
  });

  it('reads a hand over the right half as that half hidden and the left half clear', () => {
    const v = learnt();
    for (const a of rightHalfCovered) {
      const r = v.update(a.face, a.frame);
      expect(r.rightHalf).toBeLessThanOrEqual(0.4);
      expect(r.rightCheek).toBeLessThanOrEqual(0.4);
      expect(r.leftHalf).toBeGreaterThanOrEqual(0.75);
    }
  });

  it('reads a finger on the left cheek as that cheek covered, the eyes and the other cheek clear', () => {
    const v = learnt();
    for (const a of leftCheekFinger) {
      const r = v.update(a.face, a.frame);
      expect(r.leftCheek).toBeLessThanOrEqual(0.6);
      expect(r.eyes).toBeGreaterThanOrEqual(0.75);
      expect(r.rightCheek).toBeGreaterThanOrEqual(0.75);
    }
  });

  it('never learns the hand: after many covered frames a clear frame is still clear and a covered one still covered', () => {
    const v = learnt();
    for (let i = 0; i < 40; i++) {
      const a = rightHalfCovered[i % rightHalfCovered.length]!;
      v.update(a.face, a.frame);
    }
    const c = v.update(clear[10]!.face, clear[10]!.frame);
    for (const region of faceRegions) expect(c[region], region).toBeGreaterThanOrEqual(0.75);
    const h = v.update(rightHalfCovered[0]!.face, rightHalfCovered[0]!.frame);
    expect(h.rightHalf).toBeLessThanOrEqual(0.4);
  });

  it('drops a reference that no frame agrees with any more (staleAfterFrames) and learns again', () => {
    const v = learnt(8, { staleAfterFrames: 4 });
    const reports = rightHalfCovered.map((a) => v.update(a.face, a.frame));
    expect(Object.keys(reports[2]!)).toHaveLength(6);
    expect(reports[3]).toEqual({});
    expect(v.state).toBe('warmup');
  });
});

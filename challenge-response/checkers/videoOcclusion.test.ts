/**
 * The occlusion challenges end to end on real faces: frames of a face-api sample face
 * (small head movements, camera jitter, JPEG), a hand or finger made of real hand pixels
 * pasted over it (detectors/face/testing/occlude.ts: a paste, not a recording), the real
 * FaceAnalyzer (BlazeFace + FaceMesh), RegionVisibility as MediaWorker runs it, then
 * checkHandOverHalf / checkFingerOnCheek with the parameters the catalogue issues.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaceAnalyzer } from '../../detectors/face/FaceAnalyzer.js';
import type { RgbFrame } from '../../detectors/face/image.js';
import { RegionVisibility } from '../../detectors/face/RegionVisibility.js';
import { largestFace } from '../../detectors/face/observe.js';
import {
  loadHandPatch,
  occlusionCases,
  occlusionScene,
  sceneFrames,
  seededRandom,
  type OcclusionCase,
  type OcclusionScene,
  type Side,
} from '../../detectors/face/testing/occlude.js';
import { catalogue } from '../catalogue.js';
import type { RandomSource } from '../random.js';
import type { FaceObservation } from '../../detectors/face/FaceObservation.js';
import type { ChallengeParams } from './types.js';
import { checkFingerOnCheek, checkHandOverHalf } from './video.js';

/** Frontal-ish faces of the face-api group photos (centre in the photo decoded 1920 wide). */
const subjects = [
  { photo: 6, near: [1264, 467] as [number, number] },
  { photo: 3, near: [1190, 382] as [number, number] },
];
const referenceFrames = 10;

/** The catalogue's own challenge spec for that side (its `make` draws the side with rng.int(2)). */
function issued(challenge: OcclusionCase['challenge'], side: Side): { params: ChallengeParams; check: unknown } {
  const entry = catalogue.find((e) => e.id === challenge);
  if (!entry || entry.modality !== 'video') throw new Error(`${challenge} is not a video challenge of the catalogue`);
  const rng: RandomSource = { int: (n) => (side === 'left' ? 0 : 1) % Math.max(1, n), float: () => 0 };
  return { params: entry.make(rng).params, check: entry.check };
}

let analyzer: FaceAnalyzer;
let hand: RgbFrame;

beforeAll(async () => {
  analyzer = await FaceAnalyzer.create({});
  hand = loadHandPatch();
});

afterAll(async () => {
  await analyzer?.close();
});

describe('catalogue wiring of the occlusion challenges', () => {
  it('issues a side and checks with checkHandOverHalf / checkFingerOnCheek', () => {
    for (const side of ['left', 'right'] as const) {
      const h = issued('hand-over-half', side);
      expect(h.params.side).toBe(side);
      expect(h.check).toBe(checkHandOverHalf);
      const f = issued('finger-on-cheek', side);
      expect(f.params.side).toBe(side);
      expect(f.check).toBe(checkFingerOnCheek);
    }
  });
});

for (const subject of subjects) {
  describe(`occlusion challenges on the face of sample${subject.photo}`, () => {
    let scene: OcclusionScene;
    let reference: { face: Awaited<ReturnType<FaceAnalyzer['analyze']>>['faces'][number] | undefined; frame: RgbFrame }[];
    const rnd = seededRandom(subject.photo * 7919 + subject.near[0]);

    beforeAll(async () => {
      scene = await occlusionScene(analyzer, subject.photo, subject.near, hand);
      reference = [];
      for (const frame of sceneFrames(scene, rnd, new Array<undefined>(referenceFrames).fill(undefined))) {
        reference.push({ face: largestFace((await analyzer.analyze(frame)).faces), frame });
      }
    });

    /** The observations MediaWorker would post for this response, after the reference frames. */
    async function observe(c: OcclusionCase): Promise<FaceObservation[]> {
      const visibility = new RegionVisibility();
      for (const r of reference) visibility.update(r.face, r.frame);
      expect(visibility.state).toBe('ready');
      const out: FaceObservation[] = [];
      const frames = sceneFrames(scene, rnd, c.occluders(scene.landmarks));
      for (const [i, frame] of frames.entries()) {
        const face = largestFace((await analyzer.analyze(frame)).faces);
        const t = i * 200;
        out.push(
          face
            ? { t, faceFound: true, faceConfidence: face.score * (face.presence ?? 1), yawDeg: face.yawDeg, pitchDeg: face.pitchDeg, regions: visibility.update(face, frame) }
            : { t, faceFound: false, faceConfidence: 0, yawDeg: 0, pitchDeg: 0, regions: {} },
        );
      }
      return out;
    }

    it('finds the face and learns its reference from the unoccluded frames', () => {
      expect(reference.filter((r) => r.face?.landmarks).length).toBe(referenceFrames);
    });

    for (const c of occlusionCases()) {
      it(`${c.name}: ${c.expected}`, async () => {
        const { params } = issued(c.challenge, c.side);
        const check = c.challenge === 'hand-over-half' ? checkHandOverHalf : checkFingerOnCheek;
        const outcome = check({ observations: await observe(c), params });
        expect(outcome.result, `${outcome.reason} ${JSON.stringify(outcome.measurements)}`).toBe(c.expected);
      });
    }
  });
}

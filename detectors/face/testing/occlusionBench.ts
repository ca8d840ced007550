/**
 * Occlusion challenges on real faces, in numbers: for three face-api sample faces, every
 * scripted response of occlusionCases() through FaceAnalyzer -> RegionVisibility ->
 * checkHandOverHalf / checkFingerOnCheek (catalogue parameters), with the visibility of
 * the asked region and of the region that must stay clear; then the cost of
 * RegionVisibility.update() alone.
 *
 *   node --import tsx detectors/face/testing/occlusionBench.ts
 */
import { catalogue } from '../../../challenge-response/catalogue.js';
import { checkFingerOnCheek, checkHandOverHalf } from '../../../challenge-response/checkers/video.js';
import type { FaceObservation, FaceRegion } from '../FaceObservation.js';
import { FaceAnalyzer, type AnalyzedFace } from '../FaceAnalyzer.js';
import type { RgbFrame } from '../image.js';
import { RegionVisibility } from '../RegionVisibility.js';
import { loadHandPatch, occlusionCases, occlusionScene, sceneFrames, seededRandom } from './occlude.js';
import { largestFace } from '../observe.js';

const subjects: { photo: number; near: [number, number] }[] = [
  { photo: 6, near: [1264, 467] },
  { photo: 3, near: [1190, 382] },
  { photo: 5, near: [1209, 348] },
];

const fmt = (xs: number[]): string => {
  if (xs.length === 0) return '   -   ';
  const s = [...xs].sort((a, b) => a - b);
  return `${s[0]!.toFixed(2)}..${s[s.length - 1]!.toFixed(2)}`;
};

const analyzer = await FaceAnalyzer.create({});
const hand = loadHandPatch();
let correct = 0;
let total = 0;
const costFrames: { face: AnalyzedFace | undefined; frame: RgbFrame }[] = [];

for (const subject of subjects) {
  const scene = await occlusionScene(analyzer, subject.photo, subject.near, hand);
  const rnd = seededRandom(subject.photo * 7919 + subject.near[0]);
  const reference: { face: AnalyzedFace | undefined; frame: RgbFrame }[] = [];
  for (const frame of sceneFrames(scene, rnd, new Array<undefined>(10).fill(undefined))) reference.push({ face: largestFace((await analyzer.analyze(frame)).faces), frame });
  console.log(`\nsample${subject.photo} face near (${subject.near.join(', ')}): result, expected | asked region while the occluder is up (all frames if never) | region that must stay clear`);
  for (const c of occlusionCases()) {
    const visibility = new RegionVisibility();
    for (const r of reference) visibility.update(r.face, r.frame);
    const occluders = c.occluders(scene.landmarks);
    const frames = sceneFrames(scene, rnd, occluders);
    const observations: FaceObservation[] = [];
    const asked: FaceRegion = c.challenge === 'hand-over-half' ? (c.side === 'left' ? 'leftHalf' : 'rightHalf') : c.side === 'left' ? 'leftCheek' : 'rightCheek';
    const keep: FaceRegion = c.challenge === 'hand-over-half' ? (c.side === 'left' ? 'rightHalf' : 'leftHalf') : 'eyes';
    const askedVis: number[] = [];
    const keepVis: number[] = [];
    for (const [i, frame] of frames.entries()) {
      const face = largestFace((await analyzer.analyze(frame)).faces);
      const regions = visibility.update(face, frame);
      if (costFrames.length < 40 && face) costFrames.push({ face, frame });
      observations.push(
        face
          ? { t: i * 200, faceFound: true, faceConfidence: face.score * (face.presence ?? 1), yawDeg: face.yawDeg, pitchDeg: face.pitchDeg, regions }
          : { t: i * 200, faceFound: false, faceConfidence: 0, yawDeg: 0, pitchDeg: 0, regions: {} },
      );
      // frames with the occluder on; all frames for the responses that never raise it
      const counted = occluders[i] !== undefined || occluders.every((x) => x === undefined);
      if (counted && regions[asked] !== undefined) askedVis.push(regions[asked]);
      if (counted && regions[keep] !== undefined) keepVis.push(regions[keep]);
    }
    const entry = catalogue.find((e) => e.id === c.challenge);
    const params = entry!.make({ int: (n) => (c.side === 'left' ? 0 : 1) % Math.max(1, n), float: () => 0 }).params;
    const check = c.challenge === 'hand-over-half' ? checkHandOverHalf : checkFingerOnCheek;
    const outcome = check({ observations, params });
    total++;
    if (outcome.result === c.expected) correct++;
    const mark = outcome.result === c.expected ? ' ' : '*';
    console.log(`${mark} ${c.name.padEnd(42)} ${outcome.result.padEnd(7)} ${c.expected.padEnd(4)} | ${asked.padEnd(10)} ${fmt(askedVis)} | ${keep.padEnd(9)} ${fmt(keepVis)}`);
  }
}
console.log(`\n${correct}/${total} responses judged as expected (* marks the others)`);

// Cost of update() alone: a learnt instance, frames cycled (clear and covered).
const v = new RegionVisibility();
for (const r of costFrames.slice(0, 5)) v.update(r.face, r.frame);
const times: number[] = [];
for (let i = 0; i < 600; i++) {
  const r = costFrames[i % costFrames.length]!;
  const t0 = performance.now();
  v.update(r.face, r.frame);
  times.push(performance.now() - t0);
}
times.splice(0, 100); // JIT warm-up
times.sort((a, b) => a - b);
const q = (p: number): string => times[Math.min(times.length - 1, Math.floor(p * times.length))]!.toFixed(3);
console.log(`RegionVisibility.update(): median ${q(0.5)} ms, p95 ${q(0.95)} ms per frame (${times.length} calls, 480x360 frames, IOD 100 px)`);
await analyzer.close();

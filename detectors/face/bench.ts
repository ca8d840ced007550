/**
 * Face pipeline cost on this machine, one onnxruntime thread, 640x480 frames.
 * Per stage (detector, mesh, alignment) on a still frame, then the whole FaceAnalyzer per frame
 * on a moving real face (fixtures.movingFaceFrames) with a FaceTrack at redetectEvery 1 (the
 * detector on every frame) and at `redetectEvery` (default 5, the service's DFD_FACE_REDETECT_EVERY):
 * `detectorShare` is the share of frames that ran the detector there.
 * Prints one JSON object. Run: nice node --import tsx detectors/face/bench.ts [iterations] [redetectEvery]
 */
import { setLogLevel } from '../../kernel/log.js';
import { BlazeFace } from './BlazeFace.js';
import { FaceAligner } from './FaceAligner.js';
import { FaceAnalyzer } from './FaceAnalyzer.js';
import { FaceMesh } from './FaceMesh.js';
import { FaceTrack } from './FaceTrack.js';
import { decodeImage, movingFaceFrames, samplePhoto } from './fixtures.js';

function stats(ms: number[]): { mean: number; p50: number; p95: number } {
  const s = [...ms].sort((a, b) => a - b);
  const q = (p: number): number => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  return { mean: +(ms.reduce((a, b) => a + b, 0) / ms.length).toFixed(3), p50: +q(0.5).toFixed(3), p95: +q(0.95).toFixed(3) };
}

async function main(): Promise<void> {
  setLogLevel('error'); // stdout carries the one JSON result
  const iterations = Number(process.argv[2] ?? 50);
  const frame = decodeImage(samplePhoto(1), 640, 480);
  const detector = await BlazeFace.load({ intraOpNumThreads: 1 });
  const mesh = await FaceMesh.load({ intraOpNumThreads: 1 });
  const aligner = new FaceAligner();
  const faces = await detector.detect(frame);
  const face = faces[0];
  if (!face) throw new Error('bench frame has no face');
  for (let i = 0; i < 5; i++) {
    await detector.detect(frame);
    await mesh.estimate(frame, face);
  }
  const det: number[] = [];
  const lm: number[] = [];
  const al: number[] = [];
  for (let i = 0; i < iterations; i++) {
    let t = performance.now();
    await detector.detect(frame);
    det.push(performance.now() - t);
    t = performance.now();
    const l = await mesh.estimate(frame, face);
    lm.push(performance.now() - t);
    t = performance.now();
    aligner.align(frame, face, l.points);
    al.push(performance.now() - t);
  }
  await detector.close();
  await mesh.close();

  const redetectEvery = Number(process.argv[3] ?? 5);
  const moving = movingFaceFrames(20);
  const analyzer = await FaceAnalyzer.create({ intraOpNumThreads: 1 });
  const perFrame = async (n: number): Promise<{ msPerFrame: ReturnType<typeof stats>; detectorShare: number }> => {
    const ms: number[] = [];
    let detections = 0;
    // Each round starts a new track on the sequence, as a new stream would.
    for (let round = 0; round < Math.ceil(iterations / moving.length); round++) {
      const track = new FaceTrack({ redetectEvery: n });
      for (const f of moving) {
        const t = performance.now();
        const a = await analyzer.analyze(f, track);
        ms.push(performance.now() - t);
        if (a.placedBy === 'detector') detections++;
      }
    }
    return { msPerFrame: stats(ms), detectorShare: +(detections / ms.length).toFixed(3) };
  };
  await perFrame(1); // warm-up
  const every1 = await perFrame(1);
  const everyN = await perFrame(redetectEvery);
  await analyzer.close();
  console.log(
    JSON.stringify({
      bench: 'face',
      frame: '640x480 (face-api sample1)',
      threads: 1,
      iterations,
      facesInFrame: faces.length,
      detectMsPerFrame: stats(det),
      landmarksMsPerFace: stats(lm),
      alignMsPerFace: stats(al),
      analyzer: { frames: 'movingFaceFrames(20), 640x480, one face', redetectEvery1: every1, [`redetectEvery${redetectEvery}`]: everyN },
      redetectEvery,
      detectorShare: everyN.detectorShare,
    }),
  );
}

await main();

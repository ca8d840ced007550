/**
 * Face pipeline cost on this machine, one onnxruntime thread, 640x480 frames.
 * Prints one JSON object. Run: nice node --import tsx detectors/face/bench.ts [iterations]
 */
import { BlazeFace } from './BlazeFace.js';
import { FaceAligner } from './FaceAligner.js';
import { FaceMesh } from './FaceMesh.js';
import { decodeImage, samplePhoto } from './fixtures.js';

function stats(ms: number[]): { mean: number; p50: number; p95: number } {
  const s = [...ms].sort((a, b) => a - b);
  const q = (p: number): number => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  return { mean: +(ms.reduce((a, b) => a + b, 0) / ms.length).toFixed(3), p50: +q(0.5).toFixed(3), p95: +q(0.95).toFixed(3) };
}

async function main(): Promise<void> {
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
    }),
  );
}

await main();

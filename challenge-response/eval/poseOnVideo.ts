/**
 * Head pose through the runtime face path on a real video: ffmpeg frames (5 fps, 640x480)
 * -> FaceAnalyzer (BlazeFace + FaceMesh) -> yaw and pitch per frame -> what the head-turn and
 * look-up/down checkers would see. A manual check on real footage (e.g. the talking-face
 * videos in ../shared/train/faces), not part of the test suite.
 *
 *   node --import tsx challenge-response/eval/poseOnVideo.ts <video.mp4> [more.mp4 ...]
 */
import { execFileSync } from 'node:child_process';
import { FaceAnalyzer } from '../../detectors/face/FaceAnalyzer.js';

const W = 640;
const H = 480;

async function main(): Promise<void> {
  const files = process.argv.slice(2);
  if (files.length === 0) {
    process.stderr.write('usage: poseOnVideo.ts <video> [...]\n');
    process.exit(2);
  }
  const analyzer = await FaceAnalyzer.create({});
  const out = [];
  for (const file of files) {
    const raw = execFileSync('ffmpeg', ['-v', 'error', '-i', file, '-vf', `fps=5,scale=${W}:${H}:force_original_aspect_ratio=decrease,pad=${W}:${H}:(ow-iw)/2:(oh-ih)/2`, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], {
      maxBuffer: 1 << 30,
    });
    const frameBytes = W * H * 3;
    const yaw: number[] = [];
    const pitch: number[] = [];
    let noFace = 0;
    for (let off = 0; off + frameBytes <= raw.length; off += frameBytes) {
      const a = await analyzer.analyze({ width: W, height: H, rgb: new Uint8Array(raw.buffer, raw.byteOffset + off, frameBytes) });
      const face = a.faces[0];
      if (!face) {
        noFace++;
        continue;
      }
      yaw.push(face.yawDeg);
      pitch.push(face.pitchDeg);
    }
    const q = (v: number[], p: number): number => {
      const s = [...v].sort((x, y) => x - y);
      return Math.round((s[Math.min(s.length - 1, Math.floor(p * (s.length - 1)))] ?? NaN) * 10) / 10;
    };
    out.push({
      file: file.split('/').at(-1),
      frames: yaw.length + noFace,
      noFace,
      yawDeg: { p5: q(yaw, 0.05), p50: q(yaw, 0.5), p95: q(yaw, 0.95) },
      pitchDeg: { p5: q(pitch, 0.05), p50: q(pitch, 0.5), p95: q(pitch, 0.95) },
    });
  }
  await analyzer.close();
  process.stdout.write(JSON.stringify({ command: `node --import tsx challenge-response/eval/poseOnVideo.ts ${files.join(' ')}`, videos: out }, null, 2) + '\n');
}

void main();

/**
 * The pose renderer's parts: Delaunay triangulation, the head model of a real face
 * (face-api sample5), the rotation conventions, the identity render and the Y4M writer
 * (checked by decoding with ffmpeg). How FaceAnalyzer reads the renderings is tested in
 * challenge-response/checkers/videoRendered.test.ts.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaceAnalyzer } from '../FaceAnalyzer.js';
import { delaunay } from './delaunay.js';
import { photoFaces, poseSource, type PoseSource } from './poseFaces.js';
import { posePoints, renderPose } from './renderPose.js';
import { encodeY4m } from './y4m.js';

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('delaunay', () => {
  it('triangulates a 5x5 grid into 32 triangles covering its area', () => {
    const pts: number[] = [];
    for (let y = 0; y < 5; y++) for (let x = 0; x < 5; x++) pts.push(x, y);
    const t = delaunay(pts);
    expect(t.length / 3).toBe(32);
    let area = 0;
    for (let k = 0; k < t.length; k += 3) {
      const [a, b, c] = [t[k]!, t[k + 1]!, t[k + 2]!];
      area += Math.abs((pts[2 * b]! - pts[2 * a]!) * (pts[2 * c + 1]! - pts[2 * a + 1]!) - (pts[2 * c]! - pts[2 * a]!) * (pts[2 * b + 1]! - pts[2 * a + 1]!)) / 2;
    }
    expect(area).toBeCloseTo(16, 6);
  });

  it('leaves every other point outside each circumcircle (random points)', () => {
    const rnd = lcg(7);
    const pts: number[] = [];
    for (let i = 0; i < 150; i++) pts.push(rnd() * 100, rnd() * 80);
    const t = delaunay(pts);
    // Euler: 2n - 2 - h triangles for n points with h on the hull
    expect(t.length / 3).toBeGreaterThan(2 * 150 - 2 - 30);
    for (let k = 0; k < t.length; k += 3) {
      const [ax, ay, bx, by, cx, cy] = [0, 1, 2].flatMap((j) => [pts[2 * t[k + j]!]!, pts[2 * t[k + j]! + 1]!]) as [number, number, number, number, number, number];
      const d = 2 * (ax * (by - cy) + bx * (cy - ay) + cx * (ay - by));
      const ux = ((ax * ax + ay * ay) * (by - cy) + (bx * bx + by * by) * (cy - ay) + (cx * cx + cy * cy) * (ay - by)) / d;
      const uy = ((ax * ax + ay * ay) * (cx - bx) + (bx * bx + by * by) * (ax - cx) + (cx * cx + cy * cy) * (bx - ax)) / d;
      const r2 = (ax - ux) ** 2 + (ay - uy) ** 2;
      for (let i = 0; i < 150; i++) expect((pts[2 * i]! - ux) ** 2 + (pts[2 * i + 1]! - uy) ** 2).toBeGreaterThan(r2 * (1 - 1e-9));
    }
  });

  it('skips coincident points', () => {
    const t = delaunay([0, 0, 10, 0, 0, 10, 10, 0, 10, 10]);
    expect(t.length / 3).toBe(2);
    expect([...t]).not.toContain(3);
  });
});

describe('renderPose on a real face', () => {
  let analyzer: FaceAnalyzer;
  let src: PoseSource;
  beforeAll(async () => {
    analyzer = await FaceAnalyzer.create({ minScore: 0.4, maxFaces: 10 });
    const face = (await photoFaces(analyzer, [5]))[0]!;
    src = (await poseSource(analyzer, face))!;
  });
  afterAll(async () => {
    await analyzer.close();
  });

  it('builds a 640x480 frame around one face with a triangulated head model', () => {
    expect(src.frame.width).toBe(640);
    expect(src.frame.height).toBe(480);
    expect(src.isLargest).toBe(true);
    expect(src.model.triangles.length / 3).toBeGreaterThan(900);
    // head width in the frame: about the face box (170 px) scale
    expect(src.model.headWidth).toBeGreaterThan(100);
    expect(src.model.headWidth).toBeLessThan(260);
  });

  it('turns and tilts in the FaceObservation directions', () => {
    const nose = (pose: { yawDeg: number; pitchDeg: number }): [number, number] => {
      const q = posePoints(src.model, pose);
      return [q[3]!, q[4]!]; // mesh point 1: nose tip
    };
    const [x0, y0] = nose({ yawDeg: 0, pitchDeg: 0 });
    expect(nose({ yawDeg: 20, pitchDeg: 0 })[0]).toBeGreaterThan(x0 + 10); // participant's left = image right
    expect(nose({ yawDeg: -20, pitchDeg: 0 })[0]).toBeLessThan(x0 - 10);
    expect(nose({ yawDeg: 0, pitchDeg: 20 })[1]).toBeLessThan(y0 - 10); // looking up lifts the nose
    expect(nose({ yawDeg: 0, pitchDeg: -20 })[1]).toBeGreaterThan(y0 + 10);
  });

  it('renders the unrotated pose as the original frame and a turn only around the head', () => {
    const same = renderPose(src.frame, src.model, { yawDeg: 0, pitchDeg: 0 });
    expect(Buffer.compare(Buffer.from(same.rgb), Buffer.from(src.frame.rgb))).toBe(0);
    const turned = renderPose(src.frame, src.model, { yawDeg: 40, pitchDeg: 0 });
    let changedHead = 0;
    let changedCorner = 0;
    for (let y = 0; y < 480; y++) {
      for (let x = 0; x < 640; x++) {
        const o = (y * 640 + x) * 3;
        const d = Math.abs(turned.rgb[o]! - src.frame.rgb[o]!) + Math.abs(turned.rgb[o + 1]! - src.frame.rgb[o + 1]!);
        if (d <= 20) continue;
        if (Math.abs(x - 320) < 100 && Math.abs(y - 216) < 100) changedHead++;
        if (x < 60 && y < 60) changedCorner++;
      }
    }
    expect(changedHead).toBeGreaterThan(5000);
    expect(changedCorner).toBe(0);
  });

  it('writes frames as Y4M that ffmpeg decodes back to the same picture', () => {
    const frames = [0, 20, 40].map((yaw) => renderPose(src.frame, src.model, { yawDeg: yaw, pitchDeg: 0 }));
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dfd-y4m-')), 'turn.y4m');
    fs.writeFileSync(file, encodeY4m(frames, 5));
    try {
      const raw = execFileSync('ffmpeg', ['-v', 'error', '-i', file, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { maxBuffer: 64 << 20 });
      expect(raw.length).toBe(3 * 640 * 480 * 3);
      for (let f = 0; f < 3; f++) {
        let err = 0;
        const src3 = frames[f]!.rgb;
        for (let i = 0; i < src3.length; i++) err += Math.abs(raw[f * src3.length + i]! - src3[i]!);
        // 4:2:0 chroma and 8-bit rounding: a few levels on average
        expect(err / src3.length).toBeLessThan(4);
      }
    } finally {
      fs.rmSync(path.dirname(file), { recursive: true, force: true });
    }
  });
});

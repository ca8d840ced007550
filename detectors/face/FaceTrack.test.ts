/**
 * FaceTrack: the schedule and geometry on their own, then with the real FaceAnalyzer (BlazeFace +
 * FaceMesh) on a real photo panned and zoomed like a moving webcam: a tracked frame must give the
 * face the detector would have given (box, pose, crop), while the detector runs on 1 frame in N.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DetectedFace } from './BlazeFace.js';
import { FaceAnalyzer, type AnalyzedFace } from './FaceAnalyzer.js';
import { meshPointCount } from './FaceMesh.js';
import { FaceTrack } from './FaceTrack.js';
import { decodeImage, movingFaceFrames, samplePhoto, syntheticFrame } from './fixtures.js';
import type { RgbFrame } from './image.js';
import { largestFace } from './observe.js';

/** A face-like landmark set: points on an ellipse around (cx, cy), eyes level. */
function landmarks(cx: number, cy: number, scale: number, angle = 0): Float32Array {
  const p = new Float32Array(meshPointCount * 3);
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  for (let i = 0; i < meshPointCount; i++) {
    const t = (2 * Math.PI * i) / meshPointCount;
    const x = 40 * Math.cos(t) * scale;
    const y = 50 * Math.sin(t) * scale;
    p[3 * i] = cx + c * x - s * y;
    p[3 * i + 1] = cy + s * x + c * y;
  }
  return p;
}

const detected: DetectedFace = { box: { x: 60, y: 50, width: 80, height: 100 }, score: 0.9, keypoints: [[80, 90], [120, 90], [100, 110], [100, 130], [62, 95], [138, 95]] };

describe('FaceTrack (schedule and geometry)', () => {
  it('asks for the detector when empty, every N frames, and when the frame size changes', () => {
    const t = new FaceTrack({ redetectEvery: 3 });
    expect(t.state).toBe('empty');
    expect(t.needsDetection(640, 480)).toBe(true);
    t.anchor(detected, landmarks(100, 100, 1), 640, 480);
    expect(t.state).toBe('tracking');
    expect(t.needsDetection(640, 480)).toBe(false);
    expect(t.needsDetection(320, 240)).toBe(true);
    expect(t.follow(landmarks(100, 100, 1))).toBeDefined();
    expect(t.needsDetection(640, 480)).toBe(false);
    expect(t.follow(landmarks(100, 100, 1))).toBeDefined();
    expect(t.needsDetection(640, 480)).toBe(true);
    expect(t.stats()).toEqual({ detections: 1, tracked: 2 });
    t.anchor(undefined, undefined, 640, 480);
    expect(t.state).toBe('empty');
    expect(t.predict()).toBeUndefined();
    expect(() => new FaceTrack({ redetectEvery: 0 })).toThrow(RangeError);
    expect(() => new FaceTrack({ redetectEvery: 2.5 })).toThrow(RangeError);
  });

  it('moves the anchor box and keypoints by the landmarks\' shift, scale and rotation', () => {
    const t = new FaceTrack({ redetectEvery: 10 });
    t.anchor(detected, landmarks(100, 100, 1), 640, 480);
    const moved = t.follow(landmarks(130, 90, 1.25))!;
    // centre (100, 100) -> (130, 90); size x 1.25
    expect(moved.box.x + moved.box.width / 2).toBeCloseTo(130, 4);
    expect(moved.box.y + moved.box.height / 2).toBeCloseTo(90, 4);
    expect(moved.box.width).toBeCloseTo(100, 4);
    expect(moved.box.height).toBeCloseTo(125, 4);
    expect(moved.keypoints[0]![0]).toBeCloseTo(130 - 20 * 1.25, 4);
    expect(moved.keypoints[0]![1]).toBeCloseTo(90 - 10 * 1.25, 4);
    expect(moved.score).toBe(0.9);
    expect(t.predict()!.box).toEqual(moved.box);
    // a quarter turn of the face turns the keypoints with it (the box stays axis-aligned)
    const turned = t.follow(landmarks(100, 100, 1, Math.PI / 2))!;
    expect(turned.keypoints[0]![0]).toBeCloseTo(110, 4);
    expect(turned.keypoints[0]![1]).toBeCloseTo(80, 4);
    // degenerate landmarks empty the track
    expect(t.follow(new Float32Array(meshPointCount * 3).fill(5))).toBeUndefined();
    expect(t.state).toBe('empty');
  });
});

function cropDiff(a: AnalyzedFace, b: AnalyzedFace): number {
  let d = 0;
  for (let i = 0; i < a.crop.length; i++) d += Math.abs(a.crop[i]! - b.crop[i]!);
  return d / a.crop.length;
}

describe('FaceAnalyzer with a FaceTrack on a moving real face', () => {
  let analyzer: FaceAnalyzer;
  // The right-hand face of sample1 (the face fixture's framing), the camera panning and zooming in.
  let frames: RgbFrame[] = [];
  beforeAll(async () => {
    analyzer = await FaceAnalyzer.create({});
    frames = movingFaceFrames(10);
  });
  afterAll(async () => {
    await analyzer.close();
  });

  it('places the face as the detector would on the frames in between, running the detector on 1 in N', async () => {
    const track = new FaceTrack({ redetectEvery: 5 });
    const placedBy: string[] = [];
    for (const [i, f] of frames.entries()) {
      const withTrack = await analyzer.analyze(f, track);
      const alone = await analyzer.analyze(f);
      placedBy.push(withTrack.placedBy);
      const a = largestFace(withTrack.faces);
      const b = largestFace(alone.faces);
      expect(a, `frame ${i}`).toBeDefined();
      expect(b, `frame ${i}`).toBeDefined();
      const ca = [a!.box.x + a!.box.width / 2, a!.box.y + a!.box.height / 2];
      const cb = [b!.box.x + b!.box.width / 2, b!.box.y + b!.box.height / 2];
      expect(Math.hypot(ca[0]! - cb[0]!, ca[1]! - cb[1]!) / b!.box.width, `frame ${i} centre`).toBeLessThan(0.06);
      expect(a!.box.width / b!.box.width, `frame ${i} size`).toBeGreaterThan(0.93);
      expect(a!.box.width / b!.box.width, `frame ${i} size`).toBeLessThan(1.07);
      expect(Math.abs(a!.yawDeg - b!.yawDeg), `frame ${i} yaw`).toBeLessThan(4);
      expect(Math.abs(a!.rollDeg - b!.rollDeg), `frame ${i} roll`).toBeLessThan(2);
      expect(a!.landmarks).toBeDefined();
      // the same face, framed alike: crops differ by a few grey levels on average
      expect(cropDiff(a!, b!), `frame ${i} crop`).toBeLessThan(14);
    }
    expect(placedBy).toEqual(['detector', 'track', 'track', 'track', 'track', 'detector', 'track', 'track', 'track', 'track']);
    expect(track.stats()).toEqual({ detections: 2, tracked: 8 });
  });

  it('loses the face when it leaves, detects on that frame, and picks it up again', async () => {
    const track = new FaceTrack({ redetectEvery: 30 });
    expect((await analyzer.analyze(frames[0]!, track)).placedBy).toBe('detector');
    expect((await analyzer.analyze(frames[1]!, track)).placedBy).toBe('track');
    const blank = await analyzer.analyze(syntheticFrame(640, 480, { value: 90 }), track);
    expect(blank).toMatchObject({ placedBy: 'detector', faces: [] });
    expect(track.state).toBe('empty');
    const back = await analyzer.analyze(frames[2]!, track);
    expect(back.placedBy).toBe('detector');
    expect(back.faces.length).toBeGreaterThan(0);
    expect((await analyzer.analyze(frames[3]!, track)).placedBy).toBe('track');
  });

  it('returns every face on detector frames and the followed one on tracked frames', async () => {
    const group = decodeImage(samplePhoto(1), 640); // three faces
    const track = new FaceTrack({ redetectEvery: 5 });
    const first = await analyzer.analyze(group, track);
    expect(first.faces).toHaveLength(3);
    const second = await analyzer.analyze(group, track);
    expect(second.placedBy).toBe('track');
    expect(second.faces).toHaveLength(1);
    const followed = largestFace(first.faces)!;
    expect(second.faces[0]!.box.x).toBeCloseTo(followed.box.x, -1);
    expect(second.faces[0]!.box.y).toBeCloseTo(followed.box.y, -1);
  });
});

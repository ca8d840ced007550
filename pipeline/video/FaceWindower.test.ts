import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaceAnalyzer } from '../../detectors/face/FaceAnalyzer.js';
import type { FaceObservation } from '../../detectors/face/FaceObservation.js';
import { decodeImage, movingFaceFrames, samplePhoto, syntheticFrame } from '../../detectors/face/fixtures.js';
import type { RgbFrame } from '../../detectors/face/image.js';
import type { FaceWindow, StreamRef } from '../messages.js';
import type { DecodedVideoFrame } from './FfmpegVp8Decoder.js';
import { FaceWindower } from './FaceWindower.js';

const stream: StreamRef = { roomId: 'r', peerId: 'p', producerId: 'v', kind: 'video' };
const link = { frameRate: 5, packets: 90, lost: 10 };

function frame(img: RgbFrame, arrivalMs: number): DecodedVideoFrame {
  return { width: img.width, height: img.height, rgb: img.rgb, ptsMs: arrivalMs, arrivalMs, decodedAtMs: arrivalMs, sourceWidth: img.width, sourceHeight: img.height };
}

describe('FaceWindower (real FaceAnalyzer on a real photo)', () => {
  let faces: FaceAnalyzer;
  let photo: RgbFrame;
  beforeAll(async () => {
    faces = await FaceAnalyzer.create({});
    photo = decodeImage(samplePhoto(1), 640);
  });
  afterAll(async () => {
    await faces.close();
  });

  it('observes every analysed frame and closes a window of N face crops with its span and quality', async () => {
    const w = new FaceWindower(stream, faces, () => link, { faceWindowFrames: 3 });
    const observations: FaceObservation[] = [];
    const windows: FaceWindow[] = [];
    w.on('observation', (o) => observations.push(o));
    w.on('window', (x) => windows.push(x));
    await w.push(frame(syntheticFrame(320, 240, { value: 128 }), 900)); // no face: observed, no crop
    for (const t of [1000, 1200, 1400, 1600]) await w.push(frame(photo, t));
    expect(observations.map((o) => o.faceFound)).toEqual([false, true, true, true, true]);
    expect(windows).toHaveLength(1);
    const win = windows[0]!;
    expect(win).toMatchObject({ type: 'face-window', stream, seq: 0, width: 256, height: 256, frames: 3, wallStart: 1000, wallEnd: 1400 });
    expect(win.crops.length).toBe(3 * 256 * 256 * 3);
    expect(win.quality.frameRate).toBe(5);
    expect(win.quality.packetLoss).toBeCloseTo(0.1, 10);
    expect(win.quality.faceSize).toBeGreaterThan(50);
    expect(w.stats()).toMatchObject({ analysed: 5, skipped: 0 });
    expect(w.stats().faceSize).toBeGreaterThan(50);
  });

  it('skips (and counts) a frame that arrives while the previous one is analysed; emits nothing once closed', async () => {
    const w = new FaceWindower(stream, faces, () => link, { faceWindowFrames: 2 });
    const events: string[] = [];
    w.on('observation', () => events.push('observation'));
    w.on('window', () => events.push('window'));
    const first = w.push(frame(photo, 1));
    expect(w.busy).toBe(true);
    await w.push(frame(photo, 2)); // resolves at once: skipped
    await first;
    expect(w.stats()).toMatchObject({ analysed: 1, skipped: 1 });
    expect(events).toEqual(['observation']);
    const late = w.push(frame(photo, 3));
    w.close(); // the analysis in flight finishes, but its frame would close a window: nothing is emitted
    await late;
    await w.push(frame(photo, 4));
    expect(events).toEqual(['observation']);
  });

  it('with a describer, each window carries the descriptor of its most frontal crop; a failed description leaves it out', async () => {
    // sample5's largest face looks at the camera (about 1 degree of yaw); sample1's is turned too far to describe.
    const frontal = decodeImage(samplePhoto(5), 640);
    const described: number[] = [];
    let fail = false;
    const describer = {
      describe: async (crop: Uint8Array, size: number): Promise<Float32Array> => {
        if (fail) throw new Error('model failed');
        described.push(crop.length, size);
        return Float32Array.of(1, 0);
      },
    };
    const w = new FaceWindower(stream, faces, () => link, { faceWindowFrames: 2 }, describer);
    const windows: FaceWindow[] = [];
    w.on('window', (x) => windows.push(x));
    for (const t of [1, 2]) await w.push(frame(frontal, t));
    fail = true;
    for (const t of [3, 4]) await w.push(frame(frontal, t));
    fail = false;
    for (const t of [5, 6]) await w.push(frame(photo, t));
    expect(described).toEqual([256 * 256 * 3, 256]);
    expect(windows.map((x) => x.descriptor && Array.from(x.descriptor))).toEqual([[1, 0], undefined, undefined]);
  });

  it('marks windows the face detectors must not judge: a frozen picture, several faces, a face cut off by the frame edge', async () => {
    const moving = movingFaceFrames(5);
    const issues = async (frames: RgbFrame[]): Promise<(string | undefined)[]> => {
      const w = new FaceWindower(stream, faces, () => link, { faceWindowFrames: 5 });
      const out: (string | undefined)[] = [];
      w.on('window', (x) => out.push(x.quality.issue));
      for (const [i, f] of frames.entries()) await w.push(frame(f, i * 200));
      return out;
    };
    expect(await issues(moving)).toEqual([undefined]);
    expect(await issues(Array.from({ length: 5 }, () => moving[0]!))).toEqual(['frozen']);
    // sample4: four people side by side, faces of similar size
    const group = decodeImage(samplePhoto(4), 640);
    expect(await issues(moving.slice(0, 4).concat([group]))).toEqual(['several-faces']);
    // the moving face (box x about 240-255, 170-176 wide) slid left until about a quarter of its box is out of the frame
    const slid = moving.map((f) => shiftLeft(f, 290));
    expect(await issues(slid)).toEqual(['face-at-edge']);
  });
});

/** The frame moved `dx` pixels left, the right side filled with mid grey. */
function shiftLeft(f: RgbFrame, dx: number): RgbFrame {
  const rgb = new Uint8Array(f.rgb.length).fill(128);
  for (let y = 0; y < f.height; y++) rgb.set(f.rgb.subarray((y * f.width + dx) * 3, (y + 1) * f.width * 3), y * f.width * 3);
  return { width: f.width, height: f.height, rgb };
}

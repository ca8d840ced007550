/**
 * Test support for the occlusion challenges: short frame sequences of a real face with
 * natural variation, and a hand or a finger laid over part of it.
 *
 * No photo of a hand over a face ships offline, so the occluder is made from real pixels:
 * a patch of a real hand (resting on a thigh, skin around it) cut from face-api's sample5,
 * colour-matched to the subject's own cheek (so that skin colour alone cannot give it
 * away, as with the caller's own hand) and composited through a soft-edged mask shaped
 * like a palm (four finger bumps) or a finger (a capsule: the same hand texture squeezed
 * into a finger's width). It is a 2D paste: no shadow, no 3D contact, no motion blur.
 *
 * Frames (`OcclusionScene`): one face of a group photo is cut into a 480x360 "webcam"
 * frame; every frame of a sequence then gets a small head movement (renderPose.ts, a 2.5D
 * warp of the photo, +-`poseJitterDeg` yaw and pitch), a camera shift, scale and roll, a
 * gain/bias, sometimes a box blur, and a JPEG round trip through ffmpeg. The occluder is
 * pasted after the head movement and before the camera and codec steps, so it moves and
 * degrades with the frame.
 */
import { execFileSync } from 'node:child_process';
import type { AnalyzedFace, FaceAnalyzer } from '../FaceAnalyzer.js';
import { largestFace } from '../observe.js';
import { decodeImage, samplePhoto } from '../fixtures.js';
import { sampleAffine, type Affine, type Point, type RgbFrame } from '../image.js';
import { buildHeadModel, renderPose, type HeadModel } from './renderPose.js';

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** A real hand (fingers, knuckles, the skin of the thigh around it): sample5.jpg decoded at 1920 wide. */
export const handPatchSource = { photo: 5, width: 1920, rect: { x: 1190, y: 1135, width: 190, height: 115 } } as const;

/** Copies a rectangle of a frame; `rotate90` turns it a quarter turn clockwise (fingers up for a hand lying left-right). */
export function cutPatch(frame: RgbFrame, rect: Rect, rotate90 = false): RgbFrame {
  const w = Math.round(rect.width);
  const h = Math.round(rect.height);
  const outW = rotate90 ? h : w;
  const outH = rotate90 ? w : h;
  const rgb = new Uint8Array(outW * outH * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const sx = Math.min(frame.width - 1, Math.max(0, Math.round(rect.x) + x));
      const sy = Math.min(frame.height - 1, Math.max(0, Math.round(rect.y) + y));
      const s = (sy * frame.width + sx) * 3;
      // clockwise quarter turn: (x, y) -> (h - 1 - y, x)
      const dx = rotate90 ? h - 1 - y : x;
      const dy = rotate90 ? x : y;
      const d = (dy * outW + dx) * 3;
      rgb[d] = frame.rgb[s]!;
      rgb[d + 1] = frame.rgb[s + 1]!;
      rgb[d + 2] = frame.rgb[s + 2]!;
    }
  }
  return { width: outW, height: outH, rgb };
}

/** The real hand patch, decoded once per call (ffmpeg). */
export function loadHandPatch(rotate90 = true): RgbFrame {
  const src = decodeImage(samplePhoto(handPatchSource.photo), handPatchSource.width);
  return cutPatch(src, handPatchSource.rect, rotate90);
}

/** Mean and standard deviation per channel of a frame region. */
export function colourStats(frame: RgbFrame, rect: Rect): { mean: [number, number, number]; std: [number, number, number] } {
  const sum = [0, 0, 0];
  const sq = [0, 0, 0];
  let n = 0;
  const x0 = Math.max(0, Math.round(rect.x));
  const y0 = Math.max(0, Math.round(rect.y));
  const x1 = Math.min(frame.width, Math.round(rect.x + rect.width));
  const y1 = Math.min(frame.height, Math.round(rect.y + rect.height));
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const i = (y * frame.width + x) * 3;
      for (let c = 0; c < 3; c++) {
        const v = frame.rgb[i + c]!;
        sum[c]! += v;
        sq[c]! += v * v;
      }
      n++;
    }
  }
  const mean = sum.map((s) => s / Math.max(1, n)) as [number, number, number];
  const std = sq.map((s, c) => Math.sqrt(Math.max(0, s / Math.max(1, n) - mean[c]! ** 2))) as [number, number, number];
  return { mean, std };
}

/** Shifts each channel of the patch to the target mean, keeping the patch's own texture (its std scaled by `contrast`). */
export function matchColour(patch: RgbFrame, target: { mean: readonly number[] }, contrast = 1): RgbFrame {
  const own = colourStats(patch, { x: 0, y: 0, width: patch.width, height: patch.height });
  const rgb = new Uint8Array(patch.rgb.length);
  for (let i = 0; i < rgb.length; i++) {
    const c = i % 3;
    rgb[i] = Math.max(0, Math.min(255, Math.round(target.mean[c]! + (patch.rgb[i]! - own.mean[c]!) * contrast)));
  }
  return { width: patch.width, height: patch.height, rgb };
}

export type OccluderShape = 'palm' | 'finger';

/**
 * Alpha (0..1) of the occluder at normalised patch coordinates (u, v in 0..1, v = 0 at the
 * fingertips). Palm: a rounded block with four finger bumps on top. Finger: a capsule.
 * `feather` is the soft edge as a fraction of the shorter side.
 */
export function occluderAlpha(shape: OccluderShape, u: number, v: number, aspect: number, feather = 0.08): number {
  // signed distance (negative inside) in units of the patch width
  let d: number;
  const x = u;
  const y = v * aspect;
  if (shape === 'finger') {
    // capsule of width 1 along the long axis
    const r = 0.5;
    const cy = Math.min(Math.max(y, r), aspect - r);
    d = Math.hypot(x - 0.5, y - cy) - r;
  } else {
    // palm: rounded rectangle below the finger line, four fingers above it
    const fingerLine = 0.38 * aspect;
    const r = 0.18;
    const qx = Math.max(Math.abs(x - 0.5) - (0.5 - r), 0);
    const qy = Math.max(Math.abs(y - (fingerLine + aspect) / 2) - ((aspect - fingerLine) / 2 - r), 0);
    d = Math.hypot(qx, qy) - r;
    for (let k = 0; k < 4; k++) {
      const fx = 0.14 + k * 0.24;
      const tip = (k === 0 || k === 3 ? 0.1 : 0.03) * aspect + 0.11;
      const fr = 0.11;
      const cy = Math.min(Math.max(y, tip), fingerLine + fr);
      d = Math.min(d, Math.hypot(x - fx, y - cy) - fr);
    }
  }
  const f = Math.max(1e-3, feather);
  return Math.max(0, Math.min(1, 0.5 - d / f));
}

export interface Placement {
  /** Where the patch centre lands (frame pixels). */
  centre: Point;
  /** Size of the occluder on the frame (pixels): across, and along its long axis. */
  width: number;
  height: number;
  /** Rotation of the occluder's up axis from image up, radians, clockwise positive. */
  angle: number;
}

/** Composites `patch` through the shape mask onto a copy of `frame`. */
export function pasteOccluder(frame: RgbFrame, patch: RgbFrame, shape: OccluderShape, at: Placement): RgbFrame {
  const out = new Uint8Array(frame.rgb);
  const cos = Math.cos(at.angle);
  const sin = Math.sin(at.angle);
  const reach = Math.hypot(at.width, at.height) / 2 + 2;
  const aspect = at.height / at.width;
  const [cx, cy] = at.centre;
  for (let y = Math.max(0, Math.floor(cy - reach)); y < Math.min(frame.height, Math.ceil(cy + reach)); y++) {
    for (let x = Math.max(0, Math.floor(cx - reach)); x < Math.min(frame.width, Math.ceil(cx + reach)); x++) {
      // frame -> occluder axes (a across, b along, origin at the centre)
      const dx = x + 0.5 - cx;
      const dy = y + 0.5 - cy;
      const a = dx * cos + dy * sin;
      const b = -dx * sin + dy * cos;
      const u = a / at.width + 0.5;
      const v = b / at.height + 0.5;
      if (u < -0.1 || u > 1.1 || v < -0.1 || v > 1.1) continue;
      const alpha = occluderAlpha(shape, u, v, aspect, 0.08);
      if (alpha <= 0) continue;
      const px = Math.min(patch.width - 1, Math.max(0, Math.round(u * patch.width - 0.5)));
      const py = Math.min(patch.height - 1, Math.max(0, Math.round(v * patch.height - 0.5)));
      const s = (py * patch.width + px) * 3;
      const d = (y * frame.width + x) * 3;
      for (let c = 0; c < 3; c++) out[d + c] = Math.round(out[d + c]! * (1 - alpha) + patch.rgb[s + c]! * alpha);
    }
  }
  return { width: frame.width, height: frame.height, rgb: out };
}

export interface ViewportOptions {
  /** Centre of the view in the source (source pixels). */
  centre: Point;
  width: number;
  height: number;
  /** Source pixels per output pixel (1 = native). */
  scale: number;
  /** Roll of the camera, radians. */
  angle: number;
}

/** A width x height frame cut from `src` around `centre`, scaled and rotated (bilinear). */
export function viewport(src: RgbFrame, o: ViewportOptions): RgbFrame {
  const cos = Math.cos(o.angle) * o.scale;
  const sin = Math.sin(o.angle) * o.scale;
  // source = centre + R * s * (out - size/2)
  const m: Affine = [cos, -sin, o.centre[0] - cos * (o.width / 2) + sin * (o.height / 2), sin, cos, o.centre[1] - sin * (o.width / 2) - cos * (o.height / 2)];
  const rgb = new Uint8Array(o.width * o.height * 3);
  sampleAffine(src, m, o.width, o.height, rgb);
  return { width: o.width, height: o.height, rgb };
}

export interface PhotometricOptions {
  gain: number;
  bias: number;
  /** Box blur radius in pixels (0 = none). */
  blur: number;
  /** JPEG round trip with ffmpeg's -q:v (2 best .. 31 worst); 0 = none. */
  jpegQuality: number;
}

/** Gain/bias, box blur and a JPEG round trip: camera and codec variation between frames. */
export function photometric(frame: RgbFrame, o: Partial<PhotometricOptions>): RgbFrame {
  const gain = o.gain ?? 1;
  const bias = o.bias ?? 0;
  let rgb: Uint8Array = new Uint8Array(frame.rgb.length);
  for (let i = 0; i < rgb.length; i++) rgb[i] = Math.max(0, Math.min(255, Math.round(frame.rgb[i]! * gain + bias)));
  const r = Math.round(o.blur ?? 0);
  if (r > 0) rgb = boxBlur(rgb, frame.width, frame.height, r);
  let out: RgbFrame = { width: frame.width, height: frame.height, rgb };
  if ((o.jpegQuality ?? 0) > 0) out = jpegRoundTripAll([out], o.jpegQuality!)[0]!;
  return out;
}

function boxBlur(src: Uint8Array, W: number, H: number, r: number): Uint8Array {
  // separable running sums, edges clamped
  const tmp = new Float32Array(src.length);
  const out = new Uint8Array(src.length);
  const n = 2 * r + 1;
  for (let y = 0; y < H; y++) {
    for (let c = 0; c < 3; c++) {
      const row = y * W * 3 + c;
      let s = 0;
      for (let k = -r; k <= r; k++) s += src[row + Math.min(W - 1, Math.max(0, k)) * 3]!;
      for (let x = 0; x < W; x++) {
        tmp[row + x * 3] = s / n;
        s += src[row + Math.min(W - 1, x + r + 1) * 3]! - src[row + Math.max(0, x - r) * 3]!;
      }
    }
  }
  const stride = W * 3;
  for (let x = 0; x < W; x++) {
    for (let c = 0; c < 3; c++) {
      const col = x * 3 + c;
      let s = 0;
      for (let k = -r; k <= r; k++) s += tmp[col + Math.min(H - 1, Math.max(0, k)) * stride]!;
      for (let y = 0; y < H; y++) {
        out[col + y * stride] = Math.round(s / n);
        s += tmp[col + Math.min(H - 1, y + r + 1) * stride]! - tmp[col + Math.max(0, y - r) * stride]!;
      }
    }
  }
  return out;
}

/** JPEG round trip of same-sized frames in one pair of ffmpeg runs (an MJPEG stream), at one quality. */
export function jpegRoundTripAll(frames: readonly RgbFrame[], quality: number): RgbFrame[] {
  const first = frames[0];
  if (!first) return [];
  const { width, height } = first;
  const size = `${width}x${height}`;
  const input = new Uint8Array(frames.length * width * height * 3);
  frames.forEach((f, i) => input.set(f.rgb, i * width * height * 3));
  const jpeg = execFileSync('ffmpeg', ['-v', 'error', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', size, '-i', '-', '-q:v', String(quality), '-f', 'mjpeg', '-'], {
    input,
    maxBuffer: 256 * 1024 * 1024,
  });
  const raw = execFileSync('ffmpeg', ['-v', 'error', '-f', 'mjpeg', '-i', '-', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { input: jpeg, maxBuffer: 256 * 1024 * 1024 });
  const bytes = width * height * 3;
  if (raw.byteLength !== bytes * frames.length) throw new Error(`JPEG round trip returned ${raw.byteLength} bytes for ${frames.length} frames`);
  return frames.map((_f, i) => ({ width, height, rgb: new Uint8Array(raw.buffer, raw.byteOffset + i * bytes, bytes) }));
}

/**
 * The face's eye frame from FaceMesh points: canonical (u, v) in inter-ocular distances,
 * origin between the eye centres, u towards the participant's left eye (image right when
 * unmirrored), v down the face. Returns the canonical -> frame mapping.
 */
export function eyeFrameOf(lm: Float32Array): { toFrame: (u: number, v: number) => Point; iod: number; roll: number } {
  const p = (i: number): Point => [lm[3 * i]!, lm[3 * i + 1]!];
  const mid = (a: Point, b: Point): Point => [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2];
  const r = mid(p(33), p(133));
  const l = mid(p(362), p(263));
  const iod = Math.hypot(l[0] - r[0], l[1] - r[1]);
  const roll = Math.atan2(l[1] - r[1], l[0] - r[0]);
  const c = Math.cos(roll);
  const s = Math.sin(roll);
  const o = mid(r, l);
  return { iod, roll, toFrame: (u, v) => [o[0] + iod * (c * u - s * v), o[1] + iod * (s * u + c * v)] };
}

export type Side = 'left' | 'right';

/** Where a hand goes (canonical eye-frame units). `over`: covering that half; `beside`: next to the face on that side, not over it. */
export function handPlacement(lm: Float32Array, side: Side, where: 'over' | 'beside' = 'over', jitter: Point = [0, 0]): Placement {
  const f = eyeFrameOf(lm);
  const sign = side === 'left' ? 1 : -1;
  const u = (where === 'over' ? 0.58 : 1.7) * sign + jitter[0];
  return { centre: f.toFrame(u, 0.5 + jitter[1]), width: 1.2 * f.iod, height: 2.7 * f.iod, angle: f.roll };
}

/** Cheek centre landmarks of the MediaPipe mesh: participant's left (image right) and right. */
const cheekCentre = { left: 425, right: 205 } as const;

/**
 * A fingertip pressed on the centre of that cheek (mesh point 425 / 205) with the finger
 * coming from below and outside the face, or (`beside`) the same finger held next to the
 * face at cheek height, not touching it. Jitter is in inter-ocular distances.
 */
export function fingerPlacement(lm: Float32Array, side: Side, where: 'on' | 'beside' = 'on', jitter: Point = [0, 0]): Placement {
  const f = eyeFrameOf(lm);
  const sign = side === 'left' ? 1 : -1;
  const k = cheekCentre[side];
  const c = Math.cos(f.roll);
  const s = Math.sin(f.roll);
  const o = f.toFrame(0, 0);
  const dx = lm[3 * k]! - o[0];
  const dy = lm[3 * k + 1]! - o[1];
  const cheekU = (dx * c + dy * s) / f.iod;
  const cheekV = (-dx * s + dy * c) / f.iod;
  const tipU = (where === 'on' ? cheekU : 1.5 * sign) + jitter[0];
  const tipV = cheekV + jitter[1];
  const length = 1.3;
  const tilt = (12 * Math.PI) / 180;
  const du = sign * Math.sin(tilt);
  const dv = Math.cos(tilt);
  const tip = f.toFrame(tipU, tipV);
  const centre = f.toFrame(tipU + (du * length) / 2, tipV + (dv * length) / 2);
  return { centre, width: 0.3 * f.iod, height: length * f.iod, angle: Math.atan2(tip[0] - centre[0], -(tip[1] - centre[1])) };
}

/** A seeded uniform generator (LCG), so sequences are the same on every run. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 2 ** 32;
  };
}

export interface OcclusionSceneOptions {
  width: number;
  height: number;
  /** Inter-ocular distance of the face in the frame, pixels. */
  iod: number;
  /** Head movement between frames: yaw and pitch uniform in +-this, degrees (0: none). */
  poseJitterDeg: number;
  /** Camera shift (pixels), relative scale and roll (degrees) between frames, +- these. */
  shiftPx: number;
  scaleJitter: number;
  rollDeg: number;
}

export const defaultOcclusionSceneOptions: OcclusionSceneOptions = { width: 480, height: 360, iod: 100, poseJitterDeg: 4, shiftPx: 8, scaleJitter: 0.06, rollDeg: 2.5 };

export interface Occluder {
  shape: OccluderShape;
  /** Where it goes on the scene's base frame. */
  place: Placement;
}

export interface OcclusionScene {
  options: OcclusionSceneOptions;
  /** The face alone, frontal as in the photo. */
  base: RgbFrame;
  /** FaceMesh points of `base` (frame pixels). */
  landmarks: Float32Array;
  model: HeadModel;
  /** The hand patch, colour-matched to this face's cheek. */
  hand: RgbFrame;
}


/**
 * The face of face-api's sample `photo` nearest `near` (pixels of the photo decoded 1920
 * wide), cut into its own frame with the face level and `iod` pixels between the eyes.
 */
export async function occlusionScene(analyzer: FaceAnalyzer, photo: number, near: Point, hand: RgbFrame, options: Partial<OcclusionSceneOptions> = {}): Promise<OcclusionScene> {
  const o = { ...defaultOcclusionSceneOptions, ...options };
  const src = decodeImage(samplePhoto(photo), 1920);
  const all = (await analyzer.analyze(src)).faces.filter((f) => f.landmarks);
  const d = (f: AnalyzedFace): number => Math.hypot(f.box.x + f.box.width / 2 - near[0], f.box.y + f.box.height / 2 - near[1]);
  const face = all.reduce<AnalyzedFace | undefined>((b, f) => (!b || d(f) < d(b) ? f : b), undefined);
  if (!face) throw new Error(`no face with landmarks in sample${photo}`);
  const e = eyeFrameOf(face.landmarks!);
  const base = viewport(src, { centre: e.toFrame(0, 0.45), width: o.width, height: o.height, scale: e.iod / o.iod, angle: e.roll });
  const mine = largestFace((await analyzer.analyze(base)).faces);
  if (!mine?.landmarks) throw new Error(`face of sample${photo} not found again in its own frame`);
  const lm = mine.landmarks;
  const ef = eyeFrameOf(lm);
  const c = ef.toFrame(0.6, 0.62);
  const r = 0.15 * ef.iod;
  const skin = colourStats(base, { x: c[0] - r, y: c[1] - r, width: 2 * r, height: 2 * r });
  return { options: o, base, landmarks: lm, model: buildHeadModel(lm, base.width, base.height), hand: matchColour(hand, skin) };
}

/**
 * Frames of the scene, one per entry of `occluders` (undefined: no occluder): head
 * movement, the occluder, camera jitter, gain/bias, sometimes a blur, then one JPEG round
 * trip for the whole sequence at a quality drawn from 3..10 (ffmpeg -q:v).
 */
export function sceneFrames(scene: OcclusionScene, rnd: () => number, occluders: readonly (Occluder | undefined)[]): RgbFrame[] {
  const o = scene.options;
  const u = (): number => 2 * rnd() - 1;
  const frames = occluders.map((occluder) => {
    const posed = o.poseJitterDeg > 0 ? renderPose(scene.base, scene.model, { yawDeg: u() * o.poseJitterDeg, pitchDeg: u() * o.poseJitterDeg, rollDeg: 0 }) : scene.base;
    const withOcc = occluder ? pasteOccluder(posed, scene.hand, occluder.shape, occluder.place) : posed;
    const vp: ViewportOptions = {
      centre: [o.width / 2 + u() * o.shiftPx, o.height / 2 + u() * o.shiftPx],
      width: o.width,
      height: o.height,
      scale: 1 + u() * o.scaleJitter,
      angle: (u() * o.rollDeg * Math.PI) / 180,
    };
    return photometric(viewport(withOcc, vp), { gain: 1 + u() * 0.15, bias: u() * 10, blur: rnd() < 0.3 ? 1 : 0 });
  });
  return jpegRoundTripAll(frames, 3 + Math.floor(rnd() * 8));
}

export type OcclusionChallenge = 'hand-over-half' | 'finger-on-cheek';

/** One scripted response to an occlusion challenge, and what the checker should make of it. */
export interface OcclusionCase {
  name: string;
  challenge: OcclusionChallenge;
  /** The side the challenge asks for. */
  side: Side;
  /** `pass`: done as asked; `fail`: not done (nothing, beside the face, or the other side). */
  expected: 'pass' | 'fail';
  /** What covers the face in each frame (undefined: nothing), placed from the face's FaceMesh points. */
  occluders(landmarks: Float32Array): (Occluder | undefined)[];
}

/**
 * The responses tested for both challenges and both sides, `frames` frames each: done as
 * asked (the occluder arrives after the first frame and leaves before the last), no
 * movement at all, the hand or finger held beside the face, and the other half / cheek
 * covered. Positions jitter by a few hundredths of the IOD from frame to frame.
 */
export function occlusionCases(frames = 7): OcclusionCase[] {
  const jitter = (i: number): Point => [((i % 3) - 1) * 0.04, ((i % 2) - 0.5) * 0.06];
  const idx = Array.from({ length: frames }, (_v, i) => i);
  const during = (i: number): boolean => i > 0 && i < frames - 1;
  const hand = (lm: Float32Array, s: Side, where: 'over' | 'beside', i: number): Occluder => ({ shape: 'palm', place: handPlacement(lm, s, where, jitter(i)) });
  const finger = (lm: Float32Array, s: Side, where: 'on' | 'beside', i: number): Occluder => ({ shape: 'finger', place: fingerPlacement(lm, s, where, jitter(i)) });
  const out: OcclusionCase[] = [];
  for (const side of ['left', 'right'] as const) {
    const other: Side = side === 'left' ? 'right' : 'left';
    out.push(
      { name: `hand over the ${side} half`, challenge: 'hand-over-half', side, expected: 'pass', occluders: (lm) => idx.map((i) => (during(i) ? hand(lm, side, 'over', i) : undefined)) },
      { name: `hand: no movement (${side} asked)`, challenge: 'hand-over-half', side, expected: 'fail', occluders: () => idx.map(() => undefined) },
      { name: `hand beside the face (${side} asked)`, challenge: 'hand-over-half', side, expected: 'fail', occluders: (lm) => idx.map((i) => hand(lm, side, 'beside', i)) },
      { name: `hand over the ${other} half (${side} asked)`, challenge: 'hand-over-half', side, expected: 'fail', occluders: (lm) => idx.map((i) => (during(i) ? hand(lm, other, 'over', i) : undefined)) },
      { name: `finger on the ${side} cheek`, challenge: 'finger-on-cheek', side, expected: 'pass', occluders: (lm) => idx.map((i) => (during(i) ? finger(lm, side, 'on', i) : undefined)) },
      { name: `finger: no movement (${side} asked)`, challenge: 'finger-on-cheek', side, expected: 'fail', occluders: () => idx.map(() => undefined) },
      { name: `finger beside the face (${side} asked)`, challenge: 'finger-on-cheek', side, expected: 'fail', occluders: (lm) => idx.map((i) => finger(lm, side, 'beside', i)) },
      { name: `finger on the ${other} cheek (${side} asked)`, challenge: 'finger-on-cheek', side, expected: 'fail', occluders: (lm) => idx.map((i) => (during(i) ? finger(lm, other, 'on', i) : undefined)) },
    );
  }
  return out;
}

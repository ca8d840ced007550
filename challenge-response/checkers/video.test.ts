import { describe, expect, it } from 'vitest';
import { estimatePose, type FaceObservation, type PoseLandmarks } from '../../detectors/face/FaceObservation.js';
import { checkFingerOnCheek, checkHandOverHalf, checkHeadTurn, checkLookUpDown } from './video.js';

/** Projects a rigid average head (eye centres, nose tip) at a given yaw/pitch/roll, orthographically. */
function project(yawDeg: number, pitchDeg: number, rollDeg = 0, iod = 60): PoseLandmarks {
  const r = Math.PI / 180;
  // Head frame: x to the participant's left (image right), y down, z towards the camera.
  const pts = { rightEye: [-0.5, 0, 0], leftEye: [0.5, 0, 0], noseTip: [0, 0.6, 0.55] } as const;
  const out: Record<string, { x: number; y: number }> = {};
  for (const [k, [x0, y0, z0]] of Object.entries(pts)) {
    // pitch (looking up lifts the nose: rotate about x), then yaw (about y), then roll.
    const p = pitchDeg * r;
    const y1 = y0 * Math.cos(p) - z0 * Math.sin(p);
    const z1 = y0 * Math.sin(p) + z0 * Math.cos(p);
    const yw = yawDeg * r;
    const x2 = x0 * Math.cos(yw) + z1 * Math.sin(yw);
    const rl = rollDeg * r;
    const x3 = x2 * Math.cos(rl) - y1 * Math.sin(rl);
    const y3 = x2 * Math.sin(rl) + y1 * Math.cos(rl);
    out[k] = { x: 320 + iod * x3, y: 240 + iod * y3 };
  }
  return out as unknown as PoseLandmarks;
}

describe('estimatePose', () => {
  it('recovers yaw and pitch of a projected head within a few degrees, under roll', () => {
    for (const [yaw, pitch, roll] of [[0, 0, 0], [30, 0, 0], [-45, 0, 10], [0, 20, 0], [0, -20, -15], [25, 15, 5]] as const) {
      const p = estimatePose(project(yaw, pitch, roll));
      expect(Math.abs(p.yawDeg - yaw)).toBeLessThan(3);
      expect(Math.abs(p.pitchDeg - pitch)).toBeLessThan(6);
      expect(Math.abs(p.rollDeg - roll)).toBeLessThan(1);
    }
  });
  it('flips yaw for a mirrored image and returns NaN for degenerate landmarks', () => {
    expect(estimatePose(project(30, 0), { mirrored: true }).yawDeg).toBeCloseTo(-30, 0);
    const same = { x: 1, y: 1 };
    expect(estimatePose({ rightEye: same, leftEye: same, noseTip: same }).yawDeg).toBeNaN();
  });
});

const frame = (t: number, o: Partial<FaceObservation> = {}): FaceObservation => ({
  t,
  faceFound: true,
  faceConfidence: 0.95,
  yawDeg: 0,
  pitchDeg: 0,
  regions: { leftHalf: 1, rightHalf: 1, leftCheek: 1, rightCheek: 1, eyes: 1, mouth: 1 },
  ...o,
});
const seq = (yaws: number[], key: 'yawDeg' | 'pitchDeg' = 'yawDeg'): FaceObservation[] => yaws.map((v, i) => frame(i * 100, { [key]: v }));

describe('video checkers', () => {
  it('head turn: the asked side passes, no turn fails, the wrong side fails, partial is unclear', () => {
    const turnLeft = seq([0, 10, 25, 38, 42, 40, 20, 0]);
    expect(checkHeadTurn({ observations: turnLeft, params: { side: 'left' } }).result).toBe('pass');
    expect(checkHeadTurn({ observations: turnLeft, params: { side: 'right' } }).result).toBe('fail');
    expect(checkHeadTurn({ observations: seq([0, 2, -3, 4, 1, 0]), params: { side: 'left' } }).result).toBe('fail');
    expect(checkHeadTurn({ observations: seq([0, 10, 20, 22, 18, 5]), params: { side: 'left' } }).result).toBe('unclear');
  });
  it('hand over half: the covered side passes, nothing covered fails', () => {
    const obs = [0, 1, 2, 3, 4, 5, 6].map((i) => frame(i * 100, { regions: { leftHalf: i >= 2 && i <= 5 ? 0.1 : 1, rightHalf: 0.95 } }));
    expect(checkHandOverHalf({ observations: obs, params: { side: 'left' } }).result).toBe('pass');
    expect(checkHandOverHalf({ observations: obs, params: { side: 'right' } }).result).toBe('fail');
  });
  it('finger on cheek: cheek occluded while eyes stay clear', () => {
    const obs = [0, 1, 2, 3, 4, 5].map((i) => frame(i * 100, { regions: { rightCheek: i >= 1 && i <= 4 ? 0.3 : 0.95, eyes: 0.9 } }));
    expect(checkFingerOnCheek({ observations: obs, params: { side: 'right' } }).result).toBe('pass');
    expect(checkFingerOnCheek({ observations: obs.map((f) => ({ ...f, regions: { rightCheek: 0.95, eyes: 0.9 } })), params: { side: 'right' } }).result).toBe('fail');
  });
  it('look up then down: order matters', () => {
    expect(checkLookUpDown({ observations: seq([0, 10, 20, 18, 0, -12, -20, -18, -5], 'pitchDeg'), params: {} }).result).toBe('pass');
    expect(checkLookUpDown({ observations: seq([0, -20, -18, 0, 10, 20, 5], 'pitchDeg'), params: {} }).result).toBe('unclear');
    expect(checkLookUpDown({ observations: seq([0, 2, 1, -2, 0, 1], 'pitchDeg'), params: {} }).result).toBe('fail');
  });
  it('one noisy frame neither passes nor blocks a fail; a still head with tracker noise fails look-up-down', () => {
    // A single-frame landmark glitch to 35 degrees is not a head turn...
    expect(checkHeadTurn({ observations: seq([0, 2, 35, 1, -2, 0, 1]), params: { side: 'left' } }).result).toBe('fail');
    // ...and a still head whose pitch jitters by +-4 degrees (raw max-min 8+) did not nod.
    const jitter = [0, 3, -4, 2, -3, 4, -2, 1, -4, 3, 0, -1];
    expect(Math.max(...jitter) - Math.min(...jitter)).toBeGreaterThanOrEqual(8);
    expect(checkLookUpDown({ observations: seq(jitter, 'pitchDeg'), params: {} }).result).toBe('fail');
    // Occlusion: one frame dipping below "clear" does not stop an unoccluded response failing.
    const clear = [0, 1, 2, 3, 4, 5, 6].map((i) => frame(i * 100, { regions: { rightCheek: i === 3 ? 0.5 : 0.92, eyes: 0.9 } }));
    expect(checkFingerOnCheek({ observations: clear, params: { side: 'right' } }).result).toBe('fail');
  });
  it('pose is judged against the resting pose before the challenge', () => {
    // A caller whose camera sits high reads -8 degrees pitch at rest: +8 then -24 is up 16, down 16.
    const obs = seq([-8, 0, 8, 9, 8, -8, -24, -25, -24, -8], 'pitchDeg');
    expect(checkLookUpDown({ observations: obs, params: {} }).result).not.toBe('pass');
    const r = checkLookUpDown({ observations: obs, params: {}, poseBaseline: { yawDeg: 0, pitchDeg: -8, frames: 20 } });
    expect(r.result).toBe('pass');
    expect(r.measurements['restPitchDeg']).toBe(-8);
    // Sitting turned 20 degrees to the left, a further 20 degrees is not a profile turn.
    const turned = seq([20, 25, 35, 40, 41, 40, 30, 20]);
    expect(checkHeadTurn({ observations: turned, params: { side: 'left' } }).result).toBe('pass');
    expect(checkHeadTurn({ observations: turned, params: { side: 'left' }, poseBaseline: { yawDeg: 20, pitchDeg: 0, frames: 20 } }).result).toBe('unclear');
  });
  it('too few frames or no face is unclear', () => {
    expect(checkHeadTurn({ observations: seq([40, 40]), params: { side: 'left' } })).toMatchObject({ result: 'unclear', reason: 'too few video frames' });
    const lost = seq([0, 0, 0, 0, 0, 0]).map((f, i) => ({ ...f, faceFound: i === 0 }));
    expect(checkLookUpDown({ observations: lost, params: {} })).toMatchObject({ result: 'unclear', reason: 'face not visible in most frames' });
  });
});

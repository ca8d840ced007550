/**
 * Where the canonical face (faceRegionLayout.ts) lies in a frame, from the FaceMesh
 * landmarks: `eyeFrame` from the eye corners alone (the warmup, before a template exists),
 * and `fitTemplate`, a robust similarity fit of the learnt template shape to all mesh points
 * or to one side's. `RegionVisibility` samples its luma grid through the result.
 */
import { MeshIndex, meshPointCount } from './FaceMesh.js';
import type { FitAnchor } from './faceRegionLayout.js';

/** A similarity transform canonical -> frame: frame point = scale * R(cos, sin) * canonical + (tx, ty). */
export interface Similarity {
  scale: number;
  cos: number;
  sin: number;
  tx: number;
  ty: number;
}

/** Eye frame from the mesh: canonical (u, v) <-> frame, origin between the eyes, unit = IOD. */
export function eyeFrame(lm: Float32Array): (Similarity & { toCanonical: (x: number, y: number) => [number, number] }) | undefined {
  const p = (i: number): [number, number] => [lm[3 * i]!, lm[3 * i + 1]!];
  const ro = p(MeshIndex.rightEyeOuter);
  const ri = p(MeshIndex.rightEyeInner);
  const li = p(MeshIndex.leftEyeInner);
  const lo = p(MeshIndex.leftEyeOuter);
  const r: [number, number] = [(ro[0] + ri[0]) / 2, (ro[1] + ri[1]) / 2];
  const l: [number, number] = [(li[0] + lo[0]) / 2, (li[1] + lo[1]) / 2];
  const dx = l[0] - r[0];
  const dy = l[1] - r[1];
  const scale = Math.hypot(dx, dy);
  if (!(scale > 1e-6)) return undefined;
  const cos = dx / scale;
  const sin = dy / scale;
  const tx = (l[0] + r[0]) / 2;
  const ty = (l[1] + r[1]) / 2;
  return {
    scale,
    cos,
    sin,
    tx,
    ty,
    toCanonical: (x, y) => {
      const ex = x - tx;
      const ey = y - ty;
      return [(ex * cos + ey * sin) / scale, (-ex * sin + ey * cos) / scale];
    },
  };
}

/**
 * Robust similarity (template -> frame): Huber-weighted least squares, a few rounds, on
 * all mesh points or only those of one side (template x beyond +-0.1 IOD). `template`: the
 * canonical (u, v) of each mesh point; `weights`: scratch of `meshPointCount` (overwritten).
 */
export function fitTemplate(template: Float64Array, lm: Float32Array, anchor: FitAnchor, weights: Float64Array): Similarity | undefined {
  const q = template;
  const w = weights;
  for (let i = 0; i < meshPointCount; i++) {
    const u = q[2 * i]!;
    w[i] = anchor === 'all' || (anchor === 'left' ? u > 0.1 : u < -0.1) ? 1 : 0;
  }
  let a = 1;
  let b = 0;
  let tx = 0;
  let ty = 0;
  for (let round = 0; round < 4; round++) {
    let sw = 0;
    let qx = 0;
    let qy = 0;
    let px = 0;
    let py = 0;
    for (let i = 0; i < meshPointCount; i++) {
      const wi = w[i]!;
      sw += wi;
      qx += wi * q[2 * i]!;
      qy += wi * q[2 * i + 1]!;
      px += wi * lm[3 * i]!;
      py += wi * lm[3 * i + 1]!;
    }
    qx /= sw;
    qy /= sw;
    px /= sw;
    py /= sw;
    let sxx = 0;
    let sxy = 0;
    let sqq = 0;
    for (let i = 0; i < meshPointCount; i++) {
      const wi = w[i]!;
      const ux = q[2 * i]! - qx;
      const uy = q[2 * i + 1]! - qy;
      const vx = lm[3 * i]! - px;
      const vy = lm[3 * i + 1]! - py;
      sxx += wi * (ux * vx + uy * vy);
      sxy += wi * (ux * vy - uy * vx);
      sqq += wi * (ux * ux + uy * uy);
    }
    if (!(sqq > 1e-12)) return undefined;
    a = sxx / sqq;
    b = sxy / sqq;
    tx = px - (a * qx - b * qy);
    ty = py - (b * qx + a * qy);
    const scale = Math.hypot(a, b);
    if (!(scale > 1e-6)) return undefined;
    // Huber weights on residuals in IOD units (k = 0.04 IOD).
    for (let i = 0; i < meshPointCount; i++) {
      const ex = a * q[2 * i]! - b * q[2 * i + 1]! + tx - lm[3 * i]!;
      const ey = b * q[2 * i]! + a * q[2 * i + 1]! + ty - lm[3 * i + 1]!;
      const r = Math.hypot(ex, ey) / scale;
      if (w[i]! > 0) w[i] = r <= 0.04 ? 1 : 0.04 / r;
    }
  }
  const scale = Math.hypot(a, b);
  return { scale, cos: a / scale, sin: b / scale, tx, ty };
}

/**
 * Delaunay triangulation of a few hundred 2D points (Bowyer-Watson, O(n^2)), for the
 * pose renderer's face mesh. Test tooling: simple and exact enough for ~600 points, not
 * meant for large point sets.
 *
 * Points closer than `minDistance` to an already inserted point are skipped (the face mesh
 * has coincident lip points when the mouth is closed); skipped points appear in no triangle.
 */

interface Tri {
  a: number;
  b: number;
  c: number;
  /** Circumcircle centre and squared radius. */
  cx: number;
  cy: number;
  r2: number;
}

function makeTri(a: number, b: number, c: number, x: Float64Array, y: Float64Array): Tri | undefined {
  const ax = x[a]!;
  const ay = y[a]!;
  const bx = x[b]! - ax;
  const by = y[b]! - ay;
  const qx = x[c]! - ax;
  const qy = y[c]! - ay;
  const d = 2 * (bx * qy - by * qx);
  if (Math.abs(d) < 1e-12) return undefined;
  const b2 = bx * bx + by * by;
  const q2 = qx * qx + qy * qy;
  const ux = (qy * b2 - by * q2) / d;
  const uy = (bx * q2 - qx * b2) / d;
  return { a, b, c, cx: ax + ux, cy: ay + uy, r2: ux * ux + uy * uy };
}

/**
 * Triangles (3 point indices each) of the Delaunay triangulation of `points`
 * ([x0, y0, x1, y1, ...]).
 */
export function delaunay(points: ArrayLike<number>, minDistance = 1e-3): Uint32Array {
  const n = Math.floor(points.length / 2);
  if (n < 3) return new Uint32Array(0);
  // Three extra "super triangle" vertices at indices n, n+1, n+2.
  const x = new Float64Array(n + 3);
  const y = new Float64Array(n + 3);
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (let i = 0; i < n; i++) {
    x[i] = points[2 * i]!;
    y[i] = points[2 * i + 1]!;
    minX = Math.min(minX, x[i]!);
    maxX = Math.max(maxX, x[i]!);
    minY = Math.min(minY, y[i]!);
    maxY = Math.max(maxY, y[i]!);
  }
  const span = Math.max(maxX - minX, maxY - minY, 1) * 20;
  const mx = (minX + maxX) / 2;
  const my = (minY + maxY) / 2;
  x[n] = mx - span;
  y[n] = my - span;
  x[n + 1] = mx + span;
  y[n + 1] = my - span;
  x[n + 2] = mx;
  y[n + 2] = my + span;
  let tris: Tri[] = [makeTri(n, n + 1, n + 2, x, y)!];
  const inserted: number[] = [];
  const min2 = minDistance * minDistance;
  for (let i = 0; i < n; i++) {
    const px = x[i]!;
    const py = y[i]!;
    if (inserted.some((j) => (x[j]! - px) ** 2 + (y[j]! - py) ** 2 < min2)) continue;
    inserted.push(i);
    const keep: Tri[] = [];
    // Boundary of the cavity: edges of removed triangles that only one removed triangle has.
    const edges = new Map<number, [number, number]>();
    const stride = n + 3;
    const addEdge = (u: number, v: number): void => {
      const key = u < v ? u * stride + v : v * stride + u;
      if (edges.has(key)) edges.delete(key);
      else edges.set(key, [u, v]);
    };
    for (const t of tris) {
      if ((px - t.cx) ** 2 + (py - t.cy) ** 2 < t.r2) {
        addEdge(t.a, t.b);
        addEdge(t.b, t.c);
        addEdge(t.c, t.a);
      } else {
        keep.push(t);
      }
    }
    for (const [u, v] of edges.values()) {
      const t = makeTri(u, v, i, x, y);
      if (t) keep.push(t);
    }
    tris = keep;
  }
  const out: number[] = [];
  for (const t of tris) if (t.a < n && t.b < n && t.c < n) out.push(t.a, t.b, t.c);
  return Uint32Array.from(out);
}

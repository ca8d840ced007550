/**
 * Turns a participant's timeline points into uPlot's aligned columns: one x column
 * (seconds) and one column per series, `null` where a series has no point at that time.
 * Pure, so it is tested in node; `charts.ts` draws the result.
 */
import type { TimelinePoint } from './state.js';

export interface AlignedTimeline {
  /** Series names in display order: pFake, confidence, then detectors sorted by name. */
  series: string[];
  /** `[xs, ...one column per series]`, every column as long as xs. */
  data: [number[], ...(number | null)[][]];
}

function order(a: string, b: string): number {
  const rank = (s: string): number => (s === 'pFake' ? 0 : s === 'confidence' ? 1 : 2);
  return rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0);
}

export function alignTimeline(points: readonly TimelinePoint[]): AlignedTimeline {
  const series = [...new Set(points.map((p) => p.series))].sort(order);
  const xs = [...new Set(points.map((p) => p.t))].sort((a, b) => a - b);
  const xIndex = new Map(xs.map((t, i) => [t, i]));
  const sIndex = new Map(series.map((s, i) => [s, i]));
  const cols: (number | null)[][] = series.map(() => new Array<number | null>(xs.length).fill(null));
  for (const p of points) {
    const col = cols[sIndex.get(p.series)!]!;
    // Later points at the same instant win (the list is in arrival order).
    col[xIndex.get(p.t)!] = p.value;
  }
  return { series, data: [xs.map((t) => t / 1000), ...cols] };
}

/** A readable label for a series name. */
export function seriesLabel(series: string): string {
  if (series === 'pFake') return 'P(fake) verdict';
  if (series === 'confidence') return 'confidence';
  return series.startsWith('detector:') ? series.slice('detector:'.length) : series;
}

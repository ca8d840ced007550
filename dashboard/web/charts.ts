/**
 * One uPlot chart per participant: P(fake) from verdicts, confidence (dashed), and one
 * thin line per detector from score events, all on a 0..1 scale over wall-clock time.
 * uPlot fixes its series at construction, so a new detector rebuilds the chart.
 */
import uPlot from 'uplot';
import type { TimelinePoint } from './state.js';
import { alignTimeline, seriesLabel } from './timeline.js';

export interface TimelineChartOptions {
  /** Width when the host has no layout width yet; otherwise the chart follows the host. */
  width: number;
  height: number;
  /** The x axis spans at least this much time from the first point (a new chart fills from the left). */
  minSpanSec: number;
}

export const defaultTimelineChartOptions: TimelineChartOptions = { width: 420, height: 160, minSpanSec: 60 };

const clock = (sec: number): string => new Date(sec * 1000).toLocaleTimeString([], { hour12: false });

const detectorPalette = ['#4aa3ff', '#b48cff', '#3fd0c9', '#ffb347', '#ff7eb6', '#9bd35a'];

function stroke(series: string, detectorIndex: number): string {
  if (series === 'pFake') return '#ff5a4f';
  if (series === 'confidence') return '#c8c8c8';
  return detectorPalette[detectorIndex % detectorPalette.length]!;
}

export class TimelineChart {
  readonly options: TimelineChartOptions;
  readonly #host: HTMLElement;
  #plot: uPlot | undefined;
  #seriesKey = '';
  #points: readonly TimelinePoint[] | undefined;
  readonly #resize: ResizeObserver;

  constructor(host: HTMLElement, options: Partial<TimelineChartOptions> = {}) {
    this.options = { ...defaultTimelineChartOptions, ...options };
    this.#host = host;
    this.#resize = new ResizeObserver(() => {
      const width = this.#width();
      if (this.#plot && Math.abs(this.#plot.width - width) > 1) this.#plot.setSize({ width, height: this.options.height });
    });
    this.#resize.observe(host);
  }

  #width(): number {
    return Math.floor(this.#host.clientWidth) || this.options.width;
  }

  /** Redraws when `points` is a different array than last time (the reducer never mutates). */
  update(points: readonly TimelinePoint[]): void {
    if (points === this.#points) return;
    this.#points = points;
    this.#host.dataset['points'] = String(points.length);
    const aligned = alignTimeline(points);
    const key = aligned.series.join('|');
    if (!this.#plot || key !== this.#seriesKey) {
      this.#plot?.destroy();
      this.#seriesKey = key;
      this.#plot = this.#create(aligned.series, aligned.data);
    } else this.#plot.setData(aligned.data);
  }

  #create(series: string[], data: uPlot.AlignedData): uPlot {
    let detectors = 0;
    const opts: uPlot.Options = {
      width: this.#width(),
      height: this.options.height,
      legend: { show: true, live: false },
      cursor: { drag: { x: false, y: false } },
      scales: {
        x: { time: true, range: (_u, min, max) => [min, Math.max(max, min + this.options.minSpanSec)] },
        y: { range: [0, 1] },
      },
      axes: [
        { stroke: '#aaa', grid: { stroke: '#333' }, ticks: { stroke: '#333' }, values: (_u, vals) => vals.map(clock) },
        { stroke: '#aaa', grid: { stroke: '#333' }, ticks: { stroke: '#333' }, size: 36, values: (_u, vals) => vals.map((v) => v.toFixed(1)) },
      ],
      series: [
        {},
        ...series.map((s): uPlot.Series => {
          const isDetector = s.startsWith('detector:');
          return {
            label: seriesLabel(s),
            stroke: stroke(s, isDetector ? detectors++ : 0),
            width: s === 'pFake' ? 2 : 1,
            spanGaps: true,
            points: { show: s === 'pFake', size: 4 },
            ...(s === 'confidence' ? { dash: [4, 4] } : {}),
          };
        }),
      ],
    };
    return new uPlot(opts, data, this.#host);
  }

  destroy(): void {
    this.#resize.disconnect();
    this.#plot?.destroy();
    this.#plot = undefined;
  }
}

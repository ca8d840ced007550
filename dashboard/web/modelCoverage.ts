/**
 * Which models analysed a participant, from a verdict event's `models` (envelope): each model's
 * scored windows and, when any, its windows dropped under load. Shown under the verdict so the
 * person reading it sees how much of the call the detectors really saw (a cascade stage scores
 * one window in N; `speaker-embed` is the takeover check's; a drop means the service was
 * overloaded and thinned that model's analysis). The call detail page shows the same line from
 * the participant's last verdict (`ParticipantDetail.models`). Pure and DOM-free.
 */

import type { ModelCoverage } from '../../api/historyWire.js';

/** `dropped` is 0 when the event did not say (none dropped). The call detail sends the same shape. */
export type { ModelCoverage };

const MAX_MODELS = 32;
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isText = (v: unknown, max: number): v is string => typeof v === 'string' && v.length > 0 && v.length <= max;
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/** The verdict's model list, malformed entries left out; undefined when `v` is not a list. */
export function parseModelCoverage(v: unknown): ModelCoverage[] | undefined {
  if (!Array.isArray(v)) return undefined;
  const out: ModelCoverage[] = [];
  for (const m of v.slice(0, MAX_MODELS)) {
    if (!isObj(m) || !isText(m['id'], 128) || !isText(m['version'], 64) || !isCount(m['windows'])) continue;
    const dropped = m['dropped'];
    if (dropped !== undefined && !isCount(dropped)) continue;
    const task = m['task'];
    out.push({ id: m['id'], version: m['version'], ...(isText(task, 64) ? { task } : {}), windows: m['windows'], dropped: dropped ?? 0 });
  }
  return out;
}

/** "Analysed by voice-antispoof 0.3.0 (120 windows), speaker-embed 1.1.0 (118 windows, 3 dropped under load)"; '' for none. */
export function describeCoverage(models: readonly ModelCoverage[] | undefined): string {
  if (!models || models.length === 0) return '';
  const one = (m: ModelCoverage): string => {
    const n = `${m.windows} window${m.windows === 1 ? '' : 's'}`;
    return `${m.id} ${m.version} (${m.dropped > 0 ? `${n}, ${m.dropped} dropped under load` : n})`;
  };
  return `Analysed by ${models.map(one).join(', ')}`;
}

/** Windows dropped under load over all of the models (the line's `data-dropped`). */
export function droppedTotal(models: readonly ModelCoverage[] | undefined): number {
  return (models ?? []).reduce((a, m) => a + m.dropped, 0);
}

/**
 * The evaluation list (TSV) and the metrics report built from scored clips.
 *
 * TSV: a header row with at least `path` and `label`; labels `bonafide`/`spoof` (audio) or
 * `real`/`fake` (video), one vocabulary per file; paths relative to the TSV's folder. Every
 * other column is a candidate breakdown; only columns with 2..50 distinct levels are broken
 * down (a column that names each clip, like `source`, says nothing per level).
 *
 * Per breakdown level: when the level holds both classes, its metrics use only its items;
 * when it holds one class (e.g. one spoof generator), its items are compared with ALL items
 * of the other class (`comparedWith` says which), as in ASVspoof per-attack results.
 */
import path from 'node:path';
import { DfdError } from '../../kernel/errors.js';
import { actDcf, cllr, minCllr, type ActualDcf } from './calibrationMetrics.js';
import { asvspoof5DcfParams, auc, eer, minDcf, type DcfParams } from './metrics.js';

export type MediaKind = 'audio' | 'video';

export interface EvalItem {
  /** Path as written in the TSV. */
  path: string;
  /** Absolute path (resolved against the TSV's folder). */
  file: string;
  /** True for spoof/fake. */
  positive: boolean;
  /** The label as written. */
  label: string;
  /** Every column besides path and label. */
  fields: Record<string, string>;
  /** 1-based line in the TSV. */
  line: number;
}

export interface EvalList {
  kind: MediaKind;
  items: EvalItem[];
  /** Extra columns in header order. */
  columns: string[];
}

const LABELS: Record<string, { kind: MediaKind; positive: boolean }> = {
  bonafide: { kind: 'audio', positive: false },
  spoof: { kind: 'audio', positive: true },
  real: { kind: 'video', positive: false },
  fake: { kind: 'video', positive: true },
};

export const MAX_TSV_ROWS = 100_000;

/** Parses the TSV text. Throws ERR_EVAL_TSV with `line`/`column` details (never cell contents). */
export function parseEvalTsv(text: string, tsvDir: string): EvalList {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const headerIndex = lines.findIndex((l) => l.trim() !== '');
  if (headerIndex < 0) throw new DfdError('ERR_EVAL_TSV', 'the file is empty');
  const header = lines[headerIndex]!.split('\t').map((h) => h.trim());
  const ip = header.indexOf('path');
  const il = header.indexOf('label');
  if (ip < 0 || il < 0) throw new DfdError('ERR_EVAL_TSV', 'the header needs path and label columns', { missing: [ip < 0 ? 'path' : '', il < 0 ? 'label' : ''].filter(Boolean) });
  if (new Set(header).size !== header.length || header.some((h) => h === '')) throw new DfdError('ERR_EVAL_TSV', 'column names must be non-empty and unique');
  const columns = header.filter((_, i) => i !== ip && i !== il);
  const items: EvalItem[] = [];
  let kind: MediaKind | undefined;
  for (let n = headerIndex + 1; n < lines.length; n++) {
    const raw = lines[n]!;
    if (raw.trim() === '' || raw.startsWith('#')) continue;
    const line = n + 1;
    const cells = raw.split('\t');
    if (cells.length !== header.length) throw new DfdError('ERR_EVAL_TSV', 'wrong number of columns', { line, expected: header.length, found: cells.length });
    const p = cells[ip]!.trim();
    if (p === '') throw new DfdError('ERR_EVAL_TSV', 'empty path', { line });
    const label = cells[il]!.trim();
    const l = LABELS[label];
    if (!l) throw new DfdError('ERR_EVAL_TSV', 'label must be bonafide/spoof or real/fake', { line });
    if (kind && kind !== l.kind) throw new DfdError('ERR_EVAL_TSV', 'audio labels (bonafide/spoof) and video labels (real/fake) are mixed', { line });
    kind = l.kind;
    const fields: Record<string, string> = {};
    header.forEach((h, i) => {
      if (i !== ip && i !== il) fields[h] = cells[i]!.trim();
    });
    items.push({ path: p, file: path.resolve(tsvDir, p), positive: l.positive, label, fields, line });
    if (items.length > MAX_TSV_ROWS) throw new DfdError('ERR_EVAL_TSV', 'too many rows', { max: MAX_TSV_ROWS });
  }
  if (!kind || items.length === 0) throw new DfdError('ERR_EVAL_TSV', 'no rows after the header');
  return { kind, items, columns };
}

export interface BreakdownChoice {
  /** Columns broken down, with their levels (sorted). */
  used: Record<string, string[]>;
  /** Columns left out, with their level count. */
  skipped: Record<string, number>;
}

export const MIN_LEVELS = 2;
export const MAX_LEVELS = 50;

export function selectBreakdowns(list: Pick<EvalList, 'items' | 'columns'>, minLevels = MIN_LEVELS, maxLevels = MAX_LEVELS): BreakdownChoice {
  const used: Record<string, string[]> = {};
  const skipped: Record<string, number> = {};
  for (const c of list.columns) {
    const levels = [...new Set(list.items.map((it) => it.fields[c] ?? ''))].sort();
    if (levels.length >= minLevels && levels.length <= maxLevels) used[c] = levels;
    else skipped[c] = levels.length;
  }
  return { used, skipped };
}

// ------------------------------------------------------------------------------ metrics

/** A scored clip: calibrated log-odds `z` (pFake = sigmoid(z)). */
export interface ScoredItem {
  item: EvalItem;
  z: number;
  pFake: number;
}

export interface Threshold {
  /** Threshold on pFake; pFake >= value is flagged. */
  value: number;
  /** Where it comes from. */
  source: string;
}

export interface SubsetMetrics {
  /** Counts of negative (bonafide/real) and positive (spoof/fake) clips used. */
  negatives: number;
  positives: number;
  eer: number;
  auroc: number;
  minDcf: number;
  cllr: number;
  minCllr: number;
  actDcf: ActualDcf[];
  meanPFakeNegative: number;
  meanPFakePositive: number;
}

export type SubsetResult = SubsetMetrics | { error: string; negatives: number; positives: number };

export function subsetMetrics(scored: readonly ScoredItem[], thresholds: readonly Threshold[], params: DcfParams = asvspoof5DcfParams): SubsetResult {
  const neg = scored.filter((s) => !s.item.positive);
  const pos = scored.filter((s) => s.item.positive);
  if (neg.length === 0 || pos.length === 0) return { error: 'needs both classes', negatives: neg.length, positives: pos.length };
  const bz = neg.map((s) => s.z);
  const sz = pos.map((s) => s.z);
  const bp = neg.map((s) => s.pFake);
  const sp = pos.map((s) => s.pFake);
  const mean = (a: readonly number[]): number => a.reduce((x, y) => x + y, 0) / a.length;
  return {
    negatives: neg.length,
    positives: pos.length,
    eer: eer(bz, sz).eer,
    auroc: auc(bz, sz),
    minDcf: minDcf(bz, sz, params).minDcf,
    cllr: cllr(bz, sz),
    minCllr: minCllr(bz, sz),
    actDcf: thresholds.map((t) => ({ ...actDcf(bp, sp, t.value, params) })),
    meanPFakeNegative: mean(bp),
    meanPFakePositive: mean(sp),
  };
}

export type LevelResult = SubsetResult & { comparedWith: 'level' | 'all-negatives' | 'all-positives'; clips: number };

export function breakdownMetrics(scored: readonly ScoredItem[], choice: BreakdownChoice, thresholds: readonly Threshold[], params: DcfParams = asvspoof5DcfParams): Record<string, Record<string, LevelResult>> {
  const out: Record<string, Record<string, LevelResult>> = {};
  const allNeg = scored.filter((s) => !s.item.positive);
  const allPos = scored.filter((s) => s.item.positive);
  for (const [col, levels] of Object.entries(choice.used)) {
    const per: Record<string, LevelResult> = {};
    for (const level of levels) {
      const inLevel = scored.filter((s) => (s.item.fields[col] ?? '') === level);
      const hasNeg = inLevel.some((s) => !s.item.positive);
      const hasPos = inLevel.some((s) => s.item.positive);
      let subset: readonly ScoredItem[] = inLevel;
      let comparedWith: LevelResult['comparedWith'] = 'level';
      if (hasPos && !hasNeg) {
        subset = [...inLevel, ...allNeg];
        comparedWith = 'all-negatives';
      } else if (hasNeg && !hasPos) {
        subset = [...inLevel, ...allPos];
        comparedWith = 'all-positives';
      }
      per[level] = { ...subsetMetrics(subset, thresholds, params), comparedWith, clips: inLevel.length };
    }
    out[col] = per;
  }
  return out;
}

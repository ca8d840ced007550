/**
 * `node --import tsx detectors/training/face/pretrained/summarize.ts <list.tsv> <eval-*.json>...`
 *
 * Summarises face-forgery eval reports (detectors/eval/cli.ts output) of one labelled list with the
 * eval's own metrics (detectors/eval/metrics.ts, on the clip scores z):
 *   - overall AUROC and EER (recomputed from the clips; must equal the report's `overall`);
 *   - per generator family: the fakes of that family against ALL reals. The family is the list's
 *     `generator` column up to the first " (" (e.g. "AniTalker (audio-driven, HuBERT)" -> "AniTalker"),
 *     plus the unweighted mean over families (VASA-1 alone is a quarter of the fakes);
 *   - pair wins: within each `pair_group` that holds both labels, every (fake, real) pair counts as a
 *     win when the fake scores above its real (a tie counts half).
 * Prints Markdown tables and then one JSON line with every number.
 */
import fs from 'node:fs';
import path from 'node:path';
import { auc, eer } from '../../../eval/metrics.js';
import { parseEvalTsv, type EvalItem } from '../../../eval/report.js';

interface Clip {
  line: number;
  z: number;
}
interface Report {
  tool: string;
  model: { id: string; version: string };
  overall: { auroc?: number; eer?: number };
  counts: { listed: number; scored: number; failed: number };
  clips: Clip[];
}

export interface ModelSummary {
  id: string;
  version: string;
  scored: number;
  failed: number;
  auroc: number;
  eer: number;
  reportAuroc: number | null;
  families: Record<string, { fakes: number; auroc: number; eer: number }>;
  meanFamilyAuroc: number;
  pairs: { wins: number; ties: number; pairs: number; groups: number };
}

export function family(generator: string): string {
  const i = generator.indexOf(' (');
  return (i >= 0 ? generator.slice(0, i) : generator).trim();
}

export function summarize(items: readonly EvalItem[], report: Report): ModelSummary {
  const byLine = new Map(items.map((it) => [it.line, it]));
  const scored = report.clips.map((c) => {
    const it = byLine.get(c.line);
    if (!it) throw new Error(`${report.model.id}: clip on line ${c.line} is not in the list`);
    return { it, z: c.z };
  });
  const reals = scored.filter((s) => !s.it.positive).map((s) => s.z);
  const fakes = scored.filter((s) => s.it.positive);
  const families: ModelSummary['families'] = {};
  for (const f of [...new Set(fakes.map((s) => family(s.it.fields['generator'] ?? '')))].sort()) {
    const zs = fakes.filter((s) => family(s.it.fields['generator'] ?? '') === f).map((s) => s.z);
    families[f] = { fakes: zs.length, auroc: auc(reals, zs), eer: eer(reals, zs).eer };
  }
  const groups = new Map<string, { real: number[]; fake: number[] }>();
  for (const s of scored) {
    const g = s.it.fields['pair_group'] ?? '';
    if (g === '') continue;
    const e = groups.get(g) ?? { real: [], fake: [] };
    (s.it.positive ? e.fake : e.real).push(s.z);
    groups.set(g, e);
  }
  const pairs = { wins: 0, ties: 0, pairs: 0, groups: 0 };
  for (const { real, fake } of groups.values()) {
    if (real.length === 0 || fake.length === 0) continue;
    pairs.groups++;
    for (const f of fake)
      for (const r of real) {
        pairs.pairs++;
        if (f > r) pairs.wins++;
        else if (f === r) pairs.ties++;
      }
  }
  const fz = fakes.map((s) => s.z);
  const fam = Object.values(families);
  return {
    id: report.model.id,
    version: report.model.version,
    scored: report.counts.scored,
    failed: report.counts.failed,
    auroc: auc(reals, fz),
    eer: eer(reals, fz).eer,
    reportAuroc: report.overall.auroc ?? null,
    families,
    meanFamilyAuroc: fam.reduce((a, b) => a + b.auroc, 0) / fam.length,
    pairs,
  };
}

function main(argv: readonly string[]): void {
  const [tsv, ...reports] = argv;
  if (!tsv || reports.length === 0) {
    process.stderr.write('usage: summarize.ts <list.tsv> <eval-*.json>...\n');
    process.exitCode = 2;
    return;
  }
  const list = parseEvalTsv(fs.readFileSync(tsv, 'utf8'), path.dirname(path.resolve(tsv)));
  if (list.kind !== 'video' || !list.columns.includes('generator') || !list.columns.includes('pair_group')) {
    throw new Error('the list must be a video list with generator and pair_group columns');
  }
  const out = reports.map((file) => {
    const r = JSON.parse(fs.readFileSync(file, 'utf8')) as Report;
    if (r.tool !== 'dfd-eval') throw new Error(`${file} is not a dfd-eval report`);
    const s = summarize(list.items, r);
    if (s.reportAuroc !== null && Math.abs(s.reportAuroc - s.auroc) > 1e-12) throw new Error(`${file}: AUROC ${s.auroc} differs from the report's ${s.reportAuroc}`);
    return s;
  });
  const f3 = (x: number): string => x.toFixed(3);
  const lines: string[] = [];
  lines.push('| model | version | clips scored (failed) | AUROC | EER | mean per-family AUROC | pair wins (fake > its real) |');
  lines.push('| --- | --- | --- | ---: | ---: | ---: | --- |');
  for (const s of out) {
    const ties = s.pairs.ties ? `, ${s.pairs.ties} ties` : '';
    lines.push(`| ${s.id} | ${s.version} | ${s.scored} (${s.failed}) | ${f3(s.auroc)} | ${f3(s.eer)} | ${f3(s.meanFamilyAuroc)} | ${s.pairs.wins}/${s.pairs.pairs}${ties} in ${s.pairs.groups} groups |`);
  }
  lines.push('');
  const fams = Object.keys(out[0]!.families);
  lines.push(`| generator family (fakes vs all reals) | fakes | ${out.map((s) => s.id).join(' | ')} |`);
  lines.push(`| --- | ---: | ${out.map(() => '---:').join(' | ')} |`);
  for (const f of fams) lines.push(`| ${f} | ${out[0]!.families[f]!.fakes} | ${out.map((s) => f3(s.families[f]?.auroc ?? NaN)).join(' | ')} |`);
  process.stdout.write(lines.join('\n') + '\n\n' + JSON.stringify(out) + '\n');
}

main(process.argv.slice(2));

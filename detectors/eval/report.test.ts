import { describe, expect, it } from 'vitest';
import { isDfdError } from '../../kernel/errors.js';
import { breakdownMetrics, parseEvalTsv, selectBreakdowns, subsetMetrics, type ScoredItem } from './report.js';

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return isDfdError(e) ? e.code : 'not-a-DfdError';
  }
  return undefined;
}

function details(fn: () => unknown): Record<string, unknown> | undefined {
  try {
    fn();
  } catch (e) {
    return isDfdError(e) ? (e.details as Record<string, unknown>) : undefined;
  }
  return undefined;
}

describe('parseEvalTsv', () => {
  it('reads paths relative to the TSV folder, labels and every other column', () => {
    const l = parseEvalTsv('path\tlabel\tgenerator\tcond\na.wav\tbonafide\t-\tclean\nsub/b.flac\tspoof\tvits\tnoisy\n', '/data/set');
    expect(l.kind).toBe('audio');
    expect(l.columns).toEqual(['generator', 'cond']);
    expect(l.items.map((i) => [i.file, i.positive, i.line])).toEqual([
      ['/data/set/a.wav', false, 2],
      ['/data/set/sub/b.flac', true, 3],
    ]);
    expect(l.items[1]!.fields).toEqual({ generator: 'vits', cond: 'noisy' });
  });
  it('accepts any column order, CRLF, a BOM, blank and comment lines; real/fake means video', () => {
    const l = parseEvalTsv('\uFEFFlabel\tpath\r\n\r\nreal\tx.mp4\r\n# note\r\nfake\ty.mp4\r\n', '/v');
    expect(l.kind).toBe('video');
    expect(l.items.map((i) => [i.path, i.label])).toEqual([
      ['x.mp4', 'real'],
      ['y.mp4', 'fake'],
    ]);
  });
  it('rejects bad lists with ERR_EVAL_TSV and the line number', () => {
    expect(code(() => parseEvalTsv('', '/'))).toBe('ERR_EVAL_TSV');
    expect(code(() => parseEvalTsv('file\tlabel\na\tspoof\n', '/'))).toBe('ERR_EVAL_TSV');
    expect(code(() => parseEvalTsv('path\tlabel\n', '/'))).toBe('ERR_EVAL_TSV');
    expect(code(() => parseEvalTsv('path\tlabel\tpath\na\tspoof\tb\n', '/'))).toBe('ERR_EVAL_TSV');
    expect(details(() => parseEvalTsv('path\tlabel\na\tspoof\nb\tmaybe\n', '/'))).toEqual({ line: 3 });
    expect(details(() => parseEvalTsv('path\tlabel\na\tspoof\nb\treal\n', '/'))).toEqual({ line: 3 });
    expect(details(() => parseEvalTsv('path\tlabel\tg\na\tspoof\n', '/'))).toEqual({ line: 2, expected: 3, found: 2 });
    expect(details(() => parseEvalTsv('path\tlabel\n\tspoof\n', '/'))).toEqual({ line: 2 });
  });
});

describe('selectBreakdowns', () => {
  it('keeps columns with 2..50 levels and reports the others with their level count', () => {
    const rows = Array.from({ length: 60 }, (_, i) => `f${i}.wav\t${i % 2 ? 'spoof' : 'bonafide'}\tsame\t${i % 3}\tid${i}\t${i % 50}`);
    const l = parseEvalTsv(['path\tlabel\tconst\tthree\tunique\tfifty', ...rows].join('\n'), '/');
    const c = selectBreakdowns(l);
    expect(c.used).toEqual({ three: ['0', '1', '2'], fifty: Array.from({ length: 50 }, (_, i) => String(i)).sort() });
    expect(c.skipped).toEqual({ const: 1, unique: 60 });
  });
});

describe('subset and breakdown metrics', () => {
  const list = parseEvalTsv(
    ['path\tlabel\tgenerator\tcond', 'b1\tbonafide\t-\tclean', 'b2\tbonafide\t-\tnoisy', 's1\tspoof\tA\tclean', 's2\tspoof\tA\tnoisy', 's3\tspoof\tB\tclean'].join('\n'),
    '/',
  );
  const z = [-2, 1, 2, 3, 0];
  const scored: ScoredItem[] = list.items.map((item, i) => ({ item, z: z[i]!, pFake: 1 / (1 + Math.exp(-z[i]!)) }));
  const thresholds = [{ value: 0.5, source: 'test' }];

  it('overall metrics use every clip', () => {
    const m = subsetMetrics(scored, thresholds);
    if ('error' in m) throw new Error(m.error);
    expect(m.negatives).toBe(2);
    expect(m.positives).toBe(3);
    // bona -2, 1 ; spoof 2, 3, 0 -> pairs won: 2>-2,2>1,3>-2,3>1,0>-2 = 5 of 6
    expect(m.auroc).toBeCloseTo(5 / 6, 12);
    // at pFake 0.5 (z >= 0): bona 1 flagged (1/2), no spoof passed (z=0 counts as flagged)
    expect(m.actDcf[0]).toMatchObject({ threshold: 0.5, pMiss: 0.5, pFa: 0 });
  });
  it('a one-class level is compared with all clips of the other class; a mixed level with itself', () => {
    const b = breakdownMetrics(scored, selectBreakdowns(list), thresholds);
    expect(Object.keys(b)).toEqual(['generator', 'cond']);
    const genB = b['generator']!['B']!;
    expect(genB).toMatchObject({ comparedWith: 'all-negatives', clips: 1, negatives: 2, positives: 1 });
    // spoof B (z 0) vs bona -2, 1 -> AUROC 1/2
    expect('auroc' in genB && genB.auroc).toBe(0.5);
    expect(b['generator']!['-']).toMatchObject({ comparedWith: 'all-positives', clips: 2, negatives: 2, positives: 3 });
    const clean = b['cond']!['clean']!;
    expect(clean).toMatchObject({ comparedWith: 'level', clips: 3, negatives: 1, positives: 2 });
    // bona -2 vs spoof 2, 0: perfectly separated
    expect('eer' in clean && clean.eer).toBe(0);
  });
  it('a subset missing a class reports an error instead of throwing', () => {
    expect(subsetMetrics(scored.slice(0, 2), thresholds)).toEqual({ error: 'needs both classes', negatives: 2, positives: 0 });
  });
});

/**
 * Detection metrics for spoofing countermeasures. Convention everywhere: a HIGHER score means
 * MORE LIKELY SPOOF (fake); `bona` are scores of bona fide (real) items, `spoof` of spoofed ones.
 *
 * A threshold t classifies an item as spoof when score >= t. Error rates at t:
 *   pMiss(t) = share of bona fide items rejected (score >= t)       (ASVspoof 5: P_miss^cm)
 *   pFa(t)   = share of spoof items accepted as bona fide (score < t) (ASVspoof 5: P_fa^cm)
 */
import { DfdError } from '../../kernel/errors.js';

export interface OperatingPoint {
  threshold: number;
  pMiss: number;
  pFa: number;
}

/** Costs and prior of the ASVspoof 5 countermeasure DCF (evaluation plan: C_miss 1, C_fa 10, pi_spoof 0.05). */
export interface DcfParams {
  cMiss: number;
  cFa: number;
  pSpoof: number;
}

export const asvspoof5DcfParams: DcfParams = { cMiss: 1, cFa: 10, pSpoof: 0.05 };

function check(bona: readonly number[], spoof: readonly number[]): void {
  if (bona.length === 0 || spoof.length === 0) {
    throw new DfdError('ERR_BAD_REQUEST', 'metrics need at least one bona fide and one spoof score', {
      bona: bona.length,
      spoof: spoof.length,
    });
  }
  for (const v of bona) if (!Number.isFinite(v)) throw new DfdError('ERR_BAD_REQUEST', 'non-finite score');
  for (const v of spoof) if (!Number.isFinite(v)) throw new DfdError('ERR_BAD_REQUEST', 'non-finite score');
}

/**
 * Every distinct operating point, from "everything spoof" (t = lowest score: pMiss 1, pFa 0)
 * to "everything bona fide" (t = +Infinity: pMiss 0, pFa 1).
 */
export function operatingPoints(bona: readonly number[], spoof: readonly number[]): OperatingPoint[] {
  check(bona, spoof);
  const b = [...bona].sort((x, y) => x - y);
  const s = [...spoof].sort((x, y) => x - y);
  const thresholds = [...new Set([...b, ...s])].sort((x, y) => x - y);
  thresholds.push(Number.POSITIVE_INFINITY);
  const out: OperatingPoint[] = [];
  let ib = 0; // bona scores < t
  let is = 0; // spoof scores < t
  for (const t of thresholds) {
    while (ib < b.length && (b[ib] as number) < t) ib++;
    while (is < s.length && (s[is] as number) < t) is++;
    out.push({ threshold: t, pMiss: (b.length - ib) / b.length, pFa: is / s.length });
  }
  return out;
}

/**
 * Equal error rate: where the pMiss and pFa curves cross. Between the last operating point with
 * pMiss > pFa and the first with pMiss <= pFa the two rates are interpolated linearly (the ROC
 * segment joining them), so ties and tiny sets give the symmetric answer (all scores tied -> 0.5).
 * `threshold` is the first threshold with pMiss <= pFa.
 */
export function eer(bona: readonly number[], spoof: readonly number[]): { eer: number; threshold: number } {
  const pts = operatingPoints(bona, spoof);
  let prev = pts[0] as OperatingPoint;
  for (const p of pts) {
    const d1 = p.pMiss - p.pFa;
    if (d1 <= 0) {
      const d0 = prev.pMiss - prev.pFa;
      const lambda = d0 - d1 > 0 ? d0 / (d0 - d1) : 1;
      return { eer: prev.pMiss + lambda * (p.pMiss - prev.pMiss), threshold: p.threshold };
    }
    prev = p;
  }
  // unreachable: the last point (t = +Infinity) has pMiss 0 <= pFa 1
  return { eer: prev.pMiss, threshold: prev.threshold };
}

/** Area under the ROC curve = P(spoof score > bona score) + 0.5 P(tie) (Mann-Whitney). */
export function auc(bona: readonly number[], spoof: readonly number[]): number {
  check(bona, spoof);
  const b = [...bona].sort((x, y) => x - y);
  let wins = 0;
  for (const v of spoof) {
    // count bona < v and bona == v by binary search
    let lo = 0;
    let hi = b.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((b[mid] as number) < v) lo = mid + 1;
      else hi = mid;
    }
    let eq = lo;
    while (eq < b.length && b[eq] === v) eq++;
    wins += lo + 0.5 * (eq - lo);
  }
  return wins / (b.length * spoof.length);
}

/**
 * Normalised minimum detection cost (ASVspoof 5 countermeasure minDCF):
 *   DCF(t) = cMiss (1 - pSpoof) pMiss(t) + cFa pSpoof pFa(t),
 * divided by the cost of the best trivial system, min(cMiss (1 - pSpoof), cFa pSpoof),
 * minimised over thresholds. 0 is perfect; 1 is no better than always answering one class.
 */
export function minDcf(
  bona: readonly number[],
  spoof: readonly number[],
  params: DcfParams = asvspoof5DcfParams,
): { minDcf: number; threshold: number } {
  const norm = Math.min(params.cMiss * (1 - params.pSpoof), params.cFa * params.pSpoof);
  if (!(norm > 0)) throw new DfdError('ERR_BAD_REQUEST', 'DCF costs and prior must be positive');
  let best = Number.POSITIVE_INFINITY;
  let thr = Number.POSITIVE_INFINITY;
  for (const p of operatingPoints(bona, spoof)) {
    const c = (params.cMiss * (1 - params.pSpoof) * p.pMiss + params.cFa * params.pSpoof * p.pFa) / norm;
    if (c < best) {
      best = c;
      thr = p.threshold;
    }
  }
  return { minDcf: best, threshold: thr };
}

export interface DetectionSummary {
  bona: number;
  spoof: number;
  eer: number;
  eerThreshold: number;
  auc: number;
  minDcf: number;
  minDcfThreshold: number;
}

export function summarise(bona: readonly number[], spoof: readonly number[], params: DcfParams = asvspoof5DcfParams): DetectionSummary {
  const e = eer(bona, spoof);
  const d = minDcf(bona, spoof, params);
  return {
    bona: bona.length,
    spoof: spoof.length,
    eer: e.eer,
    eerThreshold: e.threshold,
    auc: auc(bona, spoof),
    minDcf: d.minDcf,
    minDcfThreshold: d.threshold,
  };
}

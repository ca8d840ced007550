/**
 * Metrics on CALIBRATED scores, complementing the ranking metrics of metrics.ts (EER, AUC,
 * minDCF), with the same conventions: higher = more likely spoof/fake; `bona` are scores of
 * bona fide (real) items, `spoof` of spoofed (fake) ones.
 *
 * Scores here are calibrated log-odds of spoof, z = a * logit + b from the manifest, so that
 * pFake = sigmoid(z). Cllr reads z as a log-likelihood ratio (natural log), which holds when
 * the calibration was fitted with balanced class weights; otherwise it includes the prior's
 * log-odds as a constant offset, and that shows up as calibration loss (Cllr - minCllr).
 *
 *   Cllr    = 1/2 [ mean_spoof log2(1 + e^-z) + mean_bona log2(1 + e^z) ]   (1 = uninformative)
 *   minCllr = Cllr after the optimal monotonic recalibration (pool-adjacent-violators)
 *   actDCF  = normalised DCF at a FIXED threshold on pFake (the one the service acts on),
 *             with the ASVspoof 5 costs by default (metrics.ts asvspoof5DcfParams).
 */
import { DfdError } from '../../kernel/errors.js';
import { asvspoof5DcfParams, type DcfParams } from './metrics.js';

function check(bona: readonly number[], spoof: readonly number[]): void {
  if (bona.length === 0 || spoof.length === 0) {
    throw new DfdError('ERR_BAD_REQUEST', 'metrics need at least one bona fide and one spoof score', { bona: bona.length, spoof: spoof.length });
  }
  for (const v of bona) if (Number.isNaN(v)) throw new DfdError('ERR_BAD_REQUEST', 'NaN score');
  for (const v of spoof) if (Number.isNaN(v)) throw new DfdError('ERR_BAD_REQUEST', 'NaN score');
}

/** log2(1 + e^x), stable for large |x| (and exact 0 / +Infinity at the infinities). */
export function log2OnePlusExp(x: number): number {
  if (x === Number.NEGATIVE_INFINITY) return 0;
  if (x > 30) return x / Math.LN2 + Math.log1p(Math.exp(-x)) / Math.LN2;
  return Math.log1p(Math.exp(x)) / Math.LN2;
}

/** Log-likelihood-ratio cost of calibrated log-odds `z` (natural log). */
export function cllr(bona: readonly number[], spoof: readonly number[]): number {
  check(bona, spoof);
  let s = 0;
  for (const z of spoof) s += log2OnePlusExp(-z);
  let b = 0;
  for (const z of bona) b += log2OnePlusExp(z);
  return 0.5 * (s / spoof.length + b / bona.length);
}

/**
 * Minimum Cllr: the scores are replaced by the LLRs of their optimal monotonic (isotonic)
 * recalibration, found with pool-adjacent-violators on the sorted scores (tied scores form
 * one block). Depends only on the ranking; Cllr - minCllr is the calibration loss.
 */
export function minCllr(bona: readonly number[], spoof: readonly number[]): number {
  check(bona, spoof);
  const items = [...bona.map((s) => ({ s, y: 0 })), ...spoof.map((s) => ({ s, y: 1 }))].sort((p, q) => p.s - q.s);
  // Blocks of tied scores first, then PAV merges violators (non-increasing spoof share).
  const blocks: { pos: number; n: number }[] = [];
  for (let i = 0; i < items.length; ) {
    let j = i;
    let pos = 0;
    while (j < items.length && items[j]!.s === items[i]!.s) pos += items[j++]!.y;
    blocks.push({ pos, n: j - i });
    i = j;
  }
  const stack: { pos: number; n: number }[] = [];
  for (const blk of blocks) {
    let cur = { ...blk };
    while (stack.length > 0 && stack[stack.length - 1]!.pos / stack[stack.length - 1]!.n >= cur.pos / cur.n) {
      const top = stack.pop()!;
      cur = { pos: cur.pos + top.pos, n: cur.n + top.n };
    }
    stack.push(cur);
  }
  const priorLogOdds = Math.log(spoof.length / bona.length);
  let sSum = 0;
  let bSum = 0;
  for (const blk of stack) {
    const p = blk.pos / blk.n;
    // LLR = posterior log-odds minus prior log-odds; p = 0 or 1 give -inf / +inf (cost 0 for the class present).
    const llr = p === 0 ? Number.NEGATIVE_INFINITY : p === 1 ? Number.POSITIVE_INFINITY : Math.log(p / (1 - p)) - priorLogOdds;
    const nSpoof = blk.pos;
    const nBona = blk.n - blk.pos;
    if (nSpoof > 0) sSum += nSpoof * log2OnePlusExp(-llr);
    if (nBona > 0) bSum += nBona * log2OnePlusExp(llr);
  }
  return 0.5 * (sSum / spoof.length + bSum / bona.length);
}

export interface ActualDcf {
  /** Decision threshold on pFake: pFake >= threshold is flagged as spoof/fake. */
  threshold: number;
  /** Share of bona fide items flagged (ASVspoof 5 P_miss^cm). */
  pMiss: number;
  /** Share of spoof items not flagged (ASVspoof 5 P_fa^cm). */
  pFa: number;
  /** Normalised DCF at that threshold (same normalisation as minDcf in metrics.ts). */
  actDcf: number;
}

/** Normalised DCF at a fixed threshold on pFake (`bona` / `spoof` are pFake values in 0..1). */
export function actDcf(bonaPFake: readonly number[], spoofPFake: readonly number[], threshold: number, params: DcfParams = asvspoof5DcfParams): ActualDcf {
  check(bonaPFake, spoofPFake);
  const norm = Math.min(params.cMiss * (1 - params.pSpoof), params.cFa * params.pSpoof);
  if (!(norm > 0)) throw new DfdError('ERR_BAD_REQUEST', 'DCF costs and prior must be positive');
  const pMiss = bonaPFake.filter((p) => p >= threshold).length / bonaPFake.length;
  const pFa = spoofPFake.filter((p) => p < threshold).length / spoofPFake.length;
  return { threshold, pMiss, pFa, actDcf: (params.cMiss * (1 - params.pSpoof) * pMiss + params.cFa * params.pSpoof * pFa) / norm };
}

/** The Bayes decision threshold on pFake for LLR-calibrated scores: sigmoid(ln(cMiss (1 - pSpoof) / (cFa pSpoof))). */
export function bayesThreshold(params: DcfParams = asvspoof5DcfParams): number {
  const t = Math.log((params.cMiss * (1 - params.pSpoof)) / (params.cFa * params.pSpoof));
  return 1 / (1 + Math.exp(-t));
}

/**
 * Detection metrics for the face evaluation: ROC AUC (ties count half) and EER.
 * Labels: 1 = fake (positive), 0 = real. Scores: higher means more likely fake.
 */

export interface Scored {
  score: number;
  label: 0 | 1;
}

/** Mann-Whitney AUC with average ranks for ties; NaN when a class is missing. */
export function rocAuc(items: readonly Scored[]): number {
  const pos = items.filter((i) => i.label === 1).length;
  const neg = items.length - pos;
  if (pos === 0 || neg === 0) return Number.NaN;
  const sorted = [...items].sort((a, b) => a.score - b.score);
  let rankSumPos = 0;
  let i = 0;
  while (i < sorted.length) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1]!.score === sorted[i]!.score) j++;
    const avgRank = (i + j + 2) / 2; // ranks are 1-based
    for (let k = i; k <= j; k++) if (sorted[k]!.label === 1) rankSumPos += avgRank;
    i = j + 1;
  }
  return (rankSumPos - (pos * (pos + 1)) / 2) / (pos * neg);
}

/**
 * Equal error rate: sweeps every distinct threshold (score >= t means fake) and returns the
 * mean of FPR and FNR where they are closest. NaN when a class is missing.
 */
export function eer(items: readonly Scored[]): { eer: number; threshold: number } {
  const pos = items.filter((i) => i.label === 1).length;
  const neg = items.length - pos;
  if (pos === 0 || neg === 0) return { eer: Number.NaN, threshold: Number.NaN };
  const sorted = [...items].sort((a, b) => b.score - a.score);
  // threshold above every score: nothing flagged
  let tp = 0;
  let fp = 0;
  let best = { gap: 1, eer: 0.5, threshold: Number.POSITIVE_INFINITY };
  const consider = (threshold: number): void => {
    const fpr = fp / neg;
    const fnr = 1 - tp / pos;
    const gap = Math.abs(fpr - fnr);
    if (gap < best.gap) best = { gap, eer: (fpr + fnr) / 2, threshold };
  };
  consider(Number.POSITIVE_INFINITY);
  let i = 0;
  while (i < sorted.length) {
    const t = sorted[i]!.score;
    while (i < sorted.length && sorted[i]!.score === t) {
      if (sorted[i]!.label === 1) tp++;
      else fp++;
      i++;
    }
    consider(t);
  }
  return { eer: best.eer, threshold: best.threshold };
}

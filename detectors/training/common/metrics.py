"""Detection metrics shared by the training recipes (higher score = more likely spoof / fake)."""
from __future__ import annotations

import numpy as np


def eer(scores_bona: np.ndarray, scores_spoof: np.ndarray) -> float:
    """Equal error rate, same definition as detectors/eval/metrics.ts: spoof iff score >= t, linear
    interpolation between the operating points around the pMiss/pFa crossing."""
    b = np.sort(np.asarray(scores_bona, dtype=np.float64))
    s = np.sort(np.asarray(scores_spoof, dtype=np.float64))
    if len(b) == 0 or len(s) == 0:
        raise ValueError("eer needs both classes")
    th = np.concatenate([np.unique(np.concatenate([b, s])), [np.inf]])
    p_miss = 1.0 - np.searchsorted(b, th, side="left") / len(b)
    p_fa = np.searchsorted(s, th, side="left") / len(s)
    d = p_miss - p_fa
    k = int(np.argmax(d <= 0))
    if k == 0:
        return float(p_miss[0])
    d0, d1 = d[k - 1], d[k]
    lam = d0 / (d0 - d1) if d0 - d1 > 0 else 1.0
    return float(p_miss[k - 1] + lam * (p_miss[k] - p_miss[k - 1]))


def group_eers(scores: np.ndarray, labels: np.ndarray, groups: list[str]) -> dict[str, float]:
    """EER per held-out group that has both classes."""
    out: dict[str, float] = {}
    g = np.array(groups)
    for name in sorted(set(groups)):
        m = g == name
        lab = labels[m]
        if (lab == 0).any() and (lab == 1).any():
            out[name] = eer(scores[m][lab == 0], scores[m][lab == 1])
    return out


def auroc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (labels 1 = spoof/fake), ties counted half, as detectors/eval/metrics.ts; NaN when a
    class is missing."""
    y = np.asarray(labels)
    s = np.asarray(scores, dtype=np.float64)
    pos, neg = s[y == 1], s[y == 0]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    from scipy.stats import rankdata

    r = rankdata(np.concatenate([pos, neg]))
    return float((r[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))

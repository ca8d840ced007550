"""Shortcut baseline: a logistic regression on trivial features, validated leave-source-out like the model.

Features: duration, RMS level, 95 % spectral roll-off, leading and trailing silence, DC offset, energy above 4 kHz.
Computed twice: on the raw clips as the pages publish them (what a careless split would let a model learn) and on
what the model sees (front end + each evaluation channel). If the second is far from chance, the split or the
front end leaks and the model's number means little.
"""
from __future__ import annotations

import os

import numpy as np

from common.metrics import group_eers

SR = 16000
FEATURES = ("duration", "rmsDb", "rolloffHz", "leadingSilence", "trailingSilence", "dcOffset", "highBandDb")


def page_features(x: np.ndarray, lead: float, trail: float) -> list[float]:
    """FEATURES in order, given the leading and trailing silence (seconds) found by the caller."""
    seg = x[: SR * 8].astype(np.float64)
    spec = np.abs(np.fft.rfft(seg * np.hanning(len(seg)))) ** 2
    freqs = np.fft.rfftfreq(len(seg), 1 / SR)
    tot = spec.sum() + 1e-12
    roll = float(freqs[int(np.searchsorted(np.cumsum(spec) / tot, 0.95))])
    return [len(x) / SR, float(10 * np.log10((x.astype(np.float64) ** 2).mean() + 1e-12)), roll, lead, trail,
            float(x.mean()), float(10 * np.log10(spec[freqs >= 4000].sum() / tot + 1e-12))]


def features(x: np.ndarray) -> list[float]:
    """The features of a processed clip; silence from a 20 ms energy gate 35 dB under the loudest frame."""
    n = len(x) // 320
    fr = x[: n * 320].reshape(n, 320).astype(np.float64) if n else np.zeros((1, 320))
    e = 10 * np.log10((fr ** 2).mean(axis=1) + 1e-12)
    act = np.where(e > e.max() - 35)[0]
    lead = act[0] * 0.02 if len(act) else len(x) / SR
    trail = (n - 1 - act[-1]) * 0.02 if len(act) else len(x) / SR
    return page_features(x, float(lead), float(trail))


def lso_logistic(feats: np.ndarray, labels: np.ndarray, folds: np.ndarray, groups: list[str]) -> dict:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    scores = np.zeros(len(labels))
    for f in sorted(set(folds.tolist())):
        tr, te = folds != f, folds == f
        m = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000, class_weight="balanced"))
        m.fit(feats[tr], labels[tr])
        scores[te] = m.decision_function(feats[te])
    per = group_eers(scores, labels, groups)
    return {"meanGroupEer": float(np.mean(list(per.values()))), "perGroup": per}


def shortcut_baseline(cache, data: str) -> dict:
    """`cache` is train.Cache; evaluation channels are read from DIR/eval-channels.npz."""
    from channel import CHANNELS
    from train import Variants

    labels = cache.labels
    folds = np.array([c["fold"] for c in cache.clips])
    groups = [c["group"] for c in cache.clips]
    out = {"raw clips": lso_logistic(np.array([[c["raw"][k] for k in FEATURES] for c in cache.clips]),
                                     labels, folds, groups)}
    ev = Variants(os.path.join(data, "eval-channels.npz"))
    for k, ch in enumerate(CHANNELS):
        feats = np.array([features(ev.get(i, k)) for i in range(len(cache.clips))])
        out[f"front end + {ch}"] = lso_logistic(feats, labels, folds, groups)
    return out

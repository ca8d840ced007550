"""Leave-source-out protocol of the `voice-whisper` stage with extra spoof rows added to training: the shared part
of the studies that ask "do spoofs made here (not from the demo pages) help the stage generalise?"
(`vocoded_study.py`: WORLD copies of the bona fide clips; `kokoro_study.py`: Kokoro-82M reading English).

Each fold's head is the shipped one (same rows, same C as `whisper_stage.py cv` chose for that fold, classes
balanced) plus the extra rows of that fold's training side, each weighted `w` relative to a real spoof row; the
held-out pages are scored on the 4 fixed evaluation channels exactly as the shipped table. Weight 0 reproduces the
shipped head. Extra rows are never scored.
"""
from __future__ import annotations

import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from channel import CHANNELS  # noqa: E402
from train import Cache  # noqa: E402
from whisper_stage import FEATURES, load_features, lso_summary  # noqa: E402

# An extra row whose fold is ANY_FOLD is on the training side of every fold (material from outside the pages).
ANY_FOLD = -1


def shipped_c(data: str) -> dict[int, float]:
    """The C that `whisper_stage.py cv` chose for each fold (DIR/cv/whisper-stage/report.json)."""
    path = os.path.join(data, "cv", "whisper-stage", "report.json")
    if not os.path.exists(path):
        sys.exit(f"extra_spoofs: {path} is missing: run `whisper_stage.py cv --data {data}` first")
    chosen = json.load(open(path))["chosen"]
    return {int(k): float(v["C"]) for k, v in chosen.items()}


def fit_with_extra(x: np.ndarray, y: np.ndarray, extra: np.ndarray, weight: float, c: float):
    """The shipped stage's head (standardised features, logistic regression with C, classes balanced) on rows x, y
    plus `extra` spoof rows, each weighted `weight` relative to a real row (none when weight is 0)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    sw = np.ones(len(y))
    if weight > 0 and len(extra):
        x = np.concatenate([x, extra])
        y = np.concatenate([y, np.ones(len(extra), dtype=y.dtype)])
        sw = np.concatenate([sw, np.full(len(extra), weight)])
    # class-balanced as the shipped head: each class's total weight equal
    for cl in (0, 1):
        sw[y == cl] *= len(y) / (2 * sw[y == cl].sum())
    m = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=5000))
    return m.fit(x, y, logisticregression__sample_weight=sw)


def lso_with_extra(data: str, extra: np.ndarray, extra_fold: np.ndarray, weights: list[float]) -> dict[float, dict]:
    """extra: [rows, variants, FEATURES] spoof features; extra_fold: [rows] fold of each row's source clip (it is
    left out when that fold is held out) or ANY_FOLD. Returns, per weight, `whisper_stage.lso_summary` of the
    out-of-fold scores."""
    c = Cache(data)
    lab = c.labels
    folds = np.array([m["fold"] for m in c.clips])
    tv, ev = load_features(data)
    cs = shipped_c(data)
    if extra.ndim != 3 or extra.shape[2] != FEATURES or len(extra_fold) != len(extra):
        raise ValueError(f"extra rows must be [rows, variants, {FEATURES}] with one fold each, got {extra.shape}")
    out = {}
    for w in weights:
        scores = np.zeros((len(lab), len(CHANNELS)))
        for k in range(c.folds):
            mask = folds != k
            m = fit_with_extra(tv[mask].reshape(-1, FEATURES), np.repeat(lab[mask], tv.shape[1]),
                               extra[extra_fold != k].reshape(-1, FEATURES), w, cs[k])
            for ch in range(len(CHANNELS)):
                scores[folds == k, ch] = m.decision_function(ev[folds == k, ch])
        out[w] = lso_summary(c, scores)
    return out

"""Which linear head on the frozen Whisper features (whisper_stage.py) generalises best to unseen pages?

Every head is linear in the stage's 4096 features, so any of them exports to the same ONNX graph as the shipped
logistic head (a different coefficient vector). Heads compared, each with the same leave-source-out folds,
training variants and held-out channel presets as `whisper_stage.py cv`, C chosen per outer fold by inner
leave-one-fold-out CV on the training folds (mean inner EER over the 4 channels), as the recipe does:

  logistic           the shipped head: standardised features, class-balanced logistic regression
  page-balanced      the same, every (page, class) cell weighted equally (pages with many clips no longer dominate)
  nap-page-K         nuisance attribute projection: the top K directions of between-page scatter within each
                     class (page means of each class minus the class's mean over pages, training folds only) are
                     projected out before the logistic head (what separates demo pages, not classes)
  nap-chan-K         the top K directions of within-clip scatter over the 6 random channel variants projected out
                     (what the channel changes, not the speech)
  pairs-W            the logistic head's rows plus, for every same-utterance pair of a page (manifest pair_group:
                     a real recording and a fake made from it), the difference of their features (fake minus real,
                     label 1, and its negation, label 0) without an intercept, weighted W times a clip row: a
                     ranking term that only sees what the generator changed (speaker, text and page cancel)

  python detectors/training/voice/head_study.py --data DIR [--heads logistic,nap-page-8,...] [--out study.json]

DIR is the SpecNet recipe's cache with whisper-stage-feats.npz (`whisper_stage.py features`). Prints the mean
LSO EER per channel for each head and writes the per-page tables to --out.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # common/
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from channel import CHANNELS  # noqa: E402
from common.metrics import eer  # noqa: E402
from train import Cache, lso_table  # noqa: E402
from whisper_stage import C_GRID, load_features  # noqa: E402


def log(msg: str) -> None:
    print(f"[head_study {time.strftime('%H:%M:%S')}] {msg}", flush=True)


class LinearHead:
    """Standardise, optionally project out nuisance directions, class-balanced (or page-balanced) logistic."""

    def __init__(self, kind: str, c: float) -> None:
        self.kind, self.c = kind, c

    def fit(self, tv: np.ndarray, labels: np.ndarray, groups: np.ndarray, pairs: np.ndarray) -> "LinearHead":
        from sklearn.linear_model import LogisticRegression

        n, v, d = tv.shape
        x = tv.reshape(-1, d).astype(np.float64)
        self.mean = x.mean(axis=0)
        self.scale = x.std(axis=0) + 1e-8
        z = ((x - self.mean) / self.scale).reshape(n, v, d)
        y = np.repeat(labels, v)
        self.proj = None
        if self.kind.startswith("nap-page-"):
            k = int(self.kind.rsplit("-", 1)[1])
            clip_means = z.mean(axis=1)
            rows = []
            for cls in (0, 1):
                cells = [clip_means[(groups == g) & (labels == cls)].mean(axis=0)
                         for g in np.unique(groups[labels == cls])]
                cells = np.stack(cells)
                rows.append(cells - cells.mean(axis=0))
            self.proj = np.linalg.svd(np.concatenate(rows), full_matrices=False)[2][:k].T
        elif self.kind.startswith("nap-chan-"):
            k = int(self.kind.rsplit("-", 1)[1])
            within = (z - z.mean(axis=1, keepdims=True)).reshape(-1, d)
            # top-k right singular vectors of the within-clip scatter (a random subset keeps the SVD small)
            rng = np.random.default_rng(0)
            sub = within[rng.choice(len(within), size=min(len(within), 3000), replace=False)]
            self.proj = np.linalg.svd(sub, full_matrices=False)[2][:k].T
        zz = self.project(z.reshape(-1, d))
        weight = None
        if self.kind == "page-balanced":
            g = np.repeat(groups, v)
            weight = np.zeros(len(y))
            cells = {(gg, yy) for gg, yy in zip(g, y)}
            for gg, yy in cells:
                m = (g == gg) & (y == yy)
                weight[m] = 1.0 / m.sum()
            for yy in (0, 1):  # each class sums to the same total
                weight[y == yy] *= len(y) / 2 / weight[y == yy].sum()
        if self.kind.startswith("pairs-"):
            # rows [features, intercept column]; pair differences have 0 in the intercept column
            w_pair = float(self.kind.split("-", 1)[1])
            cm = zz.reshape(n, v, d).mean(axis=1)
            diffs = []
            for pg in np.unique(pairs[pairs != ""]):
                m = pairs == pg
                for i in np.where(m & (labels == 1))[0]:
                    for j in np.where(m & (labels == 0))[0]:
                        diffs.append(cm[i] - cm[j])
            diff = np.array(diffs).reshape(-1, d)
            big = 10.0  # the intercept column's value: its penalty is 1/100 of a feature's
            xa = np.concatenate([np.hstack([zz, np.full((len(zz), 1), big)]),
                                 np.hstack([diff, np.zeros((len(diff), 1))]), np.hstack([-diff, np.zeros((len(diff), 1))])])
            ya = np.concatenate([y, np.ones(len(diff)), np.zeros(len(diff))])
            cw = np.where(y == 1, len(y) / 2 / max(1, (y == 1).sum()), len(y) / 2 / max(1, (y == 0).sum()))
            wa = np.concatenate([cw, np.full(2 * len(diff), w_pair * v)])
            lr = LogisticRegression(C=self.c, fit_intercept=False, max_iter=5000).fit(xa, ya, sample_weight=wa)
            self.coef, self.bias = lr.coef_[0][:d], float(lr.coef_[0][d] * big)
            self.npairs = len(diff)
            return self
        self.lr = LogisticRegression(C=self.c, class_weight=None if weight is not None else "balanced", max_iter=5000)
        self.lr.fit(zz, y, sample_weight=weight)
        self.coef, self.bias = self.lr.coef_[0], float(self.lr.intercept_[0])
        return self

    def project(self, z: np.ndarray) -> np.ndarray:
        return z if self.proj is None else z - (z @ self.proj) @ self.proj.T

    def score(self, x: np.ndarray) -> np.ndarray:
        return self.project((x.astype(np.float64) - self.mean) / self.scale) @ self.coef + self.bias


def run_head(kind: str, c: Cache, tv: np.ndarray, ev: np.ndarray) -> dict:
    lab = c.labels
    folds = np.array([m["fold"] for m in c.clips])
    groups = np.array([m["group"] for m in c.clips])
    pairs = np.array([f"{m['group']}/{m['pairGroup']}" if m.get("pairGroup") not in (None, "", "-") else "" for m in c.clips])
    scores = np.zeros((len(lab), len(CHANNELS)))
    chosen = {}
    for k in range(c.folds):
        tf = [f for f in range(c.folds) if f != k]
        table = {}
        for cc in C_GRID:
            inner = []
            for j in tf:
                tr = np.isin(folds, [f for f in tf if f != j])
                h = LinearHead(kind, cc).fit(tv[tr], lab[tr], groups[tr], pairs[tr])
                val = folds == j
                for ch in range(len(CHANNELS)):
                    s = h.score(ev[val, ch])
                    inner.append(eer(s[lab[val] == 0], s[lab[val] == 1]))
            table[cc] = float(np.mean(inner))
        best = min(table, key=lambda x: (round(table[x], 6), x))
        tr = folds != k
        h = LinearHead(kind, best).fit(tv[tr], lab[tr], groups[tr], pairs[tr])
        for ch in range(len(CHANNELS)):
            scores[folds == k, ch] = h.score(ev[folds == k, ch])
        chosen[str(k)] = {"C": best, "innerEer": {str(x): round(v, 4) for x, v in table.items()}}
        log(f"{kind} fold {k}: C={best} (inner EER {table[best]:.3f})")
    tab = lso_table(c, list(range(len(lab))), {ch: scores[:, i] for i, ch in enumerate(CHANNELS)})
    return {"chosen": chosen, "table": tab}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--heads", default="logistic,page-balanced,nap-page-4,nap-page-16,nap-chan-4,nap-chan-16")
    ap.add_argument("--out")
    args = ap.parse_args()
    c = Cache(args.data)
    tv, ev = load_features(args.data)
    out = {}
    for kind in args.heads.split(","):
        ok = kind in ("logistic", "page-balanced") or (kind.rsplit("-", 1)[0] in ("nap-page", "nap-chan")
                                                      and kind.rsplit("-", 1)[1].isdigit())
        if kind.startswith("pairs-"):
            try:
                ok = float(kind.split("-", 1)[1]) > 0
            except ValueError:
                ok = False
        if not ok:
            ap.error(f"unknown head {kind}")
        t0 = time.time()
        r = run_head(kind, c, tv, ev)
        out[kind] = r
        log(f"{kind}: mean LSO EER " + " / ".join(f"{ch} {r['table'][ch]['meanGroupEer']:.3f}" for ch in CHANNELS)
            + f" ({time.time() - t0:.0f} s)")
        if args.out:
            with open(args.out, "w") as f:
                json.dump(out, f)


if __name__ == "__main__":
    main()

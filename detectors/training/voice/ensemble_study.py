"""Leave-source-out EER of SpecNet CV runs that differ only in their seed, each alone and averaged (the mean of
their raw scores per clip), as is and behind a sender's noise suppressor.

    python ensemble_study.py --data detectors/training/.cache/voice2ns \
        --runs specnet-oc specnet-oc-seed2 specnet-oc-seed3 --step 1200 \
        --suppressed-data detectors/training/.cache/voice2nse

As is: the scores each run's `train.py cv` stored for its held-out fold (`DIR/cv/<run>/fold<k>.json`). Behind the
suppressor: each fold model (`fold<k>-step<step>.onnx`) scores `--suppressed-data`'s evaluation presets (the same
clips and folds, `prep --variants 0 --eval-ns L`), as `train.py report --suppressed-data` does for one run. Prints
one JSON object: per run and for the mean, the mean over pages of the per-page EER per channel and its four-channel
mean, and the paired per-page difference of the four-channel mean against the first run (mean and standard error
over pages). The study and its rule: detectors/training/voice/README.md.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from channel import CHANNELS  # noqa: E402
from train import Cache, lso_table, score_run, stored_scores, suppressed_presets  # noqa: E402

Scores = dict[str, np.ndarray]


def summary(c: Cache, idx: list[int], scores: Scores, base: dict | None) -> dict:
    tab = lso_table(c, idx, scores)
    mean = {ch: tab[ch]["meanGroupEer"] for ch in CHANNELS}
    out: dict = {"meanLsoEer": mean, "fourChannelMean": float(np.mean(list(mean.values())))}
    per_group = {g: float(np.mean([tab[ch]["perGroup"][g] for ch in CHANNELS])) for g in tab[CHANNELS[0]]["perGroup"]}
    out["perGroup"] = per_group
    if base is not None:
        d = np.array([per_group[g] - base["perGroup"][g] for g in per_group])
        out["againstFirst"] = {"mean": float(d.mean()), "se": float(d.std(ddof=1) / np.sqrt(len(d))), "pages": len(d)}
    return out


def side(c: Cache, runs: list[str], idx: list[int], per_run: list[Scores]) -> dict:
    res: dict = {}
    base = None
    for run, sc in zip(runs, per_run):
        res[run] = summary(c, idx, sc, base)
        base = base or res[run]
    mean = {ch: np.mean([sc[ch] for sc in per_run], axis=0) for ch in CHANNELS}
    res["mean"] = summary(c, idx, mean, base)
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="the training cache holding cv/<run>/")
    ap.add_argument("--runs", nargs="+", required=True, help="CV run names; the first is the reference")
    ap.add_argument("--step", type=int, default=1200)
    ap.add_argument("--suppressed-data", default="", help="the same clips' presets behind a noise suppressor")
    a = ap.parse_args()
    if len(a.runs) < 2 or len(set(a.runs)) != len(a.runs) or "mean" in a.runs:
        raise SystemExit("give at least two different runs (none named 'mean')")
    c = Cache(a.data)
    got = [stored_scores(a.data, c.folds, r, a.step) for r in a.runs]
    idx = got[0][0]
    if any(g[0] != idx for g in got):
        raise SystemExit("the runs do not hold the same clips in the same folds")
    as_is = [{ch: np.array(v) for ch, v in g[1].items()} for g in got]
    out: dict = {"data": a.data, "runs": a.runs, "step": a.step, "asIs": side(c, a.runs, idx, as_is)}
    if a.suppressed_data:
        ev, level = suppressed_presets(c, a.suppressed_data)
        sup = [score_run(c, ev, os.path.join(a.data, "cv", r), a.step) for r in a.runs]
        if any(s[0] != sup[0][0] for s in sup):
            raise SystemExit("fold models scored different clips")
        out["suppressed"] = {"evalNs": level,
                             **side(c, a.runs, sup[0][0], [{ch: np.array(v) for ch, v in s[1].items()} for s in sup])}
    for name in ("asIs", "suppressed"):
        if name in out:
            print(f"{name}: " + ", ".join(f"{r} {v['fourChannelMean']:.3f}" for r, v in out[name].items()
                                          if isinstance(v, dict)), file=sys.stderr)
    print(json.dumps(out))


if __name__ == "__main__":
    main()

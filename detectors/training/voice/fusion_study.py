"""Would a learned fusion of the two voice stages beat either alone? Clip-level, leave-source-out, nothing new trained.

Reads the out-of-fold clip scores both recipes already wrote on the same cache, pages and folds:
  DIR/cv/report.json                (train.py report: chosen SpecNet run, `chosen.oof` {clipIdx, scores[channel]})
  DIR/cv/whisper-stage/report.json  (whisper_stage.py cv: `oofScores`, clip x channel, in cache order)
Every clip's score there comes from a model that never saw its page. For each held-out fold k the fusion (a logistic
regression on the two scores, classes weighted equally) is fitted on the other folds' out-of-fold scores and applied
to fold k, so each page is judged by a fusion fitted without it. Reported per channel: mean EER over held-out pages
(pages with both classes) for SpecNet alone, the stage alone, the learned fusion, and "the more confident stage"
(each stage Platt-calibrated on the other folds, the one further from 0.5 decides); the Pearson correlation of the
two scores; and the fusion's coefficients fitted on all folds (raw score units).

  detectors/training/.venv/bin/python detectors/training/voice/fusion_study.py --data DIR [--out fusion.json]
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np
from sklearn.linear_model import LogisticRegression

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # common/
from common.metrics import group_eers  # noqa: E402

CHANNELS = ("clean", "opus24", "opus12loss", "g711")


def balanced_lr(x: np.ndarray, y: np.ndarray) -> LogisticRegression:
    return LogisticRegression(C=1e6, max_iter=1000, class_weight="balanced").fit(x, y)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, help="the SpecNet recipe's cache (clips.json, cv/)")
    ap.add_argument("--out", help="also write the table as JSON here")
    args = ap.parse_args()
    clips = json.load(open(os.path.join(args.data, "clips.json")))["clips"]
    spec = json.load(open(os.path.join(args.data, "cv", "report.json")))["chosen"]
    stage = json.load(open(os.path.join(args.data, "cv", "whisper-stage", "report.json")))
    idx = np.array(spec["oof"]["clipIdx"])
    stage_scores = np.array(stage["oofScores"])
    if stage_scores.shape != (len(clips), len(CHANNELS)):
        sys.exit(f"whisper-stage oofScores has shape {stage_scores.shape}, expected ({len(clips)}, {len(CHANNELS)})")
    lab = np.array([clips[i]["label"] for i in idx])
    groups = [clips[i]["group"] for i in idx]
    folds = np.array([clips[i]["fold"] for i in idx])
    out: dict = {"clips": int(len(idx)), "specnet": spec["arch"], "steps": spec["steps"], "channels": {}}
    for ci, ch in enumerate(CHANNELS):
        s1 = np.array(spec["oof"]["scores"][ch])
        s2 = stage_scores[idx, ci]
        x = np.stack([s1, s2], 1)
        fused = np.zeros(len(lab))
        confident = np.zeros(len(lab))
        for k in sorted(set(folds.tolist())):
            tr = folds != k
            fused[~tr] = balanced_lr(x[tr], lab[tr]).decision_function(x[~tr])
            z1 = balanced_lr(s1[tr, None], lab[tr]).decision_function(s1[~tr, None])
            z2 = balanced_lr(s2[tr, None], lab[tr]).decision_function(s2[~tr, None])
            confident[~tr] = np.where(np.abs(z1) >= np.abs(z2), z1, z2)
        everything = balanced_lr(x, lab)
        row = {name: float(np.mean(list(group_eers(s, lab, groups).values())))
               for name, s in (("specnet", s1), ("stage", s2), ("fusion", fused), ("moreConfident", confident))}
        row["correlation"] = float(np.corrcoef(s1, s2)[0, 1])
        row["fusionOnAllFolds"] = {"specnet": float(everything.coef_[0, 0]), "stage": float(everything.coef_[0, 1]),
                                   "bias": float(everything.intercept_[0])}
        out["channels"][ch] = row
    print("| channel | SpecNet | voice-whisper | learned fusion | more confident stage | correlation |")
    print("| --- | --- | --- | --- | --- | --- |")
    for ch, r in out["channels"].items():
        print(f"| {ch} | {r['specnet']:.3f} | {r['stage']:.3f} | {r['fusion']:.3f} | {r['moreConfident']:.3f} | {r['correlation']:.2f} |")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()

"""Scores the leave-source-out fold models of one CV run on the held-out channel presets of another data cache with
the same clips and folds, so two recipes that differ in their channel are compared on one channel set.

    python cross_channel.py --models detectors/training/.cache/voice2/cv/specnet-oc --step 900 \
        --data detectors/training/.cache/voice3

Each clip is scored by the fold model that never saw its page (`fold<k>-step<step>.onnx`, exported by
`train.py cv`), through `--data`'s `eval-channels.npz`; prints the mean over pages of the per-page EER and the
pooled EER for each channel (the numbers `train.py report` gives for its own models), as JSON. With `--report` (the
run's `cv/report.json`) it also gives each class's mean pFake per channel through that run's out-of-fold calibration
(wideband, telephone for g711): the level a verdict threshold sees, which EER, a ranking, does not show. With
`--against` another run's fold models, it adds the paired per-page difference (mean and standard error over pages).
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from channel import CHANNELS  # noqa: E402
from train import Cache, Variants, score_run  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", required=True, help="a CV run folder holding fold<k>-step<step>.onnx")
    ap.add_argument("--step", type=int, required=True)
    ap.add_argument("--data", required=True, help="the data cache whose eval-channels.npz is scored")
    ap.add_argument("--report", help="the CV run's report.json: adds mean calibrated pFake per class and channel")
    ap.add_argument("--against", help=("another CV run folder (fold models at the same --step): adds the paired "
                                       "per-page difference of the four-channel mean EER, this run minus that one"))
    a = ap.parse_args()
    c = Cache(a.data)
    ev = Variants(os.path.join(a.data, "eval-channels.npz"))
    idx, scores, tab = score_run(c, ev, a.models, a.step)
    out = {"models": a.models, "step": a.step, "data": a.data, "evalChannels": ev.meta,
           "meanGroupEer": {ch: round(t["meanGroupEer"], 3) for ch, t in tab.items()},
           "pooledEer": {ch: round(t["pooledEer"], 3) for ch, t in tab.items()}}
    if a.against:
        other = score_run(c, ev, a.against, a.step)[2]
        pages = sorted(tab[CHANNELS[0]]["perGroup"])
        d = np.array([np.mean([tab[ch]["perGroup"][g] - other[ch]["perGroup"][g] for ch in CHANNELS]) for g in pages])
        out["against"] = {"models": a.against, "pages": len(d), "meanDiff": round(float(d.mean()), 4),
                          "standardError": round(float(d.std(ddof=1) / np.sqrt(len(d))), 4),
                          "pagesBetter": int((d < 0).sum()), "pagesWorse": int((d > 0).sum())}
    if a.report:
        cal = json.load(open(a.report))["chosen"]["calibration"]
        lab = c.labels[idx]
        out["meanPFake"] = {}
        for ch, v in scores.items():
            ca, cb = cal["telephone" if ch == "g711" else "wideband"]
            p = 1 / (1 + np.exp(-(ca * np.array(v) + cb)))
            out["meanPFake"][ch] = {"bonafide": round(float(p[lab == 0].mean()), 3),
                                    "spoof": round(float(p[lab == 1].mean()), 3)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()

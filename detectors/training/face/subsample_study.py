"""Study: what scoring only some frames of each face window costs in accuracy. The service cuts 5-frame windows;
a heavier face-forgery model can score K of them (the media worker rotates which K from one window to the next, so
a stream's frames are all covered over 5 windows). Reads one CV run's held-out frame logits and reports, per channel
preset and K = 1..5:

- window AUROC: each window's score is the mean logit of its K scored frames (every held-out window, pooled);
- mean leave-method-out clip AUROC, the metric `forgery.py report` chooses on (clip score = mean of its windows).

    python detectors/training/face/subsample_study.py --data DATA --run RUN_TAG --step 500

DATA is forgery.py's prep cache with the run's folds under DATA/cv/<tag>/. Training folds only: no shared eval.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from common.metrics import auroc  # noqa: E402
from cv_frames import CvCache  # noqa: E402

WINDOW = 5


def scored_rows(window_seq: int, frames: int, k: int) -> list[int]:
    """The frames of window `window_seq` scored when K of WINDOW are: K consecutive positions (mod the window),
    starting K positions further on each window. Mirrors pipeline/inference/frameSubsample.ts."""
    if k >= frames:
        return list(range(frames))
    start = (window_seq * k) % frames
    return sorted((start + j) % frames for j in range(k))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--run", required=True)
    ap.add_argument("--step", type=int, required=True)
    args = ap.parse_args()
    cache = CvCache.open(args.data)
    clips, clip_of, y, methods = cache.clips, cache.clip_of, cache.y, cache.methods
    out: dict = {"run": f"{args.run}@{args.step}"}
    for ch in ("clean", "call"):
        fr = cache.frames(args.run, args.step, ch)
        out[ch] = {}
        for k in range(1, WINDOW + 1):
            win_y, win_s, clip_s = [], [], np.full(len(clips), np.nan)
            for i in range(len(clips)):
                z = fr[clip_of == i]
                means = []
                for seq, s in enumerate(range(0, len(z), WINDOW)):
                    w = z[s:s + WINDOW]
                    if len(w) < 2 and len(z) >= 2:
                        continue
                    means.append(float(np.mean(w[scored_rows(seq, len(w), k)])))
                if means:
                    win_y += [y[i]] * len(means)
                    win_s += means
                    clip_s[i] = float(np.mean(means))
            per_method = {}
            for m in methods:
                sel = np.array([(c["method"] == m) or not c["label"] for c in clips]) & np.isfinite(clip_s)
                per_method[m] = auroc(y[sel], clip_s[sel])
            out[ch][k] = {"window_auroc": round(auroc(np.array(win_y), np.array(win_s)), 4),
                          "mean_lmo_auroc": round(float(np.nanmean(list(per_method.values()))), 4),
                          "windows": len(win_s)}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

"""Study: two face-forgery CV runs combined. Per held-out frame, the sum of each run's logits standardised over all
held-out frames (no labels used), then the same leave-method-out metric as `forgery.py report` (clip score = mean
frame logit; per method, its fakes against every held-out real; mean over methods).

    python detectors/training/face/ensemble_study.py --data DATA --a RUN_TAG --a-step 1000 --b RUN_TAG

DATA is forgery.py's prep cache with both runs' folds under DATA/cv/<tag>/. Prints, per channel preset, run B alone
and the combination at each of B's checkpoints.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from cv_frames import CvCache, leave_method_out  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--a", required=True)
    ap.add_argument("--a-step", type=int, required=True)
    ap.add_argument("--b", required=True)
    args = ap.parse_args()
    cache = CvCache.open(args.data)

    def lmo(fr: np.ndarray) -> float:
        return leave_method_out(cache.clips, cache.clip_of, fr)["mean_lmo_auroc"]

    def z(v: np.ndarray) -> np.ndarray:
        return (v - np.nanmean(v)) / np.nanstd(v)

    steps = [s for s in cache.steps(args.b) if s > 0]
    out: dict = {"a": f"{args.a}@{args.a_step}", "b": args.b}
    for ch in ("clean", "call"):
        a = cache.frames(args.a, args.a_step, ch)
        out[ch] = {"a": lmo(a), "b": {}, "a+b": {}}
        for s in steps:
            b = cache.frames(args.b, s, ch)
            out[ch]["b"][s] = round(lmo(b), 4)
            out[ch]["a+b"][s] = round(lmo(z(a) + z(b)), 4)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

"""Study: one configuration trained with several seeds, their frame logits averaged (what one exported graph of the
networks side by side would compute), against each seed alone, on the same held-out frames.

    python seed_ensemble_study.py --run TAG --step 500 DATA_SEED0 DATA_SEED1 [...] [--out FILE]

Each DATA is a `forgery.py prep` cache with that seed's CV run under DATA/cv/<TAG>/ (`forgery.py cv ... --seed S`
into a copy whose crops are links to the first) and its `forgery.py report`; every cache must hold the same clips
and held-out frames. Metric as `forgery.py report`: clip score = mean frame logit, per held-out method its fakes
against every held-out real clip (AUROC), mean over methods, and per kind of fake (`crops_data.METHOD_KINDS`). Each
seed's own numbers are recomputed here and checked against its report. Training folds only, never the shared eval.
Rule fixed before the runs: detectors/training/face/README.md, "Seed ensemble".
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from cv_frames import CvCache, leave_method_out  # noqa: E402

PRESETS = ("clean", "call")


def lmo(cache: CvCache, frames: np.ndarray) -> dict:
    """Mean leave-method-out clip AUROC, its mean per kind of fake, and per method (cv_frames.leave_method_out)."""
    r = leave_method_out(cache.clips, cache.clip_of, frames)
    return {"mean": r["mean_lmo_auroc"], "kinds": r["per_kind"],
            "perMethod": {m: round(float(v), 4) for m, v in r["per_method"].items()}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", required=True, help="the run's tag under DATA/cv (e.g. mnv2-imagenet-f5-s0.5-0.125-0.375)")
    ap.add_argument("--step", required=True, type=int)
    ap.add_argument("--out", help="also write the result here")
    ap.add_argument("data", nargs="+", help="one DATA folder per seed")
    a = ap.parse_args()
    if len(a.data) < 2:
        ap.error("an ensemble needs at least two seeds' caches")
    caches = [CvCache.open(d) for d in a.data]
    ref = caches[0]
    for c in caches[1:]:
        if [x["path"] for x in c.clips] != [x["path"] for x in ref.clips] or not np.array_equal(c.clip_of, ref.clip_of):
            raise SystemExit(f"{c.data} does not hold the same clips and held-out frames as {ref.data}")
    out: dict = {"run": a.run, "step": a.step, "seeds": [str(d) for d in a.data]}
    for ch in PRESETS:
        frames = [c.frames(a.run, a.step, ch) for c in caches]
        seeds = [lmo(ref, f) for f in frames]
        for c, s in zip(caches, seeds):
            rep = json.loads((c.data / "cv" / "report.json").read_text())["runs"][a.run][str(a.step)][ch]
            if abs(rep["mean_lmo_auroc"] - s["mean"]) > 1e-6:
                raise SystemExit(f"{c.data}: {ch} mean {s['mean']:.6f} here, {rep['mean_lmo_auroc']:.6f} in its report")
        ens = lmo(ref, np.mean(np.stack(frames), axis=0))
        kinds = sorted(ens["kinds"])
        out[ch] = {
            "perSeed": [{"mean": round(s["mean"], 4), "kinds": {k: round(s["kinds"][k], 4) for k in kinds}}
                        for s in seeds],
            "seedMean": {"mean": round(float(np.mean([s["mean"] for s in seeds])), 4),
                         "kinds": {k: round(float(np.mean([s["kinds"][k] for s in seeds])), 4) for k in kinds}},
            "ensemble": {"mean": round(ens["mean"], 4), "kinds": {k: round(ens["kinds"][k], 4) for k in kinds},
                         "perMethod": ens["perMethod"]},
        }
    call = out["call"]
    out["rule"] = {
        "ensembleCall": call["ensemble"]["mean"], "seedMeanCall": call["seedMean"]["mean"],
        "ensembleSwap": call["ensemble"]["kinds"].get("swap"), "seedMeanSwap": call["seedMean"]["kinds"].get("swap"),
        "carriedFurther": bool(call["ensemble"]["mean"] >= 0.75
                               and call["ensemble"]["mean"] >= call["seedMean"]["mean"] + 0.02
                               and call["ensemble"]["kinds"].get("swap", 0)
                               >= call["seedMean"]["kinds"].get("swap", 1)),
    }
    text = json.dumps(out, indent=1)
    if a.out:
        Path(a.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()

"""Held-out AUROC of one configuration averaged over training seeds: each seed's CV runs live in their own DATA copy
(`forgery.py cv ... --seed S` into a cache whose crops are links to the first), each with its `forgery.py report`.

    python seed_mean.py --run TAG --step 500 DATA_SEED0 DATA_SEED1 [...]

Prints one JSON object: per seed and averaged, the mean leave-method-out AUROC through the call preset and the clean
crops, and the call preset's mean per kind of fake (swap / edit / generated). Reads report.json only: training folds,
never the shared eval.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", required=True, help="the run's tag, as under DATA/cv (e.g. mnv2-imagenet-f5-s0.5-0.125-0.375)")
    ap.add_argument("--step", required=True, type=int)
    ap.add_argument("data", nargs="+", help="one DATA folder per seed, each with cv/report.json")
    a = ap.parse_args()
    seeds = []
    for d in a.data:
        rep = json.loads((Path(d) / "cv" / "report.json").read_text())
        run = rep["runs"].get(a.run)
        if run is None or str(a.step) not in run:
            raise SystemExit(f"{d}: no run {a.run} at step {a.step} in cv/report.json")
        r = run[str(a.step)]
        seeds.append({"data": d, "call": r["call"]["mean_lmo_auroc"], "clean": r["clean"]["mean_lmo_auroc"],
                      "kinds": r["call"]["per_kind"]})
    n = len(seeds)
    kinds = sorted({k for s in seeds for k in s["kinds"]})
    mean = {"call": sum(s["call"] for s in seeds) / n, "clean": sum(s["clean"] for s in seeds) / n,
            "kinds": {k: sum(s["kinds"][k] for s in seeds) / n for k in kinds}}
    rnd = lambda v: round(v, 4)  # noqa: E731
    print(json.dumps({"run": a.run, "step": a.step, "seeds": n,
                      "mean": {"call": rnd(mean["call"]), "clean": rnd(mean["clean"]),
                               "kinds": {k: rnd(v) for k, v in mean["kinds"].items()}},
                      "perSeed": [{"data": s["data"], "call": rnd(s["call"]), "clean": rnd(s["clean"]),
                                   "kinds": {k: rnd(v) for k, v in s["kinds"].items()}} for s in seeds]}))


if __name__ == "__main__":
    main()

"""Study (not shipped): do vocoded copies of the bona fide clips, added as training spoofs, help `voice-whisper`
generalise to unseen generators?

The recipe of "spoofed training data made with vocoders" (copy-synthesis of bona fide speech): each spoof made this
way is the same speaker, words, page and recording chain as its bona fide original, so the only thing that tells
the two apart is the vocoder. No neural vocoder weights exist offline, so the vocoder here is WORLD (PyPI `pyworld`:
DIO + StoneMask F0, CheapTrick envelope, D4C aperiodicity, resynthesis), a signal-processing vocoder.

  make --data DIR   WORLD copy-synthesis of every bona fide clip of the SpecNet recipe's cache (front-end clips:
                    16 kHz, VAD-trimmed, level-normalised; the copy gets its original's RMS), 6 random training
                    channels per copy (`channel.random_channel`, the same mix both classes get), Whisper-stage
                    features of each (`whisper_stage.clip_features`) -> DIR/vocoded-world.npz
  cv --data DIR     the shipped stage's leave-source-out protocol (same folds, the C each fold's inner CV chose in
                    `whisper_stage.py cv`, the 4 held-out channel presets) with the copies of the training folds'
                    bona fide clips added as spoof rows (weights --weights, relative to a real spoof row); a held-out
                    page's copies are never used. Weight 0 is the shipped head.

Needs `pip install pyworld "setuptools<81"` in the training venv (pyworld 0.3.5 imports pkg_resources).
Rule fixed before the run: better only if the mean LSO EER over the 4 channels drops by at least 0.02.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # common/
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from channel import random_channel  # noqa: E402
from train import SR, Cache  # noqa: E402
from extra_spoofs import lso_with_extra  # noqa: E402
from whisper_stage import FEATURES, clip_features, make_features, summary_line, write_report  # noqa: E402

VARIANTS = 6


def log(msg: str) -> None:
    print(f"[vocoded_study {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def world_copy(x: np.ndarray) -> np.ndarray:
    import pyworld

    d = x.astype(np.float64)
    f0, t = pyworld.dio(d, SR)
    f0 = pyworld.stonemask(d, f0, t, SR)
    sp = pyworld.cheaptrick(d, f0, t, SR)
    ap = pyworld.d4c(d, f0, t, SR)
    y = pyworld.synthesize(f0, sp, ap, SR)[: len(x)]
    y = np.pad(y, (0, len(x) - len(y)))
    return (y * np.sqrt(np.mean(d ** 2) / max(np.mean(y ** 2), 1e-12))).astype(np.float32)


def cmd_make(args) -> None:
    import torch

    torch.set_num_threads(args.threads)
    c = Cache(args.data)
    bona = np.flatnonzero(c.labels == 0)
    f = make_features()
    feats = np.zeros((len(bona), VARIANTS, FEATURES), dtype=np.float32)
    t0 = time.time()
    for n, i in enumerate(bona):
        y = world_copy(c.clip(int(i)))
        rng = np.random.default_rng([args.seed, int(i)])
        for v in range(VARIANTS):
            feats[n, v] = clip_features(f, random_channel(y, rng)[0])
        if n % 50 == 49:
            log(f"{n + 1}/{len(bona)} bona fide clips copied, {time.time() - t0:.0f} s")
    path = os.path.join(args.data, "vocoded-world.npz")
    np.savez(path, clips=bona, feats=feats)
    log(f"wrote {path} ({len(bona)} copies x {VARIANTS} channels, {time.time() - t0:.0f} s)")


def cmd_cv(args) -> None:
    c = Cache(args.data)
    folds = np.array([m["fold"] for m in c.clips])
    z = np.load(os.path.join(args.data, "vocoded-world.npz"))
    vclips, vfeats = z["clips"], z["feats"]
    rep = {"vocoder": "WORLD (pyworld dio+stonemask, cheaptrick, d4c)", "weights": {}}
    # a copy is on the training side exactly when its original is: never used when its page is held out
    for w, row in lso_with_extra(args.data, vfeats, folds[vclips], args.weights).items():
        rep["weights"][str(w)] = row
        log(f"weight {w}: {summary_line(row)}")
    log(f"wrote {write_report(args.data, 'vocoded-world', rep)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cmd", choices=("make", "cv"))
    ap.add_argument("--data", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--weights", type=float, nargs="+", default=[0.0, 0.25, 1.0])
    ap.add_argument("--seed", type=int, default=20261204)
    args = ap.parse_args()
    {"make": cmd_make, "cv": cmd_cv}[args.cmd](args)


if __name__ == "__main__":
    main()

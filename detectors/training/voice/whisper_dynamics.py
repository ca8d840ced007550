"""Study: do frame-to-frame dynamics of the frozen Whisper features add to the shipped stage's statistics?

The shipped stage (whisper_stage.py) keeps, for the convolution front and each of the first 3 blocks, the mean
and standard deviation of every dimension over a 2 s window's 100 frames: a bag of frames. Neural vocoders and
voice conversion leave traces in how frames follow each other (over-smooth trajectories, frame-rate jitter).
This adds, per depth, the mean absolute frame-to-frame difference and its standard deviation (4 x 1024 values),
and for Whisper's own log-mel input the per-bin mean, standard deviation and mean absolute difference (240).

  python detectors/training/voice/whisper_dynamics.py features --data DIR   (DIR/whisper-dynamics-feats.npz)
  python detectors/training/voice/whisper_dynamics.py cv --data DIR [--out r.json]

`cv` compares, under the same protocol as `whisper_stage.py cv` (folds, training variants, channel presets, C by
inner leave-one-fold-out CV), the shipped statistics alone, the dynamics alone, and both together. DIR is the
SpecNet recipe's cache with whisper-stage-feats.npz.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from channel import CHANNELS  # noqa: E402
from specnet import normalise  # noqa: E402
from train import WIN, Cache, windows  # noqa: E402
from whisper_stage import extract, load_features, make_features  # noqa: E402

DYN = 4 * 1024 + 3 * 80


def log(msg: str) -> None:
    print(f"[whisper_dynamics {time.strftime('%H:%M:%S')}] {msg}", flush=True)


@torch.no_grad()
def dynamics(f, wav: torch.Tensor) -> torch.Tensor:
    """waveform [B, samples] -> [B, DYN]."""
    mel = f.front(normalise(wav))  # [B, 80, T]
    dm = (mel[:, :, 1:] - mel[:, :, :-1]).abs().mean(dim=2)
    rows = [mel.mean(dim=2), mel.std(dim=2), dm]
    for h in f.encoder.hidden_states(mel):  # [B, frames, 512]
        d = h[:, 1:] - h[:, :-1]
        rows += [d.abs().mean(dim=1), d.std(dim=1)]
    return torch.cat(rows, dim=-1)


def clip_dynamics(f, x: np.ndarray) -> np.ndarray:
    ws = windows(x)
    full = [w for w in ws if len(w) == WIN]
    rows = [dynamics(f, torch.from_numpy(np.stack(full).astype(np.float32))).numpy()] if full else []
    rows += [dynamics(f, torch.from_numpy(w[None].astype(np.float32))).numpy() for w in ws if len(w) != WIN]
    return np.concatenate(rows).mean(axis=0)


def cmd_features(args) -> None:
    torch.set_num_threads(args.threads)
    f = make_features()
    extract(args.data, lambda x: clip_dynamics(f, x), DYN, os.path.join(args.data, "whisper-dynamics-feats.npz"))


def cmd_cv(args) -> None:
    from head_study import run_head

    c = Cache(args.data)
    tv, ev = load_features(args.data)
    z = np.load(os.path.join(args.data, "whisper-dynamics-feats.npz"))
    dtv, dev = z["train_variants"], z["eval_channels"]
    sets = {"stats (shipped)": (tv, ev), "dynamics": (dtv, dev),
            "stats + dynamics": (np.concatenate([tv, dtv], axis=2), np.concatenate([ev, dev], axis=2))}
    out = {}
    for name, (a, b) in sets.items():
        r = run_head("logistic", c, a, b)
        out[name] = {"chosen": r["chosen"], "meanLsoEer": {ch: r["table"][ch]["meanGroupEer"] for ch in CHANNELS},
                     "perGroup": {ch: r["table"][ch]["perGroup"] for ch in CHANNELS}}
        log(f"{name}: mean LSO EER " + " / ".join(f"{ch} {r['table'][ch]['meanGroupEer']:.3f}" for ch in CHANNELS))
        if args.out:
            with open(args.out, "w") as fh:
                json.dump(out, fh)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cmd", choices=("features", "cv"))
    ap.add_argument("--data", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out")
    args = ap.parse_args()
    {"features": cmd_features, "cv": cmd_cv}[args.cmd](args)


if __name__ == "__main__":
    main()

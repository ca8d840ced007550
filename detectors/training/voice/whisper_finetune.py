"""Study (not shipped): does fine-tuning the last Whisper block of `voice-whisper` generalise better than the shipped
frozen encoder with a logistic head?

The shipped stage (whisper_stage.py) keeps Whisper base's first 3 encoder blocks frozen and fits a logistic head on
per-depth frame statistics. Here the third block is trained as well, starting from the shipped model: every fold
starts from that fold's logistic head (the C its inner CV chose in `whisper_stage.py cv`) on the pretrained block, so
step 0 reproduces the shipped recipe's leave-source-out scores, and each later step is the same model with the third
block and the head moved by window-level binary cross-entropy on the training folds' channel variants.

Same pages, folds, training channel variants (6 per clip) and held-out channel presets (4) as `whisper_stage.py cv`
(DIR = the SpecNet recipe's cache, with whisper-stage-feats.npz from `whisper_stage.py features`).

  cache --data DIR   front + blocks 1-2 (frozen) once per window of every clip variant: the fixed statistics
                     (3 x 1024) and block 2's output frames (float16) -> DIR/whisper-ft-{train,eval}.npz (about 3.5 GB;
                     8 min here with 2 threads)
  cv --data DIR      per fold: fine-tune, score the held-out pages through the 4 channels at each checkpoint
                     (--checkpoints); mean leave-source-out EER per checkpoint -> DIR/cv/whisper-ft-<tag>/report.json

Rule fixed before the run: a fine-tuned checkpoint counts as better only if its mean LSO EER over the 4 channels is
at least 0.02 under step 0's (the shipped recipe; a reseed moves numbers by about 0.01).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # common/
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from channel import CHANNELS  # noqa: E402
from specnet import normalise  # noqa: E402
from train import WIN, Cache, Variants, windows  # noqa: E402
from whisper_encoder import LogMel, build_encoder, load_weights  # noqa: E402
from whisper_stage import (FEATURES, fit_head, frame_stats, load_features, lso_summary, summary_line,  # noqa: E402
                           write_report)

FRAMES = WIN // 320  # 100 encoder frames per 2 s window
WIDTH = 512
FIXED = 3 * 2 * WIDTH  # mean and std of the front and blocks 1-2


def log(msg: str) -> None:
    print(f"[whisper_finetune {time.strftime('%H:%M:%S')}] {msg}", flush=True)


@torch.no_grad()
def cmd_cache(args) -> None:
    torch.set_num_threads(args.threads)
    front, enc = LogMel(), build_encoder(load_weights(), layers=2)
    for name, short in (("train-variants", "train"), ("eval-channels", "eval")):
        v = Variants(os.path.join(args.data, f"{name}.npz"))
        items = [windows(v.audio[v.offsets[k]:v.offsets[k] + v.lengths[k]].astype(np.float32) / 32768.0)
                 for k in range(len(v.offsets))]
        total = sum(len(ws) for ws in items)
        fixed = np.zeros((total, FIXED), dtype=np.float32)
        frames = np.zeros((total, FRAMES, WIDTH), dtype=np.float16)
        tlen = np.zeros(total, dtype=np.int16)
        item = np.zeros(total, dtype=np.int32)
        w, t0 = 0, time.time()
        for k, ws in enumerate(items):
            for group in ([x for x in ws if len(x) == WIN], *[[x] for x in ws if len(x) != WIN]):
                if not group:
                    continue
                hs = enc.hidden_states(front(normalise(torch.from_numpy(np.stack(group).astype(np.float32)))))
                n, t = len(group), hs[-1].shape[1]
                fixed[w:w + n] = torch.cat([frame_stats(h) for h in hs], dim=-1).numpy()
                frames[w:w + n, :t] = hs[-1].numpy().astype(np.float16)
                tlen[w:w + n], item[w:w + n] = t, k
                w += n
            if k % 500 == 499:
                log(f"{name}: {k + 1}/{len(items)} clip variants, {time.time() - t0:.0f} s")
        path = os.path.join(args.data, f"whisper-ft-{short}.npz")
        np.savez(path, fixed=fixed, frames=frames, tlen=tlen, item=item, n=np.array(v.n))
        log(f"{name}: {total} windows of {len(items)} clip variants in {time.time() - t0:.0f} s -> {path}")


class WindowSet:
    def __init__(self, path: str):
        z = np.load(path)
        self.fixed, self.frames, self.tlen, self.item, self.n = z["fixed"], z["frames"], z["tlen"], z["item"], int(z["n"])
        order = np.argsort(self.item, kind="stable")
        assert np.array_equal(order, np.arange(len(order))), "windows are stored in clip-variant order"
        self.start = np.searchsorted(self.item, np.arange(self.item.max() + 2))

    def rows(self, entry: int) -> range:
        return range(int(self.start[entry]), int(self.start[entry + 1]))


class Tuned(nn.Module):
    """fixed statistics [B, 3072] + block-2 frames [B, T, 512] -> window logit [B]."""

    def __init__(self, block: nn.Module, mean: np.ndarray, scale: np.ndarray, coef: np.ndarray, bias: float):
        super().__init__()
        self.block = block
        self.register_buffer("mean", torch.from_numpy(mean.astype(np.float32)))
        self.register_buffer("scale", torch.from_numpy(scale.astype(np.float32)))
        self.head = nn.Linear(FEATURES, 1)
        with torch.no_grad():
            self.head.weight.copy_(torch.from_numpy(coef[None].astype(np.float32)))
            self.head.bias.fill_(bias)

    def forward(self, fixed: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
        z = torch.cat([fixed, frame_stats(self.block(frames))], dim=-1)
        return self.head((z - self.mean) / self.scale).squeeze(-1)


@torch.no_grad()
def score_clips(model: Tuned, ws: WindowSet, clips: np.ndarray, ch: int) -> np.ndarray:
    out = np.zeros(len(clips))
    for i, c in enumerate(clips):
        r = ws.rows(int(c) * ws.n + ch)
        full = [j for j in r if ws.tlen[j] == FRAMES]
        logits = []
        if full:
            logits.append(model(torch.from_numpy(ws.fixed[full]),
                                torch.from_numpy(ws.frames[full].astype(np.float32))).numpy())
        for j in r:
            if ws.tlen[j] != FRAMES:
                t = int(ws.tlen[j])
                logits.append(model(torch.from_numpy(ws.fixed[j:j + 1]),
                                    torch.from_numpy(ws.frames[j:j + 1, :t].astype(np.float32))).numpy())
        out[i] = float(np.concatenate(logits).mean())
    return out


def cmd_cv(args) -> None:
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    c = Cache(args.data)
    lab = c.labels
    folds = np.array([m["fold"] for m in c.clips])
    tv, evf = load_features(args.data)
    shipped = json.load(open(os.path.join(args.data, "cv", "whisper-stage", "report.json")))
    tr, ev = WindowSet(os.path.join(args.data, "whisper-ft-train.npz")), WindowSet(os.path.join(args.data, "whisper-ft-eval.npz"))
    weights = load_weights()
    checkpoints = sorted(set(args.checkpoints))
    scores = {s: np.zeros((len(lab), len(CHANNELS))) for s in checkpoints}
    t0 = time.time()
    for k in range(c.folds):
        train_mask = folds != k
        m = fit_head(tv, lab, train_mask, shipped["chosen"][str(k)]["C"])
        sc, lr = m.steps[0][1], m.steps[1][1]
        block = build_encoder(weights, layers=3).blocks[2]
        model = Tuned(block, sc.mean_, sc.scale_, lr.coef_[0], float(lr.intercept_[0]))
        opt = torch.optim.AdamW([{"params": model.block.parameters(), "lr": args.lr_block},
                                 {"params": model.head.parameters(), "lr": args.lr_head}], weight_decay=args.wd)
        rng = np.random.default_rng([args.seed, k])
        by_label = [np.flatnonzero(train_mask & (lab == y)) for y in (0, 1)]
        held = np.flatnonzero(~train_mask)
        step, losses = 0, []
        for target in checkpoints:
            model.train()
            while step < target:
                rows, ys = [], []
                while len(rows) < args.batch:
                    y = len(rows) % 2
                    ci = int(rng.choice(by_label[y]))
                    r = [j for j in tr.rows(ci * tr.n + int(rng.integers(tr.n))) if tr.tlen[j] == FRAMES]
                    if r:
                        rows.append(int(rng.choice(r)))
                        ys.append(float(y))
                logit = model(torch.from_numpy(tr.fixed[rows]), torch.from_numpy(tr.frames[rows].astype(np.float32)))
                loss = F.binary_cross_entropy_with_logits(logit, torch.tensor(ys))
                opt.zero_grad()
                loss.backward()
                opt.step()
                losses.append(loss.item())
                step += 1
            model.eval()
            for ch in range(len(CHANNELS)):
                scores[target][held, ch] = score_clips(model, ev, held, ch)
            if target == 0:  # step 0 is the shipped recipe's fold head: the same clip logits
                gap = float(np.abs(scores[0][held, 0] - m.decision_function(evf[held, 0])).max())
                if gap > 1e-2:
                    raise SystemExit(f"fold {k}: step 0 differs from the logistic head by {gap:.3g}")
            log(f"fold {k} step {target}: train loss {np.mean(losses[-50:]) if losses else float('nan'):.3f}, "
                f"{time.time() - t0:.0f} s")
    rep = {"lrBlock": args.lr_block, "lrHead": args.lr_head, "batch": args.batch, "wd": args.wd, "seed": args.seed,
           "checkpoints": {}}
    for s in checkpoints:
        rep["checkpoints"][str(s)] = row = lso_summary(c, scores[s])
        log(f"step {s}: {summary_line(row)}")
    log(f"wrote {write_report(args.data, f'whisper-ft-{args.tag}', rep)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cmd", choices=("cache", "cv"))
    ap.add_argument("--data", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--checkpoints", type=int, nargs="+", default=[0, 100, 200, 400])
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr-block", type=float, default=2e-5)
    ap.add_argument("--lr-head", type=float, default=1e-4)
    ap.add_argument("--wd", type=float, default=0.0)
    ap.add_argument("--seed", type=int, default=20261204)
    ap.add_argument("--tag", default="b3")
    args = ap.parse_args()
    {"cache": cmd_cache, "cv": cmd_cv}[args.cmd](args)


if __name__ == "__main__":
    main()

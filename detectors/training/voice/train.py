"""Voice anti-spoofing recipe: channel variants, leave-source-out cross-validation, final model, ONNX + manifest.

Subcommands (DIR is the cache written by build_data.py):
  prep   --data DIR                 channel variants of every clip (training mix) and the four evaluation channels
  cv     --data DIR --fold K        train without fold K's groups, score fold K at every checkpoint
  report --data DIR                 leave-source-out tables, shortcut baseline, chosen step and calibration
  final  --data DIR --out MODELDIR  train on every group for the chosen steps, export ONNX, write the manifest

Everything is seeded; one torch thread per process (run two folds at once on two cores).
Windows are the evaluator's and the service's: 2 s every 1 s, clip score = mean window logit (see windows()).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(HERE, ".."))  # common/
sys.path.insert(0, HERE)
from channel import CHANNELS, apply_channel, random_channel  # noqa: E402
from common.metrics import eer, group_eers  # noqa: E402
from page_adversary import PageAdversary, dann_lambda  # noqa: E402
from rawboost import boost as rawboost_window  # noqa: E402
from sam import sam_second_pass  # noqa: E402
from specnet import SpecNet, SpecNetConfig, count_macs, oc_softmax_loss  # noqa: E402
from tssdnet import TSSDNetConfig, TSSDNetDetector  # noqa: E402

ARCHS = ("specnet-oc", "specnet-bce", "specnet-oc-2view", "tssdnet", "tssdnet-scratch")
# Architectures whose weights start from third-party weights under a licence the project does not ship under.
GPL_START = ("tssdnet",)

SR = 16000
WIN, HOP = 2 * SR, SR
TELEPHONE = ("g711",)


def log(msg: str) -> None:
    print(f"[train {time.strftime('%H:%M:%S')}] {msg}", flush=True)


class Cache:
    def __init__(self, data: str):
        z = np.load(os.path.join(data, "clips.npz"))
        self.audio, self.offsets, self.lengths = z["audio"], z["offsets"], z["lengths"]
        meta = json.load(open(os.path.join(data, "clips.json")))
        self.clips: list[dict] = meta["clips"]
        self.card: dict = meta["card"]
        self.folds: int = int(meta["folds"])
        self.labels = np.array([c["label"] for c in self.clips], dtype=np.int64)

    def clip(self, i: int) -> np.ndarray:
        o, n = int(self.offsets[i]), int(self.lengths[i])
        return self.audio[o:o + n].astype(np.float32) / 32768.0


class Variants:
    """int16 clips concatenated with offsets: variant v of clip i is entry i * n_variants + v."""

    def __init__(self, path: str):
        z = np.load(path)
        self.audio, self.offsets, self.lengths = z["audio"], z["offsets"], z["lengths"]
        self.n = int(z["n"])
        # how prep made them (older files: none recorded, i.e. no sender noise suppression)
        self.meta: dict = json.loads(str(z["meta"])) if "meta" in z.files else {}

    def get(self, i: int, v: int) -> np.ndarray:
        k = i * self.n + v
        o, n = int(self.offsets[k]), int(self.lengths[k])
        return self.audio[o:o + n].astype(np.float32) / 32768.0

    def extend(self, other: "Variants") -> int:
        """Appends other's clips (the same number of variants per clip) after this file's; returns how many."""
        if other.n != self.n or len(other.lengths) % other.n:
            raise ValueError(f"{other.n} variants per clip where {self.n} are expected")
        self.offsets = np.concatenate([self.offsets, other.offsets + len(self.audio)])
        self.lengths = np.concatenate([self.lengths, other.lengths])
        self.audio = np.concatenate([self.audio, other.audio])
        return len(other.lengths) // other.n


def save_variants(path: str, items: list[np.ndarray], n: int, meta: dict | None = None) -> None:
    lengths = np.array([len(a) for a in items], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    audio = np.concatenate([(np.clip(a, -1, 1) * 32767).astype(np.int16) for a in items])
    np.savez(path, audio=audio, offsets=offsets, lengths=lengths, n=np.array(n), meta=np.array(json.dumps(meta or {})))


def add_extra_spoofs(c: Cache, tv: Variants, path: str) -> list[int]:
    """Appends spoof clips made outside the pages (a file in the training-variants format, `save_variants`, with as
    many variants per clip as `tv`) to the cache and the training variants, as one page of their own in no fold
    (fold -1: on the training side of every fold, never held out or scored). Returns their clip indices. Off as
    shipped (`run.sh KOKORO_CLIPS`, `kokoro_study.py variants`)."""
    if len(tv.lengths) != len(c.clips) * tv.n:
        raise ValueError("training variants and cache disagree (run prep again)")
    extra = Variants(path)
    first, count = len(c.clips), tv.extend(extra)
    page = "extra:" + os.path.splitext(os.path.basename(path))[0]
    c.clips += [{"path": f"{page}/{k}", "label": 1, "generator": page, "source": "-", "page": page, "group": page,
                 "speaker": "-", "origRate": SR, "pairGroup": "-", "fold": -1,
                 "seconds": float(extra.lengths[k * extra.n]) / SR} for k in range(count)]
    c.labels = np.concatenate([c.labels, np.ones(count, dtype=c.labels.dtype)])
    return list(range(first, first + count))


def cmd_prep(args) -> None:
    c = Cache(args.data)
    t0 = time.time()
    train_items, eval_items = [], []
    for i in range(len(c.clips)):
        x = c.clip(i)
        rng = np.random.default_rng([args.seed, i])
        for _ in range(args.variants):
            train_items.append(random_channel(x, rng, args.opus48_share, args.ns_share)[0])
        erng = np.random.default_rng([args.seed + 1, i])
        for ch in CHANNELS:
            eval_items.append(apply_channel(x, ch, erng, args.eval_ns))
        if (i + 1) % 100 == 0:
            log(f"prep {i + 1}/{len(c.clips)} clips, {time.time() - t0:.0f} s")
    if args.variants > 0:  # 0: the evaluation presets only (a cache of held-out channels, e.g. behind --eval-ns)
        save_variants(os.path.join(args.data, "train-variants.npz"), train_items, args.variants,
                      {"nsShare": args.ns_share, "opus48Share": args.opus48_share})
    save_variants(os.path.join(args.data, "eval-channels.npz"), eval_items, len(CHANNELS), {"evalNs": args.eval_ns})
    log(f"prep done: {args.variants} training variants and {len(CHANNELS)} evaluation channels per clip, "
        f"{time.time() - t0:.0f} s")


def windows(x: np.ndarray) -> list[np.ndarray]:
    """The evaluator's plan (detectors/eval/voiceModel.ts windowPlan with minSeconds 1, maxSeconds 2, hop 1 s):
    under 1 s tiled to 1 s, up to 2 s whole, longer in 2 s windows every 1 s with the last one aligned to the end."""
    if len(x) < SR:
        return [np.tile(x, int(math.ceil(SR / max(1, len(x)))))[:SR]]
    if len(x) <= WIN:
        return [x]
    starts = list(range(0, len(x) - WIN + 1, HOP))
    if starts[-1] != len(x) - WIN:
        starts.append(len(x) - WIN)
    return [x[s:s + WIN] for s in starts]


@torch.no_grad()
def score_clips(model: SpecNet, ev: Variants, idx: list[int], ch: int, batch: int = 64) -> np.ndarray:
    """Clip score = mean window logit; full 2 s windows are batched, shorter clips scored one by one."""
    was = model.training
    model.eval()
    full, owner = [], []
    sums = np.zeros(len(idx))
    counts = np.zeros(len(idx))
    for j, i in enumerate(idx):
        for w in windows(ev.get(i, ch)):
            if len(w) == WIN:
                full.append(w)
                owner.append(j)
            else:
                sums[j] += float(model(torch.from_numpy(w[None, :].astype(np.float32)))[0, 0])
                counts[j] += 1
    if full:
        allw = np.stack(full)
        out = np.concatenate([model(torch.from_numpy(allw[s:s + batch])).squeeze(1).numpy()
                              for s in range(0, len(allw), batch)])
        sums += np.bincount(owner, weights=out, minlength=len(idx))
        counts += np.bincount(owner, minlength=len(idx))
    model.train(was)
    return sums / counts


class Sampler:
    """Balanced classes; within a class, a page is drawn with weight sqrt(its clips of that class), halved for
    pages that hold only that class (so page and language predict the label as little as possible)."""

    def __init__(self, c: Cache, idx: list[int], rng: np.random.Generator):
        self.rng = rng
        self.by: dict[int, tuple[list[str], np.ndarray, dict[str, list[int]]]] = {}
        pages_all: dict[str, set[int]] = {}
        for i in idx:
            pages_all.setdefault(c.clips[i]["page"], set()).add(int(c.labels[i]))
        for lab in (0, 1):
            per: dict[str, list[int]] = {}
            for i in idx:
                if c.labels[i] == lab:
                    per.setdefault(c.clips[i]["page"], []).append(i)
            names = sorted(per)
            w = np.array([math.sqrt(len(per[p])) * (1.0 if len(pages_all[p]) == 2 else 0.5) for p in names])
            self.by[lab] = (names, w / w.sum(), per)

    def draw(self, lab: int) -> int:
        names, w, per = self.by[lab]
        p = names[int(self.rng.choice(len(names), p=w))]
        return int(self.rng.choice(per[p]))


class PairSampler:
    """(bona fide, spoof) pairs of one pair group (the same utterance on the same page): a page is drawn with weight
    sqrt(its pair groups holding both classes), then one such group, then one clip of each class in it."""

    def __init__(self, c: Cache, idx: list[int], rng: np.random.Generator):
        self.rng = rng
        groups: dict[tuple[str, str], tuple[list[int], list[int]]] = {}
        for i in idx:
            groups.setdefault((c.clips[i]["page"], c.clips[i]["pairGroup"]), ([], []))[int(c.labels[i])].append(i)
        self.per: dict[str, list[tuple[list[int], list[int]]]] = {}
        for (page, _), (bona, spoof) in sorted(groups.items()):
            if bona and spoof:
                self.per.setdefault(page, []).append((bona, spoof))
        self.names = sorted(self.per)
        w = np.array([math.sqrt(len(self.per[p])) for p in self.names])
        self.w = w / w.sum() if len(w) else w

    def __len__(self) -> int:
        return sum(len(v) for v in self.per.values())

    def draw(self) -> tuple[int, int]:
        groups = self.per[self.names[int(self.rng.choice(len(self.names), p=self.w))]]
        bona, spoof = groups[int(self.rng.choice(len(groups)))]
        return int(self.rng.choice(bona)), int(self.rng.choice(spoof))


def pair_windows(c: Cache, i: int, j: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """2 s windows of clips i and j at the same relative position, through ONE random training channel (two
    generators from the same seed draw identical EQ, codec, bit rate, losses, noise and gain for equal-length
    windows) and the same polarity, so that the pair differs only in how it was made. The precomputed variants
    cannot serve: prep seeds each clip's channels separately, so variant v of two clips is two different channels."""
    u, seed, flip = rng.random(), int(rng.integers(2 ** 63)), rng.random() < 0.5
    out = []
    for k in (i, j):
        x = c.clip(k)
        if len(x) < WIN:
            x = np.tile(x, int(math.ceil(WIN / max(1, len(x)))))
        s = int(u * (len(x) - WIN + 1))
        y = random_channel(x[s:s + WIN], np.random.default_rng(seed))[0]
        out.append(-y if flip else y)
    return out[0], out[1]


def pair_loss(out: torch.Tensor, n_pairs: int, margin: float, alpha: float = 20.0) -> torch.Tensor:
    """Ranking term on the batch's last 2 x n_pairs scores (bona fide then spoof of each pair): each spoof should
    score at least `margin` above its own bona fide, a softplus hinge at OC-softmax's scale (alpha)."""
    s = out.squeeze(1)[-2 * n_pairs:].reshape(n_pairs, 2)
    return F.softplus(alpha * (margin - (s[:, 1] - s[:, 0]))).mean()


def make_model(arch: str) -> SpecNet | TSSDNetDetector:
    """`specnet-oc` / `specnet-bce`: SpecNet from a random start; `specnet-oc-2view`: the same with a second input view
    that keeps the stationary spectral envelope (SpecNetConfig.views; a study, not shipped); `tssdnet`: Inc-TSSDNet
    from its published ASVspoof 2019 LA weights (a fine-tuning study; GPL-3.0 weights), `tssdnet-scratch`: the same
    network from a random start. Every architecture but the `specnet-oc` ones trains with binary cross-entropy on its
    score."""
    if arch.startswith("tssdnet"):
        return TSSDNetDetector(TSSDNetConfig(pretrained=arch == "tssdnet"))
    return SpecNet(SpecNetConfig(head="oc" if arch.startswith("specnet-oc") else "bce",
                                 views="bin+global" if arch.endswith("-2view") else "bin"))


def train_window(tv: Variants, i: int, rng: np.random.Generator) -> np.ndarray:
    """A random 2 s window of a random precomputed channel variant of clip i, random polarity."""
    x = tv.get(i, int(rng.integers(tv.n)))
    if len(x) < WIN:
        x = np.tile(x, int(math.ceil(WIN / max(1, len(x)))))
    s = int(rng.integers(0, len(x) - WIN + 1))
    x = x[s:s + WIN]
    return -x if rng.random() < 0.5 else x


def recompute_bn(model: torch.nn.Module, c: Cache, tv: Variants, idx: list[int], seed: int, batch: int,
                 n_batches: int) -> None:
    """BatchNorm statistics of an averaged model (torch.optim.swa_utils.update_bn): n_batches class-balanced training
    batches drawn as in training, from their own generator and with torch's generator forked, so the training run
    itself draws exactly what it would draw without averaging."""
    rng = np.random.default_rng(seed)
    sampler = Sampler(c, idx, rng)
    ys = [0] * (batch // 2) + [1] * (batch - batch // 2)
    loader = [torch.from_numpy(np.stack([train_window(tv, sampler.draw(y), rng) for y in ys]))
              for _ in range(n_batches)]
    with torch.random.fork_rng(devices=[]):
        torch.optim.swa_utils.update_bn(loader, model)


@dataclass(frozen=True)
class TrainPlan:
    """What one training run does, apart from its data: the architecture, schedule and the studies' options, each
    off by default (train.py cv and final fill it from their flags; final from the chosen run's too)."""
    arch: str
    steps: int
    seed: int
    batch: int = 32
    lr: float = 2e-3
    every: int = 0  # checkpoint spacing (0: none but the last, and only with on_checkpoint)
    pair_share: float = 0.0
    pair_margin_weight: float = 0.0
    pair_margin: float = 0.5
    swa_start: int = 0
    swa_every: int = 50
    swa_bn_batches: int = 32
    rawboost: float = 0.0
    page_adversary: float = 0.0
    sam_rho: float = 0.0


def train(c: Cache, tv: Variants, idx: list[int], plan: TrainPlan, on_checkpoint=None, on_average=None) -> SpecNet:
    """Returns the trained model; with swa_start > 0, the running average of the weights after steps swa_start,
    swa_start + swa_every, ... (BatchNorm statistics recomputed on training batches). The averaging never changes the
    training run: on_checkpoint sees the same models as without it, on_average the averaged one at every checkpoint
    from swa_start on. With rawboost > 0 each training window is boosted (rawboost.py) with that probability, drawn
    from a generator of its own, so the clips, windows and batches are the ones drawn without it. With
    page_adversary > 0 (lambda_max) a page adversary on the bona fide windows (page_adversary.py) joins the loss
    through a reversed gradient; the clips, windows and batches are again the ones the seed draws without it. With
    sam_rho > 0 each step is a sharpness-aware one (sam.py): the gradient is taken again at the worst weights within
    that radius and applied at the current ones, on the same batch, SpecAugment masks and dropout (the torch generator
    is rewound), with BatchNorm statistics updated by the first pass only."""
    torch.manual_seed(plan.seed)
    rng = np.random.default_rng(plan.seed)
    rb_rng = np.random.default_rng(plan.seed + 104729)
    if plan.rawboost > 0:
        log(f"RawBoost on {plan.rawboost:.0%} of the training windows (one of LnL, ISD, SSI each)")
    model = make_model(plan.arch)
    opt = torch.optim.AdamW(model.parameters(), lr=plan.lr, weight_decay=1e-3)
    sampler = Sampler(c, idx, rng)
    pairs = PairSampler(c, idx, rng)
    n_pairs = int(round(plan.batch * plan.pair_share / 2)) if len(pairs) else 0
    adv: PageAdversary | None = None
    if plan.page_adversary > 0:
        adv = PageAdversary(model.cfg.embed, sampler.by[0][0], plan.seed + 15485863)
        opt.add_param_group({"params": list(adv.parameters())})
        log(f"page adversary on bona fide windows: {len(adv.pages)} pages, lambda up to {plan.page_adversary}")
    adv_acc = float("nan")
    if plan.pair_share > 0:
        log(f"paired sampling: {n_pairs} same-utterance pairs per batch from {len(pairs)} pair groups on "
            f"{len(pairs.names)} pages; pair margin weight {plan.pair_margin_weight}, margin {plan.pair_margin}")
    if plan.swa_start > 0:
        log(f"weight averaging from step {plan.swa_start} every {plan.swa_every} steps; BatchNorm statistics from "
            f"{plan.swa_bn_batches} training batches")
    avg: torch.optim.swa_utils.AveragedModel | None = None
    model.train()
    if plan.steps == 0 and on_checkpoint is not None:  # cv --steps 0: the starting point itself (a published model)
        on_checkpoint(0, model)
    run = 0.0
    t0 = time.time()
    for step in range(1, plan.steps + 1):
        for g in opt.param_groups:
            g["lr"] = plan.lr * min(1.0, step / 100) * (0.5 * (1 + math.cos(math.pi * step / plan.steps)) * 0.95 + 0.05)
        rest = plan.batch - 2 * n_pairs
        ys = [0] * (rest // 2) + [1] * (rest - rest // 2)
        xs = []
        pages: list[str] = []
        for y in ys:
            i = sampler.draw(y)
            x = train_window(tv, i, rng)
            xs.append(rawboost_window(x, rb_rng) if plan.rawboost > 0 and rb_rng.random() < plan.rawboost else x)
            pages.append(c.clips[i]["page"] if y == 0 else "")
        for _ in range(n_pairs):  # pairs last, bona fide then spoof (pair_loss reads them there)
            i, j = pairs.draw()
            xs += pair_windows(c, i, j, rng)
            ys += [0, 1]
            pages += [c.clips[i]["page"], ""]
        xb = torch.from_numpy(np.stack(xs))
        yb = torch.tensor(ys, dtype=torch.float32)

        def batch_loss() -> tuple[torch.Tensor, float]:
            emb = model.embed(xb, spec_mask=True)
            out = model.score(emb)
            if plan.arch.startswith("specnet-oc"):
                loss = oc_softmax_loss(out, yb)
            else:
                loss = torch.nn.functional.binary_cross_entropy_with_logits(out.squeeze(1), yb)
            if n_pairs and plan.pair_margin_weight > 0:
                loss = loss + plan.pair_margin_weight * pair_loss(out, n_pairs, plan.pair_margin)
            acc = float("nan")
            if adv is not None:
                pidx = torch.tensor([adv.index.get(p, -1) if p else -1 for p in pages], dtype=torch.long)
                adv_loss, acc = adv.loss(emb, pidx, dann_lambda(plan.page_adversary, step / plan.steps))
                loss = loss + adv_loss
            return loss, acc

        rewind = torch.get_rng_state() if plan.sam_rho > 0 else None
        loss, acc = batch_loss()
        if adv is not None:
            adv_acc = acc if step == 1 or adv_acc != adv_acc else 0.98 * adv_acc + 0.02 * acc
        opt.zero_grad()
        loss.backward()
        if rewind is not None:
            sam_second_pass(opt, model, plan.sam_rho, rewind, lambda: batch_loss()[0])
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        run = loss.item() if step == 1 else 0.98 * run + 0.02 * loss.item()
        if step % 50 == 0:
            log(f"{plan.arch} step {step}/{plan.steps} loss {run:.4f} {time.time() - t0:.0f} s"
                + (f"; page adversary accuracy {adv_acc:.2f} (chance {1 / len(adv.pages):.2f})" if adv else ""))
        if plan.swa_start > 0 and step >= plan.swa_start and (step - plan.swa_start) % plan.swa_every == 0:
            if avg is None:
                avg = torch.optim.swa_utils.AveragedModel(model)
            avg.update_parameters(model)
        checkpoint = plan.every and (step % plan.every == 0 or step == plan.steps)
        if avg is not None and (step == plan.steps or (checkpoint and on_average is not None)):
            recompute_bn(avg, c, tv, idx, plan.seed + 7919 * step, plan.batch, plan.swa_bn_batches)
            log(f"{plan.arch} step {step}: average of {int(avg.n_averaged)} models")
        if on_checkpoint is not None and checkpoint:
            on_checkpoint(step, model)
        if on_average is not None and avg is not None and checkpoint:
            on_average(step, avg.module)
    return model if avg is None else avg.module


def export_onnx(model: SpecNet, path: str) -> None:
    was = model.training
    model.eval()
    torch.onnx.export(model, (torch.zeros(1, WIN),), path, input_names=["waveform"], output_names=["logit"],
                      dynamic_axes={"waveform": {0: "batch", 1: "samples"}, "logit": {0: "batch"}},
                      opset_version=17, dynamo=False)
    model.train(was)


def cmd_cv(args) -> None:
    torch.set_num_threads(args.threads)
    c = Cache(args.data)
    tv = Variants(os.path.join(args.data, "train-variants.npz"))
    ev = Variants(os.path.join(args.data, "eval-channels.npz"))
    train_idx = [i for i, m in enumerate(c.clips) if m["fold"] != args.fold]
    test_idx = [i for i, m in enumerate(c.clips) if m["fold"] == args.fold]
    extra: list[int] = []
    if args.extra_spoofs:
        extra = add_extra_spoofs(c, tv, args.extra_spoofs)
        train_idx += extra
        log(f"{len(extra)} extra spoof clips from {args.extra_spoofs} on the training side")
    swa = {"start": args.swa_start, "every": args.swa_every, "bnBatches": args.swa_bn_batches}
    # runs land in DIR/cv/<run>/ (report --archs takes these names); plain runs default to the architecture's name.
    # With weight averaging the averaged model goes to <arch>-swa<start>e<every> and the model as trained, the same
    # run as without averaging, to that name + "-raw": neither overwrites a plain run's results.
    run = args.run or (f"{args.arch}-swa{args.swa_start}e{args.swa_every}" if args.swa_start > 0 else args.arch)

    def recorder(name: str, with_swa: bool):
        result = {"fold": args.fold, "arch": args.arch, "run": name, "steps": args.steps, "clipIdx": test_idx,
                  "checkpoints": [], **({"swa": swa} if with_swa else {}),
                  **({"rawboost": args.rawboost} if args.rawboost > 0 else {}),
                  **({"pageAdversary": args.page_adversary} if args.page_adversary > 0 else {}),
                  **({"samRho": args.sam_rho} if args.sam_rho > 0 else {}),
                  **({"extraSpoofs": {"file": os.path.basename(args.extra_spoofs), "clips": len(extra)}}
                     if extra else {})}
        out_dir = os.path.join(args.data, "cv", name)
        os.makedirs(out_dir, exist_ok=True)

        def on_ck(step: int, model: SpecNet) -> None:
            scores = {ch: score_clips(model, ev, test_idx, k).tolist() for k, ch in enumerate(CHANNELS)}
            lab = c.labels[test_idx]
            e = {ch: eer(np.array(s)[lab == 0], np.array(s)[lab == 1]) for ch, s in scores.items()}
            log(f"{name} fold {args.fold} step {step}: pooled EER " + " ".join(f"{k} {v:.3f}" for k, v in e.items()))
            result["checkpoints"].append({"step": step, "scores": scores})
            # the fold model itself, for tools that judge held-out speakers with a model that never saw their page
            export_onnx(model, os.path.join(out_dir, f"fold{args.fold}-step{step}.onnx"))
            json.dump(result, open(os.path.join(out_dir, f"fold{args.fold}.json"), "w"))

        return on_ck

    t0 = time.time()
    on_ck = recorder(run + "-raw" if args.swa_start > 0 else run, False)
    on_avg = recorder(run, True) if args.swa_start > 0 else None
    plan = TrainPlan(args.arch, args.steps, args.seed + args.fold, batch=args.batch, lr=args.lr, every=args.every,
                     pair_share=args.pair_share, pair_margin_weight=args.pair_margin_weight,
                     pair_margin=args.pair_margin, swa_start=args.swa_start, swa_every=args.swa_every,
                     swa_bn_batches=args.swa_bn_batches, rawboost=args.rawboost,
                     page_adversary=args.page_adversary, sam_rho=args.sam_rho)
    train(c, tv, train_idx, plan, on_ck, on_avg)
    log(f"fold {args.fold} done in {time.time() - t0:.0f} s")


def platt(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Logistic calibration with both classes weighted equally, so that a * logit + b reads as a log-likelihood
    ratio (equal priors), not as the share of spoofs in the training pages."""
    from sklearn.linear_model import LogisticRegression

    m = LogisticRegression(C=1e6, max_iter=1000, class_weight="balanced").fit(scores.reshape(-1, 1), labels)
    return float(m.coef_[0, 0]), float(m.intercept_[0])


def lso_table(c: Cache, idx: list[int], scores: dict[str, np.ndarray]) -> dict:
    lab = c.labels[idx]
    groups = [c.clips[i]["group"] for i in idx]
    folds = [c.clips[i]["fold"] for i in idx]
    table = {}
    for ch, s in scores.items():
        per = group_eers(s, lab, groups)
        per_fold = {str(f): eer(s[(np.array(folds) == f) & (lab == 0)], s[(np.array(folds) == f) & (lab == 1)])
                    for f in sorted(set(folds))}
        table[ch] = {"meanGroupEer": float(np.mean(list(per.values()))), "pooledEer": eer(s[lab == 0], s[lab == 1]),
                     "perGroup": per, "perFold": per_fold}
    return table


class OnnxModel:
    """Enough of SpecNet's interface for `score_clips`: called on a [batch, samples] tensor, returns [batch, 1]."""

    def __init__(self, path: str) -> None:
        import onnxruntime as ort

        o = ort.SessionOptions()
        o.intra_op_num_threads = 1
        self.s = ort.InferenceSession(path, o, providers=["CPUExecutionProvider"])
        self.name = self.s.get_inputs()[0].name
        self.training = False

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(self.s.run(None, {self.name: x.numpy().astype(np.float32)})[0])

    def eval(self) -> None:
        pass

    def train(self, _: bool) -> None:
        pass


def score_run(c: Cache, ev: Variants, models: str, step: int) -> tuple[list[int], dict[str, list[float]], dict]:
    """Every clip scored by the fold model that never saw its page, per channel; with the LSO table of those scores."""
    idx: list[int] = []
    scores: dict[str, list[float]] = {ch: [] for ch in CHANNELS}
    for k in range(c.folds):
        test = [i for i, m in enumerate(c.clips) if m["fold"] == k]
        model = OnnxModel(os.path.join(models, f"fold{k}-step{step}.onnx"))
        idx += test
        for j, ch in enumerate(CHANNELS):
            scores[ch] += score_clips(model, ev, test, j).tolist()  # type: ignore[arg-type]
    return idx, scores, lso_table(c, idx, {ch: np.array(v) for ch, v in scores.items()})


def stored_scores(data: str, folds: int, run: str, step: int) -> tuple[list[int], dict[str, list[float]]]:
    """A CV run's held-out clip scores at `step`, folds in order, as `cv` stored them (DIR/cv/<run>/fold<k>.json)."""
    idx: list[int] = []
    sc: dict[str, list[float]] = {ch: [] for ch in CHANNELS}
    for k in range(folds):
        f = json.load(open(os.path.join(data, "cv", run, f"fold{k}.json")))
        ck = next((x for x in f["checkpoints"] if x["step"] == step), None)
        if ck is None:
            raise SystemExit(f"{run} fold {k} has no checkpoint at step {step}")
        idx += f["clipIdx"]
        for ch in CHANNELS:
            sc[ch] += ck["scores"][ch]
    return idx, sc


def suppressed_presets(c: Cache, data: str) -> tuple[Variants, int]:
    """`data`'s evaluation presets and their noise-suppressor level, after checking that they are the same clips and
    folds as `c` behind a sender's noise suppressor (`prep --variants 0 --eval-ns L`)."""
    other = Cache(data)
    if [m["fold"] for m in other.clips] != [m["fold"] for m in c.clips]:
        raise SystemExit(f"{data} does not hold the same clips and folds as the training cache")
    ev = Variants(os.path.join(data, "eval-channels.npz"))
    level = ev.meta.get("evalNs")
    if level is None:
        raise SystemExit(f"{data}/eval-channels.npz is not behind a noise suppressor (train.py prep --eval-ns)")
    return ev, int(level)


def suppressed_manifest_entry(rep: dict, ab: list[float]) -> dict:
    """The manifest's `calibration.suppressed` (as a dict to spread into `calibration`; empty without one)."""
    if "suppressed" not in rep:
        return {}
    return {"suppressed": {"a": ab[0], "b": ab[1],
                           "fittedOn": ("same clips behind a sender's noise suppressor "
                                        f"(WebRTC NS level {rep['suppressed']['evalNs']}), then the wideband channels; "
                                        "for senders that suppress noise (a browser's getUserMedia)")}}


def suppressed_calibration(c: Cache, data: str, models: str, step: int) -> dict:
    """The chosen run's fold models score `data`'s evaluation presets, the same clips and folds behind a sender's noise
    suppressor (`prep --eval-ns`); a logistic calibration fitted on the wideband ones serves audio from senders that
    suppress noise (a browser's getUserMedia does by default), whose real speech the model scores higher."""
    ev, level = suppressed_presets(c, data)
    idx, sc, tab = score_run(c, ev, models, step)
    lab = c.labels[idx]
    wide = [ch for ch in CHANNELS if ch not in TELEPHONE]
    a, b = platt(np.concatenate([np.array(sc[ch]) for ch in wide]), np.concatenate([lab for _ in wide]))
    log(f"suppressed (noise suppressor level {level}) calibration a={a:.3f} b={b:.3f}; mean LSO EER "
        + " ".join(f"{ch} {tab[ch]['meanGroupEer']:.3f}" for ch in CHANNELS))
    return {"evalNs": level, "calibration": [a, b],
            "meanGroupEer": {ch: tab[ch]["meanGroupEer"] for ch in CHANNELS},
            "pooledEer": {ch: tab[ch]["pooledEer"] for ch in CHANNELS}}


def cmd_report(args) -> None:
    from shortcut import shortcut_baseline

    c = Cache(args.data)
    report: dict = {"card": {k: v for k, v in c.card.items() if k != "skipped"}, "skipped": c.card.get("skipped", []),
                    "archs": {}}
    best: tuple[float, str, int] | None = None
    runs: dict[str, dict] = {}
    for arch in args.archs:  # CV run names (folders under DIR/cv): the architecture's name for plain runs
        d = os.path.join(args.data, "cv", arch)
        folds = [json.load(open(os.path.join(d, f"fold{k}.json"))) for k in range(c.folds)]
        runs[arch] = {"model": folds[0].get("arch", arch), "swa": folds[0].get("swa"),
                      "extraSpoofs": folds[0].get("extraSpoofs"), "rawboost": folds[0].get("rawboost"),
                      "pageAdversary": folds[0].get("pageAdversary"), "samRho": folds[0].get("samRho")}
        steps = sorted({ck["step"] for ck in folds[0]["checkpoints"]} & set.intersection(
            *[{ck["step"] for ck in f["checkpoints"]} for f in folds]))
        per_step = {}
        for st in steps:
            idx: list[int] = []
            sc: dict[str, list[float]] = {ch: [] for ch in CHANNELS}
            for f in folds:
                ck = next(k for k in f["checkpoints"] if k["step"] == st)
                idx += f["clipIdx"]
                for ch in CHANNELS:
                    sc[ch] += ck["scores"][ch]
            scores = {ch: np.array(v) for ch, v in sc.items()}
            tab = lso_table(c, idx, scores)
            per_step[str(st)] = tab
            sel = float(np.mean([tab[ch]["meanGroupEer"] for ch in CHANNELS]))
            log(f"{arch} step {st}: mean LSO EER " + " ".join(f"{ch} {tab[ch]['meanGroupEer']:.3f}" for ch in CHANNELS)
                + f" (selection value {sel:.3f})")
            if best is None or sel < best[0]:
                best = (sel, arch, st)
        report["archs"][arch] = {"steps": steps, "perStep": per_step}
    assert best is not None
    _, arch, st = best
    idx, sc = stored_scores(args.data, c.folds, arch, st)
    lab = c.labels[idx]
    wide = np.concatenate([np.array(sc[ch]) for ch in CHANNELS if ch not in TELEPHONE])
    wide_lab = np.concatenate([lab for ch in CHANNELS if ch not in TELEPHONE])
    tel = np.concatenate([np.array(sc[ch]) for ch in TELEPHONE])
    tel_lab = np.concatenate([lab for _ in TELEPHONE])
    a, b = platt(wide, wide_lab)
    ta, tb = platt(tel, tel_lab)
    chosen = report["archs"][arch]["perStep"][str(st)]
    mean_eer = float(np.mean([chosen[ch]["meanGroupEer"] for ch in CHANNELS if ch not in TELEPHONE]))
    calibration = {"wideband": [a, b], "telephone": [ta, tb]}
    if args.suppressed_data:
        report["suppressed"] = suppressed_calibration(c, args.suppressed_data, os.path.join(args.data, "cv", arch), st)
        calibration["suppressed"] = report["suppressed"]["calibration"]
    report["chosen"] = {"arch": arch, **runs[arch], "steps": st,
                        "calibration": calibration, "meanLsoEerWideband": mean_eer,
                        "table": chosen, "oof": {"clipIdx": idx, "scores": sc}}
    report["shortcut"] = shortcut_baseline(c, args.data)
    json.dump(report, open(os.path.join(args.data, "cv", "report.json"), "w"), indent=1)
    with open(os.path.join(args.data, "cv", "report.md"), "w") as f:
        f.write(report_markdown(c, report))
    log(f"chosen {arch} at {st} steps; wideband calibration a={a:.3f} b={b:.3f}, telephone a={ta:.3f} b={tb:.3f}")
    log("shortcut baseline mean LSO EER: " + json.dumps({k: round(v["meanGroupEer"], 3)
                                                        for k, v in report["shortcut"].items()}))


def report_markdown(c: Cache, rep: dict) -> str:
    """The leave-source-out tables for docs/models.md, from report.json alone."""
    ch = rep["chosen"]
    lines = ["| architecture | steps | " + " | ".join(f"mean LSO EER {k}" for k in CHANNELS) + " |",
             "| --- | --- | " + " | ".join("---" for _ in CHANNELS) + " |"]
    for arch, a in rep["archs"].items():
        for st in a["steps"]:
            t = a["perStep"][str(st)]
            lines.append(f"| {arch} | {st} | " + " | ".join(f"{t[k]['meanGroupEer']:.3f}" for k in CHANNELS) + " |")
    lines += ["", f"Chosen: {ch['arch']} at {ch['steps']} steps. Per held-out page (EER, both classes present):", "",
              "| held-out page (group) | fold | bona fide | spoof | " + " | ".join(CHANNELS) + " |",
              "| --- | --- | --- | --- | " + " | ".join("---" for _ in CHANNELS) + " |"]
    for g in sorted(ch["table"]["clean"]["perGroup"]):
        members = [m for m in c.clips if m["group"] == g]
        lines.append(f"| {g} | {members[0]['fold']} | {sum(1 for m in members if m['label'] == 0)} | "
                     f"{sum(1 for m in members if m['label'] == 1)} | "
                     + " | ".join(f"{ch['table'][k]['perGroup'][g]:.2f}" for k in CHANNELS) + " |")
    lines.append("| **mean over pages** | | | | " + " | ".join(f"**{ch['table'][k]['meanGroupEer']:.3f}**" for k in CHANNELS)
                 + " |")
    lines.append("| pooled (all held-out clips, one threshold) | | | | "
                 + " | ".join(f"{ch['table'][k]['pooledEer']:.3f}" for k in CHANNELS) + " |")
    lines += ["", "Shortcut baseline (logistic regression on duration, RMS, roll-off, leading/trailing silence, DC, "
              "energy above 4 kHz), same folds:", "", "| features from | mean LSO EER |", "| --- | --- |"]
    for k, v in rep["shortcut"].items():
        lines.append(f"| {k} | {v['meanGroupEer']:.3f} |")
    if "suppressed" in rep:
        s = rep["suppressed"]
        eers = " / ".join(f"{s['meanGroupEer'][k]:.3f}" for k in CHANNELS)
        lines += ["", "The same presets behind the sender's noise suppressor "
                  f"(WebRTC NS level {s['evalNs']}), the chosen run's fold models: mean LSO EER {eers} "
                  f"({', '.join(CHANNELS)}); calibration.suppressed a {s['calibration'][0]:.3f}, "
                  f"b {s['calibration'][1]:.3f}."]
    return "\n".join(lines) + "\n"


def cmd_final(args) -> None:
    torch.set_num_threads(args.threads)
    c = Cache(args.data)
    rep = json.load(open(os.path.join(args.data, "cv", "report.json")))
    ch = rep["chosen"]
    if ch.get("model", ch["arch"]) in GPL_START:
        raise SystemExit(f"final: {ch.get('model', ch['arch'])} starts from GPL-3.0 weights (shared/models/inc-tssdnet); "
                         "the project ships Apache-2.0 models, so this needs a licence decision first")
    steps = args.steps or int(ch["steps"])
    swa = ch.get("swa") or {}  # the chosen run's weight averaging unless the flags say otherwise
    swa_start = args.swa_start or int(swa.get("start", 0))
    swa_every = args.swa_every if args.swa_start else int(swa.get("every", args.swa_every))
    # the chosen run's RawBoost share and page adversary unless the flags say otherwise (as for weight averaging)
    rawboost = args.rawboost or float(ch.get("rawboost") or 0.0)
    page_adversary = args.page_adversary or float(ch.get("pageAdversary") or 0.0)
    sam_rho = args.sam_rho or float(ch.get("samRho") or 0.0)
    if rawboost or page_adversary or sam_rho:
        log(f"as the chosen run trained: RawBoost {rawboost}, page adversary {page_adversary}, SAM radius {sam_rho}")
    tv = Variants(os.path.join(args.data, "train-variants.npz"))
    if ch.get("extraSpoofs") and not args.extra_spoofs:  # the shipped model trains on what its CV trained on
        raise SystemExit(f"final: the chosen run trained with {ch['extraSpoofs']['clips']} extra spoof clips "
                         f"({ch['extraSpoofs']['file']}); pass --extra-spoofs with that file")
    extra = add_extra_spoofs(c, tv, args.extra_spoofs) if args.extra_spoofs else []
    if ch.get("extraSpoofs") and ch["extraSpoofs"]["clips"] != len(extra):
        raise SystemExit(f"final: {args.extra_spoofs} holds {len(extra)} clips, the chosen run trained with "
                         f"{ch['extraSpoofs']['clips']}")
    if extra:
        log(f"{len(extra)} extra spoof clips from {args.extra_spoofs}")
    t0 = time.time()
    plan = TrainPlan(ch.get("model", ch["arch"]), steps, args.seed, args.batch, args.lr,
                     pair_share=args.pair_share, pair_margin_weight=args.pair_margin_weight,
                     pair_margin=args.pair_margin, swa_start=swa_start, swa_every=swa_every,
                     swa_bn_batches=args.swa_bn_batches, rawboost=rawboost, page_adversary=page_adversary,
                     sam_rho=sam_rho)
    model = train(c, tv, list(range(len(c.clips))), plan)
    train_s = time.time() - t0
    os.makedirs(args.out, exist_ok=True)
    onnx_path = os.path.join(args.out, "model.onnx")
    export_onnx(model, onnx_path)
    model.eval()
    import onnxruntime as ort

    sess = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    parity = 0.0
    for n in (SR, WIN, 4 * SR):
        x = np.stack([c.clip(0)[:n] if c.lengths[0] >= n else np.resize(c.clip(0), n),
                      (np.random.default_rng(7).standard_normal(n) * 0.05).astype(np.float32)]).astype(np.float32)
        with torch.no_grad():
            ref = model(torch.from_numpy(x)).numpy()
        got = sess.run(["logit"], {"waveform": x})[0]
        parity = max(parity, float(np.max(np.abs(ref - got))))
    if parity > 1e-3:
        raise SystemExit(f"ONNX/torch mismatch {parity}")
    log(f"onnx parity max |diff| {parity:.2e}")
    write_manifest(args, c, rep, model, onnx_path, steps, train_s, parity, len(extra), float(tv.meta.get("nsShare", 0)))


def write_manifest(args, c: Cache, rep: dict, model: SpecNet, onnx_path: str, steps: int, train_s: float,
                   parity: float, n_extra: int = 0, ns_share: float = 0.0) -> None:
    ch = rep["chosen"]
    a, b = ch["calibration"]["wideband"]
    ta, tb = ch["calibration"]["telephone"]
    lso = ch["meanLsoEerWideband"]
    card = rep["card"]
    manifest = {
        "schemaVersion": 1,
        "id": "voice-antispoof",
        "version": args.version,
        "task": "voice-antispoof",
        "file": "model.onnx",
        "sha256": hashlib.sha256(open(onnx_path, "rb").read()).hexdigest(),
        "inputs": [{"name": "waveform", "dtype": "float32", "shape": ["batch", "samples"]}],
        "outputs": [{"name": "logit", "dtype": "float32", "shape": ["batch", 1]}],
        "audio": {
            "sampleRate": SR, "minSeconds": 1.0, "maxSeconds": 2.0, "windowSeconds": 2.0, "hopSeconds": 1.0,
            "preprocessing": "mono float32 in [-1,1] at 16 kHz; mean removal and RMS normalisation to -26 dBFS happen "
                             "INSIDE the graph. Trained on 2 s windows of VAD-trimmed speech; clip score = mean "
                             "window logit over 2 s windows every 1 s, the last aligned to the clip's end (clips of 1-2 s scored whole, "
                             "shorter ones tiled to 1 s).",
        },
        "output": {"meaning": "logit; higher means more likely fake (minus the cosine to the learned bona fide "
                              "direction for the one-class head)"},
        "calibration": {
            "method": "logistic", "a": a, "b": b,
            "fittedOn": "out-of-fold clip scores of the leave-source-out cross-validation (every page held out once), "
                        "wideband channels (16 kHz as is, Opus 24 kb/s, Opus 12 kb/s + 5 % loss)",
            "telephone": {"a": ta, "b": tb, "fittedOn": "same clips through G.711 mu-law 8 kHz"},
            **suppressed_manifest_entry(rep, ch["calibration"].get("suppressed", [])),
        },
        "verdict": {
            # a calibration slope <= 0 means the held-out scores run the wrong way: never act on such a model
            "weight": round(max(0.0, 1 - 2 * lso), 4) if a > 0 else 0.0,
            "basis": f"1 - 2 x mean leave-source-out EER over held-out pages (wideband channels, {lso:.3f}), floored at 0"
                     + ("" if a > 0 else "; 0 because the out-of-fold calibration slope is not positive"),
        },
        "budget": {"gmacPerSecondAudio": round(count_macs(model, WIN) / 2 / 1e9, 4)},
        "license": "Apache-2.0 (weights trained here; training audio from public demo pages, not redistributed)",
        "dataCard": (f"{card['clips']} clips ({card['bonafide']} bona fide, {card['spoof']} spoof; "
                     f"{card['hours'].get('bonafide', 0):.2f} h / {card['hours'].get('spoof', 0):.2f} h after VAD trim) "
                     f"from {card['pages']} public demo pages ({', '.join(card['manifests'])}), about "
                     f"{card['generators']} generator labels (neural TTS, zero-shot cloning, voice conversion, "
                     f"vocoders, neural codecs) and {card['speakers']} speaker labels. Front end: {card['frontEnd']}. "
                     "Both classes through the same random channels (EQ, low-pass 4-7.8 kHz, libopus 12-32 kb/s, "
                     "Opus with 2-10 % loss and PLC, G.711 mu-law 8 kHz, noise, gain)"
                     + (f", {ns_share:.0%} of them first behind a sender's noise suppressor (WebRTC NS, level 1-3)."
                        if ns_share > 0 else ".")
                     + (f" Plus {n_extra} spoof clips made here ({os.path.basename(args.extra_spoofs)}, "
                        "kokoro_study.py: Kokoro-82M reading licence-text sentences) through the same channels, "
                        "on the training side of every fold." if n_extra else "")),
        "training": {
            "command": ((f"KOKORO_CLIPS={n_extra} " if n_extra else "") + (f"NS_SHARE={ns_share:g} " if ns_share else "")
                        + ("NS_EVAL=none " if "suppressed" not in rep
                           else "" if rep["suppressed"]["evalNs"] == 2 else f"NS_EVAL={rep['suppressed']['evalNs']} ")
                        + "bash detectors/training/voice/run.sh ../shared/train/voice-tts ../shared/train/voice-vc"),
            "seconds": round(train_s, 1),
            "metrics": {
                **{f"lsoMeanEer_{k}": round(v["meanGroupEer"], 4) for k, v in ch["table"].items()},
                **{f"lsoPooledEer_{k}": round(v["pooledEer"], 4) for k, v in ch["table"].items()},
                **{f"lsoMeanEer_suppressed_{k}": round(v, 4)
                   for k, v in rep.get("suppressed", {}).get("meanGroupEer", {}).items()},
                **{f"shortcutLsoMeanEer_{k.replace(' ', '').replace('+', '_')}": round(v["meanGroupEer"], 4)
                   for k, v in rep["shortcut"].items()},
                "onnxParityMaxAbs": parity,
            },
            "architecture": {"name": ch.get("model", ch["arch"]), **model.cfg.to_dict(),
                             "parameters": int(sum(p.numel() for p in model.parameters())),
                             "macsPer2sWindow": count_macs(model, WIN)},
            "steps": steps, "batch": args.batch,
            "selection": "architecture and step count chosen by mean leave-source-out EER (all channels); "
                         "final model trained on every page for that many steps",
        },
    }
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    log(f"wrote {args.out}/manifest.json (verdict weight {manifest['verdict']['weight']})")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["prep", "cv", "report", "final"])
    ap.add_argument("--data", required=True)
    ap.add_argument("--arch", default="specnet-oc", choices=list(ARCHS))
    ap.add_argument("--archs", nargs="+", default=["specnet-oc"])
    ap.add_argument("--fold", type=int, default=0)
    ap.add_argument("--steps", type=int, default=None,
                    help="cv: training steps (0 scores the starting model, e.g. the published weights of --arch tssdnet); "
                         "final: default the chosen run's steps")
    ap.add_argument("--every", type=int, default=300)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--variants", type=int, default=6)
    ap.add_argument("--ns-share", type=float, default=0.0,
                    help="prep: share of training variants behind the sender's WebRTC noise suppression (channel.py "
                         "sender_ns, level 1-3); 0 reproduces 0.2.0's variants")
    ap.add_argument("--eval-ns", type=int, default=None, choices=[0, 1, 2, 3],
                    help="prep: put every evaluation preset behind the sender's noise suppression at this level "
                         "(a held-out channel set for cross_channel.py and report --suppressed-data; with "
                         "--variants 0 only these presets are written; not for a training cache's own report)")
    ap.add_argument("--suppressed-data", default="",
                    help="report: a cache of the same clips whose evaluation presets are behind a sender's noise "
                         "suppressor (prep --eval-ns); the chosen run's fold models score it and a calibration for "
                         "noise-suppressed senders is fitted on it (manifest calibration.suppressed)")
    ap.add_argument("--opus48-share", type=float, default=0.0,
                    help="prep: share of training Opus passes coded at 48 kHz (the rest at 16 kHz); 0 as shipped")
    ap.add_argument("--pair-share", type=float, default=0.0,
                    help="cv/final: share of each batch drawn as same-utterance (bona fide, spoof) pairs of one "
                         "pair_group, both through one on-the-fly random channel; 0 as shipped")
    ap.add_argument("--pair-margin-weight", type=float, default=0.0,
                    help="cv/final: weight of a ranking term pushing each pair's spoof score --pair-margin above its "
                         "bona fide's (needs --pair-share); 0 as shipped")
    ap.add_argument("--pair-margin", type=float, default=0.5, help="cv/final: score margin of that ranking term")
    ap.add_argument("--swa-start", type=int, default=0,
                    help="cv/final: average the weights from this step on (stochastic weight averaging, BatchNorm "
                         "statistics recomputed on training batches); cv scores the average at every checkpoint from "
                         "there under its own run name; 0 as shipped (final: the chosen run's setting)")
    ap.add_argument("--swa-every", type=int, default=50, help="cv/final: steps between averaged weights")
    ap.add_argument("--swa-bn-batches", type=int, default=32,
                    help="cv/final: training batches for the averaged model's BatchNorm statistics")
    ap.add_argument("--extra-spoofs", default="",
                    help="cv: a variants file of spoof clips made outside the pages (kokoro_study.py variants) added "
                         "to every fold's training as one page of their own; off as shipped")
    ap.add_argument("--rawboost", type=float, default=0.0,
                    help="cv/final: share of training windows boosted by RawBoost (rawboost.py); 0 = none")
    ap.add_argument("--page-adversary", type=float, default=0.0,
                    help="cv/final: lambda_max of a page adversary on bona fide windows through gradient reversal "
                         "(page_adversary.py); 0 = none, as shipped")
    ap.add_argument("--sam-rho", type=float, default=0.0,
                    help="cv/final: radius of sharpness-aware minimisation (sam.py), a second forward and backward per "
                         "step; 0 = plain steps, as shipped")
    ap.add_argument("--run", default="",
                    help="cv: run name, the folder under DIR/cv/ (default: the architecture, or <arch>-swa<S>e<K> with "
                         "--swa-start)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=20261202)
    ap.add_argument("--out", default=os.path.join(REPO, "detectors", "models", "voice-antispoof"))
    ap.add_argument("--version", default="0.2.0")
    args = ap.parse_args()
    if args.cmd == "cv" and (args.steps is None or args.steps < 0):
        ap.error("cv needs --steps (0 to score the starting model)")
    {"prep": cmd_prep, "cv": cmd_cv, "report": cmd_report, "final": cmd_final}[args.cmd](args)


if __name__ == "__main__":
    main()

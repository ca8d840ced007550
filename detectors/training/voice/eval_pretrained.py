"""Leave-source-out evaluation of the pretrained AASIST / AASIST-L (clovaai/aasist, ASVspoof 2019 LA) and SAMO
(AASIST's network trained with a one-class speaker-attractor loss) on the voice training cache, (a) as shipped and
(b) as a frozen 160-d embedding with a logistic-regression head. SAMO's linear output was never trained, so (a) is
its own attractor scoring, with one attractor per bona fide speaker of the other folds (attractor_scores).

Data: DIR from build_data.py (clips.npz: int16 16 kHz audio concatenated + offsets + lengths; clips.json: per-clip
label 0 bona fide / 1 spoof, group = held-out unit, fold = its cross-validation fold).

Scoring: each clip goes through a channel preset (channel.apply_channel, rng seeded with the clip index), then
2 s windows (32000 samples) starting every 1 s from the clip start, at most --max-windows of them (clips shorter
than 2 s are tiled to 2 s); the network runs in onnxruntime (one thread) and the clip's embedding and logits are
the means over its windows. Embeddings for all four channels are cached in DIR/<model>-emb.npz.

(a) as shipped: score = logits[spoof] - logits[bona fide] (higher = spoof), channels clean and opus24.
(b) head: for each outer fold k, StandardScaler + LogisticRegression(class_weight="balanced") on the other folds'
    clips, one row per clip and channel (all four channels); C picked by inner leave-one-fold-out CV over those
    training folds (groups never straddle folds), criterion = mean inner EER over clean and opus24; fold k's clips
    are scored per channel.
Reported per channel: EER per held-out fold, per held-out group (groups with both classes), mean over groups, and
pooled over all clips (for the head: scores of five different fold models pooled, indicative only).

Usage: nice -n 10 detectors/training/.venv/bin/python detectors/training/voice/eval_pretrained.py \\
         --data detectors/training/.cache/voice2 --model aasist-l --out /tmp/aasist/lso-aasist-l.json
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # common/
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from aasist import PRETRAINED, build_named, export_onnx, ort_session  # noqa: E402
from channel import CHANNELS, apply_channel  # noqa: E402
from common.metrics import eer, group_eers  # noqa: E402

WIN, HOP = 32000, 16000
EVAL_CHANNELS = ("clean", "opus24")
C_GRID = (1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0)


def log(msg: str) -> None:
    print(f"[eval_pretrained {time.strftime('%H:%M:%S')}] {msg}", flush=True)


@dataclass
class Data:
    clips: list[dict]
    n_folds: int
    audio: np.ndarray
    offsets: np.ndarray
    lengths: np.ndarray

    @property
    def labels(self) -> np.ndarray:
        return np.array([c["label"] for c in self.clips], dtype=np.int64)

    @property
    def folds(self) -> np.ndarray:
        return np.array([c["fold"] for c in self.clips], dtype=np.int64)

    @property
    def groups(self) -> list[str]:
        return [c["group"] for c in self.clips]

    def clip(self, i: int) -> np.ndarray:
        o, n = int(self.offsets[i]), int(self.lengths[i])
        return self.audio[o:o + n].astype(np.float32) / 32768.0


def load_data(path: str) -> Data:
    with open(os.path.join(path, "clips.json")) as f:
        meta = json.load(f)
    z = np.load(os.path.join(path, "clips.npz"))
    return Data(meta["clips"], int(meta["folds"]), z["audio"], z["offsets"], z["lengths"])


def window_starts(n: int, max_windows: int) -> list[int]:
    """Starts of the 2 s windows of an n-sample clip (one window for clips shorter than 2 s, tiled)."""
    return list(range(0, max(n, WIN) - WIN + 1, HOP))[:max_windows]


def windows(x: np.ndarray, max_windows: int) -> np.ndarray:
    """[n, WIN] windows every HOP samples from the start, at most max_windows; short clips tiled to WIN."""
    if len(x) < WIN:
        x = np.tile(x, -(-WIN // len(x)))[:WIN]
    return np.stack([x[s:s + WIN] for s in window_starts(len(x), max_windows)]).astype(np.float32)


def fingerprint(data: Data, model: str, max_windows: int) -> str:
    key = json.dumps([model, WIN, HOP, max_windows, list(CHANNELS),
                      [(c["path"], int(n)) for c, n in zip(data.clips, data.lengths)]])
    return hashlib.sha256(key.encode()).hexdigest()


def embed(data: Data, model: str, cache: str, max_windows: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean window embedding [clips, channels, 160] and mean logits [clips, channels, 2] for every channel in
    CHANNELS, cached in `cache` (saved after each channel, so an interrupted run resumes)."""
    fp = fingerprint(data, model, max_windows)
    done: dict[str, np.ndarray] = {}
    if os.path.exists(cache):
        z = np.load(cache)
        if str(z["fingerprint"]) == fp:
            done = {k: z[k] for k in z.files if k != "fingerprint"}
        else:
            log(f"{cache} is for other clips or settings: recomputing")
    todo = [ch for ch in CHANNELS if f"emb_{ch}" not in done]
    if todo:
        torch.set_num_threads(1)
        with tempfile.TemporaryDirectory() as tmp:
            onnx_path = os.path.join(tmp, f"{model}.onnx")
            export_onnx(build_named(model), onnx_path)
            sess = ort_session(onnx_path, threads=1)
            for ch in todo:
                t0 = time.time()
                n = len(data.clips)
                emb = np.zeros((n, 160), dtype=np.float32)
                logits = np.zeros((n, 2), dtype=np.float32)
                n_windows = 0
                for i in range(n):
                    y = apply_channel(data.clip(i), ch, np.random.default_rng(i))
                    w = windows(y, max_windows)
                    e, lg = sess.run(None, {"waveform": w})
                    emb[i], logits[i] = e.mean(axis=0), lg.mean(axis=0)
                    n_windows += len(w)
                done[f"emb_{ch}"], done[f"logits_{ch}"] = emb, logits
                np.savez(cache, fingerprint=np.array(fp), **done)
                log(f"{model} channel {ch}: {n} clips, {n_windows} windows in {time.time() - t0:.0f} s")
    emb = np.stack([done[f"emb_{ch}"] for ch in CHANNELS], axis=1)
    logits = np.stack([done[f"logits_{ch}"] for ch in CHANNELS], axis=1)
    return emb, logits


def score_report(scores: np.ndarray, data: Data) -> dict:
    """EER pooled, per fold and per group (groups with both classes), and the mean over groups."""
    lab, folds = data.labels, data.folds
    per_fold = {
        str(k): round(eer(scores[(folds == k) & (lab == 0)], scores[(folds == k) & (lab == 1)]), 4)
        for k in range(data.n_folds)
        if ((folds == k) & (lab == 0)).any() and ((folds == k) & (lab == 1)).any()
    }
    per_group = {g: round(v, 4) for g, v in group_eers(scores, lab, data.groups).items()}
    return {
        "pooledEer": round(eer(scores[lab == 0], scores[lab == 1]), 4),
        "perFold": per_fold,
        "perGroup": per_group,
        "meanGroupEer": round(float(np.mean(list(per_group.values()))), 4),
    }


def attractor_scores(emb: np.ndarray, data: Data) -> dict[str, np.ndarray]:
    """SAMO's own scoring with attractors enrolled here: for each outer fold k, one attractor per bona fide speaker
    of the other folds (the mean of their clean clips' L2-normalised embeddings, normalised); a clip of fold k
    scores minus its largest cosine to them (higher = spoof), per EVAL_CHANNELS channel."""
    lab, folds = data.labels, data.folds
    speakers = [c["speaker"] for c in data.clips]
    unit = emb / np.maximum(np.linalg.norm(emb, axis=-1, keepdims=True), 1e-9)
    clean = CHANNELS.index("clean")
    scores = {ch: np.zeros(len(lab)) for ch in EVAL_CHANNELS}
    for k in range(data.n_folds):
        enrol = [i for i in range(len(lab)) if folds[i] != k and lab[i] == 0]
        names = sorted({speakers[i] for i in enrol})
        att = np.stack([unit[[i for i in enrol if speakers[i] == n], clean].mean(axis=0) for n in names])
        att /= np.maximum(np.linalg.norm(att, axis=1, keepdims=True), 1e-9)
        for ch in EVAL_CHANNELS:
            scores[ch][folds == k] = -(unit[folds == k, CHANNELS.index(ch)] @ att.T).max(axis=1)
    return scores


def head(c: float) -> Pipeline:
    return make_pipeline(StandardScaler(), LogisticRegression(C=c, class_weight="balanced", max_iter=5000))


def rows(emb: np.ndarray, labels: np.ndarray, clip_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Training rows: one per selected clip and channel (all of CHANNELS)."""
    x = emb[clip_mask].reshape(-1, emb.shape[-1])
    y = np.repeat(labels[clip_mask], emb.shape[1])
    return x, y


def inner_eer(emb: np.ndarray, data: Data, train_folds: list[int], c: float) -> float:
    """Mean EER over inner leave-one-fold-out splits of the training folds and over EVAL_CHANNELS."""
    lab, folds = data.labels, data.folds
    out = []
    for j in train_folds:
        fit_mask = np.isin(folds, [f for f in train_folds if f != j])
        model = head(c).fit(*rows(emb, lab, fit_mask))
        val = folds == j
        for ch in EVAL_CHANNELS:
            s = model.decision_function(emb[val, CHANNELS.index(ch)])
            out.append(eer(s[lab[val] == 0], s[lab[val] == 1]))
    return float(np.mean(out))


def head_scores(emb: np.ndarray, data: Data) -> tuple[dict[str, np.ndarray], dict]:
    """Out-of-fold head scores per EVAL_CHANNELS channel, and the C chosen per outer fold with its inner table."""
    lab, folds = data.labels, data.folds
    scores = {ch: np.zeros(len(lab)) for ch in EVAL_CHANNELS}
    chosen = {}
    for k in range(data.n_folds):
        train_folds = [f for f in range(data.n_folds) if f != k]
        table = {c: inner_eer(emb, data, train_folds, c) for c in C_GRID}
        best = min(C_GRID, key=lambda c: (round(table[c], 6), c))  # ties -> stronger regularisation
        model = head(best).fit(*rows(emb, lab, folds != k))
        for ch in EVAL_CHANNELS:
            scores[ch][folds == k] = model.decision_function(emb[folds == k, CHANNELS.index(ch)])
        chosen[str(k)] = {"C": best, "innerEer": {str(c): round(v, 4) for c, v in table.items()}}
        log(f"fold {k}: C={best} (inner EER {table[best]:.3f})")
    return scores, chosen


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="cache dir with clips.npz / clips.json")
    ap.add_argument("--model", choices=sorted(PRETRAINED), default="aasist-l")
    ap.add_argument("--out", required=True, help="results JSON")
    ap.add_argument("--max-windows", type=int, default=6, help="2 s windows per clip (every 1 s from the start)")
    args = ap.parse_args()

    data = load_data(args.data)
    cache = os.path.join(args.data, f"{args.model}-emb.npz")
    t0 = time.time()
    emb, logits = embed(data, args.model, cache, args.max_windows)
    embed_s = time.time() - t0
    lab = data.labels

    if args.model == "samo":  # its linear head was never trained: score with attractors, as SAMO does
        att = attractor_scores(emb, data)
        shipped = {ch: score_report(att[ch], data) for ch in EVAL_CHANNELS}
        shipped_how = "minus the largest cosine to bona fide speaker attractors enrolled from the other folds' clean clips"
    else:
        shipped = {ch: score_report(logits[:, CHANNELS.index(ch), 0] - logits[:, CHANNELS.index(ch), 1], data)
                   for ch in EVAL_CHANNELS}
        shipped_how = "mean over windows of logits[0] - logits[1] (spoof - bona fide)"
    h_scores, chosen = head_scores(emb, data)
    with_head = {ch: score_report(h_scores[ch], data) for ch in EVAL_CHANNELS}

    groups: dict[str, dict] = {}
    for c in data.clips:
        g = groups.setdefault(c["group"], {"fold": c["fold"], "bona": 0, "spoof": 0})
        g["spoof" if c["label"] == 1 else "bona"] += 1
    result = {
        "model": args.model,
        "data": {"dir": args.data, "clips": len(lab), "bona": int((lab == 0).sum()), "spoof": int((lab == 1).sum()),
                 "folds": data.n_folds, "groups": groups},
        "scoring": {"windowSamples": WIN, "hopSamples": HOP, "maxWindows": args.max_windows,
                    "windows": sum(len(window_starts(int(n), args.max_windows)) for n in data.lengths), "embedChannels": list(CHANNELS),
                    "evalChannels": list(EVAL_CHANNELS), "runtime": "onnxruntime CPU, 1 thread",
                    "embedSeconds": round(embed_s, 1), "cache": cache},
        "asShipped": {"score": shipped_how, **shipped},
        "head": {"model": "StandardScaler + LogisticRegression(class_weight=balanced) on mean window embeddings",
                 "trainRows": "clips of the other folds x all channels", "cGrid": list(C_GRID),
                 "chosen": chosen, **with_head},
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)
    for name, block in (("as shipped", shipped), ("embedding + head", with_head)):
        for ch in EVAL_CHANNELS:
            r = block[ch]
            log(f"{args.model} {name:16s} {ch:7s}: mean group EER {r['meanGroupEer']:.3f}, pooled {r['pooledEer']:.3f},"
                f" per fold {r['perFold']}")
    log(f"wrote {args.out}")


if __name__ == "__main__":
    main()

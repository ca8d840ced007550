"""Does the speaker embedding the service already computes carry anti-spoofing evidence the two voice stages lack?

The service embeds every speech window with `speaker-embed` (resemblyzer's GE2E encoder, 1.6 s windows every 0.8 s,
for the takeover rule), so a head on those embeddings would be a third voice detector at almost no inference cost.
This study measures it on the SpecNet recipe's cache (the same clips, pages, folds, training variants and evaluation
presets as every other voice table), nothing shipped:

  features   every clip variant (6 training variants, 4 evaluation channels) through the speaker model's ONNX file
             as the service frames it (1.6 s windows every 0.8 s, the last aligned to the clip's end; a clip under
             1.6 s tiled; windows under -50 dBFS left out unless none is left); a clip's features are the mean and the
             standard deviation of its windows' 256-d embeddings (512 values); DIR/speaker-embed-feats.npz
  cv         leave-source-out: for each fold, C chosen by inner leave-one-fold-out CV on the other folds (criterion:
             mean inner EER over the 4 channels), a standardised logistic head fitted on the other folds' training
             variants, the held-out pages scored per channel. Then the fusions, as fusion_study.py fits them: for each
             held-out fold a logistic regression on the out-of-fold scores of the other folds (classes weighted
             equally), applied to the held-out fold: SpecNet + voice-whisper (the shipped pair's information) and
             SpecNet + voice-whisper + this head. Mean EER over held-out pages per channel for each, and the
             four-channel mean; DIR/cv/speaker-embed-study.json

  detectors/training/.venv/bin/python detectors/training/voice/speaker_embed_study.py features --data DIR
  detectors/training/.venv/bin/python detectors/training/voice/speaker_embed_study.py cv --data DIR \\
      --stage-report DIR-stage0/cv/whisper-stage/report.json

DIR/cv/report.json (train.py report) gives SpecNet's out-of-fold scores; --stage-report the stage's (whisper_stage.py
cv, on a cache of the same clips and folds). Rule fixed before the run: detectors/training/voice/README.md, "Study:
the speaker embedding as a third voice detector".
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # common/
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from channel import CHANNELS  # noqa: E402
from fusion_study import balanced_lr  # noqa: E402
from train import SR, Cache, lso_table  # noqa: E402
from whisper_stage import extract, head_cv  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
MODEL = os.path.join(REPO, "detectors", "models", "speaker-embed", "model.onnx")
WIN = int(1.6 * SR)  # the speaker model's fixed input (manifest audio.windowSamples)
HOP = int(0.8 * SR)
SILENT_DBFS = -50.0  # the service skips windows under this RMS before embedding
DIMS = 256
FEATURES = 2 * DIMS
C_GRID = (1e-3, 1e-2, 1e-1, 1.0)
RUN = "speaker-embed-study"


def log(msg: str) -> None:
    print(f"[speaker_embed_study] {msg}", flush=True)


def speaker_windows(x: np.ndarray) -> np.ndarray:
    """The clip framed as the service frames a stream for the speaker model: [windows, 25600]."""
    if len(x) < WIN:
        x = np.tile(x, int(np.ceil(WIN / max(1, len(x)))))[:WIN]
    starts = list(range(0, len(x) - WIN + 1, HOP))
    if starts[-1] != len(x) - WIN:
        starts.append(len(x) - WIN)
    w = np.stack([x[s:s + WIN] for s in starts]).astype(np.float32)
    rms = 20 * np.log10(np.sqrt(np.mean(w.astype(np.float64) ** 2, axis=1)) + 1e-12)
    keep = rms >= SILENT_DBFS
    return w[keep] if keep.any() else w


def make_embedder(threads: int):
    import onnxruntime as ort

    o = ort.SessionOptions()
    o.intra_op_num_threads = threads
    s = ort.InferenceSession(MODEL, o, providers=["CPUExecutionProvider"])
    name = s.get_inputs()[0].name

    def clip_features(x: np.ndarray) -> np.ndarray:
        e = s.run(None, {name: speaker_windows(x)})[0]
        return np.concatenate([e.mean(axis=0), e.std(axis=0)])

    return clip_features


def cmd_features(args) -> None:
    t0 = time.time()
    extract(args.data, make_embedder(args.threads), FEATURES, os.path.join(args.data, "speaker-embed-feats.npz"))
    log(f"features in {time.time() - t0:.0f} s")


def fuse(x: np.ndarray, lab: np.ndarray, folds: np.ndarray) -> np.ndarray:
    """Each held-out fold scored by fusion_study.py's fusion (`balanced_lr`) of the columns of `x`, fitted on the
    other folds."""
    out = np.zeros(len(lab))
    for k in sorted(set(folds.tolist())):
        tr = folds != k
        out[~tr] = balanced_lr(x[tr], lab[tr]).decision_function(x[~tr])
    return out


def cmd_cv(args) -> None:
    c = Cache(args.data)
    z = np.load(os.path.join(args.data, "speaker-embed-feats.npz"))
    head, chosen = head_cv(c, z["train_variants"], z["eval_channels"], C_GRID, log)
    spec = json.load(open(os.path.join(args.data, "cv", "report.json")))["chosen"]
    stage = np.array(json.load(open(args.stage_report))["oofScores"])
    if stage.shape != (len(c.clips), len(CHANNELS)):
        sys.exit(f"{args.stage_report}: oofScores has shape {stage.shape}, expected ({len(c.clips)}, {len(CHANNELS)})")
    idx = np.array(spec["oof"]["clipIdx"])
    lab = c.labels[idx]
    folds = np.array([c.clips[i]["fold"] for i in idx])
    rows: dict[str, dict[str, np.ndarray]] = {k: {} for k in
                                              ("specnet", "whisper", "speaker-embed", "specnet+whisper",
                                               "specnet+whisper+speaker-embed", "whisper+speaker-embed")}
    for ci, ch in enumerate(CHANNELS):
        s1, s2, s3 = np.array(spec["oof"]["scores"][ch]), stage[idx, ci], head[idx, ci]
        rows["specnet"][ch], rows["whisper"][ch], rows["speaker-embed"][ch] = s1, s2, s3
        rows["specnet+whisper"][ch] = fuse(np.stack([s1, s2], 1), lab, folds)
        rows["specnet+whisper+speaker-embed"][ch] = fuse(np.stack([s1, s2, s3], 1), lab, folds)
        rows["whisper+speaker-embed"][ch] = fuse(np.stack([s2, s3], 1), lab, folds)
    table = {}
    for name, sc in rows.items():
        tab = lso_table(c, idx.tolist(), sc)
        means = {ch: tab[ch]["meanGroupEer"] for ch in CHANNELS}
        table[name] = {"meanGroupEer": means, "fourChannelMean": float(np.mean(list(means.values()))),
                       "pooledEer": {ch: tab[ch]["pooledEer"] for ch in CHANNELS},
                       "perGroupClean": tab["clean"]["perGroup"]}
        log(f"{name:32s} " + " / ".join(f"{means[ch]:.3f}" for ch in CHANNELS)
            + f"  (mean {table[name]['fourChannelMean']:.3f})")
    base = min(table["specnet+whisper"]["fourChannelMean"], table["whisper"]["fourChannelMean"])
    three = table["specnet+whisper+speaker-embed"]["fourChannelMean"]
    alone = table["speaker-embed"]["fourChannelMean"]
    rule = {"threeWay": three, "bestOfShippedPair": base, "headAlone": alone,
            "carriedFurther": bool(three <= base - 0.02 and alone < 0.40)}
    log(f"rule: three-way {three:.3f} against {base:.3f} (needs <= {base - 0.02:.3f}), head alone {alone:.3f} "
        f"(needs < 0.40): {'carried further' if rule['carriedFurther'] else 'not carried further'}")
    out = os.path.join(args.data, "cv", f"{RUN}.json")
    with open(out, "w") as f:
        json.dump({"run": RUN, "model": MODEL, "cGrid": list(C_GRID), "chosen": chosen, "table": table,
                   "rule": rule, "stageReport": os.path.abspath(args.stage_report)}, f, indent=1)
    log(f"wrote {out}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cmd", choices=["features", "cv"])
    ap.add_argument("--data", required=True, help="the SpecNet recipe's cache (clips.json, *.npz, cv/report.json)")
    ap.add_argument("--stage-report", help="cv: voice-whisper's cv report on the same clips and folds")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    if args.cmd == "cv" and not args.stage_report:
        ap.error("cv needs --stage-report")
    {"features": cmd_features, "cv": cmd_cv}[args.cmd](args)


if __name__ == "__main__":
    main()

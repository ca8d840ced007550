"""Study: does the face track (BlazeFace on 1 frame in N, the mesh following the face in between) change what a
face-forgery model sees? Compares one model's scores on crops cut with the detector on every frame against crops
cut with the track, frame by frame and clip by clip.

    node --import tsx detectors/training/face/serviceCrops.ts --out A --max-frames 25 --redetect-every 1 TSV...
    node --import tsx detectors/training/face/serviceCrops.ts --out B --max-frames 25 --redetect-every 5 TSV...
    python detectors/training/face/track_study.py A B [--model detectors/models/face-forgery/model.onnx]

Prints JSON: clip-score correlation and mean absolute difference (next to the spread of clip scores), the
per-frame absolute logit difference (median, 90th percentile), the ratio of the face box widths, and each
placement's AUROC over the clips (if the model was trained on these clips, an in-sample figure: only the
difference between the two means anything).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from common.metrics import auroc  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("every_frame", help="serviceCrops.ts output with --redetect-every 1")
    ap.add_argument("tracked", help="serviceCrops.ts output with the track")
    ap.add_argument("--model", default="detectors/models/face-forgery/model.onnx")
    args = ap.parse_args()
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    sess = ort.InferenceSession(args.model, so, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name

    def clips(d: str) -> dict[str, dict]:
        return {c["path"]: c for c in json.loads((Path(d) / "index.json").read_text())["clips"]}

    def logits(d: str, c: dict) -> np.ndarray:
        n = len(c["frames"])
        x = np.fromfile(Path(d) / f"{c['n']}.crops.u8", np.uint8).reshape(n, 256, 256, 3)
        x = x.transpose(0, 3, 1, 2).astype(np.float32) / 255
        return np.concatenate([sess.run(None, {name: x[i:i + 16]})[0][:, 0] for i in range(0, n, 16)])

    a, b = clips(args.every_frame), clips(args.tracked)
    rows, frame_diff, box_ratio = [], [], []
    for path, ca in a.items():
        cb = b.get(path)
        if cb is None:
            continue
        la, lb = logits(args.every_frame, ca), logits(args.tracked, cb)
        fa = {f["frame"]: (i, f) for i, f in enumerate(ca["frames"])}
        fb = {f["frame"]: (i, f) for i, f in enumerate(cb["frames"])}
        for k in sorted(set(fa) & set(fb)):
            frame_diff.append(abs(float(la[fa[k][0]] - lb[fb[k][0]])))
            box_ratio.append(fb[k][1]["box"][2] / fa[k][1]["box"][2])
        rows.append((1 if ca["label"] == "fake" else 0, float(la.mean()), float(lb.mean())))
    r = np.array(rows)
    print(json.dumps({
        "model": args.model, "clips": len(r), "framesCompared": len(frame_diff),
        "clipsOnlyInOne": len(set(a) ^ set(b)),
        "clipScoreCorrelation": float(np.corrcoef(r[:, 1], r[:, 2])[0, 1]),
        "clipMeanAbsDiff": float(np.abs(r[:, 1] - r[:, 2]).mean()), "clipScoreSd": float(r[:, 1].std()),
        "frameAbsDiffP50P90": [float(np.percentile(frame_diff, 50)), float(np.percentile(frame_diff, 90))],
        "boxWidthRatioP5P50P95": [float(x) for x in np.percentile(box_ratio, [5, 50, 95])],
        "aurocEveryFrame": auroc(r[:, 0], r[:, 1]), "aurocTracked": auroc(r[:, 0], r[:, 2]),
    }, indent=1))


if __name__ == "__main__":
    main()

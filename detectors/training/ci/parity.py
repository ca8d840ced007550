"""What the training code feeds the models, dumped for the TypeScript preprocessing parity test.

Uses the recipes' own functions (no re-implementation): voice `common.audio.read_audio`, `train.windows`
and `model.normalise`; face `facecrop.detect_faces` / `crop_face` and `forgery.to_input`. Writes float32 /
uint8 files into OUT and prints one JSON object on stdout.

  python parity.py audio --wav X.wav --onnx voice.onnx --out DIR [--name N]
  python parity.py image --image X.jpg --onnx face.onnx --out DIR
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
TRAINING = os.path.dirname(HERE)


def _import_from(folder: str, module: str):
    """Imports `module` from a recipe folder (voice and face both have a train.py)."""
    import importlib

    for name in ("train", "model"):
        sys.modules.pop(name, None)
    sys.path.insert(0, folder)
    try:
        return importlib.import_module(module)
    finally:
        sys.path.remove(folder)


def audio(args: argparse.Namespace) -> dict:
    import onnxruntime as ort
    import torch

    sys.path.insert(0, TRAINING)
    from common.audio import read_audio

    vtrain = _import_from(os.path.join(TRAINING, "voice"), "train")
    vmodel = sys.modules["specnet"]
    x = read_audio(args.wav)  # 16 kHz float32, training's decoder and resampler
    wins = vtrain.windows(x)
    sess = ort.InferenceSession(args.onnx, providers=["CPUExecutionProvider"])
    logits = []
    for w in wins:
        logits.append(float(sess.run(["logit"], {"waveform": w[None, :].astype(np.float32)})[0][0, 0]))
    last = wins[-1].astype(np.float32)
    with torch.no_grad():
        norm = vmodel.normalise(torch.from_numpy(last[None, :])).numpy()[0]
    base = os.path.join(args.out, args.name)
    x.astype("<f4").tofile(base + "-decoded.f32")
    last.astype("<f4").tofile(base + "-lastwindow.f32")
    norm.astype("<f4").tofile(base + "-normalised.f32")
    return {"sampleRate": vtrain.SR, "decodedSamples": int(len(x)), "windows": len(wins),
            "windowSamples": [int(len(w)) for w in wins], "logits": logits,
            "lastWindowLogit": logits[-1], "clipScore": float(np.mean(logits)),
            "files": {"decoded": base + "-decoded.f32", "lastWindow": base + "-lastwindow.f32",
                      "normalised": base + "-normalised.f32"}}


def image(args: argparse.Namespace) -> dict:
    import cv2
    import onnxruntime as ort

    face_dir = os.path.join(TRAINING, "face")
    fforgery = _import_from(face_dir, "forgery")
    sys.path.insert(0, face_dir)
    from facecrop import CROP_SIZE, crop_face, detect_faces

    bgr = cv2.imread(args.image)
    if bgr is None:
        raise SystemExit(f"cannot read {args.image}")
    boxes = detect_faces(bgr, min_size=max(40, min(bgr.shape[:2]) // 12), min_neighbors=10)
    if not boxes:
        raise SystemExit("no face found")
    x, y, w, h = boxes[0]
    cx, cy = x + w / 2.0, y + h / 2.0
    sess = ort.InferenceSession(args.onnx, providers=["CPUExecutionProvider"])
    cases = {}
    # side of the square source region (1.3 x box): the detector's own box, one that must be enlarged to
    # 256 (bilinear in training) and one that must be shrunk (area in training)
    for name, side in (("detector", None), ("enlarge", 160), ("shrink", 400), ("exact", CROP_SIZE)):
        if side is None:
            box = (x, y, w, h)
        else:
            b = side / 1.3
            box = (int(round(cx - b / 2)), int(round(cy - b / 2)), int(round(b)), int(round(b)))
        n = max(1, int(round(1.3 * max(box[2], box[3]))))
        src = crop_face(bgr, box, size=n)  # the square source region, not resized (RGB uint8)
        crop = crop_face(bgr, box)  # what training stores: resized to 256 (RGB uint8)
        tensor = fforgery.to_input(crop[None].copy()).numpy()  # what training feeds the model
        logit = float(sess.run(["logit"], {"image": tensor.astype(np.float32)})[0][0, 0])
        base = os.path.join(args.out, f"face-{name}")
        np.ascontiguousarray(src).tofile(base + "-source.u8")
        tensor.astype("<f4").tofile(base + "-input.f32")
        cases[name] = {"sourceSide": n, "logit": logit,
                       "files": {"source": base + "-source.u8", "input": base + "-input.f32"}}
    return {"cropSize": CROP_SIZE, "box": [x, y, w, h], "cases": cases}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("kind", choices=["audio", "image"])
    ap.add_argument("--wav")
    ap.add_argument("--image")
    ap.add_argument("--onnx", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--name", default="clip")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    print(json.dumps(audio(args) if args.kind == "audio" else image(args)))


if __name__ == "__main__":
    main()

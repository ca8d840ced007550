"""Port the published MesoNet weights (Keras 2.1.5 HDF5) to ONNX model folders that follow the face-forgery contract.

Reads Meso4_DF.h5, Meso4_F2F.h5, MesoInception_DF.h5 and MesoInception_F2F.h5 with h5py (no TensorFlow, no
Keras), rebuilds both networks in PyTorch exactly as DariusAf/MesoNet classifiers.py defines them, and exports
one folder per file:

    <out>/<id>/model.onnx      opset 17, dynamic batch; input `image` [batch, 3, 256, 256] RGB in [0, 1]
                               (the service's preprocessing applies the manifest's scale 1/255);
                               output `logit` [batch, 1] = MINUS the pre-sigmoid output of the last Dense
                               layer, so higher = more likely fake (MesoNet's own sigmoid means 1 = real)
    <out>/<id>/manifest.json   the face-forgery contract (detectors/registry/Manifest.ts) with provenance:
                               source repository and commit, licence, sha256 of the .h5 and of the ONNX,
                               identity calibration (a=1, b=0, "uncalibrated: as published"), verdict weight 0

and copies MesoNet's LICENSE and NOTICE into <out>.

Keras-exact details (detectors/training/face/model.py is NOT exact; see pretrained/README.md): ReLU before
BatchNorm, BatchNorm epsilon 1e-3, 'same' padding for every convolution including the dilated ones, MaxPooling
'same' with stride = pool size (identical to floor pooling here: 256 -> 128 -> 64 -> 32 -> 8), channels-last
flatten before the first Dense layer, LeakyReLU 0.1, no input centring.

Weight mapping: Keras 2 names layers `<type>_<n>` with one counter per type in creation order, so within one
file the numeric suffixes sorted ascending give the creation order of classifiers.py (for MesoInception block 1:
a-1x1, b-1x1, b-3x3, c-1x1, c-3x3 dilation 2, d-1x1, d-3x3 dilation 3; then block 2; then the two 5x5 convs).
Every array of the file is used exactly once and every shape is checked.

Usage (from the checkout root):
    detectors/training/.venv/bin/python detectors/training/face/mesonet_port.py \
        [--weights-dir DIR] [--out DIR] [--models meso4-df,...]
--weights-dir defaults to $MESONET_DIR, else ../shared/models/mesonet next to the checkout.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

REPO = Path(__file__).resolve().parents[3]
DEFAULT_OUT = REPO / "detectors" / "training" / "face" / "pretrained"
SOURCE_REPO = "DariusAf/MesoNet"
SOURCE_COMMIT = "2144d56a30"
SIZE = 256
BN_EPS = 1e-3  # Keras BatchNormalization default (PyTorch's is 1e-5)
LEAKY_SLOPE = 0.1


@dataclass(frozen=True)
class Spec:
    id: str
    h5: str
    arch: str  # "meso4" or "mesoinception4"
    trained_on: str


SPECS: tuple[Spec, ...] = (
    Spec("meso4-df", "Meso4_DF.h5", "meso4",
         "the MesoNet authors' Deepfake set: aligned faces from online deepfake videos and real videos "
         "(about 5.1k forged / 7.3k real training images, 2018)"),
    Spec("meso4-f2f", "Meso4_F2F.h5", "meso4",
         "Face2Face re-enactment (FaceForensics, 2018) and the matching real faces"),
    Spec("mesoinception4-df", "MesoInception_DF.h5", "mesoinception4",
         "the MesoNet authors' Deepfake set: aligned faces from online deepfake videos and real videos "
         "(about 5.1k forged / 7.3k real training images, 2018)"),
    Spec("mesoinception4-f2f", "MesoInception_F2F.h5", "mesoinception4",
         "Face2Face re-enactment (FaceForensics, 2018) and the matching real faces"),
)


def default_weights_dir() -> Path:
    env = os.environ.get("MESONET_DIR")
    if env:
        return Path(env)
    return REPO.parent / "shared" / "models" / "mesonet"


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ----------------------------------------------------------------------------------------------- model


def keras_conv(cin: int, cout: int, k: int, dilation: int = 1) -> nn.Conv2d:
    """Conv2D(padding='same', strides=1): odd kernel, so 'same' is a symmetric pad of dilation*(k-1)/2."""
    if k % 2 != 1:
        raise ValueError("only odd kernels are used by MesoNet")
    return nn.Conv2d(cin, cout, k, padding=dilation * (k - 1) // 2, dilation=dilation)


class ConvBlock(nn.Module):
    """Conv2D(activation='relu') -> BatchNormalization -> MaxPooling2D(pool, padding='same')."""

    def __init__(self, cin: int, cout: int, k: int, pool: int) -> None:
        super().__init__()
        self.conv = keras_conv(cin, cout, k)
        self.bn = nn.BatchNorm2d(cout, eps=BN_EPS)
        self.pool = nn.MaxPool2d(pool)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.bn(torch.relu(self.conv(x))))


class Inception(nn.Module):
    """classifiers.py InceptionLayer(a, b, c, d) -> BatchNormalization -> MaxPooling2D(2, padding='same')."""

    def __init__(self, cin: int, a: int, b: int, c: int, d: int) -> None:
        super().__init__()
        self.a1 = keras_conv(cin, a, 1)
        self.b1 = keras_conv(cin, b, 1)
        self.b2 = keras_conv(b, b, 3)
        self.c1 = keras_conv(cin, c, 1)
        self.c2 = keras_conv(c, c, 3, dilation=2)
        self.d1 = keras_conv(cin, d, 1)
        self.d2 = keras_conv(d, d, 3, dilation=3)
        self.bn = nn.BatchNorm2d(a + b + c + d, eps=BN_EPS)
        self.pool = nn.MaxPool2d(2)

    def convs(self) -> list[nn.Conv2d]:
        """In classifiers.py creation order (= Keras 2 name order)."""
        return [self.a1, self.b1, self.b2, self.c1, self.c2, self.d1, self.d2]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        r = torch.relu
        y = torch.cat([r(self.a1(x)), r(self.b2(r(self.b1(x)))), r(self.c2(r(self.c1(x)))), r(self.d2(r(self.d1(x))))], 1)
        return self.pool(self.bn(y))


class Head(nn.Module):
    """Flatten (channels-last order) -> Dropout -> Dense(16) -> LeakyReLU(0.1) -> Dropout -> Dense(1), no sigmoid."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(16 * 8 * 8, 16)
        self.fc2 = nn.Linear(16, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 2, 3, 1).flatten(1)  # NCHW -> NHWC -> Keras Flatten order
        return self.fc2(nn.functional.leaky_relu(self.fc1(x), LEAKY_SLOPE))


class MesoNetKeras(nn.Module):
    """Output: `logit` = -(pre-sigmoid Dense output); sigmoid(-logit) is the published score (1 = real)."""

    def __init__(self, arch: str) -> None:
        super().__init__()
        self.arch = arch
        if arch == "meso4":
            self.features = nn.Sequential(ConvBlock(3, 8, 3, 2), ConvBlock(8, 8, 5, 2), ConvBlock(8, 16, 5, 2),
                                          ConvBlock(16, 16, 5, 4))
        elif arch == "mesoinception4":
            self.features = nn.Sequential(Inception(3, 1, 4, 4, 2), Inception(11, 2, 4, 4, 2), ConvBlock(12, 16, 5, 2),
                                          ConvBlock(16, 16, 5, 4))
        else:
            raise ValueError(f"unknown arch {arch}")
        self.head = Head()

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return -self.head(self.features(image))

    def convs(self) -> list[nn.Conv2d]:
        out: list[nn.Conv2d] = []
        for m in self.features:
            out.extend(m.convs() if isinstance(m, Inception) else [m.conv])
        return out

    def bns(self) -> list[nn.BatchNorm2d]:
        return [m.bn for m in self.features]

    def denses(self) -> list[nn.Linear]:
        return [self.head.fc1, self.head.fc2]


# --------------------------------------------------------------------------------------------- weights


def read_h5(path: Path) -> tuple[dict[str, list[np.ndarray]], dict[str, str]]:
    """layer name -> its arrays in the file's `weight_names` order, plus the file's attrs (keras_version, backend)."""
    import h5py

    layers: dict[str, list[np.ndarray]] = {}
    with h5py.File(path, "r") as f:
        g = f["model_weights"] if "layer_names" not in f.attrs and "model_weights" in f else f
        if "layer_names" not in g.attrs:
            raise SystemExit(f"{path}: not a Keras save_weights HDF5 file (no layer_names attribute)")
        attrs = {k: (v.decode() if isinstance(v, bytes) else str(v)) for k, v in g.attrs.items() if k != "layer_names"}
        for raw in g.attrs["layer_names"]:
            name = raw.decode() if isinstance(raw, bytes) else str(raw)
            wn = [w.decode() if isinstance(w, bytes) else str(w) for w in g[name].attrs.get("weight_names", [])]
            if wn:
                layers[name] = [np.asarray(g[name][w], dtype=np.float32) for w in wn]
    return layers, attrs


def by_creation_order(layers: dict[str, list[np.ndarray]], kind: str) -> list[tuple[str, list[np.ndarray]]]:
    pat = re.compile(rf"^{kind}_(\d+)$")
    found = [(int(m.group(1)), n) for n in layers if (m := pat.match(n))]
    return [(n, layers[n]) for _, n in sorted(found)]


def _put(param: torch.Tensor, value: np.ndarray, what: str) -> None:
    if tuple(param.shape) != value.shape:
        raise SystemExit(f"shape mismatch for {what}: model {tuple(param.shape)}, file {value.shape}")
    with torch.no_grad():
        param.copy_(torch.from_numpy(np.ascontiguousarray(value)))


def load_h5_into(model: MesoNetKeras, path: Path) -> dict[str, str]:
    """Fills the model from the HDF5 file; returns the file's attrs. Fails on any unused or mismatched array."""
    layers, attrs = read_h5(path)
    convs = by_creation_order(layers, "conv2d")
    bns = by_creation_order(layers, "batch_normalization")
    denses = by_creation_order(layers, "dense")
    used = {n for n, _ in convs + bns + denses}
    if used != set(layers):
        raise SystemExit(f"{path}: layers with weights not understood: {sorted(set(layers) - used)}")
    for mods, got, kind in ((model.convs(), convs, "conv2d"), (model.bns(), bns, "batch_normalization"),
                            (model.denses(), denses, "dense")):
        if len(mods) != len(got):
            raise SystemExit(f"{path}: {len(got)} {kind} layers in the file, the {model.arch} rebuild has {len(mods)}")
    for m, (name, (kernel, bias)) in zip(model.convs(), convs):
        _put(m.weight, kernel.transpose(3, 2, 0, 1), f"{name} kernel (HWIO -> OIHW)")
        _put(m.bias, bias, f"{name} bias")
    for m, (name, arrays) in zip(model.bns(), bns):
        gamma, beta, mean, var = arrays
        _put(m.weight, gamma, f"{name} gamma")
        _put(m.bias, beta, f"{name} beta")
        _put(m.running_mean, mean, f"{name} moving_mean")
        _put(m.running_var, var, f"{name} moving_variance")
    for m, (name, (kernel, bias)) in zip(model.denses(), denses):
        _put(m.weight, kernel.T, f"{name} kernel (in x out -> out x in)")
        _put(m.bias, bias, f"{name} bias")
    return attrs


# ---------------------------------------------------------------------------------------------- export


def export(spec: Spec, weights_dir: Path, out_root: Path) -> dict[str, object]:
    t0 = time.time()
    h5 = weights_dir / spec.h5
    if not h5.is_file():
        raise SystemExit(f"missing weights file {h5} (set --weights-dir or MESONET_DIR)")
    model = MesoNetKeras(spec.arch)
    attrs = load_h5_into(model, h5)
    model.eval()
    trainable = sum(p.numel() for p in model.parameters())
    with_stats = trainable + sum(b.numel() for m in model.bns() for b in (m.running_mean, m.running_var))

    out = out_root / spec.id
    out.mkdir(parents=True, exist_ok=True)
    onnx_path = out / "model.onnx"
    torch.manual_seed(0)
    dummy = torch.rand(2, 3, SIZE, SIZE)
    torch.onnx.export(model, (dummy,), str(onnx_path), opset_version=17, input_names=["image"], output_names=["logit"],
                      dynamic_axes={"image": {0: "batch"}, "logit": {0: "batch"}}, dynamo=False)

    import onnx
    import onnxruntime as ort

    onnx.checker.check_model(str(onnx_path))
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    g = torch.Generator().manual_seed(1)
    xs = torch.rand(5, 3, SIZE, SIZE, generator=g)
    with torch.no_grad():
        ref = model(xs).numpy()
    got = sess.run(["logit"], {"image": xs.numpy()})[0]
    if got.shape != (5, 1):
        raise SystemExit(f"{spec.id}: ONNX output shape {got.shape}, expected (5, 1)")
    max_diff = float(np.max(np.abs(ref - got)))
    if not max_diff < 1e-4:
        raise SystemExit(f"{spec.id}: ONNX logit differs from torch by {max_diff}")

    h5_sha = sha256_file(h5)
    onnx_sha = sha256_file(onnx_path)
    command = ("detectors/training/.venv/bin/python detectors/training/face/mesonet_port.py "
               "--weights-dir ../shared/models/mesonet --out detectors/training/face/pretrained")
    manifest = {
        "schemaVersion": 1,
        "id": spec.id,
        "version": f"1.0.0-mesonet.{SOURCE_COMMIT}",
        "task": "face-forgery",
        "file": "model.onnx",
        "sha256": onnx_sha,
        "inputs": [{"name": "image", "dtype": "float32", "shape": ["batch", 3, SIZE, SIZE]}],
        "outputs": [{"name": "logit", "dtype": "float32", "shape": ["batch", 1]}],
        "image": {
            "width": SIZE, "height": SIZE, "layout": "NCHW", "channels": "RGB",
            "scale": 1 / 255, "mean": [0, 0, 0], "std": [1, 1, 1],
            "crop": ("trained by the MesoNet authors on face_recognition landmark-aligned crops of about 1.3x the face "
                     "(DariusAf/MesoNet pipeline.py), resized to 256x256; the service feeds its own BlazeFace + "
                     "FaceAligner 256x256 crop, which differs"),
        },
        "output": {
            "meaning": ("logit; higher means more likely fake. logit = -(pre-sigmoid output of the published Keras "
                        "model's last Dense layer), so sigmoid(-logit) is MesoNet's published score (1 = real)"),
        },
        "calibration": {"method": "logistic", "a": 1, "b": 0, "fittedOn": "uncalibrated: as published"},
        "verdict": {
            "weight": 0,
            "basis": ("published weights, not fitted or evaluated for this service's crops and capture conditions; "
                      "scored and reported only"),
        },
        "license": "Apache-2.0",
        "architecture": {
            "name": spec.arch,
            "paper": "MesoNet (Afchar, Nozick, Yamagishi, Echizen, WIFS 2018, arXiv 1809.00888)",
            "parameters": trainable,
            "parametersWithBnStatistics": with_stats,
        },
        "provenance": {
            "sourceRepository": f"https://github.com/{SOURCE_REPO}",
            "sourceCommit": SOURCE_COMMIT,
            "sourceFile": f"weights/{spec.h5}",
            "sourceSha256": h5_sha,
            "sourceFormat": f"Keras {attrs.get('keras_version', '?')} save_weights HDF5 (backend {attrs.get('backend', '?')})",
            "license": "Apache-2.0 (LICENSE and NOTICE next to the model folders)",
            "copyright": "Darius Afchar, Vincent Nozick, National Institute of Informatics (NOTICE), 2018",
            "onnxSha256": onnx_sha,
            "port": ("detectors/training/face/mesonet_port.py: h5py -> PyTorch rebuild of classifiers.py "
                     "(ReLU before BatchNorm, BN eps 1e-3, 'same' padding, channels-last flatten) -> ONNX opset 17; "
                     "output negated so that higher = fake"),
            "parity": "detectors/training/face/pretrained/parity.json (Keras 3 reference vs onnxruntime)",
        },
        "dataCard": (f"Published MesoNet weights, trained by the authors on {spec.trained_on}. Inputs were RGB face "
                     "crops scaled to [0, 1]. Faces are 2018-era, mostly compressed online video; no real-time swaps, "
                     "no diffusion or audio-driven talking heads. Not fine-tuned here; no calibration."),
        "training": {
            "command": command,
            "seconds": 0,
            "metrics": {"onnxMaxAbsDiff": max_diff},
        },
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return {"id": spec.id, "h5": spec.h5, "h5Sha256": h5_sha, "onnxSha256": onnx_sha, "onnxBytes": onnx_path.stat().st_size,
            "parameters": trainable, "onnxMaxAbsDiffVsTorch": max_diff, "seconds": round(time.time() - t0, 2)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights-dir", type=Path, default=None,
                    help="folder with the four .h5 files, LICENSE and NOTICE (default: $MESONET_DIR, else "
                         "../shared/models/mesonet next to the checkout)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where the model folders go (default: %(default)s)")
    ap.add_argument("--models", default=",".join(s.id for s in SPECS), help="comma-separated ids (default: all four)")
    args = ap.parse_args(argv)
    weights_dir: Path = args.weights_dir or default_weights_dir()
    if not weights_dir.is_dir():
        ap.error(f"weights folder {weights_dir} does not exist (use --weights-dir or MESONET_DIR)")
    wanted = [m.strip() for m in args.models.split(",") if m.strip()]
    known = {s.id: s for s in SPECS}
    unknown = [m for m in wanted if m not in known]
    if unknown:
        ap.error(f"unknown model ids {unknown}; known: {sorted(known)}")
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    for name in ("LICENSE", "NOTICE"):
        src = weights_dir / name
        if not src.is_file():
            raise SystemExit(f"missing {src}: MesoNet's {name} must travel with the weights")
        shutil.copyfile(src, args.out / name)
    report = [export(known[m], weights_dir, args.out) for m in wanted]
    json.dump({"tool": "mesonet_port", "torch": torch.__version__, "models": report}, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

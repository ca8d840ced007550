"""Parity of the ported MesoNet ONNX models against the original framework (Keras), on real face crops.

For each of the four published weight files:
  1. rebuilds the network in Keras 3 (KERAS_BACKEND=torch, no TensorFlow) layer for layer as DariusAf/MesoNet
     classifiers.py defines it, with the layer names Keras 2.1.5 gave it (`<type>_<n>`, one counter per type in
     creation order; the numbers are taken from the file), and loads the .h5 with Keras's own legacy-HDF5 loader
     (`load_weights(path, by_name=True)`); every loaded array is then compared with the file read by h5py;
  2. also tries Keras's default topological (order-based) loading, which is what classifiers.py `load()` did,
     into a second copy of the network, and records whether it worked and whether it gave the same weights;
  3. runs Keras `predict` and onnxruntime (the exported `model.onnx`, output `logit`) on the same crops and
     compares Keras's sigmoid output with sigmoid(-logit).

Crops (256x256 RGB, [0, 1]; crop convention of facecrop.py: OpenCV Haar box, square side 1.3 x max(w, h)):
  - every Haar face in the @vladmandic/face-api demo photos (node_modules, shipped with the npm install);
  - a few frames of training clips (--videos-dir, default $FACES_FAKE_DIR else ../shared/train/faces-fake next
    to the checkout; skipped with a note when absent). These crops are never written to disk;
  - seeded uniform-noise images (to cover inputs far from faces).

Writes:
  --out (default detectors/training/face/pretrained/parity.json): the JSON report (also printed);
  --fixtures (default detectors/training/face/pretrained/fixtures/): N photo crops as PNG plus
    keras_reference.json (Keras sigmoid per model and crop, computed on the PNG-decoded pixels) for
    pretrained.test.ts, which needs neither Python nor ../shared.

Usage (from the checkout root):
    KERAS_BACKEND=torch detectors/training/.venv/bin/python detectors/training/face/mesonet_parity.py
Exit status 1 when any model's max |sigmoid difference| is >= --tolerance (default 1e-4).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from facecrop import crop_face, detect_faces  # noqa: E402
from mesonet_port import REPO, SPECS, SOURCE_COMMIT, Spec, by_creation_order, default_weights_dir, read_h5  # noqa: E402

DEFAULT_PRETRAINED = REPO / "detectors" / "training" / "face" / "pretrained"
DEFAULT_PHOTOS = REPO / "node_modules" / "@vladmandic" / "face-api" / "demo"


def default_videos_dir() -> Path:
    env = os.environ.get("FACES_FAKE_DIR")
    return Path(env) if env else REPO.parent / "shared" / "train" / "faces-fake"


# ---------------------------------------------------------------------------------------------- Keras


def keras_mesonet(arch: str, names: dict[str, list[str]]):
    """classifiers.py Meso4 / MesoInception4 in Keras 3. `names`: per layer type, the file's names in creation order."""
    import keras
    from keras import layers as L

    it = {k: iter(v) for k, v in names.items()}

    def nm(kind: str) -> str | None:
        return next(it[kind]) if kind in it else None

    def conv(x, n, k, dilation=1):
        return L.Conv2D(n, (k, k), dilation_rate=dilation, strides=1, padding="same", activation="relu",
                        name=nm("conv2d"))(x)

    def bn_pool(x, pool):
        x = L.BatchNormalization(name=nm("batch_normalization"))(x)
        return L.MaxPooling2D(pool_size=(pool, pool), padding="same")(x)

    def inception(x, a, b, c, d):
        # creation order as in classifiers.py: a 1x1; b 1x1, 3x3; c 1x1, 3x3 dilation 2; d 1x1, 3x3 dilation 3
        x1 = conv(x, a, 1)
        x2 = conv(conv(x, b, 1), b, 3)
        x3 = conv(conv(x, c, 1), c, 3, dilation=2)
        x4 = conv(conv(x, d, 1), d, 3, dilation=3)
        return L.Concatenate(axis=-1)([x1, x2, x3, x4])

    inp = keras.Input(shape=(256, 256, 3))
    if arch == "meso4":
        x = bn_pool(conv(inp, 8, 3), 2)
        x = bn_pool(conv(x, 8, 5), 2)
    elif arch == "mesoinception4":
        x = bn_pool(inception(inp, 1, 4, 4, 2), 2)
        x = bn_pool(inception(x, 2, 4, 4, 2), 2)
    else:
        raise ValueError(arch)
    x = bn_pool(conv(x, 16, 5), 2)
    x = bn_pool(conv(x, 16, 5), 4)
    y = L.Flatten()(x)
    y = L.Dropout(0.5)(y)
    y = L.Dense(16, name=nm("dense"))(y)
    y = L.LeakyReLU(negative_slope=0.1)(y)
    y = L.Dropout(0.5)(y)
    y = L.Dense(1, activation="sigmoid", name=nm("dense"))(y)
    return keras.Model(inputs=inp, outputs=y)


def weights_by_name(model) -> dict[str, list[np.ndarray]]:
    return {l.name: [np.asarray(w) for w in l.get_weights()] for l in model.layers if l.get_weights()}


def load_keras(spec: Spec, h5: Path) -> tuple[object, dict[str, object]]:
    layers, attrs = read_h5(h5)
    names = {k: [n for n, _ in by_creation_order(layers, k)] for k in ("conv2d", "batch_normalization", "dense")}
    model = keras_mesonet(spec.arch, names)
    model.load_weights(str(h5), by_name=True)
    # Every layer with weights must now hold exactly the file's arrays (by_name skips unknown names silently).
    got = weights_by_name(model)
    if set(got) != set(layers):
        raise SystemExit(f"{spec.id}: Keras layers {sorted(got)} differ from the file's {sorted(layers)}")
    for name, arrays in layers.items():
        if len(arrays) != len(got[name]) or any(not np.array_equal(a, b) for a, b in zip(arrays, got[name])):
            raise SystemExit(f"{spec.id}: Keras by-name loading of {name} differs from the file")
    info: dict[str, object] = {"loader": "keras Model.load_weights(h5, by_name=True) (legacy HDF5 loader)",
                               "fileKerasVersion": attrs.get("keras_version"), "fileBackend": attrs.get("backend"),
                               "weightsCheckedAgainstH5py": True}
    # Topological loading (classifiers.py `load`: model.load_weights(path)) into an unnamed copy.
    topo = keras_mesonet(spec.arch, {})
    try:
        topo.load_weights(str(h5))
        a = [w for l in model.layers for w in l.get_weights()]
        b = [w for l in topo.layers for w in l.get_weights()]
        same = len(a) == len(b) and all(x.shape == y.shape and np.array_equal(x, y) for x, y in zip(a, b))
        info["topologicalLoad"] = "loaded, identical weights" if same else "loaded, DIFFERENT weights"
    except Exception as e:  # noqa: BLE001 - report what Keras said
        info["topologicalLoad"] = f"failed: {type(e).__name__}: {str(e).splitlines()[0][:200]}"
    return model, info


# ---------------------------------------------------------------------------------------------- crops


def photo_crops(folder: Path) -> list[tuple[str, np.ndarray]]:
    photos = sorted(folder.glob("sample*.jpg"))
    if not photos:
        raise SystemExit(f"no sample*.jpg in {folder} (run npm install; or pass --photos)")
    out = []
    for p in photos:
        bgr = cv2.imread(str(p))
        if bgr is None:
            raise SystemExit(f"cannot read {p}")
        for i, box in enumerate(detect_faces(bgr)):
            out.append((f"{p.stem}-face{i}", crop_face(bgr, box)))
    return out


def video_crops(folder: Path, clips: int, frames: int) -> tuple[list[tuple[str, np.ndarray]], str]:
    tsv = folder / "manifest.tsv"
    if not tsv.is_file():
        return [], f"skipped: {tsv} not found"
    with tsv.open(newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    # deterministic spread: alternate real and fake clips, evenly through the sorted list
    real = sorted(r["path"] for r in rows if r["label"] == "real")
    fake = sorted(r["path"] for r in rows if r["label"] == "fake")
    pick: list[str] = []
    for k in range(clips):
        src = real if k % 2 == 0 else fake
        j = (k // 2) * len(src) // max(1, (clips + 1) // 2)
        if src and src[j] not in pick:
            pick.append(src[j])
    out = []
    for rel in pick:
        cap = cv2.VideoCapture(str(folder / rel))
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) or 1
        for fi in [int(n * (k + 0.5) / frames) for k in range(frames)]:
            cap.set(cv2.CAP_PROP_POS_FRAMES, fi)
            ok, bgr = cap.read()
            if not ok:
                continue
            faces = detect_faces(bgr)
            if faces:
                out.append((f"{rel}#frame{fi}", crop_face(bgr, faces[0])))
        cap.release()
    return out, f"{len(pick)} clips, {frames} frames each, largest Haar face ({len(out)} crops)"


def noise_crops(n: int) -> list[tuple[str, np.ndarray]]:
    rng = np.random.default_rng(12)
    return [(f"noise{i}", rng.integers(0, 256, (256, 256, 3), dtype=np.uint8)) for i in range(n)]


# ---------------------------------------------------------------------------------------------- main


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x.astype(np.float64)))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights-dir", type=Path, default=None,
                    help="folder with the .h5 files (default: $MESONET_DIR, else ../shared/models/mesonet)")
    ap.add_argument("--pretrained", type=Path, default=DEFAULT_PRETRAINED,
                    help="folder with the ported model folders (default: %(default)s)")
    ap.add_argument("--photos", type=Path, default=DEFAULT_PHOTOS, help="face-api demo photos (default: %(default)s)")
    ap.add_argument("--videos-dir", type=Path, default=None,
                    help="faces-fake folder with manifest.tsv (default: $FACES_FAKE_DIR, else ../shared/train/faces-fake)")
    ap.add_argument("--clips", type=int, default=8, help="training clips sampled for extra crops (default: %(default)s)")
    ap.add_argument("--frames", type=int, default=2, help="frames per clip (default: %(default)s)")
    ap.add_argument("--noise", type=int, default=2, help="uniform-noise images (default: %(default)s)")
    ap.add_argument("--fixtures", type=Path, default=DEFAULT_PRETRAINED / "fixtures",
                    help="where the committed PNG crops and keras_reference.json go (default: %(default)s)")
    ap.add_argument("--fixture-count", type=int, default=4, help="photo crops written as fixtures (default: %(default)s)")
    ap.add_argument("--out", type=Path, default=DEFAULT_PRETRAINED / "parity.json", help="report (default: %(default)s)")
    ap.add_argument("--tolerance", type=float, default=1e-4, help="max |sigmoid difference| allowed (default: %(default)s)")
    args = ap.parse_args(argv)
    if os.environ["KERAS_BACKEND"] != "torch":
        ap.error("KERAS_BACKEND must be torch (no TensorFlow in this venv)")
    weights_dir: Path = args.weights_dir or default_weights_dir()
    if not weights_dir.is_dir():
        ap.error(f"weights folder {weights_dir} does not exist (use --weights-dir or MESONET_DIR)")

    import keras
    import onnxruntime as ort
    import torch

    torch.set_num_threads(1)

    photos = photo_crops(args.photos)
    if len(photos) < args.fixture_count:
        raise SystemExit(f"only {len(photos)} faces found in {args.photos}")
    # Fixtures: the largest face of the first photos (one per photo while there are enough photos).
    firsts = [c for c in photos if c[0].endswith("-face0")]
    fixture_src = (firsts + [c for c in photos if c not in firsts])[: args.fixture_count]
    args.fixtures.mkdir(parents=True, exist_ok=True)
    fixtures: list[tuple[str, np.ndarray]] = []
    for name, rgb in fixture_src:
        png = args.fixtures / f"{name}.png"
        cv2.imwrite(str(png), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])
        back = cv2.imread(str(png), cv2.IMREAD_COLOR)
        if back is None or not np.array_equal(cv2.cvtColor(back, cv2.COLOR_BGR2RGB), rgb):
            raise SystemExit(f"{png}: PNG round trip is not lossless")
        fixtures.append((png.name, rgb))

    videos_dir: Path = args.videos_dir or default_videos_dir()
    vids, vid_note = video_crops(videos_dir, args.clips, args.frames) if args.clips > 0 else ([], "skipped: --clips 0")
    sets = {"photos": photos, "videos": vids, "noise": noise_crops(args.noise)}

    report: dict[str, object] = {
        "tool": "mesonet_parity",
        "keras": keras.__version__, "kerasBackend": keras.backend.backend(), "torch": torch.__version__,
        "onnxruntime": ort.__version__, "source": f"DariusAf/MesoNet@{SOURCE_COMMIT}",
        "compared": "Keras predict (sigmoid, 1 = real) vs sigmoid(-logit) of model.onnx in onnxruntime (CPU)",
        "tolerance": args.tolerance,
        "crops": {"photos": f"{len(photos)} Haar faces in {len(list(args.photos.glob('sample*.jpg')))} face-api demo photos",
                  "videos": vid_note, "noise": f"{args.noise} seeded uniform-noise images"},
        "models": {},
    }
    reference: dict[str, object] = {
        "note": "Keras 3 (torch backend) sigmoid outputs of the published MesoNet weights (1 = real) on the PNG crops; "
                "written by detectors/training/face/mesonet_parity.py",
        "keras": keras.__version__, "tolerance": args.tolerance,
        "crops": [n for n, _ in fixtures], "sigmoid": {},
    }
    ok = True
    for spec in SPECS:
        h5 = weights_dir / spec.h5
        onnx_path = args.pretrained / spec.id / "model.onnx"
        if not h5.is_file() or not onnx_path.is_file():
            raise SystemExit(f"missing {h5} or {onnx_path} (run mesonet_port.py first)")
        model, info = load_keras(spec, h5)
        sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
        per: dict[str, object] = {}
        worst = 0.0
        for set_name, crops in sets.items():
            if not crops:
                continue
            x = np.stack([c for _, c in crops]).astype(np.float32) / 255.0  # NHWC for Keras
            k = np.asarray(model.predict(x, batch_size=8, verbose=0), dtype=np.float64).reshape(-1)
            logit = sess.run(["logit"], {"image": np.ascontiguousarray(x.transpose(0, 3, 1, 2))})[0].reshape(-1)
            o = sigmoid(-logit)
            d = float(np.max(np.abs(k - o)))
            worst = max(worst, d)
            per[set_name] = {"n": len(crops), "maxAbsDiff": d, "kerasMin": float(k.min()), "kerasMax": float(k.max()),
                             "kerasMean": float(k.mean())}
        fx = np.stack([c for _, c in fixtures]).astype(np.float32) / 255.0
        reference["sigmoid"][spec.id] = [float(v) for v in np.asarray(model.predict(fx, verbose=0)).reshape(-1)]  # type: ignore[index]
        passed = worst < args.tolerance
        ok = ok and passed
        report["models"][spec.id] = {"h5": spec.h5, **info, "maxAbsDiffSigmoid": worst, "pass": passed, "bySet": per}  # type: ignore[index]
    report["pass"] = ok
    (args.fixtures / "keras_reference.json").write_text(json.dumps(reference, indent=2) + "\n")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

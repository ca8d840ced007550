"""MobileNetV2 with ImageNet weights, offline: the Keras model that npm `nsfwjs` 4.4.0 ships, rebuilt in PyTorch.

nsfwjs (MIT, Infinite Red) bundles its MobileNetV2 classifier as a TensorFlow.js *layers* model: Keras 2.2.4's
`keras.applications.MobileNetV2` (alpha 1.0, 224 px) with a 5-way dense head on top. Its topology marks every
layer up to and including block 10 `trainable: false`: those weights are Keras's ImageNet weights, frozen while
the head and blocks 11-16 were trained for nsfwjs's task. The weights are stored uint8-quantized
(value = min + scale x q per tensor), so they are ImageNet's to about 1/256 of each tensor's range.

This is the one general-purpose ImageNet backbone found in a registry package: it lets the face study ask whether
a texture network pretrained on 1.2 M photos, instead of a face-identity network (`face-embed`), carries what a
forgery leaves behind.

    python detectors/training/face/mobilenetv2_port.py fetch --cache DIR   # npm pack nsfwjs@4.4.0 -> DIR/nsfwjs-mnv2.npz
    python detectors/training/face/mobilenetv2_port.py parity --cache DIR  # vs Keras 3's own MobileNetV2 (torch backend)

`load(cache)` returns the PyTorch module (`KerasGraph`), which runs the Keras layer graph as written (asymmetric
'valid' padding after ZeroPadding2D, BatchNorm epsilon 1e-3, ReLU6), NCHW, and returns any named layer outputs.
Input: RGB in [-1, 1] (`keras.applications.mobilenet_v2.preprocess_input`).
"""
from __future__ import annotations

import argparse
import base64
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np

PACKAGE = "nsfwjs@4.4.0"
MODEL_DIR = "package/dist/models/mobilenet_v2"

_DUMP_JS = r"""
const dir = process.argv[1];
const j = require(dir + '/model.min.js');
const s = require(dir + '/group1-shard1of1.min.js');
process.stdout.write(JSON.stringify({ topology: j.modelTopology, manifest: j.weightsManifest, shard: s }));
"""


def fetch(cache: Path) -> Path:
    """npm pack nsfwjs, read its layers model through node, dequantize into DIR/nsfwjs-mnv2.npz (+ topology json)."""
    cache.mkdir(parents=True, exist_ok=True)
    out = cache / "nsfwjs-mnv2.npz"
    if out.exists():
        return out
    tgz = cache / "nsfwjs-4.4.0.tgz"
    if not tgz.exists():
        subprocess.run(["npm", "pack", PACKAGE, "--silent", "--pack-destination", str(cache)], check=True,
                       stdout=subprocess.DEVNULL)
    with tarfile.open(tgz) as t:
        # dist/models/package.json marks the bundles CommonJS (a checkout above may say "type": "module")
        keep = ("package/LICENSE", "package/dist/models/package.json")
        members = [m for m in t.getmembers() if m.name.startswith(MODEL_DIR) or m.name in keep]
        t.extractall(cache, members=members, filter="data")
    raw = subprocess.run(["node", "-e", _DUMP_JS, str((cache / MODEL_DIR).resolve())], check=True,
                         capture_output=True).stdout
    blob = json.loads(raw)
    data = base64.b64decode(blob["shard"])
    arrays, off = {}, 0
    for group in blob["manifest"]:
        for w in group["weights"]:
            n = int(np.prod(w["shape"])) if w["shape"] else 1
            q = w.get("quantization")
            if q is None or q["dtype"] != "uint8":
                raise SystemExit(f"unexpected weight encoding for {w['name']}: {q}")
            vals = np.frombuffer(data, np.uint8, n, off).astype(np.float32)
            arrays[w["name"]] = (q["min"] + q["scale"] * vals).reshape(w["shape"])
            off += n
    if off != len(data):
        raise SystemExit(f"weights use {off} of {len(data)} bytes")
    (cache / "nsfwjs-mnv2.json").write_text(json.dumps(blob["topology"]))
    np.savez(out, **arrays)
    return out


def _build():
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    class KerasGraph(nn.Module):
        """Runs a Keras 2 functional model's layer list (the subset MobileNetV2 uses) with its weights."""

        def __init__(self, layers: list[dict], weights: dict[str, np.ndarray]):
            super().__init__()
            self.layers = layers
            self.mods = nn.ModuleDict()
            used = set()

            def w(name: str) -> torch.Tensor:
                used.add(name)
                return torch.from_numpy(np.ascontiguousarray(weights[name]))

            for l in layers:
                c, name = l["config"], l["name"]
                kind = l["class_name"]
                if kind == "Conv2D":
                    k = w(f"{name}/kernel")  # kh kw in out
                    m = nn.Conv2d(k.shape[2], k.shape[3], tuple(k.shape[:2]), stride=tuple(c["strides"]),
                                  padding="same" if c["padding"] == "same" else 0, bias=c["use_bias"])
                    m.weight.data = k.permute(3, 2, 0, 1).contiguous()
                    if c["use_bias"]:
                        m.bias.data = w(f"{name}/bias")
                elif kind == "DepthwiseConv2D":
                    k = w(f"{name}/depthwise_kernel")  # kh kw in mult
                    cin, mult = k.shape[2], k.shape[3]
                    m = nn.Conv2d(cin, cin * mult, tuple(k.shape[:2]), stride=tuple(c["strides"]), groups=cin,
                                  padding="same" if c["padding"] == "same" else 0, bias=c["use_bias"])
                    m.weight.data = k.permute(2, 3, 0, 1).reshape(cin * mult, 1, k.shape[0], k.shape[1]).contiguous()
                elif kind == "BatchNormalization":
                    g = w(f"{name}/gamma")
                    m = nn.BatchNorm2d(g.shape[0], eps=c["epsilon"])
                    m.weight.data, m.bias.data = g, w(f"{name}/beta")
                    m.running_mean.data, m.running_var.data = w(f"{name}/moving_mean"), w(f"{name}/moving_variance")
                elif kind == "Dense":
                    k = w(f"{name}/kernel")
                    m = nn.Linear(k.shape[0], k.shape[1])
                    m.weight.data, m.bias.data = k.t().contiguous(), w(f"{name}/bias")
                else:
                    continue
                self.mods[name] = m
            self.names = [l["name"] for l in layers]
            missing = set(weights) - used
            if missing:
                raise SystemExit(f"weights not used by the graph: {sorted(missing)[:5]}")

        def forward(self, x, outputs: list[str], stop_at: str | None = None, start: str | None = None):
            """x: NCHW RGB in [-1, 1], or with `start` the output of layer `start` (the layers up to it are
            skipped; valid at a block boundary, where no later layer reads an earlier one). Returns the named
            layers' outputs (NCHW for 4-D) in `outputs` order, stopping after `stop_at`."""
            acts: dict[str, torch.Tensor] = {}
            layers = self.layers
            if start is not None:
                at = next(i for i, l in enumerate(layers) if l["name"] == start)
                acts[start] = x
                layers = layers[at + 1:]
            for l in layers:
                c, name, kind = l["config"], l["name"], l["class_name"]
                ins = [acts[n[0]] for n in l["inbound_nodes"][0]] if l["inbound_nodes"] else [x]
                h = ins[0]
                if kind == "InputLayer":
                    y = x
                elif kind == "ZeroPadding2D":
                    (t, b), (le, r) = c["padding"]
                    y = F.pad(h, (le, r, t, b))
                elif kind in ("Conv2D", "DepthwiseConv2D", "BatchNormalization", "Dense"):
                    y = self.mods[name](h)
                    if c.get("activation", "linear") not in ("linear", None):
                        y = {"relu": torch.relu, "softmax": lambda v: torch.softmax(v, -1)}[c["activation"]](y)
                elif kind == "ReLU":
                    y = torch.clamp(h, min=0.0, max=c["max_value"]) if c.get("max_value") else torch.relu(h)
                elif kind == "Add":
                    y = ins[0] + ins[1]
                elif kind == "AveragePooling2D":
                    y = F.avg_pool2d(h, tuple(c["pool_size"]), tuple(c["strides"]))
                elif kind == "Flatten":
                    y = h.permute(0, 2, 3, 1).flatten(1)
                elif kind == "Dropout":
                    y = h
                else:
                    raise SystemExit(f"layer kind {kind} not supported")
                acts[name] = y
                if name == stop_at:
                    break
            return [acts[o] for o in outputs]

    return KerasGraph


def load(cache: Path):
    npz = fetch(cache)
    topo = json.loads((cache / "nsfwjs-mnv2.json").read_text())
    layers = topo["model_config"]["config"]["layers"]
    return _build()(layers, dict(np.load(npz))).eval()


def parity(cache: Path) -> dict:
    """The port against Keras 3's own MobileNetV2 (torch backend) given the same weights, at four depths."""
    import os

    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras
    import torch

    net = load(cache)
    weights = dict(np.load(cache / "nsfwjs-mnv2.npz"))
    ref = keras.applications.MobileNetV2(weights=None, include_top=False, input_shape=(224, 224, 3))
    for layer in ref.layers:
        names = [v.path.split("/")[-1] for v in layer.weights]
        if names:
            depthwise = isinstance(layer, keras.layers.DepthwiseConv2D)
            vals = [weights[f"{layer.name}/{'depthwise_kernel' if depthwise and n == 'kernel' else n}"] for n in names]
            layer.set_weights(vals)
    depths = ["block_2_add", "block_5_add", "block_10_project_BN", "out_relu"]
    probe = keras.Model(ref.input, [ref.get_layer(d).output for d in depths])
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (4, 224, 224, 3)).astype(np.float32)
    want = [np.asarray(keras.ops.convert_to_numpy(a)) for a in probe(x, training=False)]
    with torch.no_grad():
        got = [a.permute(0, 2, 3, 1).numpy() for a in net(torch.from_numpy(x).permute(0, 3, 1, 2), depths)]
    report = {d: {"max_abs": float(np.abs(g - r).max()), "max_ref": float(np.abs(r).max())}
              for d, g, r in zip(depths, got, want)}
    report["ok"] = all(v["max_abs"] <= 1e-3 * max(1.0, v["max_ref"]) for v in report.values() if isinstance(v, dict))
    return report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cmd", choices=["fetch", "parity"])
    ap.add_argument("--cache", required=True)
    args = ap.parse_args()
    cache = Path(args.cache)
    if args.cmd == "fetch":
        print(fetch(cache))
    else:
        r = parity(cache)
        print(json.dumps(r, indent=1))
        sys.exit(0 if r["ok"] else 1)


if __name__ == "__main__":
    main()

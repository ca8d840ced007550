"""Quantizes the second and third LSTM layers of the exported speaker encoder to int8 (dynamic quantization).

    detectors/training/.venv/bin/python detectors/training/speaker/quantize.py \
        --fp32 detectors/training/.cache/speaker/model-fp32.onnx --out detectors/models/speaker-embed/model.onnx

onnxruntime's `quantize_dynamic` turns each chosen `LSTM` node into `DynamicQuantizeLSTM` (com.microsoft domain, in
every onnxruntime CPU build, onnxruntime-node included): its weights are stored as int8 with one scale per output
channel (per_channel), its input and hidden state are quantized per run. Only layers 2 and 3 (input: the previous
layer's hidden state, within [-1, 1]) are quantized. Layer 1 stays float32: its input is the power mel spectrogram
(no log, a dynamic range of many decades), and quantizing that per tensor collapsed the embedding (all three layers:
smallest cosine to the float32 model 0.28 with per-tensor and 0.48 with per-channel weights, medians 0.49 and 0.60,
on 37 real windows; README "Decision: int8 LSTM layers"). The DFT and mel matmuls stay float32.

The float32 model stays the reference: parity.py compares this file with it window by window.
Deterministic: quantizing the same float32 file twice gives the same bytes (checked with --check-determinism).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path

import onnx
from onnxruntime.quantization import QuantType, quantize_dynamic

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
DEFAULT_FP32 = REPO / "detectors" / "training" / ".cache" / "speaker" / "model-fp32.onnx"
DEFAULT_OUT = REPO / "detectors" / "models" / "speaker-embed" / "model.onnx"
# Layers by their position in the graph (resemblyzer's nn.LSTM(num_layers=3) exports one LSTM node per layer).
QUANTIZED_LAYERS = (2, 3)


def lstm_nodes(model: onnx.ModelProto) -> list[str]:
    return [n.name for n in model.graph.node if n.op_type == "LSTM"]


def quantize_bytes(fp32: Path) -> bytes:
    names = lstm_nodes(onnx.load(str(fp32)))
    if len(names) != 3:
        sys.exit(f"quantize.py: expected 3 LSTM nodes in {fp32}, found {len(names)} (already quantized?)")
    chosen = [names[i - 1] for i in QUANTIZED_LAYERS]
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "model.onnx"
        quantize_dynamic(str(fp32), str(out), op_types_to_quantize=["LSTM"], nodes_to_quantize=chosen,
                         weight_type=QuantType.QInt8, per_channel=True)
        return out.read_bytes()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fp32", default=str(DEFAULT_FP32), help="the float32 export (export.py --out)")
    ap.add_argument("--out", default=str(DEFAULT_OUT))
    ap.add_argument("--check-determinism", action="store_true", help="quantize twice and compare the bytes")
    args = ap.parse_args()
    fp32 = Path(args.fp32)
    data = quantize_bytes(fp32)
    if args.check_determinism:
        if quantize_bytes(fp32) != data:
            sys.exit("quantize.py: two quantizations differ")
        print("quantize.py: two quantizations are byte-identical")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    ops = sorted({n.op_type for n in onnx.load_from_string(data).graph.node})
    print(json.dumps({
        "fp32": {"file": str(fp32), "sha256": hashlib.sha256(fp32.read_bytes()).hexdigest()},
        "out": {"file": str(out), "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()},
        "quantizedLstmLayers": list(QUANTIZED_LAYERS),
        "ops": ops,
    }, indent=2))


if __name__ == "__main__":
    main()

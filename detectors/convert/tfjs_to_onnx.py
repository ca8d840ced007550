#!/usr/bin/env python3
"""Convert a TensorFlow.js graph model (model.json + .bin weights) to ONNX.

The ONNX graph keeps the TFJS input layout (NHWC) at its boundary and runs NCHW
inside: one Transpose after the input, 4-D activations stay NCHW, and a Transpose
back to NHWC is inserted only where TF semantics depend on the memory order
(Reshape/flatten of a 4-D tensor). Supported ops cover the MediaPipe/Keras models
shipped by @vladmandic/human (BlazeFace, FaceMesh, antispoof, liveness, faceres):
Conv2D, _FusedConv2D (BiasAdd/Relu/Relu6/Prelu/Elu), DepthwiseConv2dNative,
_FusedDepthwiseConv2dNative, MaxPool, AvgPool, Pad/PadV2, ConcatV2, Reshape,
Squeeze, MatMul/_FusedMatMul, Add/AddV2/Sub/Mul/RealDiv/Maximum/Minimum, Relu,
Relu6, Prelu, Sigmoid, Tanh, Elu, Softmax, ResizeBilinear, Identity, Mean (faceres'
global pooling).

Usage:
  tfjs_to_onnx.py MODEL_JSON OUT_ONNX --input-name image \
      --output Identity_2:mesh --output Identity_1:faceflag [--batch batch]
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
NHWC_TO_NCHW = [0, 3, 1, 2]
NCHW_TO_NHWC = [0, 2, 3, 1]
AXIS_NHWC_TO_NCHW = {0: 0, 1: 2, 2: 3, 3: 1, -1: 1, -2: 3, -3: 2, -4: 0}


def load_weights(model_json: dict, base_dir: str) -> dict[str, np.ndarray]:
    """Reads every weight group; de-quantises float16 and uint8/uint16 weights to float32."""
    out: dict[str, np.ndarray] = {}
    for group in model_json["weightsManifest"]:
        buf = b"".join(open(os.path.join(base_dir, p), "rb").read() for p in group["paths"])
        off = 0
        for w in group["weights"]:
            shape = [int(s) for s in w["shape"]]
            n = int(np.prod(shape)) if shape else 1
            q = w.get("quantization")
            if q is not None:
                qd = q["dtype"]
                if qd == "float16":
                    arr = np.frombuffer(buf, np.float16, n, off).astype(np.float32)
                    off += 2 * n
                elif qd in ("uint8", "uint16"):
                    dt = np.uint8 if qd == "uint8" else np.uint16
                    raw = np.frombuffer(buf, dt, n, off).astype(np.float32)
                    off += np.dtype(dt).itemsize * n
                    arr = raw * np.float32(q["scale"]) + np.float32(q["min"])
                else:
                    raise ValueError(f"unsupported quantization {qd}")
                if w["dtype"] == "int32":
                    arr = np.round(arr).astype(np.int32)
            else:
                dt = {"float32": np.float32, "int32": np.int32, "bool": np.bool_}[w["dtype"]]
                arr = np.frombuffer(buf, dt, n, off).copy()
                off += np.dtype(dt).itemsize * n
            out[w["name"]] = arr.reshape(shape)
        if off != len(buf):
            raise ValueError(f"weights group consumed {off} of {len(buf)} bytes")
    return out


def attr(node: dict, key: str, default=None):
    a = node.get("attr", {}).get(key)
    if a is None:
        return default
    if "s" in a:
        return base64.b64decode(a["s"]).decode()
    if "i" in a:
        return int(a["i"])
    if "f" in a:
        return float(a["f"])
    if "b" in a:
        return bool(a["b"])
    if "list" in a:
        lst = a["list"]
        if "i" in lst:
            return [int(x) for x in lst["i"]]
        if "s" in lst:
            return [base64.b64decode(x).decode() for x in lst["s"]]
        if "f" in lst:
            return [float(x) for x in lst["f"]]
        return []
    if "type" in a:
        return a["type"]
    if "shape" in a:
        return a["shape"]
    return default


class Converter:
    def __init__(self, model_json: dict, weights: dict[str, np.ndarray], input_name: str, batch: str | int):
        self.mj = model_json
        self.consts = dict(weights)
        self.input_name = input_name
        self.batch = batch
        self.nodes: list = []
        self.inits: list = []
        self.vals: dict[str, tuple[str, str]] = {}  # tf name -> (onnx name, "nchw" | "plain")
        self.ranks: dict[str, int] = {}
        self.uid = 0
        self.graph_inputs: list = []

    def fresh(self, base: str) -> str:
        self.uid += 1
        return f"{base.split('/')[-1]}_{self.uid}"

    def init(self, arr: np.ndarray, base: str) -> str:
        name = self.fresh("c_" + base)
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name

    def add(self, op: str, inputs: list[str], base: str, **kw) -> str:
        out = self.fresh(base)
        self.nodes.append(helper.make_node(op, inputs, [out], name=out, **kw))
        return out

    @staticmethod
    def ref(name: str) -> str:
        name = name.lstrip("^")
        return name[:-2] if name.endswith(":0") else name

    def is_const(self, name: str) -> bool:
        return self.ref(name) in self.consts

    def const(self, name: str) -> np.ndarray:
        return self.consts[self.ref(name)]

    def get(self, name: str) -> tuple[str, str]:
        return self.vals[self.ref(name)]

    def as_plain(self, name: str) -> str:
        """The tensor in TF (NHWC) memory order."""
        if self.is_const(name):
            return self.init(self.const(name).astype(np.float32), name)
        onnx_name, layout = self.get(name)
        if layout == "nchw":
            return self.add("Transpose", [onnx_name], "to_nhwc", perm=NCHW_TO_NHWC)
        return onnx_name

    def operand_for(self, name: str, other_layout: str) -> tuple[str, str]:
        """Binary-op operand, re-laid-out to match a NCHW partner when it is a constant."""
        if not self.is_const(name):
            return self.get(name)
        c = self.const(name).astype(np.float32)
        if other_layout == "nchw":
            if c.ndim == 4:
                c = c.transpose(NHWC_TO_NCHW)
            elif c.ndim in (1, 2, 3) and c.size > 1:
                c = c.reshape(-1, 1, 1)
        return self.init(c, name), other_layout

    # ---- op handlers -------------------------------------------------------------
    def conv(self, node: dict, depthwise: bool) -> None:
        ins = [i for i in node["input"] if not i.startswith("^")]
        x, layout = self.get(ins[0])
        assert layout == "nchw", node["name"]
        f = self.const(ins[1]).astype(np.float32)
        if depthwise:
            kh, kw, cin, mult = f.shape
            w = f.transpose(2, 3, 0, 1).reshape(cin * mult, 1, kh, kw)
            group = cin
        else:
            w = f.transpose(3, 2, 0, 1)
            group = 1
        strides = attr(node, "strides", [1, 1, 1, 1])
        dil = attr(node, "dilations", [1, 1, 1, 1])
        fmt = attr(node, "data_format", "NHWC")
        assert fmt == "NHWC", fmt
        kw_ = dict(strides=[strides[1], strides[2]], dilations=[dil[1], dil[2]], group=group,
                   kernel_shape=[w.shape[2], w.shape[3]])
        pad = attr(node, "padding")
        if pad == "SAME":
            kw_["auto_pad"] = "SAME_UPPER"
        elif pad == "VALID":
            kw_["pads"] = [0, 0, 0, 0]
        elif pad == "EXPLICIT":
            p = attr(node, "explicit_paddings")
            kw_["pads"] = [p[2], p[4], p[3], p[5]]
        else:
            raise ValueError(pad)
        fused = attr(node, "fused_ops", []) or []
        inputs = [x, self.init(w, ins[1])]
        extra = ins[2:]
        if fused and fused[0] == "BiasAdd":
            inputs.append(self.init(self.const(extra[0]).astype(np.float32).reshape(-1), extra[0]))
            fused = fused[1:]
            extra = extra[1:]
        elif fused:
            raise ValueError(f"unsupported fused ops {fused}")
        y = self.add("Conv", inputs, node["name"], **kw_)
        y = self.activation(y, fused, extra, "nchw", node["name"])
        self.vals[node["name"]] = (y, "nchw")

    def activation(self, y: str, fused: list[str], extra: list[str], layout: str, base: str) -> str:
        for op in fused:
            if op == "Relu":
                y = self.add("Relu", [y], base + "_relu")
            elif op == "Relu6":
                y = self.add("Clip", [y, self.init(np.array(0, np.float32), "lo"), self.init(np.array(6, np.float32), "hi")], base)
            elif op == "Elu":
                y = self.add("Elu", [y], base)
            elif op == "Prelu":
                a = self.const(extra[0]).astype(np.float32)
                a = a.reshape(-1, 1, 1) if layout == "nchw" else a.reshape(-1)
                y = self.add("PRelu", [y, self.init(a, extra[0])], base + "_prelu")
                extra = extra[1:]
            else:
                raise ValueError(f"unsupported fused activation {op}")
        return y

    def pool(self, node: dict, op: str) -> None:
        x, layout = self.get(node["input"][0])
        assert layout == "nchw"
        k = attr(node, "ksize")
        s = attr(node, "strides")
        kw_ = dict(kernel_shape=[k[1], k[2]], strides=[s[1], s[2]])
        if attr(node, "padding") == "SAME":
            kw_["auto_pad"] = "SAME_UPPER"
        else:
            kw_["pads"] = [0, 0, 0, 0]
        self.vals[node["name"]] = (self.add(op, [x], node["name"], **kw_), "nchw")

    def convert_node(self, node: dict) -> None:
        op = node["op"]
        name = node["name"]
        ins = [i for i in node.get("input", []) if not i.startswith("^")]
        if op == "Const":
            if name not in self.consts:
                raise ValueError(f"constant {name} has no weights")
            return
        if op == "Placeholder":
            shape = attr(node, "shape")
            dims = [int(d.get("size", -1)) for d in shape["dim"]]
            dims = [self.batch if i == 0 and d in (-1,) else d for i, d in enumerate(dims)]
            if isinstance(self.batch, str) and dims[0] == 1:
                dims[0] = self.batch
            self.graph_inputs.append(helper.make_tensor_value_info(self.input_name, TensorProto.FLOAT, dims))
            if len(dims) == 4:
                self.vals[name] = (self.add("Transpose", [self.input_name], "to_nchw", perm=NHWC_TO_NCHW), "nchw")
            else:
                self.vals[name] = (self.input_name, "plain")
            return
        if op == "Identity":
            if self.is_const(ins[0]):
                self.consts[name] = self.const(ins[0])
            else:
                self.vals[name] = self.get(ins[0])
            return
        if op in ("Conv2D", "_FusedConv2D"):
            return self.conv(node, depthwise=False)
        if op in ("DepthwiseConv2dNative", "_FusedDepthwiseConv2dNative"):
            return self.conv(node, depthwise=True)
        if op == "MaxPool":
            return self.pool(node, "MaxPool")
        if op == "AvgPool":
            return self.pool(node, "AveragePool")
        if op in ("Add", "AddV2", "Sub", "Mul", "RealDiv", "Maximum", "Minimum"):
            onnx_op = {"Add": "Add", "AddV2": "Add", "Sub": "Sub", "Mul": "Mul", "RealDiv": "Div",
                       "Maximum": "Max", "Minimum": "Min"}[op]
            a_c, b_c = self.is_const(ins[0]), self.is_const(ins[1])
            if a_c and b_c:
                raise ValueError("constant folding not supported")
            if a_c:
                b, lb = self.get(ins[1])
                a, _ = self.operand_for(ins[0], lb)
                layout = lb
            elif b_c:
                a, la = self.get(ins[0])
                b, _ = self.operand_for(ins[1], la)
                layout = la
            else:
                (a, la), (b, lb) = self.get(ins[0]), self.get(ins[1])
                if la != lb:
                    a, b, layout = self.as_plain(ins[0]), self.as_plain(ins[1]), "plain"
                else:
                    layout = la
            self.vals[name] = (self.add(onnx_op, [a, b], name), layout)
            return
        if op in ("Relu", "Sigmoid", "Tanh", "Elu"):
            x, layout = self.get(ins[0])
            self.vals[name] = (self.add(op, [x], name), layout)
            return
        if op == "Relu6":
            x, layout = self.get(ins[0])
            self.vals[name] = (self.activation(x, ["Relu6"], [], layout, name), layout)
            return
        if op == "Prelu":
            x, layout = self.get(ins[0])
            self.vals[name] = (self.activation(x, ["Prelu"], [ins[1]], layout, name), layout)
            return
        if op == "Softmax":
            x, layout = self.get(ins[0])
            axis = 1 if layout == "nchw" else -1
            self.vals[name] = (self.add("Softmax", [x], name, axis=axis), layout)
            return
        if op in ("Pad", "PadV2", "MirrorPad"):
            x, layout = self.get(ins[0])
            p = self.const(ins[1]).astype(np.int64)
            if layout == "nchw":
                p = p[NHWC_TO_NCHW]
            pads = np.concatenate([p[:, 0], p[:, 1]])
            inputs = [x, self.init(pads, "pads")]
            kw_ = {}
            if op == "PadV2":
                inputs.append(self.init(self.const(ins[2]).astype(np.float32).reshape(()), "padval"))
            if op == "MirrorPad":
                kw_["mode"] = "reflect"
            self.vals[name] = (self.add("Pad", inputs, name, **kw_), layout)
            return
        if op == "ConcatV2":
            axis = int(self.const(ins[-1]))
            parts = [self.get(i) for i in ins[:-1]]
            if all(l == "nchw" for _, l in parts):
                self.vals[name] = (self.add("Concat", [n for n, _ in parts], name, axis=AXIS_NHWC_TO_NCHW[axis]), "nchw")
            else:
                self.vals[name] = (self.add("Concat", [self.as_plain(i) for i in ins[:-1]], name, axis=axis), "plain")
            return
        if op == "Reshape":
            x = self.as_plain(ins[0])
            shape = self.const(ins[1]).astype(np.int64).copy()
            if isinstance(self.batch, str) and shape.size >= 2 and shape[0] in (-1, 1):
                shape[0] = 0  # keep the (dynamic) batch dimension
            self.vals[name] = (self.add("Reshape", [x, self.init(shape, "shape")], name), "plain")
            return
        if op == "Squeeze":
            x = self.as_plain(ins[0])
            axes = attr(node, "squeeze_dims", []) or []
            inputs = [x] + ([self.init(np.array(axes, np.int64), "axes")] if axes else [])
            self.vals[name] = (self.add("Squeeze", inputs, name), "plain")
            return
        if op in ("MatMul", "_FusedMatMul"):
            a = self.as_plain(ins[0])
            w = self.const(ins[1]).astype(np.float32)
            if attr(node, "transpose_a", False):
                raise ValueError("transpose_a not supported")
            if attr(node, "transpose_b", False):
                w = w.T
            fused = attr(node, "fused_ops", []) or []
            inputs = [a, self.init(np.ascontiguousarray(w), ins[1])]
            extra = ins[2:]
            if fused and fused[0] == "BiasAdd":
                inputs.append(self.init(self.const(extra[0]).astype(np.float32).reshape(-1), extra[0]))
                fused, extra = fused[1:], extra[1:]
            y = self.add("Gemm", inputs, name)
            self.vals[name] = (self.activation(y, fused, extra, "plain", name), "plain")
            return
        if op == "Mean":
            # Global pooling (faceres): reduce over TF axes, mapped to NCHW when the input is 4-D NCHW.
            x, layout = self.get(ins[0])
            axes = np.atleast_1d(self.const(ins[1])).astype(np.int64)
            keep = 1 if attr(node, "keep_dims", False) else 0
            if layout == "nchw":
                if keep:
                    x, layout = self.as_plain(ins[0]), "plain"
                else:
                    axes = np.array([AXIS_NHWC_TO_NCHW[int(a)] for a in axes], np.int64)
            # opset 17: ReduceMean takes its axes as an attribute.
            self.vals[name] = (self.add("ReduceMean", [x], name, axes=[int(a) for a in axes], keepdims=keep), "plain")
            return
        if op == "ResizeBilinear":
            x, layout = self.get(ins[0])
            assert layout == "nchw"
            size = self.const(ins[1]).astype(np.int64)
            shp = self.add("Shape", [x], "shape")
            nc = self.add("Slice", [shp, self.init(np.array([0], np.int64), "s"), self.init(np.array([2], np.int64), "e")], "nc")
            sizes = self.add("Concat", [nc, self.init(size, "hw")], "sizes", axis=0)
            if attr(node, "align_corners", False):
                ctm = "align_corners"
            elif attr(node, "half_pixel_centers", False):
                ctm = "half_pixel"
            else:
                ctm = "asymmetric"
            self.vals[name] = (self.add("Resize", [x, "", "", sizes], name, mode="linear",
                                        coordinate_transformation_mode=ctm), "nchw")
            return
        raise ValueError(f"unsupported op {op} ({name})")

    def convert(self, outputs: list[tuple[str, str]]) -> onnx.ModelProto:
        for node in self.mj["modelTopology"]["node"]:
            self.convert_node(node)
        graph_outputs = []
        for tf_name, out_name in outputs:
            src = self.as_plain(tf_name)
            self.nodes.append(helper.make_node("Identity", [src], [out_name], name=out_name))
            graph_outputs.append(helper.make_tensor_value_info(out_name, TensorProto.FLOAT, None))
        graph = helper.make_graph(self.nodes, "converted", self.graph_inputs, graph_outputs, self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                  producer_name="dfd-tfjs_to_onnx", producer_version="1")
        model.ir_version = 8
        model = onnx.shape_inference.infer_shapes(model)
        # Publish the inferred output shapes, with the batch dimension named.
        inferred = {v.name: v for v in list(model.graph.value_info) + list(model.graph.output)}
        for o in model.graph.output:
            vi = inferred.get(o.name)
            if vi is not None and vi.type.tensor_type.HasField("shape"):
                o.type.CopyFrom(vi.type)
        onnx.checker.check_model(model, full_check=True)
        return model


def store_fp16(model: onnx.ModelProto, min_size: int = 1024) -> int:
    """Stores float32 initializers that float16 holds exactly (weights shipped as float16 upstream)
    as float16 with a Cast back to float32: half the file, the same numbers (onnxruntime folds
    the casts when it loads the model). Returns how many were stored so."""
    g = model.graph
    casts = []
    kept = []
    for t in g.initializer:
        arr = numpy_helper.to_array(t)
        if arr.dtype == np.float32 and arr.size >= min_size:
            half = arr.astype(np.float16)
            if np.array_equal(half.astype(np.float32), arr):
                kept.append(numpy_helper.from_array(half, t.name + "_fp16"))
                casts.append(helper.make_node("Cast", [t.name + "_fp16"], [t.name], name=t.name + "_cast", to=TensorProto.FLOAT))
                continue
        kept.append(t)
    del g.initializer[:]
    g.initializer.extend(kept)
    nodes = casts + list(g.node)
    del g.node[:]
    g.node.extend(nodes)
    onnx.checker.check_model(model, full_check=True)
    return len(casts)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_json")
    ap.add_argument("out_onnx")
    ap.add_argument("--input-name", default="input")
    ap.add_argument("--output", action="append", required=True, help="TF_NODE:onnx_name, in order")
    ap.add_argument("--batch", default="batch", help="symbolic batch name, or an integer to fix it")
    ap.add_argument("--fp16-weights", action="store_true", help="store weights float16 holds exactly as float16 (+ Cast)")
    args = ap.parse_args()
    mj = json.load(open(args.model_json))
    weights = load_weights(mj, os.path.dirname(os.path.abspath(args.model_json)))
    batch: str | int = int(args.batch) if args.batch.isdigit() else args.batch
    outs = [tuple(o.split(":", 1)) for o in args.output]
    model = Converter(mj, weights, args.input_name, batch).convert(outs)  # type: ignore[arg-type]
    if args.fp16_weights:
        store_fp16(model)
    onnx.save(model, args.out_onnx)
    print(json.dumps({"out": args.out_onnx, "nodes": len(model.graph.node),
                      "outputs": [o.name for o in model.graph.output]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

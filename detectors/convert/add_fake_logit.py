#!/usr/bin/env python3
"""Puts a `fake_logit` output first on a converted presentation-attack (PAD) model.

The service reads the first value of each row of a detector's first output as a logit,
higher = more likely fake, and calibrates it with pFake = sigmoid(a * logit + b). The two
PAD models of @vladmandic/human end in a probability of "real" instead:

  sigmoid  (antispoof): real = sigmoid(z), z = pre-activation [batch, 1]
           -> fake_logit = -z, so sigmoid(fake_logit) = 1 - real exactly
  softmax2 (liveness):  probs = softmax(z), z = pre-activation [batch, 2], probs[:, R] = real
           -> fake_logit = z[:, 1-R] - z[:, R], so sigmoid(fake_logit) = 1 - probs[:, R] exactly

The converted graph must expose the pre-activation as output PRE (verified against TFJS by
verify_tfjs.mjs beforehand) and the probability as output PROB. PRE is replaced by
`fake_logit` [batch, 1] as the first output; PROB stays as the second, for reference.
The identity above is re-checked with onnxruntime on seeded random inputs (|diff| <= 1e-5).

Usage: add_fake_logit.py IN.onnx OUT.onnx --pre real_logit --prob score --kind sigmoid
       add_fake_logit.py IN.onnx OUT.onnx --pre logits --prob probs --kind softmax2 --real-index 0
"""
from __future__ import annotations

import argparse
import json
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("in_onnx")
    ap.add_argument("out_onnx")
    ap.add_argument("--pre", required=True, help="output holding the pre-activation")
    ap.add_argument("--prob", required=True, help="output holding the probability")
    ap.add_argument("--kind", choices=["sigmoid", "softmax2"], required=True)
    ap.add_argument("--real-index", type=int, default=0, help="softmax2: column that means real")
    args = ap.parse_args()

    model = onnx.load(args.in_onnx)
    g = model.graph
    outs = {o.name: o for o in g.output}
    if args.pre not in outs or args.prob not in outs:
        raise SystemExit(f"outputs {args.pre!r} and {args.prob!r} must exist; have {list(outs)}")
    pre = args.pre + "_pre"
    # Rename the producer of PRE (an Identity appended by the converter) so PRE is internal.
    for n in g.node:
        n.output[:] = [pre if o == args.pre else o for o in n.output]
    if args.kind == "sigmoid":
        g.node.append(helper.make_node("Neg", [pre], ["fake_logit"], name="fake_logit"))
    else:
        r = args.real_index
        if r not in (0, 1):
            raise SystemExit("--real-index must be 0 or 1")
        idx = lambda name, i: helper.make_tensor(name, TensorProto.INT64, [1], [i])  # noqa: E731
        g.initializer.extend([idx("fl_real_idx", r), idx("fl_other_idx", 1 - r)])
        g.node.append(helper.make_node("Gather", [pre, "fl_real_idx"], ["fl_real"], name="fl_real", axis=1))
        g.node.append(helper.make_node("Gather", [pre, "fl_other_idx"], ["fl_other"], name="fl_other", axis=1))
        g.node.append(helper.make_node("Sub", ["fl_other", "fl_real"], ["fake_logit"], name="fake_logit"))
    batch = outs[args.prob].type.tensor_type.shape.dim[0]
    fake = helper.make_tensor_value_info("fake_logit", TensorProto.FLOAT, [batch.dim_param or batch.dim_value or "batch", 1])
    prob = outs[args.prob]
    del g.output[:]
    g.output.extend([fake, prob])
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, args.out_onnx)

    # Check sigmoid(fake_logit) == 1 - P(real) on seeded random inputs in [0, 1].
    sess = ort.InferenceSession(args.out_onnx, providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0]
    shape = [4 if not isinstance(d, int) else d for d in inp.shape]
    rng = np.random.default_rng(7)
    worst = 0.0
    for _ in range(3):
        x = rng.random(shape, dtype=np.float32)
        fl, p = sess.run(["fake_logit", args.prob], {inp.name: x})
        real = p[:, 0] if args.kind == "sigmoid" else p[:, args.real_index]
        worst = max(worst, float(np.max(np.abs(1 / (1 + np.exp(-fl[:, 0])) - (1 - real)))))
    if worst > 1e-5:
        raise SystemExit(f"sigmoid(fake_logit) differs from 1 - P(real) by {worst}")
    print(json.dumps({"out": args.out_onnx, "outputs": [o.name for o in model.graph.output], "identityMaxAbsDiff": worst}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

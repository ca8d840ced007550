#!/usr/bin/env bash
# Re-runs the TFJS -> ONNX conversion of the face models shipped in @vladmandic/human,
# verifies every output against TFJS itself (run in Node), and rewrites
# detectors/models/face-detect, face-landmarks, face-antispoof, face-liveness and face-embed
# (model.onnx + manifest.json). The two presentation-attack (PAD) models get a `fake_logit`
# first output (add_fake_logit.py: sigmoid(fake_logit) = 1 - P(real), checked numerically)
# after their pre-activation and probability outputs were verified against TFJS.
# Needs: python3 with venv, PyPI (pip's configured index), node + node_modules.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
CONV=detectors/convert
SRC=node_modules/@vladmandic/human/models
VENV=$CONV/.venv
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  # The same pins as detectors/training/setup.sh.
  "$VENV/bin/pip" install -q --no-input --timeout 60 onnx==1.23.1 numpy==2.2.6 onnxruntime==1.30.0
fi
PY=$VENV/bin/python

convert() { # id json out outputs...
  local id=$1 json=$2 out=$3; shift 3
  local args=() pairs=()
  for p in "$@"; do args+=(--output "$p"); pairs+=("$p"); done
  # shellcheck disable=SC2086
  "$PY" $CONV/tfjs_to_onnx.py "$SRC/$json" "$out" --input-name image "${args[@]}" ${CONVERT_FLAGS:-} >&2
  node $CONV/verify_tfjs.mjs "$SRC/$json" "$out" "${pairs[@]}" > "$TMP/$id.verify.json"
  echo "verified $id: $(python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print('ok' if j['ok'] else 'FAIL', max(r['rel'] for r in j['results']))" "$TMP/$id.verify.json")" >&2
}

publish() { # id onnx json outputs...   (POST: optional add_fake_logit.py arguments)
  local id=$1 onnx=$2 json=$3; shift 3
  local dir=detectors/models/$id
  mkdir -p "$dir"
  convert "$id" "$json" "$TMP/$id.onnx" "$@"
  if [ -n "${POST:-}" ]; then
    # shellcheck disable=SC2086
    "$PY" $CONV/add_fake_logit.py "$TMP/$id.onnx" "$TMP/$id.pad.onnx" $POST >&2
    mv "$TMP/$id.pad.onnx" "$TMP/$id.onnx"
  fi
  cp "$TMP/$id.onnx" "$dir/model.onnx"
  # Written aside first: write_manifest.py may read the manifest it replaces (face-embed keeps its takeover rule).
  "$PY" $CONV/write_manifest.py "$id" "$dir/model.onnx" "$TMP/$id.verify.json" "bash detectors/convert/run.sh" > "$TMP/$id.manifest.json"
  mv "$TMP/$id.manifest.json" "$dir/manifest.json"
  echo "wrote $dir" >&2
}

publish face-detect model.onnx blazeface.json Identity:cls16 Identity_1:cls8 Identity_2:reg16 Identity_3:reg8
publish face-landmarks model.onnx facemesh.json Identity_2:mesh Identity_1:faceflag Identity:contours
# PAD models: human reads antispoof Identity[0] as `real` and liveness Identity[0] as `live`.
POST="--pre real_logit --prob real --kind sigmoid" \
  publish face-antispoof model.onnx antispoof.json StatefulPartitionedCall/sequential/dense_1/BiasAdd:real_logit Identity:real
POST="--pre logits --prob probs --kind softmax2 --real-index 0" \
  publish face-liveness model.onnx liveness.json StatefulPartitionedCall/sequential_1/dense_2/BiasAdd:logits Identity:probs
# The face descriptor for continuity (docs/continuity.md): float16 weights stay float16 in the file.
# Its takeover rule (K, M, T) comes from eval-results/face/continuity.json (detectors/eval/faceContinuity.ts).
CONVERT_FLAGS=--fp16-weights publish face-embed model.onnx faceres.json global_pooling/Mean:descriptor

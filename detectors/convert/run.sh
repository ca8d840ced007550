#!/usr/bin/env bash
# Re-runs the TFJS -> ONNX conversion of the face models shipped in @vladmandic/human,
# verifies every output against TFJS itself (run in Node), and rewrites
# detectors/models/face-detect and detectors/models/face-landmarks (model.onnx + manifest.json).
# antispoof and liveness are converted and verified too, into $EXTRA_OUT (default: a temp dir).
# Needs: python3 with venv, the local wheel mirror (pip config), node + node_modules.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
CONV=detectors/convert
SRC=node_modules/@vladmandic/human/models
VENV=$CONV/.venv
EXTRA_OUT=${EXTRA_OUT:-$(mktemp -d)}
mkdir -p "$EXTRA_OUT"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --index-url file:///opt/pypi/simple onnx==1.23.1 numpy==2.4.6 onnxruntime==1.30.0
fi
PY=$VENV/bin/python

convert() { # id json out outputs...
  local id=$1 json=$2 out=$3; shift 3
  local args=() pairs=()
  for p in "$@"; do args+=(--output "$p"); pairs+=("$p"); done
  "$PY" $CONV/tfjs_to_onnx.py "$SRC/$json" "$out" --input-name image "${args[@]}" >&2
  node $CONV/verify_tfjs.mjs "$SRC/$json" "$out" "${pairs[@]}" > "$TMP/$id.verify.json"
  echo "verified $id: $(python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print('ok' if j['ok'] else 'FAIL', max(r['rel'] for r in j['results']))" "$TMP/$id.verify.json")" >&2
}

publish() { # id onnx json outputs...
  local id=$1 onnx=$2 json=$3; shift 3
  local dir=detectors/models/$id
  mkdir -p "$dir"
  convert "$id" "$json" "$TMP/$id.onnx" "$@"
  cp "$TMP/$id.onnx" "$dir/model.onnx"
  "$PY" $CONV/write_manifest.py "$id" "$dir/model.onnx" "$TMP/$id.verify.json" "bash detectors/convert/run.sh" > "$dir/manifest.json"
  echo "wrote $dir" >&2
}

publish face-detect model.onnx blazeface.json Identity:cls16 Identity_1:cls8 Identity_2:reg16 Identity_3:reg8
publish face-landmarks model.onnx facemesh.json Identity_2:mesh Identity_1:faceflag Identity:contours
convert antispoof antispoof.json "$EXTRA_OUT/antispoof.onnx" Identity:score
convert liveness liveness.json "$EXTRA_OUT/liveness.onnx" Identity:probs
echo "extra models in $EXTRA_OUT" >&2

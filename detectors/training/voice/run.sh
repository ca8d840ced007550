#!/usr/bin/env bash
# Rebuilds the voice anti-spoofing model end to end:
#   1. Python env (detectors/training/.venv)   2. Debian data packages   3. data (.cache/voice)
#   4. training + calibration + ONNX export -> detectors/models/voice-antispoof/{model.onnx,manifest.json}
# Env: TRAIN_MINUTES (default 16), SKIP_APT=1 to skip apt-get, SKIP_DATA=1 to reuse .cache/voice.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
cd "$repo"
py="detectors/training/.venv/bin/python"

bash detectors/training/setup.sh

if [ "${SKIP_APT:-0}" != "1" ]; then
  pkgs=(asterisk-core-sounds-en-wav asterisk-core-sounds-en-g722 asterisk-core-sounds-es-wav asterisk-core-sounds-fr-wav
        pocketsphinx-testdata alsa-utils espeak-ng flite festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts
        sox ffmpeg)
  missing=()
  for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ "${#missing[@]}" -gt 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
  fi
fi

mkdir -p detectors/training/.cache/voice
if [ "${SKIP_DATA:-0}" != "1" ] || [ ! -f detectors/training/.cache/voice/summary.json ]; then
  nice -n 10 "$py" detectors/training/voice/build_data.py
fi
nice -n 10 "$py" detectors/training/voice/train.py --minutes "${TRAIN_MINUTES:-16}"

#!/usr/bin/env bash
# Rebuilds detectors/models/face-forgery/{model.onnx,manifest.json} from real talking-face videos.
#   bash detectors/training/face/run.sh /work/shared/train/faces
# Env: FACE_PY (python to use; default: detectors/training/.venv made by ../setup.sh),
#      FACE_MAX_SECONDS (training time budget, default 1500), FACE_EPOCHS (default 6),
#      FACE_REUSE_DATA=1 (skip build_data.py when the cache exists).
set -euo pipefail
videos="${1:?usage: run.sh VIDEOS_DIR}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
cache="$root/detectors/training/face/.cache/face"
out="$root/detectors/models/face-forgery"
photos="$root/node_modules/@vladmandic/face-api/demo"

if [ -z "${FACE_PY:-}" ]; then
  bash "$root/detectors/training/setup.sh"
  FACE_PY="$root/detectors/training/.venv/bin/python"
fi

if [ "${FACE_REUSE_DATA:-0}" != 1 ] || [ ! -f "$cache/data.json" ]; then
  nice -n 10 "$FACE_PY" "$here/build_data.py" --videos "$videos" --photos "$photos" --out "$cache"
fi
nice -n 10 "$FACE_PY" "$here/train.py" --data "$cache" --out "$out" \
  --epochs "${FACE_EPOCHS:-6}" --max-seconds "${FACE_MAX_SECONDS:-1500}" \
  --command "bash detectors/training/face/run.sh $videos"

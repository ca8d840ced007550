#!/usr/bin/env bash
# Rebuilds the face-forgery model end to end from manifest folders of real and fake face videos:
#   bash detectors/training/face/run.sh ../shared/train/faces-fake/manifest.tsv ../shared/train/faces/faces.tsv
# 1. Python env (../setup.sh)   2. crops cut by the service's own face path (serviceCrops.ts: BlazeFace + FaceMesh +
# FaceAligner at 5 fps)   3. channel variants and self-blends (forgery.py prep)   4. leave-method-out CV of each
# configuration in CONFIGS, fine-tuning MesoNet's published weights (forgery.py cv)   5. report: per-method AUROC,
# temporal evidence, calibration (forgery.py report)   6. final model -> OUT (ONNX + manifest)
# Env: DATA (cache, default detectors/training/.cache/face2), OUT (default detectors/models/face-forgery),
#      FOLDS (5), STEPS (1500), EVERY (250), CONFIGS ("meso4-df:3 meso4-f2f:3 meso4-f2f:2": init:frozen blocks, or
#      init:frozen blocks:real,fake,self-blend sampling shares (default 0.5,0.25,0.25); default: the runs the shipped
#      0.3.0 was chosen from, CONFIGS="meso4-df:3 meso4-f2f:3 meso4-f2f:2 meso4-f2f:2:0.5,0.125,0.375"),
#      SKIP_DATA=1 to reuse crops and variants, SKIP_CV=1 to reuse the CV runs.
# The published MesoNet weights come from the committed ONNX ports in pretrained/ (mesonet_port.py made them from
# ../shared/models/mesonet; mesonet_parity.py checks them against Keras), so this recipe needs only the videos.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
[ "$#" -ge 1 ] || { echo "usage: run.sh MANIFEST.tsv [MANIFEST.tsv ...]" >&2; exit 2; }
tsvs=()
for t in "$@"; do tsvs+=("$(cd "$(dirname "$t")" && pwd)/$(basename "$t")"); done
cd "$repo"
py="${DFD_TRAINING_PY:-detectors/training/.venv/bin/python}"
data="${DATA:-detectors/training/.cache/face2}"
out="${OUT:-detectors/models/face-forgery}"
folds="${FOLDS:-5}"; steps="${STEPS:-1500}"; every="${EVERY:-250}"
read -r -a configs <<< "${CONFIGS:-meso4-df:3 meso4-f2f:3 meso4-f2f:2 meso4-f2f:2:0.5,0.125,0.375}"
[ -n "${DFD_TRAINING_PY:-}" ] || bash detectors/training/setup.sh
f="detectors/training/face/forgery.py"

if [ "${SKIP_DATA:-0}" != "1" ] || [ ! -f "$data/data/clips.json" ]; then
  nice -n 10 node --import tsx detectors/training/face/serviceCrops.ts --out "$data/crops" --max-frames 25 "${tsvs[@]}"
  nice -n 10 "$py" "$f" prep --crops "$data/crops" --data "$data/data" --folds "$folds"
fi
if [ "${SKIP_CV:-0}" != "1" ]; then
  for c in "${configs[@]}"; do
    IFS=: read -r init freeze shares <<< "$c"
    for ((k = 0; k < folds; k++)); do
      nice -n 10 "$py" "$f" cv --data "$data/data" --fold "$k" --init "$init" --freeze "$freeze" \
        --steps "$steps" --every "$every" ${shares:+--shares "$shares"}
    done
  done
fi
nice -n 10 "$py" "$f" report --data "$data/data"
nice -n 10 "$py" "$f" final --data "$data/data" --out "$out"

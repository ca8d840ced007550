"""Builds the voice anti-spoofing training data from material on this machine (no downloads).

Bona fide: real recordings shipped in Debian packages (Asterisk prompts, pocketsphinx test clips, alsa-utils).
Spoof: local synthesisers (espeak-ng, flite, festival) and copy-synthesis of the bona fide recordings
(Griffin-Lim, LPC vocoder, phase vocoder, sox pitch / speed+tempo shifts) as a stand-in for vocoder artefacts.
Both classes go through the same channel augmentation (real libopus 16-32 kb/s, 8 kHz band-limiting,
packet loss, noise), so the channel alone cannot separate them.

Splits are speaker-disjoint and text-source-disjoint:
  train: Allison (asterisk en 8 kHz wav + en G.722 16 kHz + es_MX), TTS voices A, TTS texts from asterisk en/es + GPL-3
  dev:   June (asterisk fr_CA), TTS voices B, TTS texts from asterisk fr + Apache-2.0/MPL-2.0
  test:  pocketsphinx LibriVox/cards/raw clips + alsa-utils voice, TTS voices C, texts from LGPL/GFDL/Artistic + test transcripts

Output: <cache>/voice/{train,dev,test}.npz  (int16 audio concatenated, offsets, labels, metadata json).
"""
from __future__ import annotations

import argparse
import glob
import gzip
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from scipy.signal import lfilter, resample_poly

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from common.audio import SR, best_lag, ffmpeg_f32, opus_roundtrip, read_audio, wav_bytes_to_f32  # noqa: E402

MAX_SECONDS = 8.0


@dataclass
class Clip:
    cid: str
    split: str
    label: int  # 0 bona fide, 1 spoof
    gen: str  # generator / source family
    speaker: str
    text: str
    wav: np.ndarray = field(repr=False)


def log(msg: str) -> None:
    print(f"[build_data {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def trim(x: np.ndarray) -> np.ndarray:
    x = x[: int(MAX_SECONDS * SR)]
    return x.astype(np.float32)


def stable_rng(*keys: str) -> np.random.Generator:
    h = hashlib.sha256("|".join(keys).encode()).digest()
    return np.random.default_rng(int.from_bytes(h[:8], "little"))


# ---------------------------------------------------------------- texts

def asterisk_texts(lang: str) -> dict[str, str]:
    path = f"/usr/share/doc/asterisk-core-sounds-{lang}/core-sounds-{lang}.txt.gz"
    out: dict[str, str] = {}
    if not os.path.exists(path):
        return out
    with gzip.open(path, "rt", encoding="utf-8", errors="replace") as f:
        for line in f:
            if ":" not in line or line.startswith(";"):
                continue
            k, v = line.split(":", 1)
            v = v.strip()
            if v and not v.startswith("["):
                out[k.strip()] = v
    return out


def license_sentences(names: list[str]) -> list[str]:
    out: list[str] = []
    for n in names:
        p = f"/usr/share/common-licenses/{n}"
        if not os.path.exists(p):
            continue
        txt = re.sub(r"\s+", " ", open(p, encoding="utf-8", errors="replace").read())
        for s in re.split(r"(?<=[.;:])\s+", txt):
            s = s.strip()
            words = s.split()
            if 5 <= len(words) <= 22 and re.fullmatch(r"[A-Za-z ,.;:'()-]+", s) and not s.isupper():
                out.append(s)
    return sorted(set(out))


# ---------------------------------------------------------------- bona fide

def load_bonafide() -> list[Clip]:
    clips: list[Clip] = []
    en_txt = asterisk_texts("en")
    es_txt = asterisk_texts("es")
    fr_txt = asterisk_texts("fr")
    base = "/usr/share/asterisk/sounds"

    def key_of(path: str, root: str) -> str:
        return os.path.splitext(os.path.relpath(path, root))[0]

    for lang, spk, txt, split in (("en_US_f_Allison", "allison", en_txt, "train"),
                                  ("es_MX_f_Allison", "allison", es_txt, "train"),
                                  ("fr_CA_f_June", "june", fr_txt, "dev")):
        root = f"{base}/{lang}"
        for p in sorted(glob.glob(f"{root}/**/*.wav", recursive=True)):
            x = read_audio(p)
            if len(x) < int(0.6 * SR):
                continue
            k = key_of(p, root)
            clips.append(Clip(f"ast-{lang}-{k}-wav", split, 0, f"asterisk-{lang[:2]}-wav8k", spk, txt.get(k, ""), trim(x)))
        # G.722 (16 kHz wideband) versions of the same prompts: decode them all in one ffmpeg call.
        g722 = sorted(glob.glob(f"{root}/**/*.g722", recursive=True))
        if g722:
            blob = b"".join(open(p, "rb").read() for p in g722)
            lens = [os.path.getsize(p) * 2 for p in g722]  # 64 kb/s G.722: one byte = two 16 kHz samples
            y = ffmpeg_f32(["-f", "g722", "-i", "-"], blob)
            off = 0
            for p, n in zip(g722, lens):
                x = y[off: off + n]
                off += n
                if len(x) < int(0.6 * SR):
                    continue
                k = key_of(p, root)
                clips.append(Clip(f"ast-{lang}-{k}-g722", split, 0, f"asterisk-{lang[:2]}-g722", spk, txt.get(k, ""), trim(x)))

    ps = "/usr/share/pocketsphinx/test/data"
    trans: dict[str, str] = {}
    for tf in (f"{ps}/librivox/transcription", f"{ps}/cards/cards.transcription"):
        if os.path.exists(tf):
            for line in open(tf):
                m = re.match(r"<s>(.*)</s>\s*\((.*)\)", line.strip())
                if m:
                    trans[m.group(2)] = m.group(1).strip()
    for p in sorted(glob.glob(f"{ps}/librivox/*.wav")):
        k = os.path.splitext(os.path.basename(p))[0]
        clips.append(Clip(f"ps-{k}", "test", 0, "librivox", "librivox-austen", trans.get(k, ""), trim(read_audio(p))))
    for p in sorted(glob.glob(f"{ps}/cards/*.wav")):
        k = os.path.splitext(os.path.basename(p))[0]
        clips.append(Clip(f"ps-cards-{k}", "test", 0, "pocketsphinx-cards", "cards", trans.get(k, ""), trim(read_audio(p))))
    for p in sorted(glob.glob(f"{ps}/*.raw")) + sorted(glob.glob(f"{ps}/tidigits/*.raw")):
        k = os.path.splitext(os.path.basename(p))[0]
        x = read_audio(p)
        for j in range(0, max(1, len(x) // (6 * SR))):  # long raw clips -> <= 6 s pieces
            seg = x[j * 6 * SR: (j + 1) * 6 * SR]
            if len(seg) >= SR:
                clips.append(Clip(f"ps-raw-{k}-{j}", "test", 0, "pocketsphinx-raw", f"raw-{k}", "", trim(seg)))
    for p in sorted(glob.glob("/usr/share/sounds/alsa/*.wav")):
        k = os.path.splitext(os.path.basename(p))[0]
        if k == "Noise":
            continue
        clips.append(Clip(f"alsa-{k}", "test", 0, "alsa-utils", "alsa", k.replace("_", " "), trim(read_audio(p))))
    return clips


# ---------------------------------------------------------------- TTS spoofs

def run_bytes(cmd: list[str]) -> bytes:
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True, timeout=60).stdout


def tts_espeak(voice: str, text: str, rng: np.random.Generator) -> np.ndarray:
    rate = str(int(rng.integers(130, 190)))
    pitch = str(int(rng.integers(30, 70)))
    return wav_bytes_to_f32(run_bytes(["espeak-ng", "-v", voice, "-s", rate, "-p", pitch, "--stdout", text]))


def tts_flite(voice: str, text: str, rng: np.random.Generator) -> np.ndarray:
    with tempfile.NamedTemporaryFile(suffix=".wav") as f:
        subprocess.run(["flite", "-voice", voice, "-t", text, "-o", f.name], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
        return read_audio(f.name)


def tts_festival(voice: str, text: str, rng: np.random.Generator) -> np.ndarray:
    with tempfile.TemporaryDirectory() as d:
        tf, wf = os.path.join(d, "t.txt"), os.path.join(d, "o.wav")
        open(tf, "w").write(text)
        subprocess.run(["text2wave", "-eval", f"({voice})", "-o", wf, tf], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
        return read_audio(wf)


TTS_PLAN = {
    # split: list of (engine, voice, texts-pool-key, count)
    "train": [("espeak", "en-us", "en", 80), ("espeak", "en-us+m3", "en", 70), ("espeak", "en+f3", "en", 70),
              ("espeak", "en-gb-x-gbclan", "en", 50), ("espeak", "en-us+klatt", "en", 50), ("espeak", "es", "es", 60),
              ("espeak", "es-419+f2", "es", 50),
              ("flite", "kal", "en", 90), ("flite", "awb", "en", 90), ("flite", "kal16", "en", 60),
              ("festival", "voice_kal_diphone", "en", 90)],
    "dev": [("espeak", "en-gb", "en", 40), ("espeak", "en+f2", "en", 40), ("espeak", "fr-fr", "fr", 40),
            ("espeak", "fr-be+m2", "fr", 30), ("flite", "rms", "en", 60), ("festival", "voice_ked_diphone", "en", 60)],
    "test": [("espeak", "en-gb-x-rp", "en", 30), ("espeak", "en-us+f4", "en", 30), ("espeak", "en-029", "en", 20),
             ("flite", "slt", "en", 45), ("festival", "voice_cmu_us_slt_arctic_hts", "en", 45)],
}


def text_pools() -> dict[str, dict[str, list[str]]]:
    en = sorted(set(v for v in asterisk_texts("en").values() if len(v.split()) >= 2))
    es = sorted(set(v for v in asterisk_texts("es").values() if len(v.split()) >= 2))
    fr = sorted(set(v for v in asterisk_texts("fr").values() if len(v.split()) >= 2))
    pools = {
        "train": {"en": en + license_sentences(["GPL-3"]), "es": es},
        "dev": {"en": license_sentences(["Apache-2.0", "MPL-2.0", "GPL-2", "CC0-1.0"]), "fr": fr},
        "test": {"en": license_sentences(["LGPL-2.1", "GFDL-1.3", "Artistic"])},
    }
    seen: set[str] = set()
    for split in ("train", "dev", "test"):  # a sentence belongs to the first split that uses it
        for k in pools[split]:
            pools[split][k] = [s for s in pools[split][k] if s.lower() not in seen]
        for k in pools[split]:
            seen.update(s.lower() for s in pools[split][k])
    return pools


def load_bonafide_dir(root: str) -> list[Clip]:
    """Bona fide clips from <root>/{train,dev,test}/*.wav (a small fixture set instead of the Debian packages)."""
    clips: list[Clip] = []
    for split in ("train", "dev", "test"):
        for p in sorted(glob.glob(os.path.join(root, split, "*.wav"))):
            k = os.path.splitext(os.path.basename(p))[0]
            clips.append(Clip(f"dir-{split}-{k}", split, 0, "bonafide-dir", f"dir:{split}", "", trim(read_audio(p))))
    return clips


def make_tts(scale: float, engines: tuple[str, ...] = ("espeak", "flite", "festival")) -> list[Clip]:
    pools = text_pools()
    jobs = []
    for split, plan in TTS_PLAN.items():
        for engine, voice, pool, count in plan:
            if engine not in engines:
                continue
            texts = pools[split][pool]
            rng = stable_rng("tts", split, voice)
            n = max(2, int(count * scale))
            for i, t in enumerate(rng.choice(texts, size=min(n, len(texts)), replace=False)):
                jobs.append((split, engine, voice, str(t), i))

    fns = {"espeak": tts_espeak, "flite": tts_flite, "festival": tts_festival}

    def one(job):
        split, engine, voice, text, i = job
        try:
            x = fns[engine](voice, text, stable_rng("ttsp", voice, str(i)))
        except Exception as e:  # a failed synthesis is counted, not fatal
            return None, f"{engine}/{voice}: {type(e).__name__}"
        if len(x) < int(0.6 * SR):
            return None, None
        return Clip(f"tts-{engine}-{voice}-{split}-{i}", split, 1, f"tts-{engine}", f"{engine}:{voice}", text, trim(x)), None

    out: list[Clip] = []
    fails = 0
    with ThreadPoolExecutor(max_workers=2) as ex:
        for c, err in ex.map(one, jobs):
            if c is not None:
                out.append(c)
            elif err:
                fails += 1
    log(f"tts: {len(out)} clips, {fails} failures")
    return out


# ---------------------------------------------------------------- copy-synthesis spoofs

NFFT, HOP = 512, 128
WIN = np.hanning(NFFT).astype(np.float32)


def stft(x: np.ndarray) -> np.ndarray:
    pad = np.pad(x, (NFFT // 2, NFFT // 2 + HOP))
    n = 1 + (len(pad) - NFFT) // HOP
    idx = np.arange(NFFT)[None, :] + HOP * np.arange(n)[:, None]
    return np.fft.rfft(pad[idx] * WIN, axis=1)


def istft(S: np.ndarray, length: int) -> np.ndarray:
    frames = np.fft.irfft(S, n=NFFT, axis=1) * WIN
    n = S.shape[0]
    k = NFFT // HOP
    out = np.zeros(HOP * (n + k), dtype=np.float64)
    norm = np.zeros_like(out)
    fr = frames.reshape(n, k, HOP)
    w2 = (WIN ** 2).reshape(k, HOP)
    for j in range(k):  # overlap-add: segment j of frame i lands at block i + j
        out[j * HOP: (j + n) * HOP] += fr[:, j, :].reshape(-1)
        norm[j * HOP: (j + n) * HOP] += np.tile(w2[j], n)
    out /= np.maximum(norm, 1e-6)
    return out[NFFT // 2: NFFT // 2 + length].astype(np.float32)


def griffin_lim(x: np.ndarray, rng: np.random.Generator, iters: int = 24) -> np.ndarray:
    mag = np.abs(stft(x))
    phase = np.exp(2j * np.pi * rng.random(mag.shape))
    y = istft(mag * phase, len(x))
    for _ in range(iters):
        S = stft(y)
        y = istft(mag * np.exp(1j * np.angle(S)), len(x))
    return y


def phase_vocoder(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    rate = float(rng.uniform(0.8, 1.25))
    S = stft(x)
    steps = np.arange(0, S.shape[0] - 1, rate)
    omega = 2 * np.pi * HOP * np.arange(S.shape[1]) / NFFT
    phase = np.angle(S[0])
    out = np.empty((len(steps), S.shape[1]), dtype=np.complex128)
    for i, t in enumerate(steps):
        k = int(t)
        frac = t - k
        mag = (1 - frac) * np.abs(S[k]) + frac * np.abs(S[k + 1])
        out[i] = mag * np.exp(1j * phase)
        dphi = np.angle(S[k + 1]) - np.angle(S[k]) - omega
        dphi -= 2 * np.pi * np.round(dphi / (2 * np.pi))
        phase = phase + omega + dphi
    return istft(out, int(len(x) / rate))


def lpc_vocoder(x: np.ndarray, rng: np.random.Generator, order: int = 16) -> np.ndarray:
    """Classic LPC vocoder: per-frame all-pole filter excited by a pulse train (voiced) or noise."""
    flen, hop = 400, 160
    n = 1 + max(0, (len(x) - flen) // hop)
    win = np.hanning(flen)
    out = np.zeros(len(x) + flen)
    phase = 0.0
    pe = lfilter([1, -0.97], [1], x)
    for i in range(n):
        fr = pe[i * hop: i * hop + flen] * win
        r = np.correlate(fr, fr, "full")[flen - 1: flen + order]
        if r[0] < 1e-8:
            continue
        # Levinson-Durbin
        a = np.zeros(order + 1)
        a[0] = 1.0
        err = r[0] * (1 + 1e-6)
        for m in range(1, order + 1):
            k = -(r[m] + np.dot(a[1:m], r[m - 1:0:-1])) / err
            a[1:m] = a[1:m] + k * a[m - 1:0:-1]
            a[m] = k
            err *= 1 - k * k
        raw = x[i * hop: i * hop + flen]
        ac = np.correlate(raw, raw, "full")[flen - 1:]
        lo, hi = SR // 400, SR // 60
        lag = lo + int(np.argmax(ac[lo:hi]))
        voiced = ac[0] > 0 and ac[lag] / ac[0] > 0.35
        e = np.zeros(flen)
        if voiced:
            t = 0
            while t < flen:
                pos = int(phase) + t
                if pos < flen:
                    e[pos] = 1.0
                t += lag
            phase = (phase + hop) % lag
            e *= np.sqrt(lag)
        else:
            e = rng.standard_normal(flen)
        y = lfilter([np.sqrt(max(err, 1e-12)) / np.sqrt(flen / 2)], a, e) * win
        out[i * hop: i * hop + flen] += y
    y = lfilter([1], [1, -0.97], out[: len(x)])
    return y.astype(np.float32)


def sox_effect(x: np.ndarray, effect: list[str]) -> np.ndarray:
    raw = subprocess.run(["sox", "-t", "raw", "-r", str(SR), "-e", "floating-point", "-b", "32", "-c", "1", "-",
                          "-t", "raw", "-e", "floating-point", "-b", "32", "-", *effect],
                         input=x.astype("<f4").tobytes(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         check=True, timeout=60).stdout
    return np.frombuffer(raw, dtype="<f4").copy()


COPY_METHODS = ["griffin-lim", "lpc-vocoder", "phase-vocoder", "sox-pitch", "sox-speed-tempo"]


def copy_synth(c: Clip, method: str) -> Clip | None:
    rng = stable_rng("copy", c.cid, method)
    x = c.wav
    try:
        if method == "griffin-lim":
            y = griffin_lim(x, rng)
        elif method == "lpc-vocoder":
            y = lpc_vocoder(x, rng)
        elif method == "phase-vocoder":
            y = phase_vocoder(x, rng)
        elif method == "sox-pitch":
            cents = int(rng.choice([-1, 1]) * rng.integers(150, 450))
            y = sox_effect(x, ["pitch", str(cents)])
        else:
            f = float(rng.uniform(1.08, 1.2)) if rng.random() < 0.5 else float(rng.uniform(0.83, 0.93))
            y = sox_effect(x, ["speed", f"{f:.3f}", "tempo", "-s", f"{1 / f:.3f}"])
    except Exception:
        return None
    peak = float(np.max(np.abs(y))) if len(y) else 0.0
    if not np.isfinite(peak) or peak < 1e-4 or len(y) < int(0.6 * SR):
        return None
    y = y * (min(0.95, float(np.max(np.abs(x))) + 1e-3) / peak)
    return Clip(f"{c.cid}-{method}", c.split, 1, f"copy-{method}", c.speaker, c.text, trim(y))


# ---------------------------------------------------------------- channel augmentation (both classes)

def augment_all(clips: list[Clip], variant: int) -> list[np.ndarray]:
    """Returns one augmented waveform per clip. Opus is run in batches (one ffmpeg call per bitrate)."""
    out: list[np.ndarray | None] = [None] * len(clips)
    plans = []
    for i, c in enumerate(clips):
        rng = stable_rng("aug", c.cid, str(variant))
        x = c.wav.copy()
        if rng.random() < 0.35:  # narrowband phone path
            x = resample_poly(resample_poly(x, 1, 2), 2, 1).astype(np.float32)[: len(c.wav)]
        br = int(rng.choice([16, 20, 24, 32])) if rng.random() < 0.75 else 0
        loss = float(rng.uniform(0.02, 0.08)) if (br and rng.random() < 0.3) else 0.0
        snr = float(rng.uniform(12, 40)) if rng.random() < 0.4 else None
        plans.append((x, br, loss, snr, rng))
    for br in (16, 20, 24, 32):
        idx = [i for i, p in enumerate(plans) if p[1] == br]
        gap = SR // 4
        for start in range(0, len(idx), 400):
            chunk = idx[start: start + 400]
            parts, offs, pos = [], [], 0
            for i in chunk:
                parts += [plans[i][0], np.zeros(gap, np.float32)]
                offs.append(pos)
                pos += len(plans[i][0]) + gap
            cat = np.concatenate(parts)
            y = opus_roundtrip(cat, br)
            lag = best_lag(cat, y)
            if lag > 0:
                y = y[lag:]
            elif lag < 0:
                y = np.concatenate([np.zeros(-lag, np.float32), y])
            y = np.pad(y, (0, max(0, len(cat) - len(y))))
            for i, o in zip(chunk, offs):
                out[i] = y[o: o + len(plans[i][0])].copy()
    for i, (x, br, loss, snr, rng) in enumerate(plans):
        y = out[i] if out[i] is not None else x
        if loss > 0:  # packet loss on 20 ms frames, zero-filled with short fades (crude stand-in for PLC)
            fl = SR // 50
            for f in range(len(y) // fl):
                if rng.random() < loss:
                    y[f * fl: (f + 1) * fl] = 0.0
        if snr is not None:
            p = float(np.mean(y * y)) + 1e-10
            noise = rng.standard_normal(len(y)).astype(np.float32)
            if rng.random() < 0.5:  # pinkish
                noise = lfilter([1], [1, -0.95], noise).astype(np.float32)
            noise *= np.sqrt(p / (10 ** (snr / 10)) / (float(np.mean(noise * noise)) + 1e-10))
            y = y + noise
        y = y * float(10 ** (rng.uniform(-12, 3) / 20))
        out[i] = np.clip(y, -1, 1).astype(np.float32)
    return out  # type: ignore[return-value]


# ---------------------------------------------------------------- main

def save_split(path: str, clips: list[Clip], waves: list[np.ndarray]) -> None:
    lens = np.array([len(w) for w in waves], dtype=np.int64)
    offs = np.concatenate([[0], np.cumsum(lens)[:-1]]).astype(np.int64)
    audio = np.concatenate([np.clip(np.round(w * 32767), -32768, 32767).astype(np.int16) for w in waves])
    meta = [{"id": c.cid, "label": c.label, "gen": c.gen, "speaker": c.speaker, "text": c.text} for c in clips]
    np.savez(path, audio=audio, offsets=offs, lengths=lens, labels=np.array([c.label for c in clips], np.int8),
             meta=np.array(json.dumps(meta)))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", ".cache", "voice"))
    ap.add_argument("--scale", type=float, default=1.0, help="multiplies the TTS counts")
    ap.add_argument("--max-bonafide", type=int, default=900, help="per asterisk language/codec set")
    ap.add_argument("--bonafide-dir", default=None,
                    help="take bona fide clips from DIR/{train,dev,test}/*.wav instead of the Debian packages (CI)")
    ap.add_argument("--engines", default="espeak,flite,festival", help="comma-separated TTS engines to use")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    t0 = time.time()

    bona = load_bonafide_dir(args.bonafide_dir) if args.bonafide_dir else load_bonafide()
    # cap each big asterisk set so data generation stays short
    by_gen: dict[str, list[Clip]] = {}
    for c in bona:
        by_gen.setdefault(c.gen, []).append(c)
    capped: list[Clip] = []
    for g, cs in sorted(by_gen.items()):
        if len(cs) > args.max_bonafide:
            rng = stable_rng("cap", g)
            cs = [cs[i] for i in sorted(rng.choice(len(cs), args.max_bonafide, replace=False))]
        capped += cs
    bona = capped
    log(f"bona fide: {len(bona)} clips ({time.time() - t0:.0f}s)")

    spoof = make_tts(args.scale, tuple(e.strip() for e in args.engines.split(",") if e.strip()))
    log(f"tts done ({time.time() - t0:.0f}s)")

    # copy-synthesis: every bona fide clip gets one method (rotating), test clips get all methods (few clips)
    jobs = []
    for i, c in enumerate(bona):
        if c.split == "test":
            jobs += [(c, m) for m in COPY_METHODS]
        else:
            jobs.append((c, COPY_METHODS[int(stable_rng("m", c.cid).integers(len(COPY_METHODS)))]))
    with ThreadPoolExecutor(max_workers=2) as ex:  # numpy/scipy/sox release the GIL for most of the work
        copies = [c for c in ex.map(lambda j: copy_synth(*j), jobs) if c is not None]
    log(f"copy-synthesis: {len(copies)} clips ({time.time() - t0:.0f}s)")

    allc = bona + spoof + copies
    summary = {}
    for split in ("train", "dev", "test"):
        cs = [c for c in allc if c.split == split]
        variants = 2 if split == "train" else 1
        clips_out, waves_out = [], []
        for v in range(variants):
            waves = augment_all(cs, v)
            clips_out += cs
            waves_out += waves
        save_split(os.path.join(args.out, f"{split}.npz"), clips_out, waves_out)
        gens: dict[str, int] = {}
        for c in cs:
            gens[c.gen] = gens.get(c.gen, 0) + 1
        summary[split] = {"clips": len(clips_out), "bonafide": sum(1 for c in clips_out if c.label == 0),
                          "spoof": sum(1 for c in clips_out if c.label == 1),
                          "seconds": round(sum(len(w) for w in waves_out) / SR, 1),
                          "speakers": sorted(set(c.speaker for c in cs if c.label == 0)), "generators": gens}
        log(f"{split}: {summary[split]['clips']} clips, {summary[split]['seconds']} s ({time.time() - t0:.0f}s)")
    summary["buildSeconds"] = round(time.time() - t0, 1)
    json.dump(summary, open(os.path.join(args.out, "summary.json"), "w"), indent=2)
    log(f"done in {summary['buildSeconds']} s")


if __name__ == "__main__":
    main()

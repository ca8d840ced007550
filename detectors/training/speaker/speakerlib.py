"""Helpers shared by the speaker-embedding scripts: paths, audio reading, trimming, G.711, the ONNX session."""
from __future__ import annotations

import csv
import os
import subprocess
from math import gcd
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

SR = 16000
WINDOW = 25600  # samples, 1.6 s (the model's fixed input)
HOP = 12800  # samples, 0.8 s (the evaluation's window hop)
HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
MODEL_DIR = REPO / "detectors" / "models" / "speaker-embed"
ONNX_PATH = MODEL_DIR / "model.onnx"
CACHE = REPO / "detectors" / "training" / ".cache" / "speaker"
# The float32 export (export.py): the reference the shipped int8 model (quantize.py) is made from and checked against.
FP32_PATH = CACHE / "model-fp32.onnx"
RESULTS = REPO / "eval-results" / "speaker"
SHARED_TRAIN = (REPO / ".." / "shared" / "train").resolve()
MANIFESTS = ("voice-tts", "voice-vc")


def read_manifest(folder: Path) -> list[dict[str, str]]:
    with open(folder / "manifest.tsv", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    for r in rows:
        r["abspath"] = str(folder / r["path"])
        r["page"] = r["path"].split("/")[0]
        r["set"] = folder.name
    return rows


def resample(x: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    if sr_in == sr_out:
        return np.asarray(x, dtype=np.float32)
    g = gcd(sr_in, sr_out)
    return resample_poly(np.asarray(x, dtype=np.float64), sr_out // g, sr_in // g).astype(np.float32)


def read_audio(path: str) -> np.ndarray:
    """Any soundfile-readable file, `.raw` (s16le 16 kHz) or `.g722` (via ffmpeg) -> 16 kHz mono float32."""
    if path.endswith(".raw"):
        return (np.fromfile(path, dtype="<i2").astype(np.float32) / 32768.0)
    if path.endswith(".g722"):
        cmd = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-f", "g722", "-i", path,
               "-f", "f32le", "-ac", "1", "-ar", str(SR), "-"]
        out = subprocess.run(cmd, stdout=subprocess.PIPE, check=True).stdout
        return np.frombuffer(out, dtype="<f4").copy()
    x, sr = sf.read(path, dtype="float32", always_2d=True)
    return resample(x.mean(axis=1), sr, SR)


def trim(x: np.ndarray, top_db: float = 40.0, margin: float = 0.1) -> np.ndarray:
    """Leading/trailing trim: 10 ms frames more than `top_db` below the loudest frame are cut (0.1 s margin kept)."""
    f = 160
    n = len(x) // f
    if n == 0:
        return x
    e = 10 * np.log10(np.mean(x[: n * f].reshape(n, f).astype(np.float64) ** 2, axis=1) + 1e-12)
    on = np.flatnonzero(e > e.max() - top_db)
    if on.size == 0:
        return x[:0]
    m = int(margin * SR)
    return x[max(0, on[0] * f - m): min(len(x), (on[-1] + 1) * f + m)]


# ---- G.711 mu-law (ITU-T G.711, the classic Sun g711.c segment tables), vectorised ----
_BIAS = 0x84
_CLIP = 32635


def mulaw_encode(pcm16: np.ndarray) -> np.ndarray:
    x = pcm16.astype(np.int32)
    sign = np.where(x < 0, 0x80, 0)
    mag = np.minimum(np.abs(x), _CLIP) + _BIAS
    exp = np.floor(np.log2(mag)).astype(np.int32) - 7  # mag >= 132 -> exp >= 0; <= 32767 -> exp <= 7
    exp = np.clip(exp, 0, 7)
    mant = (mag >> (exp + 3)) & 0x0F
    return (~(sign | (exp << 4) | mant) & 0xFF).astype(np.uint8)


def mulaw_decode(code: np.ndarray) -> np.ndarray:
    u = (~code.astype(np.int32)) & 0xFF
    sign = u & 0x80
    exp = (u >> 4) & 0x07
    mant = u & 0x0F
    mag = (((mant << 3) + _BIAS) << exp) - _BIAS
    return np.where(sign != 0, -mag, mag).astype(np.int16)


def telephone(x: np.ndarray) -> np.ndarray:
    """16 kHz -> 8 kHz (polyphase low-pass), G.711 mu-law encode + decode, -> 16 kHz; same length as the input."""
    y = resample(x, SR, 8000)
    pcm = np.clip(np.round(y * 32768.0), -32768, 32767).astype(np.int16)
    z = mulaw_decode(mulaw_encode(pcm)).astype(np.float32) / 32768.0
    out = resample(z, 8000, SR)
    if len(out) < len(x):
        out = np.pad(out, (0, len(x) - len(out)))
    return out[: len(x)]


def session(path: Path = ONNX_PATH):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def embed_windows(sess, windows: np.ndarray, batch: int = 32) -> np.ndarray:
    out = []
    for i in range(0, len(windows), batch):
        out.append(sess.run(["embedding"], {"waveform": windows[i: i + batch].astype(np.float32)})[0])
    return np.concatenate(out) if out else np.zeros((0, 256), np.float32)

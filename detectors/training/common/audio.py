"""Small audio helpers shared by the training scripts (16 kHz mono float32 throughout)."""
from __future__ import annotations

import subprocess
from math import gcd

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

SR = 16000


def to_mono_f32(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 2:
        x = x.mean(axis=1)
    return x


def resample(x: np.ndarray, sr_in: int, sr_out: int = SR) -> np.ndarray:
    if sr_in == sr_out:
        return x.astype(np.float32, copy=False)
    g = gcd(sr_in, sr_out)
    return resample_poly(x, sr_out // g, sr_in // g).astype(np.float32)


def read_audio(path: str) -> np.ndarray:
    """Reads any soundfile-readable file (or raw 16 kHz s16le with suffix .raw) as 16 kHz mono float32."""
    if path.endswith(".raw"):
        return np.fromfile(path, dtype="<i2").astype(np.float32) / 32768.0
    x, sr = sf.read(path, dtype="float32", always_2d=False)
    return resample(to_mono_f32(x), sr)


def wav_bytes_to_f32(data: bytes) -> np.ndarray:
    import io

    x, sr = sf.read(io.BytesIO(data), dtype="float32", always_2d=False)
    return resample(to_mono_f32(x), sr)


def ffmpeg_f32(args_in: list[str], data: bytes | None, args_out: list[str] | None = None) -> np.ndarray:
    """Runs ffmpeg with the given input arguments; returns 16 kHz mono float32 from its stdout."""
    cmd = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin" if data is None else "-y", *args_in]
    cmd += args_out or []
    cmd += ["-f", "f32le", "-ac", "1", "-ar", str(SR), "-"]
    out = subprocess.run(cmd, input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True).stdout
    return np.frombuffer(out, dtype="<f4").copy()


def opus_roundtrip(x: np.ndarray, bitrate_k: int) -> np.ndarray:
    """Encodes 16 kHz float32 through the real libopus encoder (Ogg) and decodes it back to 16 kHz."""
    enc = subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "f32le", "-ar", str(SR), "-ac", "1", "-i", "-",
         "-c:a", "libopus", "-b:a", f"{bitrate_k}k", "-application", "voip", "-frame_duration", "20", "-f", "ogg", "-"],
        input=x.astype("<f4").tobytes(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True).stdout
    y = ffmpeg_f32(["-f", "ogg", "-i", "-"], enc)
    return y


def best_lag(ref: np.ndarray, y: np.ndarray, max_lag: int = 2000) -> int:
    """Lag (samples) that best aligns y to ref, searched in [-max_lag, max_lag] on the first 20 s."""
    n = min(len(ref), len(y), SR * 20)
    a = ref[:n].astype(np.float64)
    b = y[:n].astype(np.float64)
    nfft = 1
    while nfft < 2 * n:
        nfft *= 2
    c = np.fft.irfft(np.fft.rfft(b, nfft) * np.conj(np.fft.rfft(a, nfft)), nfft)
    lags = np.concatenate([np.arange(0, max_lag + 1), np.arange(-max_lag, 0)])
    vals = np.concatenate([c[: max_lag + 1], c[-max_lag:]])
    return int(lags[int(np.argmax(vals))])


def rms_normalise(x: np.ndarray, dbfs: float = -26.0) -> np.ndarray:
    x = x - x.mean()
    r = float(np.sqrt(np.mean(x * x) + 1e-12))
    return (x * (10 ** (dbfs / 20) / max(r, 1e-4))).astype(np.float32)

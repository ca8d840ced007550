"""RawBoost data boosting for training windows (Tak et al., ICASSP 2022, "RawBoost: a raw data boosting and
augmentation method applied to automatic speaker verification anti-spoofing"), written here from the paper's
description with its default parameters:

  1  linear and non-linear convolutive noise (LnL): sum over orders j = 1..N_f of x**j through a random multi-band
     FIR filter (5 bands, centres 20-8000 Hz, bandwidths 100-1000 Hz, 10-100 taps), each higher order attenuated by
     a random 5-20 dB more: what a transducer and a channel's non-linearities do;
  2  impulsive signal-dependent noise (ISD): up to 10 % of the samples get x * g * u, u uniform in [-1, 1], g 2;
  3  stationary signal-independent noise (SSI): white noise through a random multi-band FIR, added at 10-40 dB SNR.

`boost(x, rng)` applies one of the three, drawn uniformly, to a float32 window and returns a window of the same
length, peak-limited to its input's peak (the model normalises level itself). Both classes get it the same way
(it is applied in train.py before the label matters). `train.py cv|final --rawboost P` boosts each training window
with probability P from its own random stream, so the windows drawn are the same as without it.
"""
from __future__ import annotations

import numpy as np
from scipy import signal

SR = 16000
N_BANDS = 5
MIN_F, MAX_F = 20.0, 8000.0
MIN_BW, MAX_BW = 100.0, 1000.0
MIN_TAPS, MAX_TAPS = 10, 100
N_ORDERS = 5
MIN_BIAS_DB, MAX_BIAS_DB = 5.0, 20.0
ISD_SHARE, ISD_GAIN = 0.10, 2.0
MIN_SNR_DB, MAX_SNR_DB = 10.0, 40.0
ALGORITHMS = ("lnl", "isd", "ssi")


def multiband_fir(rng: np.random.Generator) -> np.ndarray:
    """The sum of N_BANDS band-pass FIR filters with random centres, bandwidths and (odd) lengths."""
    taps = int(rng.integers(MIN_TAPS, MAX_TAPS + 1)) | 1
    h = np.zeros(taps)
    nyq = SR / 2
    for _ in range(N_BANDS):
        fc = rng.uniform(MIN_F, MAX_F)
        bw = rng.uniform(MIN_BW, MAX_BW)
        lo, hi = max(1.0, fc - bw / 2), min(nyq - 1.0, fc + bw / 2)
        if hi - lo < 10:
            continue
        h += signal.firwin(taps, [lo, hi], pass_zero=False, fs=SR)
    return h if np.any(h) else signal.unit_impulse(taps, "mid")


def peak_like(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    peak_y, peak_x = float(np.max(np.abs(y))), float(np.max(np.abs(x)))
    if peak_y < 1e-9 or peak_x < 1e-9:
        return x.copy()
    return (y * (peak_x / peak_y)).astype(np.float32)


def lnl(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    y = np.zeros(len(x), dtype=np.float64)
    gain_db = 0.0
    for j in range(1, N_ORDERS + 1):
        if j > 1:
            gain_db -= rng.uniform(MIN_BIAS_DB, MAX_BIAS_DB)
        y += 10 ** (gain_db / 20) * signal.lfilter(multiband_fir(rng), 1.0, x.astype(np.float64) ** j)
    return peak_like(y, x)


def isd(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    y = x.astype(np.float64).copy()
    n = int(round(len(x) * rng.uniform(0, ISD_SHARE)))
    if n == 0:
        return x.copy()
    at = rng.choice(len(x), size=n, replace=False)
    y[at] += y[at] * ISD_GAIN * rng.uniform(-1, 1, size=n)
    return peak_like(y, x)


def ssi(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    noise = signal.lfilter(multiband_fir(rng), 1.0, rng.standard_normal(len(x)))
    p_x, p_n = float(np.mean(x.astype(np.float64) ** 2)), float(np.mean(noise ** 2))
    if p_x < 1e-12 or p_n < 1e-12:
        return x.copy()
    snr = rng.uniform(MIN_SNR_DB, MAX_SNR_DB)
    y = x + noise * np.sqrt(p_x / (p_n * 10 ** (snr / 10)))
    return peak_like(y, x)


def boost(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One of the three RawBoost algorithms, drawn uniformly, applied to float32 window x."""
    algo = ALGORITHMS[int(rng.integers(len(ALGORITHMS)))]
    y = {"lnl": lnl, "isd": isd, "ssi": ssi}[algo](x, rng)
    if len(y) != len(x) or not np.all(np.isfinite(y)):
        raise ValueError(f"RawBoost {algo} produced a bad window")
    return y.astype(np.float32)


if __name__ == "__main__":  # a self-check: each algorithm changes a speech-like window, keeps length, peak and type
    g = np.random.default_rng(0)
    t = np.arange(2 * SR) / SR
    w = (0.3 * np.sin(2 * np.pi * 180 * t) * (1 + np.sin(2 * np.pi * 3 * t)) + 0.01 * g.standard_normal(len(t)))
    w = w.astype(np.float32)
    for name, f in (("lnl", lnl), ("isd", isd), ("ssi", ssi)):
        out = f(w, g)
        assert out.dtype == np.float32 and out.shape == w.shape, name
        assert abs(float(np.max(np.abs(out))) - float(np.max(np.abs(w)))) < 1e-4, name
        change = float(np.sqrt(np.mean((out - w) ** 2)) / np.sqrt(np.mean(w ** 2)))
        assert change > 1e-3, (name, change)
        print(f"{name}: relative change {change:.3f}")
    print("ok")

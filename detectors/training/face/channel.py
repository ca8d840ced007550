"""The live call's channel for face crops, applied alike to both classes before training.

- `photometric`: brightness, contrast, saturation and white-balance jitter, horizontal flip;
- `degrade_chunk`: one face resolution (30-100 % of 256 px) and one codec for a whole chunk of crops, as within one
  call: VP8 at a fixed quantizer 16-56 through ffmpeg/libvpx (45 %, GOP 1, 4 or 30), JPEG q30-90 (40 %) or none;
  per crop light blur and noise; then back to 256 px;
- `vp8_roundtrip`: the VP8 encode/decode round trip itself (libvpx realtime, as a browser sends).
"""
from __future__ import annotations

import os
import subprocess
import tempfile

import cv2
import numpy as np

CROP_SIZE = 256


def photometric(rng: np.random.Generator, img: np.ndarray) -> np.ndarray:
    x = img.astype(np.float32)
    if rng.random() < 0.8:
        x = (x - 128.0) * rng.uniform(0.8, 1.2) + 128.0 + rng.uniform(-20, 20)
        gray = x.mean(axis=2, keepdims=True)
        x = gray + (x - gray) * rng.uniform(0.7, 1.3)
        x *= rng.uniform(0.92, 1.08, size=3).astype(np.float32)  # white balance
    x = np.clip(x, 0, 255).astype(np.uint8)
    if rng.random() < 0.5:
        x = np.ascontiguousarray(x[:, ::-1])
    return x


def vp8_roundtrip(frames: np.ndarray, q: int, gop: int) -> np.ndarray:
    n, h, w, _ = frames.shape
    with tempfile.TemporaryDirectory() as d:
        f = os.path.join(d, "c.webm")
        enc = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24",
               "-s", f"{w}x{h}", "-r", "30", "-i", "pipe:", "-c:v", "libvpx", "-deadline", "realtime",
               "-cpu-used", "8", "-qmin", str(q), "-qmax", str(q), "-b:v", "20M", "-g", str(gop),
               "-threads", "1", "-y", f]
        subprocess.run(enc, input=frames.tobytes(), check=True)
        dec = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-threads", "1", "-i", f,
               "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:"]
        raw = subprocess.run(dec, check=True, capture_output=True).stdout
    out = np.frombuffer(raw, np.uint8)
    if out.size != frames.size:
        raise RuntimeError("vp8 roundtrip changed the frame count")
    return out.reshape(frames.shape)


def degrade_chunk(rng: np.random.Generator, imgs: list[np.ndarray]) -> list[np.ndarray]:
    """Same resolution and codec for the whole chunk (as within one call); per-image noise and blur."""
    size = CROP_SIZE
    # face side in the live stream: mostly 80..256 px
    s = float(np.exp(rng.uniform(np.log(0.3), np.log(1.0)))) if rng.random() < 0.85 else 1.0
    lw = max(32, int(round(size * s / 2)) * 2)
    small = []
    for im in imgs:
        x = im if lw == size else cv2.resize(im, (lw, lw), interpolation=cv2.INTER_AREA)
        if rng.random() < 0.15:
            x = cv2.GaussianBlur(x, (0, 0), rng.uniform(0.4, 1.2))
        if rng.random() < 0.3:
            x = np.clip(x.astype(np.float32) + rng.normal(0, rng.uniform(1.5, 6.0), x.shape), 0, 255).astype(np.uint8)
        small.append(x)
    u = rng.random()
    if u < 0.45:
        q = int(rng.integers(16, 57))
        arr = vp8_roundtrip(np.stack(small), q, int(rng.choice([1, 4, 30])))
        small = [arr[i] for i in range(arr.shape[0])]
    elif u < 0.85:
        out = []
        for x in small:
            q = int(rng.integers(30, 91))
            ok, buf = cv2.imencode(".jpg", cv2.cvtColor(x, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, q])
            assert ok
            out.append(cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB))
        small = out
    res = []
    for x in small:
        res.append(x if lw == size else cv2.resize(x, (size, size), interpolation=cv2.INTER_LINEAR))
    return res

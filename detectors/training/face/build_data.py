"""Builds the face-forgery training and dev sets.

Real: face crops from talking-face videos (argument) and from the sample photos
of @vladmandic/face-api. Fake: Self-Blended Images of the same crops. Both
classes go through the same degradation (downscale, noise, blur, JPEG or VP8
through ffmpeg/libvpx, upscale) so the model cannot separate them by quality.
The split is video-disjoint: per source (file-name prefix before "__") the
last video in sorted order is held out for dev. Photos go to train.

Usage: python build_data.py --videos DIR --photos DIR --out DIR [--frames-per-video N]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from facecrop import CROP_SIZE, crop_face, detect_faces  # noqa: E402
from sbi import self_blend  # noqa: E402


@dataclass
class Base:
    img: np.ndarray  # RGB uint8 256x256x3
    group: str


def video_frames(path: Path, n: int) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    want = set(np.linspace(0, max(0, total - 1), num=min(n, max(1, total))).round().astype(int).tolist())
    frames = []
    i = 0
    while True:
        ok, f = cap.read()
        if not ok:
            break
        if i in want:
            frames.append(f)
        i += 1
    cap.release()
    return frames


def jitter_crop(rng: np.random.Generator, bgr: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    # small jitter around the convention so the model tolerates other face detectors
    enlarge = 1.3 * float(np.exp(rng.uniform(np.log(0.88), np.log(1.12))))
    shift = (float(rng.uniform(-0.04, 0.04)), float(rng.uniform(-0.04, 0.04)))
    return crop_face(bgr, box, enlarge=enlarge, shift=shift)


def bases_from_video(rng: np.random.Generator, path: Path, n: int) -> list[Base]:
    out = []
    for f in video_frames(path, n):
        boxes = detect_faces(f, min_size=max(40, min(f.shape[:2]) // 8))
        if not boxes:
            continue
        out.append(Base(jitter_crop(rng, f, boxes[0]), path.stem))
    return out


def bases_from_photos(rng: np.random.Generator, folder: Path, per_face: int) -> list[Base]:
    out = []
    for p in sorted(folder.glob("sample*.jpg")):
        img = cv2.imread(str(p))
        if img is None:
            continue
        for box in detect_faces(img, min_size=max(40, min(img.shape[:2]) // 12), min_neighbors=10):
            for _ in range(per_face):
                out.append(Base(jitter_crop(rng, img, box), "photo:" + p.stem))
    return out


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


def make_split(rng: np.random.Generator, bases: list[Base], variants: int, chunk: int) -> dict[str, np.ndarray]:
    items: list[tuple[np.ndarray, int, str]] = []
    for b in bases:
        for _ in range(variants):
            items.append((photometric(rng, b.img), 0, b.group))
            items.append((photometric(rng, self_blend(rng, b.img)), 1, b.group))
    order = rng.permutation(len(items))
    xs = np.empty((len(items), CROP_SIZE, CROP_SIZE, 3), np.uint8)
    ys = np.empty(len(items), np.uint8)
    gs: list[str] = []
    for start in range(0, len(order), chunk):
        idx = order[start:start + chunk]
        done = degrade_chunk(rng, [items[i][0] for i in idx])
        for j, i in enumerate(idx):
            k = start + j
            xs[k] = done[j]
            ys[k] = items[i][1]
            gs.append(items[i][2])
    return {"x": xs, "y": ys, "group": np.array(gs)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--videos", required=True, type=Path)
    ap.add_argument("--photos", required=True, type=Path)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--frames-per-video", type=int, default=110)
    ap.add_argument("--photo-crops-per-face", type=int, default=8)
    ap.add_argument("--variants", type=int, default=3)
    ap.add_argument("--dev-variants", type=int, default=2)
    ap.add_argument("--chunk", type=int, default=24)
    ap.add_argument("--seed", type=int, default=1234)
    args = ap.parse_args()
    t0 = time.time()
    rng = np.random.default_rng(args.seed)
    cv2.setNumThreads(1)

    videos = sorted(args.videos.glob("*.mp4"))
    if not videos:
        raise SystemExit(f"no .mp4 files in {args.videos}")
    by_source: dict[str, list[Path]] = {}
    for v in videos:
        by_source.setdefault(v.name.split("__")[0], []).append(v)
    dev_videos = {vs[-1].name for vs in by_source.values() if len(vs) > 1}

    train_b: list[Base] = []
    dev_b: list[Base] = []
    per_video: dict[str, int] = {}
    for v in videos:
        bs = bases_from_video(rng, v, args.frames_per_video)
        per_video[v.name] = len(bs)
        (dev_b if v.name in dev_videos else train_b).extend(bs)
    photos = bases_from_photos(rng, args.photos, args.photo_crops_per_face)
    train_b.extend(photos)
    t_crops = time.time() - t0

    args.out.mkdir(parents=True, exist_ok=True)
    train = make_split(rng, train_b, args.variants, args.chunk)
    dev = make_split(rng, dev_b, args.dev_variants, args.chunk)
    np.savez(args.out / "train.npz", **train)
    np.savez(args.out / "dev.npz", **dev)
    info = {
        "trainVideos": sorted(v.name for v in videos if v.name not in dev_videos),
        "devVideos": sorted(dev_videos),
        "cropsPerVideo": per_video,
        "photoFaces": len(photos) // max(1, args.photo_crops_per_face),
        "trainImages": int(train["y"].size),
        "trainFake": int(train["y"].sum()),
        "devImages": int(dev["y"].size),
        "devFake": int(dev["y"].sum()),
        "args": {k: str(v) for k, v in vars(args).items()},
        "secondsCrops": round(t_crops, 1),
        "seconds": round(time.time() - t0, 1),
    }
    (args.out / "data.json").write_text(json.dumps(info, indent=2))
    print(json.dumps(info))


if __name__ == "__main__":
    main()

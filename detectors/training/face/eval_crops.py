"""Frame sampling + face crops for detectors/eval/evalFace.ts (same detector and crop as training).

Reads video paths (one per line) on stdin. For each video it samples frames with ffmpeg at --fps
(at most --max-frames), detects the largest face with the Haar cascade and writes the 256x256 RGB
crop (uint8, HWC) to --out-raw. One JSON line per video on stdout:
{"index": i, "path": ..., "sampled": n, "crops": k, "offset": first crop index in the raw file}.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from facecrop import crop_face, detect_faces  # noqa: E402


def probe(path: str) -> tuple[int, int]:
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height",
                          "-of", "csv=p=0", path], check=True, capture_output=True, text=True).stdout
    w, h = out.strip().splitlines()[0].split(",")[:2]
    return int(w), int(h)


def sample(path: str, fps: float, max_frames: int) -> list[np.ndarray]:
    w, h = probe(path)
    raw = subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-threads", "1", "-i", path,
                          "-vf", f"fps={fps}", "-frames:v", str(max_frames), "-f", "rawvideo", "-pix_fmt", "bgr24",
                          "pipe:"], check=True, capture_output=True).stdout
    n = len(raw) // (w * h * 3)
    arr = np.frombuffer(raw[:n * w * h * 3], np.uint8).reshape(n, h, w, 3)
    return [arr[i] for i in range(n)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out-raw", required=True, type=Path)
    ap.add_argument("--fps", type=float, default=2.0)
    ap.add_argument("--max-frames", type=int, default=16)
    args = ap.parse_args()
    cv2.setNumThreads(1)
    offset = 0
    with args.out_raw.open("wb") as f:
        for i, line in enumerate(sys.stdin):
            path = line.strip()
            if not path:
                continue
            rec = {"index": i, "path": path, "sampled": 0, "crops": 0, "offset": offset}
            try:
                frames = sample(path, args.fps, args.max_frames)
                rec["sampled"] = len(frames)
                for fr in frames:
                    boxes = detect_faces(fr, min_size=max(40, min(fr.shape[:2]) // 8))
                    if not boxes:
                        continue
                    f.write(crop_face(fr, boxes[0]).tobytes())
                    rec["crops"] += 1
                    offset += 1
            except (subprocess.CalledProcessError, ValueError, IndexError) as e:
                rec["error"] = type(e).__name__
            print(json.dumps(rec), flush=True)


if __name__ == "__main__":
    main()

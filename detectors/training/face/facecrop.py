"""Face detection and the crop convention shared by training and evaluation.

Crop convention (must match the runtime): a square box centred on the face
detector box, side = 1.3 * max(w, h), resized to 256x256 RGB. Pixels outside
the frame are filled by edge replication.
"""

from __future__ import annotations

import cv2
import numpy as np

CROP_SIZE = 256
CROP_ENLARGE = 1.3

_cascade: cv2.CascadeClassifier | None = None


def cascade() -> cv2.CascadeClassifier:
    global _cascade
    if _cascade is None:
        path = cv2.data.haarcascades + "haarcascade_frontalface_default.xml"
        c = cv2.CascadeClassifier(path)
        if c.empty():
            raise RuntimeError(f"cannot load Haar cascade {path}")
        _cascade = c
    return _cascade


def detect_faces(bgr: np.ndarray, min_size: int = 40, min_neighbors: int = 6) -> list[tuple[int, int, int, int]]:
    """Returns face boxes (x, y, w, h), largest first."""
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    gray = cv2.equalizeHist(gray)
    boxes = cascade().detectMultiScale(gray, scaleFactor=1.1, minNeighbors=min_neighbors, minSize=(min_size, min_size))
    out = [tuple(int(v) for v in b) for b in boxes]
    out.sort(key=lambda b: -b[2] * b[3])
    return out  # type: ignore[return-value]


def crop_face(bgr: np.ndarray, box: tuple[int, int, int, int], enlarge: float = CROP_ENLARGE,
              size: int = CROP_SIZE, shift: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """Square crop centred on `box` (optionally shifted by a fraction of the side), returned as RGB uint8."""
    x, y, w, h = box
    side = enlarge * max(w, h)
    cx = x + w / 2.0 + shift[0] * side
    cy = y + h / 2.0 + shift[1] * side
    x0 = int(round(cx - side / 2.0))
    y0 = int(round(cy - side / 2.0))
    n = max(1, int(round(side)))
    fh, fw = bgr.shape[:2]
    pad_l, pad_t = max(0, -x0), max(0, -y0)
    pad_r, pad_b = max(0, x0 + n - fw), max(0, y0 + n - fh)
    sub = bgr[max(0, y0):min(fh, y0 + n), max(0, x0):min(fw, x0 + n)]
    if pad_l or pad_t or pad_r or pad_b:
        sub = cv2.copyMakeBorder(sub, pad_t, pad_b, pad_l, pad_r, cv2.BORDER_REPLICATE)
    interp = cv2.INTER_AREA if n > size else cv2.INTER_LINEAR
    crop = cv2.resize(sub, (size, size), interpolation=interp)
    return cv2.cvtColor(crop, cv2.COLOR_BGR2RGB)

"""Blended fakes made from real 256x256 face crops: the two ways a forgery's blending boundary is taught without a
generator.

- `self_blend`: Self-Blended Images (Shiohara & Yamasaki, CVPR 2022). A crop is blended with a colour- and
  frequency-transformed, slightly misaligned copy of itself through a soft face mask. Without landmarks the mask
  is an ellipse around the face (the crop convention puts the detector box in the central 1/1.3 of the crop) with
  a random low-frequency boundary deformation, random erosion/dilation and blur.
- `cross_blend`: Face X-ray's blended images (Li et al., CVPR 2020). Another person's face, warped onto this
  crop's face mesh and colour-matched inside the mask, is blended in through the same kind of mask: what a live
  face swap does (a generated face of another identity pasted into the caller's frame), with a second identity's
  texture inside the boundary rather than the same face's.
"""

from __future__ import annotations

import cv2
import numpy as np


def face_mask(rng: np.random.Generator, size: int = 256) -> np.ndarray:
    """Soft mask in [0,1], float32 HxW."""
    c = size / 2.0
    face = size / 1.3  # detector box side inside the crop
    cx = c + rng.uniform(-0.04, 0.04) * face
    cy = c + rng.uniform(0.0, 0.10) * face  # Haar boxes include forehead: centre lower
    ax = rng.uniform(0.30, 0.42) * face
    ay = rng.uniform(0.40, 0.55) * face
    n = 64
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    r = np.ones(n)
    for k in range(2, 6):  # low-frequency boundary deformation
        r += rng.uniform(-0.06, 0.06) * np.cos(k * t + rng.uniform(0, 2 * np.pi))
    pts = np.stack([cx + ax * r * np.cos(t), cy + ay * r * np.sin(t)], axis=1)
    m = np.zeros((size, size), np.uint8)
    cv2.fillPoly(m, [np.round(pts).astype(np.int32)], 255)
    k = int(rng.integers(1, 12))
    kern = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    if rng.random() < 0.5:
        m = cv2.erode(m, kern)
    else:
        m = cv2.dilate(m, kern)
    mf = m.astype(np.float32) / 255.0
    # two blurs as in SBI: a first one shapes the edge, a second one softens it
    k1 = int(rng.integers(2, 12)) * 2 + 1
    mf = cv2.GaussianBlur(mf, (k1, k1), 0)
    k2 = int(rng.integers(2, 16)) * 2 + 1
    mf2 = cv2.GaussianBlur(mf, (k2, k2), 0)
    mf = np.where(mf < 1.0, mf2, mf)  # keep the inside fully opaque
    return np.clip(mf, 0.0, 1.0)


def _colour_transform(rng: np.random.Generator, img: np.ndarray) -> np.ndarray:
    x = img.astype(np.float32)
    # RGB shift
    x += rng.uniform(-20, 20, size=3).astype(np.float32)
    # HSV shift
    hsv = cv2.cvtColor(np.clip(x, 0, 255).astype(np.uint8), cv2.COLOR_RGB2HSV).astype(np.float32)
    hsv[..., 0] = (hsv[..., 0] + rng.uniform(-0.3, 0.3) * 10) % 180
    hsv[..., 1] *= rng.uniform(0.75, 1.3)
    hsv[..., 2] *= rng.uniform(0.8, 1.2)
    x = cv2.cvtColor(np.clip(hsv, 0, 255).astype(np.uint8), cv2.COLOR_HSV2RGB).astype(np.float32)
    # brightness / contrast
    a = rng.uniform(0.85, 1.15)
    b = rng.uniform(-15, 15)
    x = (x - 128.0) * a + 128.0 + b
    return np.clip(x, 0, 255).astype(np.uint8)


def _frequency_transform(rng: np.random.Generator, img: np.ndarray) -> np.ndarray:
    h, w = img.shape[:2]
    u = rng.random()
    if u < 0.35:  # down-up sampling
        s = rng.uniform(0.35, 0.8)
        small = cv2.resize(img, (max(8, int(w * s)), max(8, int(h * s))), interpolation=cv2.INTER_AREA)
        return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    if u < 0.6:  # sharpen
        blur = cv2.GaussianBlur(img, (0, 0), rng.uniform(1.0, 2.5))
        a = rng.uniform(0.3, 1.2)
        return np.clip(img.astype(np.float32) * (1 + a) - blur.astype(np.float32) * a, 0, 255).astype(np.uint8)
    if u < 0.85:  # blur
        return cv2.GaussianBlur(img, (0, 0), rng.uniform(0.6, 1.8))
    return img


def _misalign(rng: np.random.Generator, img: np.ndarray) -> np.ndarray:
    h, w = img.shape[:2]
    sx = rng.uniform(0.95, 1.05)
    sy = rng.uniform(0.95, 1.05)
    tx = rng.uniform(-0.03, 0.03) * w
    ty = rng.uniform(-0.03, 0.03) * h
    m = np.array([[sx, 0, (1 - sx) * w / 2 + tx], [0, sy, (1 - sy) * h / 2 + ty]], np.float32)
    return cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def landmark_mask(rng: np.random.Generator, lm: np.ndarray, size: int = 256) -> np.ndarray:
    """Soft mask in [0,1] from face-mesh landmarks in crop pixels (468 x 2): the convex hull of the mesh (as SBI
    builds it from landmarks), randomly shrunk or grown towards its centre, eroded or dilated and blurred twice."""
    pts = lm[np.all(np.isfinite(lm), axis=1)]
    c = pts.mean(axis=0)
    pts = c + (pts - c) * rng.uniform(0.85, 1.05)
    hull = cv2.convexHull(np.round(pts).astype(np.int32))
    m = np.zeros((size, size), np.uint8)
    cv2.fillConvexPoly(m, hull, 255)
    k = int(rng.integers(1, 12))
    kern = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    m = cv2.erode(m, kern) if rng.random() < 0.5 else cv2.dilate(m, kern)
    mf = m.astype(np.float32) / 255.0
    k1 = int(rng.integers(2, 12)) * 2 + 1
    mf = cv2.GaussianBlur(mf, (k1, k1), 0)
    k2 = int(rng.integers(2, 16)) * 2 + 1
    mf2 = cv2.GaussianBlur(mf, (k2, k2), 0)
    mf = np.where(mf < 1.0, mf2, mf)
    return np.clip(mf, 0.0, 1.0)


def self_blend(rng: np.random.Generator, img: np.ndarray, lm: np.ndarray | None = None) -> np.ndarray:
    """Returns a self-blended fake of the RGB uint8 crop `img`; with mesh landmarks `lm` (468 x 2, crop pixels,
    at least 100 finite points) the mask follows the face outline, else an ellipse."""
    src = img
    if rng.random() < 0.5:
        src = _colour_transform(rng, src)
        src = _frequency_transform(rng, src)
    else:
        src = _frequency_transform(rng, src)
        src = _colour_transform(rng, src)
    src = _misalign(rng, src)
    usable = lm is not None and int(np.all(np.isfinite(lm), axis=1).sum()) >= 100
    mask = landmark_mask(rng, lm, img.shape[0]) if usable else face_mask(rng, img.shape[0])
    ratio = float(rng.choice([0.25, 0.5, 0.75, 1.0, 1.0, 1.0]))
    m = (mask * ratio)[..., None]
    out = src.astype(np.float32) * m + img.astype(np.float32) * (1.0 - m)
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def _colour_match(src: np.ndarray, ref: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """`src` with its per-channel mean and spread in Lab matched to `ref`'s over the pixels `inside` (the mask)."""
    if int(inside.sum()) < 64:
        return src
    a = cv2.cvtColor(src, cv2.COLOR_RGB2LAB).astype(np.float32)
    b = cv2.cvtColor(ref, cv2.COLOR_RGB2LAB).astype(np.float32)
    ma, sa = a[inside].mean(axis=0), a[inside].std(axis=0) + 1e-3
    mb, sb = b[inside].mean(axis=0), b[inside].std(axis=0) + 1e-3
    out = (a - ma) * (sb / sa) + mb
    return cv2.cvtColor(np.clip(out, 0, 255).astype(np.uint8), cv2.COLOR_LAB2RGB)


def cross_blend(rng: np.random.Generator, img: np.ndarray, lm: np.ndarray, donor: np.ndarray,
                donor_lm: np.ndarray) -> np.ndarray | None:
    """A blended fake of the RGB uint8 crop `img` with another person's crop `donor` (both with mesh landmarks,
    468 x 2 crop pixels): the donor warped onto `img`'s mesh by a similarity transform (least-median fit over the
    points both meshes have), colour-matched inside the mask, optionally resampled (a generator's lower output
    resolution), blended through `img`'s face-outline mask. None when the meshes share under 100 points or the fit
    fails or lands far from the aligned crops' common frame (scale outside 0.75-1.33, rotation over 20 degrees)."""
    ok = np.all(np.isfinite(lm), axis=1) & np.all(np.isfinite(donor_lm), axis=1)
    if int(ok.sum()) < 100:
        return None
    m, _ = cv2.estimateAffinePartial2D(donor_lm[ok].astype(np.float32), lm[ok].astype(np.float32), method=cv2.LMEDS)
    if m is None or not np.all(np.isfinite(m)):
        return None
    scale = float(np.hypot(m[0, 0], m[1, 0]))
    if not 0.75 <= scale <= 1.33 or abs(np.degrees(np.arctan2(m[1, 0], m[0, 0]))) > 20:
        return None  # both crops are aligned (eyes level, one size): a fit far from that is a mesh failure
    h, w = img.shape[:2]
    src = cv2.warpAffine(donor, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    mask = landmark_mask(rng, lm, h)
    src = _colour_match(src, img, mask > 0.5)
    if rng.random() < 0.5:
        src = _frequency_transform(rng, src)
    ratio = float(rng.choice([0.75, 1.0, 1.0, 1.0]))
    mk = (mask * ratio)[..., None]
    out = src.astype(np.float32) * mk + img.astype(np.float32) * (1.0 - mk)
    return np.clip(np.round(out), 0, 255).astype(np.uint8)

"""The face-forgery training set, built from crops the service itself cut (serviceCrops.ts).

- `load_index(dir)` reads the crop cache: one entry per clip with its label, generator, identity, pair group and
  the aligned 256x256 crops (and mesh landmarks in crop pixels) of its sampled frames.
- `method_of(generator)` names the generating method a fake belongs to (the unit held out together).
- `non_photographic(identity)` flags paintings, statues and stylised/CG faces: a video call never shows them, and a
  model would learn "not a photograph means fake" from them (faces-fake/README.md, confound 4). They are left out.
- `assign_folds(clips, k)` deals methods into k folds, and every real clip with them: reals paired with a method's
  fakes (same `pair_group`, or the same person) follow those fakes, the other reals are dealt by identity, so no
  identity and no pair group is on both sides of a split.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

CROP = 256
MESH = 468

_NON_PHOTO = re.compile(r"painting|painted|statue|sculpture|stylised|art_girl|terracotta|zp1", re.I)


@dataclass
class Clip:
    n: int
    path: str
    label: int  # 1 = fake
    generator: str
    method: str
    identity: str
    pair_group: str
    crops: np.ndarray  # frames x 256 x 256 x 3 uint8
    landmarks: np.ndarray  # frames x 468 x 2 float32 (NaN where the mesh did not pass)
    frames: list[dict] = field(default_factory=list)
    fold: int = -1


def method_of(generator: str) -> str:
    """The method family of a generator string from the manifest: its name before any parenthesis, with the
    FaceForensics++ methods kept apart (they are different manipulations)."""
    g = generator.strip()
    if g in ("", "-"):
        return "real"
    m = re.match(r"FaceForensics\+\+ (\w+)", g)
    if m:
        return f"FF++ {m.group(1)}"
    return re.split(r"\s*\(", g)[0].strip()


# What each fake method does to a face, from ../shared/train/faces-fake/README.md's generator table: `swap` (another
# person's face on the real video: the live-call threat), `edit` (re-enactment or lip-sync of a real video) and
# `generated` (audio- or image-driven talking heads and generated video). Keys are method_of() names.
METHOD_KINDS: dict[str, str] = {
    "DFDC": "swap", "FaceFusion": "swap", "FF++ Deepfakes": "swap", "FF++ FaceSwap": "swap", "roop": "swap",
    "FF++ Face2Face": "edit", "FF++ NeuralTextures": "edit", "LivePortrait": "edit", "VideoReTalking": "edit",
    "Wav2Lip + GFPGAN": "edit",
    "AniTalker": "generated", "DreamTalk": "generated", "EMO": "generated", "GeneFace / RAD-NeRF": "generated",
    "MakeItTalk": "generated", "MuseV": "generated", "SadTalker": "generated", "SyncTalk": "generated",
    "V-Express": "generated", "VASA-1": "generated",
}


def kind_of(method: str) -> str:
    """`swap`, `edit` or `generated` (METHOD_KINDS); a method the table does not list is `other`."""
    return METHOD_KINDS.get(method, "other")


def non_photographic(identity: str) -> bool:
    return bool(_NON_PHOTO.search(identity))


def load_index(folder: str | Path, keep_non_photographic: bool = False) -> list[Clip]:
    folder = Path(folder)
    index = json.loads((folder / "index.json").read_text())
    if index.get("cropSize") != CROP:
        raise ValueError(f"crop cache {folder} holds {index.get('cropSize')} px crops; expected {CROP}")
    clips: list[Clip] = []
    for c in index["clips"]:
        if not keep_non_photographic and non_photographic(c.get("identity", "")):
            continue
        crops = np.fromfile(folder / f"{c['n']}.crops.u8", dtype=np.uint8).reshape(-1, CROP, CROP, 3)
        lm = np.fromfile(folder / f"{c['n']}.lm.f32", dtype=np.float32).reshape(-1, MESH, 2)
        if len(crops) != len(c["frames"]) or len(lm) != len(crops):
            raise ValueError(f"crop cache entry {c['n']} is inconsistent")
        label = 1 if c["label"] == "fake" else 0
        clips.append(Clip(n=c["n"], path=c["path"], label=label, generator=c.get("generator", ""),
                          method=method_of(c.get("generator", "")) if label else "real",
                          identity=c.get("identity", "") or c.get("pairGroup", "") or c["path"],
                          pair_group=c.get("pairGroup", "") or c["path"], crops=crops, landmarks=lm,
                          frames=c["frames"]))
    return clips


def person_of(identity: str) -> str:
    """'FF++ 519 (target) / 515 (source)' and 'FF++ 519' are one person; so are 'roop_example_target' and
    'roop_example_target (swapped face)'."""
    s = re.split(r"\s*\(", identity)[0].strip()
    return s


def assign_folds(clips: list[Clip], k: int, seed: int = 0) -> None:
    """Sets `clip.fold` in place (see the module docstring). Methods are dealt largest first onto the fold with the
    fewest fake clips; then the remaining reals by person onto the fold with the fewest real clips."""
    # union-find over clips: same pair group or same person -> same side
    parent = list(range(len(clips)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(a: int, b: int) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[rb] = ra

    by_key: dict[str, int] = {}
    for i, c in enumerate(clips):
        for key in (f"pg:{c.pair_group}", f"id:{person_of(c.identity)}") + ((f"m:{c.method}",) if c.label else ()):
            if key in by_key:
                union(by_key[key], i)
            else:
                by_key[key] = i
    groups: dict[int, list[int]] = {}
    for i in range(len(clips)):
        groups.setdefault(find(i), []).append(i)
    rng = np.random.default_rng(seed)
    order = sorted(groups.values(), key=lambda g: (-sum(clips[i].label for i in g), -len(g), rng.random()))
    fakes = [0] * k
    reals = [0] * k
    for g in order:
        nf = sum(clips[i].label for i in g)
        nr = len(g) - nf
        f = min(range(k), key=lambda j: (fakes[j], reals[j])) if nf else min(range(k), key=lambda j: (reals[j], fakes[j]))
        fakes[f] += nf
        reals[f] += nr
        for i in g:
            clips[i].fold = f


def fold_summary(clips: list[Clip], k: int) -> list[dict]:
    out = []
    for f in range(k):
        cs = [c for c in clips if c.fold == f]
        out.append({"fold": f, "real": sum(1 for c in cs if not c.label), "fake": sum(c.label for c in cs),
                    "methods": sorted({c.method for c in cs if c.label})})
    return out

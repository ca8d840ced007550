"""What the face studies read from a `forgery.py` prep cache: the clips, their labels and methods, which clip each
held-out frame belongs to, and one CV run's held-out frame logits at one step (every fold's held-out frames, each
scored by the fold model that did not train on it)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass
class CvCache:
    data: Path
    clips: list[dict]
    folds: int
    clip_of: np.ndarray  # clip index of each held-out frame
    y: np.ndarray  # clip labels, 1 = fake
    methods: list[str]  # the fake methods, sorted

    @classmethod
    def open(cls, data: str | Path) -> "CvCache":
        d = Path(data)
        info = json.loads((d / "clips.json").read_text())
        clips = info["clips"]
        return cls(d, clips, int(info["folds"]), dict(np.load(d / "eval_meta.npz"))["clip"],
                   np.array([c["label"] for c in clips]), sorted({c["method"] for c in clips if c["label"]}))

    def frames(self, run: str, step: int, channel: str) -> np.ndarray:
        """Held-out frame logits of `run` (DATA/cv/<run>/fold*.json) at `step` through `channel` (clean / call)."""
        fr = np.full(len(self.clip_of), np.nan)
        for f in range(self.folds):
            d = json.loads((self.data / "cv" / run / f"fold{f}.json").read_text())
            fr[np.array(d["index"])] = d["scores"][str(step)][channel]
        return fr

    def steps(self, run: str) -> list[int]:
        return sorted(int(s) for s in json.loads((self.data / "cv" / run / "fold0.json").read_text())["scores"])

"""What the face studies read from a `forgery.py` prep cache: the clips, their labels and methods, which clip each
held-out frame belongs to, and one CV run's held-out frame logits at one step (every fold's held-out frames, each
scored by the fold model that did not train on it)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from common.metrics import auroc  # the importing script has put detectors/training on sys.path
from crops_data import kind_of


def leave_method_out(clips: list[dict], clip_of: np.ndarray, frames: np.ndarray) -> dict:
    """The face recipe's held-out metric from held-out frame logits (`frames`, one per entry of `clip_of`): clip score
    = mean frame logit; per fake method, the AUROC of its clips against every real clip; their mean, and the mean per
    kind of fake (`crops_data.METHOD_KINDS`). Returns {clip_score, per_method, per_kind, mean_lmo_auroc}."""
    y = np.array([c["label"] for c in clips])
    methods = sorted({c["method"] for c in clips if c["label"]})
    clip_score = np.array([np.nanmean(frames[clip_of == i]) for i in range(len(clips))])
    per_method = {}
    for m in methods:
        sel = np.array([(c["method"] == m) or (not c["label"]) for c in clips])
        per_method[m] = auroc(y[sel], clip_score[sel])
    per_kind = {k: float(np.nanmean([v for m, v in per_method.items() if kind_of(m) == k]))
                for k in sorted({kind_of(m) for m in methods})}
    return {"clip_score": clip_score, "per_method": per_method, "per_kind": per_kind,
            "mean_lmo_auroc": float(np.nanmean(list(per_method.values())))}


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

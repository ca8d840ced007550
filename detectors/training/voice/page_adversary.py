"""A page adversary on bona fide speech: gradient reversal (Ganin & Lempitsky 2015) that pushes SpecNet's embedding
of REAL speech to carry no trace of the demo page it came from.

Why bona fide only: pages pair a class with a corpus, microphone and room, and a detector that learns "this page's
real speech" has learned the page, not the generator. Asking every page's real speech to look alike is the aggregation
half of domain-generalised anti-spoofing (Xie et al. 2023, ASDG); an adversary over all windows would also erase the
class wherever a page holds one class only, so spoof windows never reach it.

The head (a small MLP on the unit-norm embedding, the only part the one-class score reads) learns to name the page of
each bona fide window; the reversed gradient, scaled by lambda, makes the embedding worse at that. Lambda ramps up as
in DANN: lambda_max * (2 / (1 + exp(-10 p)) - 1), p the share of training done. The head is built from a generator of
its own so the model's initial weights are the ones the same seed draws without it; it is dropped after training
(never exported).
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class _Reverse(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, lam: float) -> torch.Tensor:  # noqa: ANN001
        ctx.lam = lam
        return x.view_as(x)

    @staticmethod
    def backward(ctx, g: torch.Tensor):  # noqa: ANN001, ANN205
        return -ctx.lam * g, None


def reverse_gradient(x: torch.Tensor, lam: float) -> torch.Tensor:
    """Identity forward; the gradient flowing back is multiplied by -lam."""
    return _Reverse.apply(x, lam)


def dann_lambda(lam_max: float, done: float) -> float:
    """DANN's ramp: 0 at the start, about lam_max from half-way on."""
    return lam_max * (2.0 / (1.0 + math.exp(-10.0 * min(1.0, max(0.0, done)))) - 1.0)


class PageAdversary(nn.Module):
    def __init__(self, embed: int, pages: list[str], seed: int, hidden: int = 64):
        super().__init__()
        if len(pages) < 2:
            raise ValueError("a page adversary needs bona fide speech from at least two pages")
        self.pages = list(pages)
        self.index = {p: k for k, p in enumerate(self.pages)}
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.net = nn.Sequential(nn.Linear(embed, hidden), nn.ReLU(), nn.Linear(hidden, len(self.pages)))

    def loss(self, emb: torch.Tensor, page_idx: torch.Tensor, lam: float) -> tuple[torch.Tensor, float]:
        """Cross-entropy of the page guess over the rows with page_idx >= 0 (bona fide windows), through the reversed
        gradient; also the head's accuracy on them (near 1 / pages when the embedding hides the page)."""
        keep = page_idx >= 0
        if not bool(keep.any()):
            return emb.sum() * 0.0, float("nan")
        z = reverse_gradient(F.normalize(emb[keep], dim=1), lam)
        logits = self.net(z)
        target = page_idx[keep]
        acc = float((logits.argmax(dim=1) == target).float().mean())
        return F.cross_entropy(logits, target), acc

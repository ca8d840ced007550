"""Sharpness-aware minimisation (Foret et al. 2021, SAM) for the voice recipe's training step.

Why: a flat minimum is one where nearby weights score the training pages as well, and flatness is what the
domain-generalisation literature links to better scores on unseen domains; for anti-spoofing, Shim et al. (2023)
report that SAM-trained models generalise better to spoofing datasets they never saw. Here the unseen domains are
held-out demo pages and their generators.

One step: the gradient g at the weights w (the caller's first backward), then the gradient again at
w + rho * g / ||g|| (the steepest ascent within radius rho), which the optimiser then applies at w. The second pass
sees the same batch, SpecAugment masks and dropout: the torch generator is rewound to the state it had before the
first pass, so it also ends in the same state, and a run draws the same batches as one without SAM. BatchNorm
running statistics are left to the first pass (momentum 0 during the second). Costs a second forward and backward.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn


def sam_second_pass(opt: torch.optim.Optimizer, model: nn.Module, rho: float, rng_state: torch.Tensor,
                    closure: Callable[[], torch.Tensor]) -> None:
    """Replaces the gradients that the first backward left on opt's parameters with those at the perturbed weights.
    rng_state: torch.get_rng_state() taken before the first forward; closure: the batch's loss (a new forward)."""
    params = [p for g in opt.param_groups for p in g["params"] if p.grad is not None]
    if rho <= 0 or not params:
        return
    norm = torch.norm(torch.stack([p.grad.detach().norm(2) for p in params]), 2)
    scale = rho / (float(norm) + 1e-12)
    saved = [p.detach().clone() for p in params]  # restored by copy: w + e - e is not w in floating point
    with torch.no_grad():
        for p in params:
            p.add_(p.grad * scale)
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    momenta = [m.momentum for m in bns]
    for m in bns:
        m.momentum = 0.0
    try:
        torch.set_rng_state(rng_state)
        opt.zero_grad()
        closure().backward()
    finally:
        for m, mom in zip(bns, momenta):
            m.momentum = mom
        with torch.no_grad():
            for p, w in zip(params, saved):
                p.copy_(w)


def check() -> dict:
    """What one SAM step promises, on a small SpecNet and a random batch: the weights and BatchNorm statistics end
    where the first pass left them, the torch generator ends where a plain step leaves it, and the gradient differs
    from the plain one (it was taken elsewhere)."""
    from specnet import SpecNet, SpecNetConfig, oc_softmax_loss  # beside this file: on sys.path when run as a script

    torch.manual_seed(3)
    model = SpecNet(SpecNetConfig())
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x = torch.randn(4, 32000) * 0.1
    y = torch.tensor([0.0, 0.0, 1.0, 1.0])

    def loss() -> torch.Tensor:
        return oc_softmax_loss(model.score(model.embed(x, spec_mask=True)), y)

    state = torch.get_rng_state()
    opt.zero_grad()
    loss().backward()
    after_first = torch.get_rng_state()
    plain = [p.grad.clone() for p in model.parameters()]
    weights = [p.detach().clone() for p in model.parameters()]

    def running() -> list[torch.Tensor]:
        return [b.detach().clone() for n, b in model.named_buffers() if "running" in n]

    bn = running()
    sam_second_pass(opt, model, 0.05, state, loss)
    return {
        "weightsRestored": all(torch.equal(a, p) for a, p in zip(weights, model.parameters())),
        "bnStatsKept": all(torch.equal(a, b) for a, b in zip(bn, running())),
        "rngLikePlainStep": bool(torch.equal(after_first, torch.get_rng_state())),
        "gradientMoved": float(sum((p.grad - g).norm() for p, g in zip(model.parameters(), plain))),
    }


if __name__ == "__main__":
    import json

    print(json.dumps(check()))

"""Inc-TSSDNet (Hua, Teoh, Zhang, "Towards End-to-End Synthetic Speech Detection", IEEE SPL 2021, arXiv
2106.06341): a raw-waveform 1-D CNN, here as a study architecture for `train.py` that starts from the published
ASVspoof 2019 LA weights (../shared/models/inc-tssdnet/, GPL-3.0: a model fine-tuned from them carries that
licence, so none is shipped without a licence decision; the `-scratch` architecture uses no weights).

The module and parameter names follow the published state dict, so `load_state_dict(strict=True)` succeeds; the
code is written here from shared/models/inc-tssdnet/README.md and the state dict's shapes:
  conv1 (1 -> 16, k 7, no bias) -> BN -> ReLU -> max-pool 4
  -> DCM1..DCM4: each four parallel k-3 convolutions (dilation 1, 2, 4, 8; no bias; lengths kept), each -> BN ->
     ReLU, concatenated (16 -> 32 -> 64 -> 128 -> 128 channels), max-pool 4 after DCM1-DCM3
  -> max over time -> fc1 128 -> 64, ReLU -> fc2 64 -> 32, ReLU -> out 32 -> 2 (index 0 = bona fide).
The published network pools with a fixed kernel of 375 (= 96000 / 4^4, so only 6 s inputs); the max over the whole
time axis is the same operation at 6 s and accepts the service's 2 s windows.

As a `train.py` architecture (`tssdnet` from the published weights, `tssdnet-scratch` from a random start) the
exported `logit` is logits[spoof] - logits[bona fide] (higher = more likely fake), so step 0 of `tssdnet` is the
published detector; training is binary cross-entropy on that score. The waveform is level-normalised in the graph
(-26 dBFS, as SpecNet) before the network.

Usage: python tssdnet.py [ONNX ...]  prints the study's cost figures (main()).
"""
from __future__ import annotations

import argparse
import os
import time
from dataclasses import asdict, dataclass

import numpy as np

import torch
import torch.nn.functional as F
from torch import nn

from specnet import normalise

WEIGHTS = os.environ.get("TSSDNET_PTH", os.path.abspath(os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..", "shared", "models", "inc-tssdnet",
    "Inc_TSSDNet_time_frame_28_ASVspoof2019_LA_Loss_0.0043_dEER_1.09%_eEER_4.04%.pth")))
DILATIONS = (1, 2, 4, 8)


class DilatedModule(nn.Module):
    """Four parallel k-3 convolutions with dilations 1, 2, 4, 8 (lengths kept), each -> BN -> ReLU, concatenated."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        branch = cout // len(DILATIONS)
        for d in DILATIONS:
            setattr(self, f"cv{d}", nn.Conv1d(cin, branch, 3, padding=d, dilation=d, bias=False))
            setattr(self, f"bn{d}", nn.BatchNorm1d(branch))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([F.relu(getattr(self, f"bn{d}")(getattr(self, f"cv{d}")(x))) for d in DILATIONS], dim=1)


class IncTSSDNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv1d(1, 16, 7, padding=3, bias=False)
        self.bn1 = nn.BatchNorm1d(16)
        self.DCM1 = DilatedModule(16, 32)
        self.DCM2 = DilatedModule(32, 64)
        self.DCM3 = DilatedModule(64, 128)
        self.DCM4 = DilatedModule(128, 128)
        self.fc1 = nn.Linear(128, 64)
        self.fc2 = nn.Linear(64, 32)
        self.out = nn.Linear(32, 2)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """[B, S] waveform -> [B, 32] (after fc2 and its ReLU)."""
        x = F.max_pool1d(F.relu(self.bn1(self.conv1(x.unsqueeze(1)))), 4)
        x = F.max_pool1d(self.DCM1(x), 4)
        x = F.max_pool1d(self.DCM2(x), 4)
        x = F.max_pool1d(self.DCM3(x), 4)
        x = self.DCM4(x).amax(dim=2)
        return F.relu(self.fc2(F.relu(self.fc1(x))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[B, S] waveform in [-1, 1] -> logits [B, 2] = [bona fide, spoof]."""
        return self.out(self.features(x))


def load_pretrained(path: str = WEIGHTS) -> IncTSSDNet:
    model = IncTSSDNet()
    ck = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(ck["model_state_dict"], strict=True)
    return model.eval()


@dataclass
class TSSDNetConfig:
    pretrained: bool = True  # from WEIGHTS (TSSDNET_PTH), else a random start
    head: str = "bce"

    def to_dict(self) -> dict:
        return asdict(self)


class TSSDNetDetector(nn.Module):
    """`train.py`'s interface (embed / score / forward / cfg) around IncTSSDNet."""

    def __init__(self, cfg: TSSDNetConfig):
        super().__init__()
        self.cfg = cfg
        self.net = load_pretrained() if cfg.pretrained else IncTSSDNet()

    def embed(self, wav: torch.Tensor, spec_mask: bool = False) -> torch.Tensor:  # noqa: ARG002 (no masking)
        return self.net.features(normalise(wav))

    def score(self, e: torch.Tensor) -> torch.Tensor:
        """Higher = more likely fake: logits[spoof] - logits[bona fide], [B, 1]."""
        lg = self.net.out(e)
        return (lg[:, 1] - lg[:, 0]).unsqueeze(1)

    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        return self.score(self.embed(wav))


def step_seconds(model: nn.Module, batch: int, threads: int, steps: int = 3) -> float:
    """Median seconds of one training step (forward, backward, AdamW) on a batch of 2 s windows."""
    torch.set_num_threads(threads)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), 1e-4)
    x = 0.05 * torch.randn(batch, 32000)
    times = []
    for _ in range(steps + 1):  # the first step warms up
        t0 = time.perf_counter()
        out = model(x)
        loss = (out[1] if isinstance(out, tuple) else out).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t0)
    return float(np.median(times[1:]))


def main() -> None:
    """The cost figures of the voice README's fine-tuning study: training-step time of AASIST-L (batch 16, two
    threads) and Inc-TSSDNet (batch 32, one thread), and onnxruntime's median per 2 s window (one thread) of each
    ONNX file given, e.g. a `train.py cv` fold model and detectors/models/voice-antispoof/model.onnx."""
    from aasist import build_named, median_ms, ort_session

    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("onnx", nargs="*", help="ONNX files with a `waveform` [batch, samples] input")
    ap.add_argument("--runs", type=int, default=50)
    args = ap.parse_args()
    print(f"AASIST-L training step, batch 16, 2 threads: {step_seconds(build_named('aasist-l'), 16, 2):.2f} s")
    print(f"Inc-TSSDNet training step, batch 32, 1 thread: {step_seconds(load_pretrained(), 32, 1):.2f} s")
    x = (0.05 * np.random.default_rng(0).standard_normal((1, 32000))).astype(np.float32)
    for path in args.onnx:
        sess = ort_session(path, threads=1)
        print(f"{path}: {median_ms(lambda: sess.run(None, {'waveform': x}), args.runs):.2f} ms per 2 s window (median)")


if __name__ == "__main__":
    main()

"""SpecNet: a small residual CNN on the log power spectrogram, for voice anti-spoofing on 2 s windows.

waveform (B, S) at 16 kHz
  -> in-graph mean removal + RMS normalisation to -26 dBFS (callers pass raw samples)
  -> STFT as a fixed convolution (Hann 25 ms, 10 ms hop, 512-point DFT, 257 bins 0-8 kHz) -> log power
  -> per-bin mean removal over time (cancels stationary channel colouring: microphone, codec EQ, room tilt)
  -> stem conv 5x5/2 -> max-pool 2 -> 3 residual blocks (32, 48, 64 channels)
  -> frequency folded into channels -> 1x1 conv -> attentive statistics pooling over time
  -> 64-d embedding -> score.

Two heads share the body: `oc` (one-class softmax, Zhang et al. 2021: bona fide embeddings are pulled within a
cosine margin of one learned direction, spoofs pushed beyond another, so unseen attacks fall outside the compact
bona fide region) and `bce` (a plain logistic output). Exported output `logit`: higher means more likely fake
(for `oc` it is -cos(embedding, bona fide direction)).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

TARGET_RMS = 10 ** (-26 / 20)
SR = 16000


@dataclass
class SpecNetConfig:
    n_fft: int = 512
    win: int = 400
    hop: int = 160
    stem: int = 16
    channels: tuple[int, ...] = (32, 48, 64)
    embed: int = 64
    head: str = "oc"  # "oc" | "bce"
    dropout: float = 0.2
    # "bin": the log spectrogram with each bin's mean over time removed (as shipped); "bin+global": that and, as a
    # second input channel, the same spectrogram with only its overall mean removed, which keeps the stationary
    # spectral envelope (tilt, band edges, a vocoder's or codec's fixed colouring) that per-bin removal cancels
    views: str = "bin"

    def to_dict(self) -> dict:
        return asdict(self)


def normalise(wav: torch.Tensor) -> torch.Tensor:
    wav = wav - wav.mean(dim=1, keepdim=True)
    rms = torch.sqrt((wav * wav).mean(dim=1, keepdim=True) + 1e-10)
    return wav * (TARGET_RMS / torch.clamp(rms, min=1e-4))


class LogSpec(nn.Module):
    """STFT magnitude as a convolution with fixed windowed DFT kernels (exports to any ONNX runtime)."""

    def __init__(self, cfg: SpecNetConfig):
        super().__init__()
        bins = cfg.n_fft // 2 + 1
        t = torch.arange(cfg.win, dtype=torch.float64)
        window = torch.hann_window(cfg.win, periodic=True, dtype=torch.float64)
        k = torch.arange(bins, dtype=torch.float64).unsqueeze(1)
        ang = 2 * math.pi * k * t.unsqueeze(0) / cfg.n_fft
        kern = torch.cat([torch.cos(ang) * window, -torch.sin(ang) * window], dim=0).float().unsqueeze(1)
        self.register_buffer("kernel", kern, persistent=False)
        self.hop = cfg.hop
        self.bins = bins
        if cfg.views not in ("bin", "bin+global"):
            raise ValueError(f"SpecNetConfig.views: bin or bin+global, not {cfg.views!r}")
        self.views = cfg.views
        self.channels = 1 if cfg.views == "bin" else 2

    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        y = F.conv1d(wav.unsqueeze(1), self.kernel, stride=self.hop)  # (B, 2*bins, T)
        re, im = y[:, : self.bins], y[:, self.bins:]
        p = re * re + im * im
        s = torch.log(p + 1e-7)
        per_bin = (s - s.mean(dim=2, keepdim=True)).unsqueeze(1)  # (B, 1, bins, T)
        if self.views == "bin":
            return per_bin
        overall = (s - s.mean(dim=(1, 2), keepdim=True)).unsqueeze(1)
        return torch.cat([per_bin, overall], dim=1)  # (B, 2, bins, T)


class Block(nn.Module):
    def __init__(self, cin: int, cout: int, stride: tuple[int, int]):
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.b1 = nn.BatchNorm2d(cout)
        self.c2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.b2 = nn.BatchNorm2d(cout)
        self.skip = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.b1(self.c1(x)))
        y = self.b2(self.c2(y))
        return F.relu(y + self.skip(x))


class SpecNet(nn.Module):
    def __init__(self, cfg: SpecNetConfig):
        super().__init__()
        self.cfg = cfg
        self.spec = LogSpec(cfg)
        self.stem = nn.Sequential(nn.Conv2d(self.spec.channels, cfg.stem, 5, stride=2, padding=2, bias=False), nn.BatchNorm2d(cfg.stem),
                                  nn.ReLU(), nn.MaxPool2d(2))
        chans = [cfg.stem, *cfg.channels]
        strides = [(2, 1), (2, 2), (2, 2)]
        self.blocks = nn.Sequential(*[Block(chans[i], chans[i + 1], strides[i]) for i in range(len(cfg.channels))])
        self.freq_out = self._freq_after()
        c = cfg.channels[-1]
        self.proj = nn.Sequential(nn.Conv1d(c * self.freq_out, 128, 1), nn.BatchNorm1d(128), nn.ReLU())
        self.att = nn.Sequential(nn.Conv1d(128, 64, 1), nn.Tanh(), nn.Conv1d(64, 128, 1))
        self.drop = nn.Dropout(cfg.dropout)
        self.emb = nn.Linear(256, cfg.embed)
        if cfg.head == "oc":
            self.center = nn.Parameter(F.normalize(torch.randn(cfg.embed), dim=0))
        else:
            self.out = nn.Linear(cfg.embed, 1)

    def _freq_after(self) -> int:
        with torch.no_grad():
            x = torch.zeros(1, self.spec.channels, self.spec.bins, 64)
            x = self.blocks(self.stem(x))
        return int(x.shape[2])

    def embed(self, wav: torch.Tensor, spec_mask: bool = False) -> torch.Tensor:
        s = self.spec(normalise(wav))  # (B, views, F, T)
        if spec_mask and self.training:
            s = _spec_augment(s)
        x = self.blocks(self.stem(s))  # (B, C, F', T')
        b, c, f, t = x.shape
        x = self.proj(x.reshape(b, c * f, t))
        w = torch.softmax(self.att(x), dim=2)
        mu = (x * w).sum(dim=2)
        sd = torch.sqrt(torch.clamp((x * x * w).sum(dim=2) - mu * mu, min=1e-6))
        return self.emb(self.drop(torch.cat([mu, sd], dim=1)))

    def score(self, e: torch.Tensor) -> torch.Tensor:
        """Higher = more likely fake. `oc`: minus the cosine to the bona fide direction, in [-1, 1]."""
        if self.cfg.head == "oc":
            return -(F.normalize(e, dim=1) @ F.normalize(self.center, dim=0)).unsqueeze(1)
        return self.out(e)

    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        return self.score(self.embed(wav))


def _spec_augment(s: torch.Tensor) -> torch.Tensor:
    """One random frequency band (up to 24 bins) and one time span (up to 20 frames) zeroed per example."""
    b, _, f, t = s.shape
    out = s.clone()
    for i in range(b):
        w = int(torch.randint(0, 25, (1,)))
        f0 = int(torch.randint(0, max(1, f - w), (1,)))
        out[i, :, f0:f0 + w, :] = 0
        w = int(torch.randint(0, min(21, max(1, t // 4)), (1,)))
        t0 = int(torch.randint(0, max(1, t - w), (1,)))
        out[i, :, :, t0:t0 + w] = 0
    return out


def oc_softmax_loss(score: torch.Tensor, y: torch.Tensor, m_real: float = 0.9, m_fake: float = 0.2,
                    alpha: float = 20.0) -> torch.Tensor:
    """OC-softmax on cos = -score: bona fide (y=0) pushed to cos >= m_real, spoof (y=1) to cos <= m_fake."""
    cos = -score.squeeze(1)
    margin = torch.where(y > 0.5, alpha * (cos - m_fake), alpha * (m_real - cos))
    return F.softplus(margin).mean()


def count_macs(model: SpecNet, samples: int) -> int:
    """Multiply-accumulates of convolutions and linear layers for one window (forward hooks)."""
    total = 0

    def conv_hook(m: nn.Module, _i, o) -> None:
        nonlocal total
        if isinstance(m, (nn.Conv1d, nn.Conv2d)):
            k = int(torch.tensor(m.weight.shape[1:]).prod())
            total += int(o.numel()) * k
        elif isinstance(m, nn.Linear):
            total += int(o.numel()) * m.in_features

    hs = [m.register_forward_hook(conv_hook) for m in model.modules() if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Linear))]
    was = model.training
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, samples))
        # the STFT is F.conv1d on a buffer, not a module: count it by hand
        bins = model.spec.bins
        frames = (samples - model.cfg.win) // model.cfg.hop + 1
        total += 2 * bins * model.cfg.win * frames
    model.train(was)
    for h in hs:
        h.remove()
    return total

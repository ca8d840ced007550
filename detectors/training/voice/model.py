"""Lightweight WavLM-style voice anti-spoofing model.

waveform (B, S) at 16 kHz
  -> in-graph per-window mean removal + RMS normalisation to -26 dBFS
  -> 7-layer conv feature encoder (kernels 10,3,3,3,3,2,2; strides 5,2,2,2,2,2,2 = 320 samples, 20 ms frames)
  -> LayerNorm + projection + convolutional relative positional embedding
  -> N transformer layers with WavLM's gated relative position bias (bucketed relative positions, bias computed in
     layer 0 and shared, gated per head by the layer's query input)
  -> learned softmax-weighted sum of all layer outputs
  -> attentive statistics pooling -> MLP -> one logit (higher = more likely fake)
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

TARGET_RMS = 10 ** (-26 / 20)


@dataclass
class ModelConfig:
    # "filterbank": learned complex (Gabor-initialised) filterbank, stride 160, energy + log, then strided convs
    #               to stride 320 (cheap enough to train on two shared CPU cores);
    # "wavlm7":     WavLM's 7-layer conv stack (kernels 10,3,3,3,3,2,2, strides 5,2,2,2,2,2,2).
    frontend: str = "filterbank"
    fb_filters: int = 80
    fb_kernel: int = 400
    fb_stride: int = 160
    fb_channels: tuple[int, ...] = (128, 128)
    conv_channels: tuple[int, ...] = (48, 64, 96, 96, 128, 128, 128)
    conv_kernels: tuple[int, ...] = (10, 3, 3, 3, 3, 2, 2)
    conv_strides: tuple[int, ...] = (5, 2, 2, 2, 2, 2, 2)
    dim: int = 96
    heads: int = 4
    layers: int = 3
    ffn: int = 256
    pos_conv_kernel: int = 31
    pos_conv_groups: int = 16
    num_buckets: int = 160
    max_distance: int = 400
    pool_hidden: int = 64
    dropout: float = 0.1

    def to_dict(self) -> dict:
        return asdict(self)


def normalise(wav: torch.Tensor) -> torch.Tensor:
    wav = wav - wav.mean(dim=1, keepdim=True)
    rms = torch.sqrt((wav * wav).mean(dim=1, keepdim=True) + 1e-10)
    return wav * (TARGET_RMS / torch.clamp(rms, min=1e-4))


def gabor_init(n: int, k: int, sr: int = 16000, break_hz: float = 1400.0) -> torch.Tensor:
    """Windowed cos/sin pairs at centre frequencies on a mildly compressed (mel-like) scale, 60 Hz - 7.8 kHz."""
    def to_m(f: float) -> float:
        return math.log1p(f / break_hz)
    lo, hi = to_m(60.0), to_m(7800.0)
    freqs = [break_hz * math.expm1(lo + (hi - lo) * i / (n - 1)) for i in range(n)]
    t = torch.arange(k, dtype=torch.float32) - (k - 1) / 2
    win = torch.hann_window(k, periodic=False)
    w = torch.zeros(2 * n, 1, k)
    for i, f in enumerate(freqs):
        w[2 * i, 0] = win * torch.cos(2 * math.pi * f * t / sr)
        w[2 * i + 1, 0] = win * torch.sin(2 * math.pi * f * t / sr)
    return w / math.sqrt(k / 2)


class FilterbankEncoder(nn.Module):
    """Waveform -> learned complex filterbank energies (10 ms hop) -> log -> strided conv to 20 ms frames."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.n = cfg.fb_filters
        self.fb = nn.Conv1d(1, 2 * cfg.fb_filters, cfg.fb_kernel, stride=cfg.fb_stride, bias=False)
        with torch.no_grad():
            self.fb.weight.copy_(gabor_init(cfg.fb_filters, cfg.fb_kernel))
        self.norm = nn.GroupNorm(1, cfg.fb_filters)
        c1, c2 = cfg.fb_channels
        self.conv1 = nn.Conv1d(cfg.fb_filters, c1, 3, stride=2)
        self.conv2 = nn.Conv1d(c1, c2, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, S) -> (B, C, T)
        y = self.fb(x.unsqueeze(1))
        b, _, t = y.shape
        e = (y * y).view(b, self.n, 2, t).sum(2)
        y = self.norm(torch.log(e + 1e-5))
        y = F.gelu(self.conv1(y))
        return F.gelu(self.conv2(y)) + y


class ConvEncoder(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        layers = []
        cin = 1
        for i, (c, k, s) in enumerate(zip(cfg.conv_channels, cfg.conv_kernels, cfg.conv_strides)):
            block = [nn.Conv1d(cin, c, k, stride=s, bias=False)]
            if i == 0:
                block.append(nn.GroupNorm(c, c, affine=True))  # WavLM-base: group norm on the first layer only
            block.append(nn.GELU())
            layers.append(nn.Sequential(*block))
            cin = c
        self.layers = nn.ModuleList(layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, S) -> (B, C, T)
        x = x.unsqueeze(1)
        for layer in self.layers:
            x = layer(x)
        return x


def relative_buckets(rel: torch.Tensor, num_buckets: int, max_distance: int) -> torch.Tensor:
    """T5/WavLM bidirectional relative position buckets."""
    num_buckets = num_buckets // 2
    ret = (rel > 0).to(torch.long) * num_buckets
    n = torch.abs(rel)
    max_exact = num_buckets // 2
    is_small = n < max_exact
    nf = torch.clamp(n.to(torch.float32), min=1.0)
    large = max_exact + (torch.log(nf / max_exact) / math.log(max_distance / max_exact) * (num_buckets - max_exact)).to(torch.long)
    large = torch.clamp(large, max=num_buckets - 1)
    return ret + torch.where(is_small, n, large)


class GatedRelPosAttention(nn.Module):
    def __init__(self, cfg: ModelConfig, has_bias: bool):
        super().__init__()
        self.h = cfg.heads
        self.dh = cfg.dim // cfg.heads
        self.qkv = nn.Linear(cfg.dim, 3 * cfg.dim)
        self.out = nn.Linear(cfg.dim, cfg.dim)
        self.drop = nn.Dropout(cfg.dropout)
        self.num_buckets = cfg.num_buckets
        self.max_distance = cfg.max_distance
        self.rel_embed = nn.Embedding(cfg.num_buckets, cfg.heads) if has_bias else None
        # WavLM's gate ("grep"): per-head linear on the query input, 8 outputs summed into 2 gates
        self.gate_linear = nn.Linear(self.dh, 8)
        self.gate_const = nn.Parameter(torch.ones(1, cfg.heads, 1, 1))

    def compute_bias(self, t: int, device: torch.device) -> torch.Tensor:
        assert self.rel_embed is not None
        pos = torch.arange(t, device=device)
        rel = pos[None, :] - pos[:, None]
        b = self.rel_embed(relative_buckets(rel, self.num_buckets, self.max_distance))  # (T, T, H)
        return b.permute(2, 0, 1).unsqueeze(0)  # (1, H, T, T)

    def forward(self, x: torch.Tensor, pos_bias: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        b, t, d = x.shape
        if pos_bias is None:
            pos_bias = self.compute_bias(t, x.device)
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        q = q.view(b, t, self.h, self.dh).transpose(1, 2)
        k = k.view(b, t, self.h, self.dh).transpose(1, 2)
        v = v.view(b, t, self.h, self.dh).transpose(1, 2)
        xq = x.view(b, t, self.h, self.dh).transpose(1, 2)  # gate uses the un-projected query input, as in WavLM
        g = torch.sigmoid(self.gate_linear(xq).view(b, self.h, t, 2, 4).sum(-1))
        gate_a, gate_b = g[..., 0:1], g[..., 1:2]
        gate = gate_a * (gate_b * self.gate_const - 1.0) + 2.0  # (B, H, T, 1)
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.dh) + gate * pos_bias
        attn = self.drop(torch.softmax(scores, dim=-1))
        y = torch.matmul(attn, v).transpose(1, 2).reshape(b, t, d)
        return self.out(y), pos_bias


class TransformerLayer(nn.Module):
    def __init__(self, cfg: ModelConfig, has_bias: bool):
        super().__init__()
        self.attn = GatedRelPosAttention(cfg, has_bias)
        self.ln1 = nn.LayerNorm(cfg.dim)
        self.ff = nn.Sequential(nn.Linear(cfg.dim, cfg.ffn), nn.GELU(), nn.Dropout(cfg.dropout), nn.Linear(cfg.ffn, cfg.dim))
        self.ln2 = nn.LayerNorm(cfg.dim)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, pos_bias: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        a, pos_bias = self.attn(x, pos_bias)
        x = self.ln1(x + self.drop(a))  # post-LN as in WavLM-base
        x = self.ln2(x + self.drop(self.ff(x)))
        return x, pos_bias


class AttentiveStatsPool(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.att = nn.Sequential(nn.Linear(dim, hidden), nn.Tanh(), nn.Linear(hidden, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, D) -> (B, 2D)
        w = torch.softmax(self.att(x), dim=1)
        mu = (w * x).sum(1)
        var = (w * x * x).sum(1) - mu * mu
        return torch.cat([mu, torch.sqrt(torch.clamp(var, min=1e-4))], dim=-1)


class VoiceAntiSpoof(nn.Module):
    def __init__(self, cfg: ModelConfig | None = None):
        super().__init__()
        self.cfg = cfg = cfg or ModelConfig()
        if cfg.frontend == "filterbank":
            self.encoder: nn.Module = FilterbankEncoder(cfg)
            c = cfg.fb_channels[-1]
        else:
            self.encoder = ConvEncoder(cfg)
            c = cfg.conv_channels[-1]
        self.feat_ln = nn.LayerNorm(c)
        self.proj = nn.Linear(c, cfg.dim)
        self.pos_conv = nn.Conv1d(cfg.dim, cfg.dim, cfg.pos_conv_kernel, padding=cfg.pos_conv_kernel // 2, groups=cfg.pos_conv_groups)
        self.in_ln = nn.LayerNorm(cfg.dim)
        self.drop = nn.Dropout(cfg.dropout)
        self.layers = nn.ModuleList([TransformerLayer(cfg, i == 0) for i in range(cfg.layers)])
        self.layer_weights = nn.Parameter(torch.zeros(cfg.layers + 1))
        self.pool = AttentiveStatsPool(cfg.dim, cfg.pool_hidden)
        self.head = nn.Sequential(nn.Linear(2 * cfg.dim, 64), nn.GELU(), nn.Dropout(cfg.dropout), nn.Linear(64, 1))

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:  # (B, S) -> (B, 1)
        x = self.encoder(normalise(waveform)).transpose(1, 2)  # (B, T, C)
        x = self.proj(self.feat_ln(x))
        x = x + F.gelu(self.pos_conv(x.transpose(1, 2))).transpose(1, 2)
        x = self.drop(self.in_ln(x))
        hs = [x]
        pos_bias = None
        for layer in self.layers:
            x, pos_bias = layer(x, pos_bias)
            hs.append(x)
        w = torch.softmax(self.layer_weights, dim=0)
        x = (torch.stack(hs, dim=0) * w.view(-1, 1, 1, 1)).sum(0)
        return self.head(self.pool(x))


def frames_for(samples: int, cfg: ModelConfig) -> int:
    if cfg.frontend == "filterbank":
        n = (samples - cfg.fb_kernel) // cfg.fb_stride + 1
        return (n - 3) // 2 + 1
    n = samples
    for k, s in zip(cfg.conv_kernels, cfg.conv_strides):
        n = (n - k) // s + 1
    return n


def count_macs(cfg: ModelConfig, seconds: float = 1.0, window_seconds: float = 4.0) -> dict:
    """Analytic multiply-accumulate count per second of audio, processed in windows of window_seconds
    (attention cost grows with window length). Elementwise ops, norms and softmax are not counted."""
    s = int(16000 * window_seconds)
    macs = 0
    n, cin = s, 1
    conv = 0
    if cfg.frontend == "filterbank":
        n = (s - cfg.fb_kernel) // cfg.fb_stride + 1
        conv += n * cfg.fb_kernel * 2 * cfg.fb_filters
        c1, c2 = cfg.fb_channels
        n = (n - 3) // 2 + 1
        conv += n * 3 * cfg.fb_filters * c1 + n * 3 * c1 * c2
        cin = c2
    else:
        for c, k, st in zip(cfg.conv_channels, cfg.conv_kernels, cfg.conv_strides):
            n = (n - k) // st + 1
            conv += n * k * cin * c
            cin = c
    t = n
    d = cfg.dim
    front = t * cin * d + t * d * (d // cfg.pos_conv_groups) * cfg.pos_conv_kernel
    per_layer = t * (3 * d * d + d * d) + 2 * t * t * d + t * 2 * cfg.ffn * d + t * cfg.heads * (d // cfg.heads) * 8
    pool = t * (d * cfg.pool_hidden + cfg.pool_hidden * d) + 2 * d * 64 + 64
    macs = conv + front + cfg.layers * per_layer + pool
    per_s = macs / window_seconds * seconds
    return {"frames": t, "macsPerWindow": macs, "gmacPerSecondAudio": per_s / 1e9, "convMacsPerWindow": conv,
            "windowSeconds": window_seconds}


def count_macs_hooks(model: VoiceAntiSpoof, samples: int) -> int:
    """Hook-based count of Conv1d/Linear MACs plus the two attention matmuls, as a cross-check."""
    total = [0]
    hooks = []

    def conv_hook(m, inp, out):
        total[0] += out.numel() // out.shape[0] * (m.in_channels // m.groups) * m.kernel_size[0]

    def lin_hook(m, inp, out):
        total[0] += out.numel() // out.shape[0] * m.in_features

    for m in model.modules():
        if isinstance(m, nn.Conv1d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(lin_hook))
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, samples))
    for h in hooks:
        h.remove()
    t = frames_for(samples, model.cfg)
    total[0] += model.cfg.layers * 2 * t * t * model.cfg.dim
    return total[0]


if __name__ == "__main__":
    cfg = ModelConfig()
    m = VoiceAntiSpoof(cfg)
    print({"params": sum(p.numel() for p in m.parameters()), **count_macs(cfg), "hookMacs4s": count_macs_hooks(m, 64000)})

"""AASIST / AASIST-L speech anti-spoofing network (Jung et al., "AASIST: Audio Anti-Spoofing using Integrated
Spectro-Temporal Graph Attention Networks", ICASSP 2022, arXiv 2110.01200), for the published pretrained weights.

Weights: clovaai/aasist `models/weights/AASIST{,-L}.pth` @a04c9863f6 (MIT, Copyright (c) 2021-present NAVER Corp.),
kept with their LICENSE/NOTICE in shared/models/aasist/. The module and parameter names below follow the published
state dict so that `load_state_dict(strict=True)` succeeds; the code itself is written here from the paper and
shared/models/aasist/README.md, with the reference implementation consulted only for the layout and for the
published forward pass's exact behaviour, reproduced where it matters for the trained weights:
  - the residual blocks' `bn1` (pre-activation) is in the state dict but the published forward feeds the block input
    straight to `conv1`, so it is kept (strict load) and not applied;
  - all four pools after the HS-GAL layers use `pool_ratios[2]` (`pool_ratios[3]` is unused);
  - the spectral positional embedding `pos_S` fixes the spectral axis at 23 nodes (70 sinc bands / 3).
Inference only: the training-time sinc-band masking (`Freq_aug`) is left out.

Input: float32 waveform [B, S] at 16 kHz, samples in [-1, 1], no normalisation; the weights were trained on
S = 64600 (first 64600 samples, short clips tiled), other lengths work. Output: (embedding [B, 160], logits [B, 2])
with logits[:, 1] = bona fide, logits[:, 0] = spoof.

Usage: python aasist.py [--model aasist-l|aasist] [--wav PATH] [--onnx OUT.onnx [--runs 20]] [--report OUT.json]
  scores one clip (default: the README parity clip, compared with the README logits); with --onnx also exports,
  checks onnxruntime against torch and times both (one thread) on 2 s and 4.04 s windows.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import time
import warnings
from typing import Callable

import numpy as np
import onnxruntime as ort
import torch
import torch.nn.functional as F
from torch import nn
from torch.onnx.operators import shape_as_tensor

SR = 16000
NB_SAMP = 64600
# The weights folder (../shared/models/aasist beside the checkout by default; AASIST_DIR points elsewhere).
MODEL_DIR = os.environ.get("AASIST_DIR", os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                                      "..", "..", "..", "..", "shared", "models", "aasist")))
MODELS = {"aasist-l": "AASIST-L", "aasist": "AASIST"}
# SAMO (Ding et al., ICASSP 2023): AASIST's network trained with a one-class speaker-attractor loss; only its 160-d
# embedding is meaningful (../shared/models/samo/README.md). SAMO_DIR points elsewhere.
SAMO_DIR = os.environ.get("SAMO_DIR", os.path.join(os.path.dirname(MODEL_DIR), "samo"))
PRETRAINED = (*MODELS, "samo")


def sinc_filterbank(n_filters: int, kernel_size: int, sample_rate: int = SR, nfft: int = 512) -> torch.Tensor:
    """Fixed band-pass sinc filters [n_filters, kernel_size] (kernel made odd), Hamming-windowed, with band edges
    equally spaced on the mel scale between 0 Hz and Nyquist."""
    k = kernel_size + 1 if kernel_size % 2 == 0 else kernel_size
    freqs = (sample_rate // 2) * np.linspace(0.0, 1.0, nfft // 2 + 1)
    mel = 2595.0 * np.log10(1.0 + freqs / 700.0)
    edges = 700.0 * (10.0 ** (np.linspace(mel.min(), mel.max(), n_filters + 1) / 2595.0) - 1.0)
    t = np.arange(-(k - 1) / 2, (k - 1) / 2 + 1)

    def lowpass(fc: float) -> np.ndarray:
        return (2.0 * fc / sample_rate) * np.sinc(2.0 * fc * t / sample_rate)

    bank = np.stack([np.hamming(k) * (lowpass(hi) - lowpass(lo)) for lo, hi in zip(edges[:-1], edges[1:])])
    return torch.from_numpy(bank.astype(np.float32))


class SincFrontEnd(nn.Module):
    """1-D convolution of the raw waveform with the fixed sinc filter bank (no learned parameters)."""

    def __init__(self, out_channels: int, kernel_size: int):
        super().__init__()
        self.register_buffer("band_pass", sinc_filterbank(out_channels, kernel_size).unsqueeze(1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, 1, S] -> [B, F, S - K + 1]
        return F.conv1d(x, self.band_pass)


class ResidualBlock(nn.Module):
    """2-D residual block over (spectral, temporal): conv(2x3) -> BN -> SELU -> conv(2x3), 1x3 projection shortcut
    when the channel count changes, then max-pool of 3 along time."""

    def __init__(self, channels: list[int], first: bool = False):
        super().__init__()
        c_in, c_out = channels
        if not first:
            self.bn1 = nn.BatchNorm2d(c_in)  # present in the weights, unused by the published forward (see header)
        self.conv1 = nn.Conv2d(c_in, c_out, kernel_size=(2, 3), padding=(1, 1))
        self.bn2 = nn.BatchNorm2d(c_out)
        self.selu = nn.SELU()
        self.conv2 = nn.Conv2d(c_out, c_out, kernel_size=(2, 3), padding=(0, 1))
        self.conv_downsample = nn.Conv2d(c_in, c_out, kernel_size=(1, 3), padding=(0, 1)) if c_in != c_out else None
        self.mp = nn.MaxPool2d((1, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv2(self.selu(self.bn2(self.conv1(x))))
        shortcut = x if self.conv_downsample is None else self.conv_downsample(x)
        return self.mp(out + shortcut)


def node_batch_norm(bn: nn.BatchNorm1d, x: torch.Tensor) -> torch.Tensor:
    """BatchNorm over the feature axis of node features [B, N, D] (statistics shared by all nodes)."""
    return bn(x.reshape(-1, x.shape[-1])).reshape(x.shape)


def pairwise_products(x: torch.Tensor) -> torch.Tensor:
    """[B, N, D] -> [B, N, N, D] with entry (i, j) = x_i * x_j."""
    return x.unsqueeze(2) * x.unsqueeze(1)


def xavier_param(rows: int, cols: int) -> nn.Parameter:
    p = nn.Parameter(torch.empty(rows, cols))
    nn.init.xavier_normal_(p)
    return p


class GraphAttentionLayer(nn.Module):
    """Homogeneous graph attention over a fully connected node set (GAT-S / GAT-T)."""

    def __init__(self, in_dim: int, out_dim: int, temperature: float):
        super().__init__()
        self.att_proj = nn.Linear(in_dim, out_dim)
        self.att_weight = xavier_param(out_dim, 1)
        self.proj_with_att = nn.Linear(in_dim, out_dim)
        self.proj_without_att = nn.Linear(in_dim, out_dim)
        self.bn = nn.BatchNorm1d(out_dim)
        self.input_drop = nn.Dropout(0.2)
        self.act = nn.SELU()
        self.temperature = temperature

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, N, in_dim] -> [B, N, out_dim]
        x = self.input_drop(x)
        scores = (torch.tanh(self.att_proj(pairwise_products(x))) @ self.att_weight).squeeze(-1)
        att = F.softmax(scores / self.temperature, dim=-1)
        out = self.proj_with_att(att @ x) + self.proj_without_att(x)
        return self.act(node_batch_norm(self.bn, out))


class HtrgGraphAttentionLayer(nn.Module):
    """Heterogeneous stacking graph attention layer (HS-GAL): two node types (temporal, spectral) projected into a
    shared space, attention weights specific to the edge type (1-1, 2-2, 1-2), and a stack (master) node that
    attends to all nodes."""

    def __init__(self, in_dim: int, out_dim: int, temperature: float):
        super().__init__()
        self.proj_type1 = nn.Linear(in_dim, in_dim)
        self.proj_type2 = nn.Linear(in_dim, in_dim)
        self.att_proj = nn.Linear(in_dim, out_dim)
        self.att_projM = nn.Linear(in_dim, out_dim)
        self.att_weight11 = xavier_param(out_dim, 1)
        self.att_weight22 = xavier_param(out_dim, 1)
        self.att_weight12 = xavier_param(out_dim, 1)
        self.att_weightM = xavier_param(out_dim, 1)
        self.proj_with_att = nn.Linear(in_dim, out_dim)
        self.proj_without_att = nn.Linear(in_dim, out_dim)
        self.proj_with_attM = nn.Linear(in_dim, out_dim)
        self.proj_without_attM = nn.Linear(in_dim, out_dim)
        self.bn = nn.BatchNorm1d(out_dim)
        self.input_drop = nn.Dropout(0.2)
        self.act = nn.SELU()
        self.temperature = temperature

    def forward(
        self, x1: torch.Tensor, x2: torch.Tensor, master: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x1 [B, N1, in], x2 [B, N2, in], master [B, 1, in] -> [B, N1, out], [B, N2, out], [B, 1, out]."""
        n1 = x1.shape[1]
        x = self.input_drop(torch.cat([self.proj_type1(x1), self.proj_type2(x2)], dim=1))

        hidden = torch.tanh(self.att_proj(pairwise_products(x)))
        weights = torch.cat([self.att_weight11, self.att_weight22, self.att_weight12], dim=1)
        s11, s22, s12 = (hidden @ weights).unbind(-1)
        is_type1 = torch.arange(x.shape[1], device=x.device) < n1
        both1 = is_type1.unsqueeze(1) & is_type1.unsqueeze(0)
        both2 = ~is_type1.unsqueeze(1) & ~is_type1.unsqueeze(0)
        scores = torch.where(both1, s11, torch.where(both2, s22, s12))
        att = F.softmax(scores / self.temperature, dim=-1)

        m_scores = torch.tanh(self.att_projM(x * master)) @ self.att_weightM  # [B, N, 1]
        m_att = F.softmax(m_scores / self.temperature, dim=1)
        master = self.proj_with_attM(m_att.transpose(1, 2) @ x) + self.proj_without_attM(master)

        out = self.proj_with_att(att @ x) + self.proj_without_att(x)
        out = self.act(node_batch_norm(self.bn, out))
        return out[:, :n1], out[:, n1:], master


class GraphPool(nn.Module):
    """Keeps the top max(1, floor(ratio * N)) nodes by a learned sigmoid score, scaled by that score."""

    def __init__(self, ratio: float, in_dim: int, p: float):
        super().__init__()
        self.ratio = ratio
        self.proj = nn.Linear(in_dim, 1)
        self.drop = nn.Dropout(p)

    def forward(self, h: torch.Tensor) -> torch.Tensor:  # [B, N, D] -> [B, N', D]
        scores = torch.sigmoid(self.proj(self.drop(h)))
        # floor(N * ratio) in float64 as in Python, computed on a shape tensor so ONNX export keeps N dynamic
        n_nodes = shape_as_tensor(h)[1].to(torch.float64)
        keep = torch.clamp(torch.floor(n_nodes * self.ratio), min=1).to(torch.int64)
        idx = torch.topk(scores, keep, dim=1).indices.expand(-1, -1, h.shape[2])
        return torch.gather(h * scores, 1, idx)


class AASIST(nn.Module):
    def __init__(self, config: dict):
        super().__init__()
        filts = config["filts"]
        gat_dims = config["gat_dims"]
        pool_ratios = config["pool_ratios"]
        temperatures = config["temperatures"]
        enc_dim = filts[-1][-1]

        self.conv_time = SincFrontEnd(filts[0], config["first_conv"])
        self.first_bn = nn.BatchNorm2d(1)
        self.selu = nn.SELU()
        self.drop = nn.Dropout(0.5)
        self.drop_way = nn.Dropout(0.2)
        block_channels = [filts[1], filts[2], filts[3], filts[4], filts[4], filts[4]]
        self.encoder = nn.Sequential(
            *[nn.Sequential(ResidualBlock(c, first=i == 0)) for i, c in enumerate(block_channels)]
        )

        self.pos_S = nn.Parameter(torch.randn(1, filts[0] // 3, enc_dim))
        self.master1 = nn.Parameter(torch.randn(1, 1, gat_dims[0]))
        self.master2 = nn.Parameter(torch.randn(1, 1, gat_dims[0]))
        self.GAT_layer_S = GraphAttentionLayer(enc_dim, gat_dims[0], temperatures[0])
        self.GAT_layer_T = GraphAttentionLayer(enc_dim, gat_dims[0], temperatures[1])
        self.HtrgGAT_layer_ST11 = HtrgGraphAttentionLayer(gat_dims[0], gat_dims[1], temperatures[2])
        self.HtrgGAT_layer_ST12 = HtrgGraphAttentionLayer(gat_dims[1], gat_dims[1], temperatures[2])
        self.HtrgGAT_layer_ST21 = HtrgGraphAttentionLayer(gat_dims[0], gat_dims[1], temperatures[2])
        self.HtrgGAT_layer_ST22 = HtrgGraphAttentionLayer(gat_dims[1], gat_dims[1], temperatures[2])
        self.pool_S = GraphPool(pool_ratios[0], gat_dims[0], 0.3)
        self.pool_T = GraphPool(pool_ratios[1], gat_dims[0], 0.3)
        self.pool_hS1 = GraphPool(pool_ratios[2], gat_dims[1], 0.3)
        self.pool_hT1 = GraphPool(pool_ratios[2], gat_dims[1], 0.3)
        self.pool_hS2 = GraphPool(pool_ratios[2], gat_dims[1], 0.3)
        self.pool_hT2 = GraphPool(pool_ratios[2], gat_dims[1], 0.3)
        self.out_layer = nn.Linear(5 * gat_dims[1], 2)

    def _hs_gal_branch(
        self,
        out_t: torch.Tensor,
        out_s: torch.Tensor,
        master: torch.Tensor,
        first: HtrgGraphAttentionLayer,
        second: HtrgGraphAttentionLayer,
        pool_t: GraphPool,
        pool_s: GraphPool,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One inference branch: HS-GAL, graph pooling, then a second HS-GAL added residually."""
        t, s, m = first(out_t, out_s, master)
        t, s = pool_t(t), pool_s(s)
        t_aug, s_aug, m_aug = second(t, s, m)
        return self.drop_way(t + t_aug), self.drop_way(s + s_aug), self.drop_way(m + m_aug)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x [B, S] float32 16 kHz -> (embedding [B, 5 * gat_dims[1]], logits [B, 2] = [spoof, bona fide])."""
        x = self.conv_time(x.unsqueeze(1)).unsqueeze(1)  # [B, 1, bands, time]
        x = self.selu(self.first_bn(F.max_pool2d(x.abs(), (3, 3))))
        e = self.encoder(x).abs()  # [B, C, spectral, temporal]

        out_s = self.pool_S(self.GAT_layer_S(e.amax(dim=3).transpose(1, 2) + self.pos_S))
        out_t = self.pool_T(self.GAT_layer_T(e.amax(dim=2).transpose(1, 2)))

        batch = x.shape[0]
        t1, s1, m1 = self._hs_gal_branch(
            out_t, out_s, self.master1.expand(batch, -1, -1),
            self.HtrgGAT_layer_ST11, self.HtrgGAT_layer_ST12, self.pool_hT1, self.pool_hS1,
        )
        t2, s2, m2 = self._hs_gal_branch(
            out_t, out_s, self.master2.expand(batch, -1, -1),
            self.HtrgGAT_layer_ST21, self.HtrgGAT_layer_ST22, self.pool_hT2, self.pool_hS2,
        )
        out_t, out_s, master = torch.maximum(t1, t2), torch.maximum(s1, s2), torch.maximum(m1, m2)

        embedding = torch.cat(
            [out_t.abs().amax(dim=1), out_t.mean(dim=1), out_s.abs().amax(dim=1), out_s.mean(dim=1), master[:, 0]],
            dim=1,
        )
        return embedding, self.out_layer(self.drop(embedding))


def build_aasist(conf_path: str, pth_path: str) -> AASIST:
    """Builds the network from a clovaai/aasist `.conf` file's `model_config` and loads the weights strictly;
    returns it in eval mode on CPU."""
    with open(conf_path) as f:
        config = json.load(f)["model_config"]
    model = AASIST(config)
    model.load_state_dict(torch.load(pth_path, map_location="cpu", weights_only=True), strict=True)
    return model.eval()


def build_named(name: str) -> AASIST:
    """`name` in PRETRAINED: "aasist-l" or "aasist" from MODEL_DIR, "samo" from SAMO_DIR."""
    if name == "samo":
        return build_aasist(os.path.join(SAMO_DIR, "AASIST.conf"), os.path.join(SAMO_DIR, "samo_state_dict.pth"))
    stem = MODELS[name]
    return build_aasist(os.path.join(MODEL_DIR, f"{stem}.conf"), os.path.join(MODEL_DIR, f"{stem}.pth"))


def export_onnx(model: AASIST, path: str) -> None:
    """ONNX opset 17, input `waveform` [batch, samples] (both axes dynamic), outputs `embedding`, `logits`.
    Uses the TorchScript exporter: graph pooling's node counts are traced from shape tensors, so other lengths
    than the 64600-sample example stay exact."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the legacy exporter is deprecated but still supported
        torch.onnx.export(
            model, (torch.zeros(1, NB_SAMP),), path, input_names=["waveform"], output_names=["embedding", "logits"],
            opset_version=17, dynamo=False, dynamic_axes={"waveform": {0: "batch", 1: "samples"}},
        )


def ort_session(path: str, threads: int = 1) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])


def onnx_parity(model: AASIST, sess: ort.InferenceSession, lengths: tuple[int, ...], seed: int = 0) -> dict:
    """Max |onnxruntime - torch| over embedding and logits for random speech-level input, batch 2, per length."""
    rng = np.random.default_rng(seed)
    out = {}
    for n in lengths:
        x = (0.1 * rng.standard_normal((2, n))).astype(np.float32)
        with torch.no_grad():
            ref = [t.numpy() for t in model(torch.from_numpy(x))]
        got = sess.run(None, {"waveform": x})
        out[str(n)] = float(max(np.abs(a - b).max() for a, b in zip(ref, got)))
    return out


def median_ms(fn: Callable[[], object], runs: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(1000.0 * (time.perf_counter() - t0))
    return float(np.median(times))


def benchmark(model: AASIST, sess: ort.InferenceSession, lengths: tuple[int, ...], runs: int) -> dict:
    """Median wall-clock ms per single-window forward pass (batch 1), onnxruntime and torch, one thread each."""
    out = {}
    for n in lengths:
        x = (0.1 * np.random.default_rng(n).standard_normal((1, n))).astype(np.float32)
        xt = torch.from_numpy(x)
        with torch.no_grad():
            out[str(n)] = {
                "onnxruntime_ms": round(median_ms(lambda: sess.run(None, {"waveform": x}), runs), 1),
                "torch_ms": round(median_ms(lambda: model(xt), runs), 1),
            }
    return out


def decode_16k(path: str) -> np.ndarray:
    """Any audio file -> float32 mono 16 kHz via ffmpeg."""
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", path, "-ac", "1", "-ar", str(SR), "-f", "f32le", "-"],
        check=True, capture_output=True,
    ).stdout
    return np.frombuffer(raw, dtype=np.float32).copy()


def eval_pad(x: np.ndarray, n: int = NB_SAMP) -> np.ndarray:
    """The authors' evaluation cropping: first n samples, short clips tiled to n."""
    return np.tile(x, -(-n // len(x)))[:n] if len(x) < n else x[:n]


# The forward pass published in ../shared/models/aasist/README.md (logits [spoof, bona fide], first 64600 samples)
# was run on this clip of the shared evaluation set; the port is checked against it (a parity check of the port,
# nothing is fitted or chosen on it). Pass --wav <shared>/eval/audio/bonafide/<PARITY_CLIP_NAME>.
PARITY_CLIP_NAME = "hifigan-demo__samples_ms_GT_ms_gt_1.wav"
PARITY_LOGITS = {"aasist-l": (-3.423, 4.062), "aasist": (-6.393, 4.188)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", choices=sorted(MODELS), default="aasist-l")
    ap.add_argument("--wav", required=True, help=f"clip to score ({PARITY_CLIP_NAME} is compared with the README)")
    ap.add_argument("--onnx", help="also export ONNX here, check onnxruntime vs torch and time both")
    ap.add_argument("--runs", type=int, default=20, help="timed runs per length for the benchmark")
    ap.add_argument("--report", help="write the results as JSON here")
    args = ap.parse_args()
    torch.set_num_threads(1)

    model = build_named(args.model)
    x = torch.from_numpy(eval_pad(decode_16k(args.wav))).unsqueeze(0)
    with torch.no_grad():
        emb, logits = model(x)
    got = [round(float(v), 3) for v in logits[0]]
    report: dict = {"model": args.model, "parameters": sum(p.numel() for p in model.parameters()),
                    "clip": args.wav, "logits": got}
    print(f"{args.model}: {report['parameters']} parameters, embedding {tuple(emb.shape)}, logits {got}")
    if os.path.basename(args.wav) == PARITY_CLIP_NAME:
        ref = PARITY_LOGITS[args.model]
        report["readmeLogits"] = list(ref)
        report["maxAbsDiffVsReadme"] = round(max(abs(a - b) for a, b in zip(got, ref)), 4)
        print(f"README logits {list(ref)}: max |diff| {report['maxAbsDiffVsReadme']}")

    if args.onnx:
        export_onnx(model, args.onnx)
        sess = ort_session(args.onnx)
        report["onnx"] = {"path": args.onnx, "bytes": os.path.getsize(args.onnx), "opset": 17,
                          "maxAbsDiffVsTorch": onnx_parity(model, sess, (16000, 32000, 48000, NB_SAMP, 96000))}
        print(f"onnx parity (max |diff| by length): {report['onnx']['maxAbsDiffVsTorch']}")
        report["costMedianMs"] = benchmark(model, sess, (32000, NB_SAMP), args.runs)
        print(f"median ms per window, 1 thread: {report['costMedianMs']}")
    if args.report:
        with open(args.report, "w") as f:
            json.dump(report, f, indent=2)


if __name__ == "__main__":
    main()

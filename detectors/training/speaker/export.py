"""Exports resemblyzer's pretrained GE2E speaker encoder as ONNX with its front end inside the graph.

    detectors/training/.venv/bin/python detectors/training/speaker/export.py \
        [--out detectors/training/.cache/speaker/model-fp32.onnx]

The float32 export is the reference; the shipped detectors/models/speaker-embed/model.onnx is its int8 copy made by
quantize.py (LSTM layers 2 and 3; README, "Decision: int8 LSTM layers").

Source weights: `resemblyzer/pretrained.pt` from the PyPI wheel resemblyzer==0.1.4 (Apache-2.0), read from the
installed package (speaker/setup.sh); nothing is downloaded at run time.

The graph (opset 17), input `waveform` float32 [batch, 25600] = one 1.6 s window of 16 kHz mono PCM in [-1, 1]:
 1. volume: RMS over the window, gain = max(1, 10^(-30/20) / max(rms, 1e-4)) (resemblyzer's
    normalize_volume(wav, -30, increase_only=True), here per window; the 1e-4 floor caps the gain at +50 dB so that
    near-digital silence is not blown up);
 2. framing as librosa.stft(center=True, pad_mode="constant") on that window: 200 zeros on the left, frame t covers
    padded samples [160 t, 160 t + 400) for t = 0..159 (the right edge needs 40 more zeros); this is resemblyzer's
    partial utterance (160 frames, 160 x 160 = 25600 samples) exactly as `embed_utterance` builds it on a 1.6 s wav;
 3. periodic Hann window (scipy/librosa `fftbins=True`, length 400 = n_fft) folded into two constant DFT matrices
    [400, 201] (cos and -sin); |STFT|^2 = (frames @ C)^2 + (frames @ S)^2, no ONNX STFT op;
 4. mel: power @ librosa.filters.mel(sr=16000, n_fft=400, n_mels=40) (Slaney scale and norm), a [201, 40] constant.
    No log: resemblyzer.audio.wav_to_mel_spectrogram returns librosa.feature.melspectrogram's power mel as is;
 5. the encoder: LSTM(40 -> 256, 3 layers), last layer's final hidden state, Linear(256 -> 256), ReLU, L2 norm
    (the norm is floored at 1e-12 so that an all-zero ReLU output gives zeros instead of NaN).
Output `embedding` float32 [batch, 256], L2-normalised (non-negative after the ReLU, so cosines lie in [0, 1]).

Deterministic: constants come from librosa/numpy in float64 then float32, the weights from the wheel; exporting twice
gives the same bytes (checked with --check-determinism).
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import sys
from importlib.metadata import version
from importlib.util import find_spec
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import torch
from torch import nn

SR = 16000
N_FFT = 400  # 25 ms (resemblyzer hparams.mel_window_length)
HOP = 160  # 10 ms (mel_window_step)
N_MELS = 40  # mel_n_channels
N_FRAMES = 160  # partials_n_frames
WINDOW = N_FRAMES * HOP  # 25600 samples = 1.6 s, resemblyzer's partial-utterance wav slice
TARGET_DBFS = -30.0  # audio_norm_target_dBFS
RMS_FLOOR = 1e-4
HIDDEN = 256
EMBED = 256
LAYERS = 3
OPSET = 17
INPUT = "waveform"
OUTPUT = "embedding"

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
DEFAULT_OUT = REPO / "detectors" / "training" / ".cache" / "speaker" / "model-fp32.onnx"


def pretrained_path() -> Path:
    spec = find_spec("resemblyzer")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("resemblyzer is not installed: run bash detectors/training/speaker/setup.sh")
    return Path(list(spec.submodule_search_locations)[0]) / "pretrained.pt"


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def front_end_constants() -> dict[str, np.ndarray]:
    """Frame gather indices, windowed DFT matrices and librosa's mel filters (float32)."""
    import librosa
    import scipy.signal

    n = np.arange(N_FFT)
    k = np.arange(N_FFT // 2 + 1)
    # librosa.stft: get_window("hann", n_fft, fftbins=True) -> periodic Hann
    win = scipy.signal.get_window("hann", N_FFT, fftbins=True).astype(np.float64)
    ang = 2.0 * np.pi * np.outer(n, k) / N_FFT
    cos = (win[:, None] * np.cos(ang)).astype(np.float32)
    sin = (-win[:, None] * np.sin(ang)).astype(np.float32)
    mel = librosa.filters.mel(sr=SR, n_fft=N_FFT, n_mels=N_MELS).astype(np.float32)  # [40, 201]
    idx = (np.arange(N_FRAMES)[:, None] * HOP + n[None, :]).astype(np.int64)  # [160, 400] into the padded window
    return {"idx": idx, "cos": cos, "sin": sin, "mel": np.ascontiguousarray(mel.T)}


class MelFrontEnd(nn.Module):
    """Per-window volume normalisation, framing, |DFT|^2 and mel filterbank -> [batch, 160, 40] power mel."""

    def __init__(self, c: dict[str, np.ndarray]):
        super().__init__()
        self.register_buffer("idx", torch.from_numpy(c["idx"]))
        self.register_buffer("cos", torch.from_numpy(c["cos"]))
        self.register_buffer("sin", torch.from_numpy(c["sin"]))
        self.register_buffer("mel", torch.from_numpy(c["mel"]))
        self.target = float(10.0 ** (TARGET_DBFS / 20.0))
        self.left = N_FFT // 2
        self.right = (N_FRAMES - 1) * HOP + N_FFT - self.left - WINDOW  # 40

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rms = torch.sqrt(torch.mean(x * x, dim=1, keepdim=True))
        gain = torch.clamp(self.target / torch.clamp(rms, min=RMS_FLOOR), min=1.0)
        x = nn.functional.pad(x * gain, (self.left, self.right))
        frames = x[:, self.idx]  # [B, 160, 400]
        re = torch.matmul(frames, self.cos)
        im = torch.matmul(frames, self.sin)
        power = re * re + im * im  # [B, 160, 201]
        return torch.matmul(power, self.mel)  # [B, 160, 40]


class SpeakerEncoder(nn.Module):
    """resemblyzer.VoiceEncoder's network (same parameter names, so its state dict loads as is)."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(N_MELS, HIDDEN, LAYERS, batch_first=True)
        self.linear = nn.Linear(HIDDEN, EMBED)
        self.relu = nn.ReLU()

    def forward(self, mels: torch.Tensor) -> torch.Tensor:
        _, (hidden, _) = self.lstm(mels)
        e = self.relu(self.linear(hidden[-1]))
        return e / torch.clamp(torch.norm(e, dim=1, keepdim=True), min=1e-12)


class SpeakerEmbed(nn.Module):
    def __init__(self, c: dict[str, np.ndarray]):
        super().__init__()
        self.front = MelFrontEnd(c)
        self.encoder = SpeakerEncoder()

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        return self.encoder(self.front(waveform))


def load_encoder_state(path: Path) -> dict[str, torch.Tensor]:
    ckpt = torch.load(str(path), map_location="cpu", weights_only=True)
    state = ckpt["model_state"]
    # similarity_weight / similarity_bias belong to the GE2E training loss, not to the embedding.
    return {k: v for k, v in state.items() if k.startswith(("lstm.", "linear."))}


def build_model() -> SpeakerEmbed:
    torch.manual_seed(0)
    model = SpeakerEmbed(front_end_constants())
    model.encoder.load_state_dict(load_encoder_state(pretrained_path()), strict=True)
    return model.eval()


def export_bytes(model: SpeakerEmbed) -> bytes:
    buf = io.BytesIO()
    with torch.no_grad():
        torch.onnx.export(
            model, (torch.zeros(1, WINDOW),), buf, input_names=[INPUT], output_names=[OUTPUT],
            dynamic_axes={INPUT: {0: "batch"}, OUTPUT: {0: "batch"}}, opset_version=OPSET, dynamo=False,
            do_constant_folding=True)
    import onnx

    m = onnx.load_from_string(buf.getvalue())
    m.producer_name = "dfd speaker/export.py"
    m.producer_version = "1"
    m.doc_string = ("resemblyzer 0.1.4 GE2E speaker encoder (Apache-2.0) with an in-graph front end: "
                    "waveform [batch, 25600] 16 kHz mono float32 -> L2-normalised embedding [batch, 256]")
    onnx.checker.check_model(m)
    return m.SerializeToString()


def torch_vs_onnx(model: SpeakerEmbed, data: bytes) -> float:
    import onnxruntime as ort

    rng = np.random.default_rng(0)
    x = (rng.standard_normal((3, WINDOW)) * np.array([[0.01], [0.1], [0.3]])).astype(np.float32)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(data, so, providers=["CPUExecutionProvider"])
    y = sess.run([OUTPUT], {INPUT: x})[0]
    with torch.no_grad():
        t = model(torch.from_numpy(x)).numpy()
    return float(np.abs(y - t).max())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(DEFAULT_OUT))
    ap.add_argument("--check-determinism", action="store_true", help="export twice and compare the bytes")
    args = ap.parse_args()
    torch.set_num_threads(1)

    model = build_model()
    data = export_bytes(model)
    if args.check_determinism:
        again = export_bytes(build_model())
        if again != data:
            sys.exit("export.py: two exports differ")
        print("export.py: two exports are byte-identical")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    info = {
        "onnx": str(out.relative_to(REPO) if out.is_absolute() and REPO in out.parents else out),
        "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "opset": OPSET,
        "input": {"name": INPUT, "shape": ["batch", WINDOW], "dtype": "float32"},
        "output": {"name": OUTPUT, "shape": ["batch", EMBED], "dtype": "float32"},
        "torchVsOnnxMaxAbs": torch_vs_onnx(model, data),
        "source": {"package": "resemblyzer", "version": version("resemblyzer"), "file": "resemblyzer/pretrained.pt",
                   "sha256": sha256_file(pretrained_path())},
        "librosa": version("librosa"),
        "torch": torch.__version__,
    }
    print(json.dumps(info, indent=2))


if __name__ == "__main__":
    main()

"""Parity of the float32 export (export.py) with resemblyzer 0.1.4, and of the shipped int8 model with it, on real
clips.

    detectors/training/.venv/bin/python detectors/training/speaker/parity.py [--train ../shared/train]
        [--onnx detectors/training/.cache/speaker/model-fp32.onnx]
        [--quantized detectors/models/speaker-embed/model.onnx]

Clips: a fixed selection of bona fide clips of the training material (voice-tts, voice-vc; one or two per page) and,
when installed, real speech from the Debian packages pocketsphinx-testdata and asterisk-core-sounds-en-g722. Every
1.6 s window (0.8 s hop) of each trimmed clip, at most 6 per clip, windows under -60 dBFS skipped:
 (a) mel: the ONNX graph's own mel tensor (the output of its mel-filterbank MatMul, exposed as an extra output of an
     in-memory copy of the float32 graph) vs resemblyzer.audio.wav_to_mel_spectrogram(normalize_volume(window, -30,
     increase_only=True))[:160] (librosa 0.11 power mel, centred frames with zero padding);
 (b) embedding: the float32 ONNX on the window vs resemblyzer.VoiceEncoder.forward on those same reference mel frames;
 (d) the shipped int8 model (--quantized; quantize.py) vs the float32 --onnx on the same windows, gated at 0.998
     ("none": skipped);
 (e) with (d): the int8 model's embedding of a window in a batch of 8 random other windows vs alone, gated at 0.998
     (dynamic quantization scales activations per run, so batching is no longer exact);
 (c) information only, not gated: resemblyzer's whole pipeline (preprocess_wav: VAD trim + utterance-level -30 dBFS;
     embed_utterance: 1.6 s partials at rate 1.3, mean, L2) vs the ONNX on the same partial wav slices (per-window
     volume normalisation, zero context outside each window), mean, L2.
Writes eval-results/speaker/parity.json; exits 1 when the smallest window cosine of (b) is below 0.999 or that of (d)
or (e) below 0.998.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("NUMBA_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
import onnx
import onnxruntime as ort
import torch

import speakerlib as C

MIN_COSINE = 0.999
# (d) the int8 model (quantize.py) against the float32 export it was made from (README, "Decision: int8 LSTM layers")
MIN_COSINE_QUANTIZED = 0.998
# (e) batches of BATCH random windows, BATCHES of them
BATCH = 8
BATCHES = 200
PER_CLIP = 6


def select_clips(train: Path) -> list[tuple[str, str]]:
    """(label, path): the first two bona fide clips (manifest order) of every page, plus Debian speech if present."""
    out: list[tuple[str, str]] = []
    for m in C.MANIFESTS:
        per_page: dict[str, int] = defaultdict(int)
        for r in C.read_manifest(train / m):
            if r["label"] != "bonafide" or per_page[r["page"]] >= 2:
                continue
            per_page[r["page"]] += 1
            out.append((f"{m}/{r['path']}", r["abspath"]))
    debian = sorted(glob.glob("/usr/share/pocketsphinx/test/data/librivox/*.wav"))[:2]
    debian += sorted(glob.glob("/usr/share/asterisk/sounds/en_US_f_Allison/*.g722"))[:40:10]
    out += [(f"debian:{os.path.basename(p)}", p) for p in debian]
    return out


def mel_session(onnx_path: Path) -> ort.InferenceSession:
    """The float32 graph with its mel tensor (output of the MatMul against the [201, 40] filterbank) as 2nd output."""
    m = onnx.load(str(onnx_path))
    dims = {i.name: list(i.dims) for i in m.graph.initializer}
    names = [n.output[0] for n in m.graph.node
             if n.op_type == "MatMul" and any(dims.get(x) == [201, 40] for x in n.input)]
    if len(names) != 1:
        sys.exit(f"parity.py: expected one mel MatMul in the graph, found {names}")
    m.graph.output.append(onnx.helper.make_tensor_value_info(names[0], onnx.TensorProto.FLOAT, None))
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    return ort.InferenceSession(m.SerializeToString(), so, providers=["CPUExecutionProvider"])


def cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-20))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", default=str(C.SHARED_TRAIN), help="folder holding voice-tts/ and voice-vc/")
    ap.add_argument("--onnx", default=str(C.FP32_PATH), help="the float32 export (export.py)")
    ap.add_argument("--quantized", default=str(C.ONNX_PATH),
                    help="(d): the int8 copy of --onnx (quantize.py) compared with it window by window; none: skip")
    ap.add_argument("--out", default=str(C.RESULTS / "parity.json"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    t0 = time.time()

    from resemblyzer import VoiceEncoder, audio, preprocess_wav
    from resemblyzer.hparams import audio_norm_target_dBFS

    enc = VoiceEncoder("cpu", verbose=False).eval()
    sess = mel_session(Path(args.onnx))
    float32 = C.session(Path(args.onnx))
    quantized = C.session(Path(args.quantized)) if args.quantized != "none" else None
    q_cos, q_ref_cos, q_windows, q_alone = [], [], [], []
    clips = select_clips(Path(args.train))

    mel_abs, mel_rel, emb_abs, emb_cos, pipe_cos = [], [], [], [], []
    worst = {"cosine": 2.0}
    for name, path in clips:
        x = C.trim(C.read_audio(path))
        starts = list(range(0, max(0, len(x) - C.WINDOW) + 1, C.HOP))[:PER_CLIP]
        for s in starts:
            w = x[s: s + C.WINDOW]
            if len(w) < C.WINDOW:
                w = np.pad(w, (0, C.WINDOW - len(w)))
            if 20 * np.log10(np.sqrt(np.mean(w.astype(np.float64) ** 2)) + 1e-12) < -60:
                continue
            ref_mel = audio.wav_to_mel_spectrogram(audio.normalize_volume(w, audio_norm_target_dBFS,
                                                                          increase_only=True))[:160]
            emb, mel = sess.run(None, {"waveform": w[None].astype(np.float32)})
            mel = mel[0]
            d = np.abs(mel - ref_mel)
            mel_abs.append(float(d.max()))
            mel_rel.append(float(d.max() / (np.abs(ref_mel).max() + 1e-20)))
            with torch.no_grad():
                ref_emb = enc(torch.from_numpy(ref_mel[None].astype(np.float32))).numpy()[0]
            e = float32.run(["embedding"], {"waveform": w[None].astype(np.float32)})[0][0]
            if np.abs(e - emb[0]).max() > 0:
                sys.exit("parity.py: the mel-exposing copy of the graph disagrees with the float32 graph")
            emb_abs.append(float(np.abs(e - ref_emb).max()))
            c = cos(e, ref_emb)
            emb_cos.append(c)
            if c < worst["cosine"]:
                worst = {"cosine": c, "clip": name, "startSample": s}
            if quantized is not None:
                qe = quantized.run(["embedding"], {"waveform": w[None].astype(np.float32)})[0][0]
                q_cos.append(cos(qe, e))
                q_windows.append(w.astype(np.float32))
                q_alone.append(qe)
                q_ref_cos.append(cos(qe, ref_emb))
        # (c) whole-pipeline agreement (information only)
        raw = C.read_audio(path)
        wav = preprocess_wav(raw)
        if len(wav) < C.WINDOW // 2:
            continue
        ref_utt = enc.embed_utterance(wav)
        wav_slices, _ = enc.compute_partial_slices(len(wav), rate=1.3, min_coverage=0.75)
        wp = np.pad(wav, (0, max(0, wav_slices[-1].stop - len(wav))))
        parts = np.stack([wp[sl] for sl in wav_slices]).astype(np.float32)
        pe = C.embed_windows(float32, parts)
        m = pe.mean(axis=0)
        pipe_cos.append(cos(m / np.linalg.norm(m), ref_utt))

    # (e) batch dependence: the int8 layers quantize their activations per run, so a window's embedding moves a little
    # with the windows batched beside it (the service batches windows of up to 8 streams).
    batch_cos = []
    if quantized is not None and len(q_windows) >= BATCH:
        rng = np.random.default_rng(0)
        ws, alone = np.stack(q_windows), np.stack(q_alone)
        for _ in range(BATCHES):
            idx = rng.choice(len(ws), BATCH, replace=False)
            e = quantized.run(["embedding"], {"waveform": ws[idx]})[0]
            batch_cos.extend(float(c) for c in (e * alone[idx]).sum(axis=1))
    n = len(emb_cos)
    result = {
        "command": "detectors/training/.venv/bin/python detectors/training/speaker/parity.py",
        "onnx": os.path.relpath(args.onnx, C.REPO),
        "clips": len(clips),
        "windows": n,
        "mel": {"maxAbsDiff": max(mel_abs), "maxRelDiff": max(mel_rel),
                "note": "relative = max |diff| / max |reference mel| of the window; reference: librosa 0.11 power mel "
                        "of the volume-normalised window (float64)"},
        "embedding": {"maxAbsDiff": max(emb_abs), "minCosine": min(emb_cos), "meanCosine": float(np.mean(emb_cos)),
                      "worst": worst, "threshold": MIN_COSINE},
        "pipeline": {"utterances": len(pipe_cos), "minCosine": float(min(pipe_cos)),
                     "medianCosine": float(np.median(pipe_cos)), "meanCosine": float(np.mean(pipe_cos)),
                     "note": "information only: resemblyzer preprocess_wav + embed_utterance vs the ONNX mean over the "
                             "same partial slices (per-window instead of per-utterance volume normalisation, zeros "
                             "instead of neighbouring samples at window edges)"},
        "quantized": None if quantized is None else {
            "onnx": os.path.relpath(args.quantized, C.REPO), "minCosineToOnnx": min(q_cos),
            "meanCosineToOnnx": float(np.mean(q_cos)), "minCosineToResemblyzer": min(q_ref_cos),
            "threshold": MIN_COSINE_QUANTIZED,
            "batched": {"batches": BATCHES, "batchSize": BATCH, "minCosineToAlone": min(batch_cos) if batch_cos else None,
                        "medianCosineToAlone": float(np.median(batch_cos)) if batch_cos else None,
                        "note": "the same window embedded in a batch of 8 random parity windows vs alone (e)"}},
        "versions": {"resemblyzer": __import__("importlib.metadata").metadata.version("resemblyzer"),
                     "librosa": __import__("librosa").__version__, "onnxruntime": ort.__version__,
                     "torch": torch.__version__},
        "seconds": round(time.time() - t0, 1),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    if min(emb_cos) < MIN_COSINE:
        print(f"parity.py: FAIL, smallest window cosine {min(emb_cos):.6f} < {MIN_COSINE}", file=sys.stderr)
        sys.exit(1)
    if batch_cos and min(batch_cos) < MIN_COSINE_QUANTIZED:
        print(f"parity.py: FAIL, quantized: a batched window's cosine to itself alone {min(batch_cos):.6f} < "
              f"{MIN_COSINE_QUANTIZED}", file=sys.stderr)
        sys.exit(1)
    if q_cos and min(q_cos) < MIN_COSINE_QUANTIZED:
        print(f"parity.py: FAIL, quantized: smallest window cosine {min(q_cos):.6f} < {MIN_COSINE_QUANTIZED}",
              file=sys.stderr)
        sys.exit(1)
    print(f"parity.py: ok, {n} windows, smallest cosine {min(emb_cos):.6f}"
          + (f"; quantized vs float32 {min(q_cos):.6f}" if q_cos else ""))


if __name__ == "__main__":
    main()

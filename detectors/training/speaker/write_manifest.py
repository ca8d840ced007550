"""Writes the speaker-embed model's manifest from the ONNX file and the figures of parity.py and takeover_eval.py.

Version 1.1.0: the shipped model.onnx is the int8 copy (quantize.py: LSTM layers 2 and 3) of the float32 export; the
evaluations below measure that shipped file, and parity.py's (d) compares it with the float32 export.

    detectors/training/.venv/bin/python detectors/training/speaker/write_manifest.py \
        [--out detectors/models/speaker-embed/manifest.json]

Reads detectors/models/speaker-embed/model.onnx, eval-results/speaker/parity.json, eval-results/speaker/takeover.json
and eval-results/speaker/declared.json (run export.py, parity.py, takeover_eval.py and declared_eval.py first) and copies the wheel's Apache-2.0 licence text next to the model
(LICENSE-resemblyzer). The manifest follows detectors/registry/Manifest.ts (task "speaker-embed", audio.normalize "none":
the graph normalises the volume itself, so the service's inference worker must not).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
from importlib.metadata import distribution, version
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import speakerlib as C

# MACs of one 1.6 s window: LSTM 3 layers x 160 steps (4 gates x 256 x (in + 256)), DFT (2 x 400 x 201 per frame),
# mel (201 x 40 per frame), linear 256 x 256.
MACS_PER_WINDOW = 160 * 4 * 256 * ((40 + 256) + 2 * (256 + 256)) + 160 * 2 * 400 * 201 + 160 * 201 * 40 + 256 * 256


# Declared voices across a model upgrade (README): profiles of an earlier version stay matched only where
# declared_eval.py --profile-model <that version's ONNX> --out eval-results/speaker/declared-from-<version>.json selects
# the same M and thresholds within this much of the shipped ones, with TUNE false matches within MAX_FMR per channel.
PROFILE_T_TOLERANCE = 0.01
PROFILE_MAX_FMR = 0.01


def compatible_profile_versions(dc: dict, sha: str) -> list[str]:
    out = []
    for f in sorted(C.RESULTS.glob("declared-from-*.json")):
        version = f.stem.removeprefix("declared-from-")
        r = json.loads(f.read_text())
        if r["model"]["sha256"] != sha:
            sys.exit(f"write_manifest.py: {f.name} was measured on another model.onnx; rerun it")
        sides = [r["tune"], r["telephone"]["tune"], r["browser"]["tune"]]
        ok = (r["rule"]["M"] == dc["rule"]["M"]
              and all(abs(r["rule"][k] - dc["rule"][k]) <= PROFILE_T_TOLERANCE + 1e-9
                      for k in ("T", "T_telephone", "T_suppressed"))
              and all((s[k]["rate"] or 0.0) <= PROFILE_MAX_FMR
                      for s in sides for k in ("falseMatchRealSpeech", "falseMatchOtherSyntheticVoices")))
        print(f"write_manifest.py: declared voices of {version}: {'kept' if ok else 'not kept'} ({f.name})")
        if ok:
            out.append(version)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(C.MODEL_DIR / "manifest.json"))
    args = ap.parse_args()

    onnx_bytes = C.ONNX_PATH.read_bytes()
    parity = json.loads((C.RESULTS / "parity.json").read_text())
    q = parity.get("quantized")
    sha = hashlib.sha256(onnx_bytes).hexdigest()
    if q is None or Path(C.REPO / q["onnx"]).resolve() != C.ONNX_PATH:
        sys.exit("write_manifest.py: parity.json did not compare the shipped model.onnx with the float32 export; "
                 "rerun parity.py")
    fp32_sha = hashlib.sha256(C.FP32_PATH.read_bytes()).hexdigest()
    tk = json.loads((C.RESULTS / "takeover.json").read_text())
    if tk["model"]["sha256"] != sha:
        sys.exit("write_manifest.py: takeover.json was measured on another model.onnx; rerun takeover_eval.py")
    dc = json.loads((C.RESULTS / "declared.json").read_text())
    if dc["model"]["sha256"] != sha:
        sys.exit("write_manifest.py: declared.json was measured on another model.onnx; rerun declared_eval.py")
    profiles_from = compatible_profile_versions(dc, sha)

    dist = distribution("resemblyzer")
    pretrained = Path(dist.locate_file("resemblyzer/pretrained.pt"))
    lic = next((Path(dist.locate_file(f)) for f in dist.files or [] if f.name == "LICENSE"), None)
    if lic is not None:
        shutil.copyfile(lic, C.MODEL_DIR / "LICENSE-resemblyzer")

    ch = tk["chosen"]
    te, tel, tel2 = tk["test"]["clean"], tk["test"]["telephone_T_wideband"], tk["test"]["telephone_T_telephone"]
    # browser callers (sender noise suppression + 48 kHz Opus): their own T where takeover_eval.py's rule gave one
    brw = tk["test"]["browser_T_browser" if "T_suppressed" in ch else "browser_T_wideband"]
    t_sup = ch.get("T_suppressed")
    cal = tk["windowPairCalibration"]

    def rate(d: dict, key: str) -> float:
        return round(d[key]["detectionRate"], 4)

    def delay(d: dict, key: str, q: str) -> float:
        return round(d[key]["delaySeconds"][q], 2)

    metrics = {
        "parityMelMaxRelDiff": parity["mel"]["maxRelDiff"],
        "parityEmbeddingMaxAbsDiff": parity["embedding"]["maxAbsDiff"],
        "parityEmbeddingMinCosine": parity["embedding"]["minCosine"],
        "parityWindows": parity["windows"],
        "parityPipelineMedianCosine": parity["pipeline"]["medianCosine"],
        "parityInt8MinCosineToFloat32": q["minCosineToOnnx"],
        "testEerClean": round(tk["eer"]["clean"]["eer"], 4),
        "testEerTelephone": round(tk["eer"]["telephone"]["eer"], 4),
        "takeoverK": ch["K"], "takeoverM": ch["M"], "takeoverT": ch["T"], "takeoverTTelephone": ch["T_telephone"],
        "testSingleCalls": te["single"]["calls"],
        "testFalseTakeoverRatePerCall": round(te["single"]["falseTakeoverRatePerCall"], 4),
        "testFalseTakeoversPerMinute": round(te["single"]["falseTakeoversPerMinute"], 3),
        "testDetectionOtherRealSpeaker": rate(te, "real"),
        "testMedianDelayOtherRealSpeaker": delay(te, "real", "median"),
        "testP90DelayOtherRealSpeaker": delay(te, "real", "p90"),
        "testDetectionOtherSpeakerTtsVc": rate(te, "spoof"),
        "testMedianDelayOtherSpeakerTtsVc": delay(te, "spoof", "median"),
        "testP90DelayOtherSpeakerTtsVc": delay(te, "spoof", "p90"),
        "testDetectionCloneOfSameSpeakerTtsVc": rate(te, "clone-tts-vc"),
        "testTelephoneFalseTakeoverRatePerCall": round(tel2["single"]["falseTakeoverRatePerCall"], 4),
        "testTelephoneDetectionOtherRealSpeaker": rate(tel2, "real"),
        "testTelephoneDetectionOtherSpeakerTtsVc": rate(tel2, "spoof"),
        "testTelephoneDetectionCloneOfSameSpeakerTtsVc": rate(tel2, "clone-tts-vc"),
        "testTelephoneWidebandTDetectionOtherRealSpeaker": rate(tel, "real"),
        "testEerBrowser": round(tk["eer"]["browser"]["eer"], 4),
        **({"takeoverTSuppressed": t_sup} if t_sup is not None else {}),
        "testBrowserFalseTakeoverRatePerCall": round(brw["single"]["falseTakeoverRatePerCall"], 4),
        "testBrowserDetectionOtherRealSpeaker": rate(brw, "real"),
        "testBrowserDetectionOtherSpeakerTtsVc": rate(brw, "spoof"),
        "testBrowserDetectionCloneOfSameSpeakerTtsVc": rate(brw, "clone-tts-vc"),
    }
    manifest = {
        "schemaVersion": 1,
        "id": "speaker-embed",
        "version": "1.1.0",
        "task": "speaker-embed",
        "file": "model.onnx",
        "sha256": sha,
        "inputs": [{"name": "waveform", "dtype": "float32", "shape": ["batch", C.WINDOW]}],
        "outputs": [{"name": "embedding", "dtype": "float32", "shape": ["batch", 256]}],
        "audio": {
            "sampleRate": C.SR,
            "minSeconds": C.WINDOW / C.SR,
            "maxSeconds": C.WINDOW / C.SR,
            "windowSamples": C.WINDOW,
            "windowSeconds": C.WINDOW / C.SR,
            "hopSeconds": C.HOP / C.SR,
            "targetDbfs": -30,
            "normalize": "none",
            "preprocessing": (
                "mono float32 PCM in [-1,1] at 16 kHz, exactly 25600 samples (1.6 s) per row. INSIDE the graph: "
                "per-window volume normalisation as resemblyzer's normalize_volume(-30 dBFS, increase_only) (gain = "
                "max(1, 10^(-30/20) / max(rms, 1e-4)), never attenuates), 200 zeros left / 40 right (librosa "
                "center=True, constant pad), 160 frames of 400 samples every 160, periodic Hann, |DFT|^2 by matmul, "
                "librosa Slaney mel filterbank (40 bands, power, no log). The caller only frames the stream: 1.6 s "
                "windows every 0.8 s, skipping windows under -50 dBFS RMS."),
        },
        "output": {
            "meaning": (
                "L2-normalised 256-d GE2E speaker embedding (non-negative after a ReLU, so cosines lie in [0, 1]); "
                "compare windows by dot product. The calibration below takes that cosine as its 'logit': "
                "sigmoid(a * cosine + b) = p(the two windows are different speakers)."),
        },
        "calibration": {
            "method": "logistic",
            "a": cal["clean"]["a"],
            "b": cal["clean"]["b"],
            "fittedOn": ("cosines of 1.6 s window pairs of the TUNE identities of takeover_eval.py (same speaker: "
                         "different recordings and non-overlapping windows of one recording; different: two "
                         "identities), classes weighted equally, wideband"),
            "telephone": {"a": cal["telephone"]["a"], "b": cal["telephone"]["b"],
                          "fittedOn": "same pairs through 8 kHz G.711 mu-law"},
        },
        "takeover": {
            "enrolment": f"L2-normalised mean embedding of the first K={ch['K']} kept windows "
                         f"({ch['enrolmentSeconds']} s of speech)",
            "score": "cosine of each later kept window to the enrolment profile",
            "rule": f"takeover when M={ch['M']} consecutive kept windows score below T={ch['T']} "
                    f"(telephone, G.711: T={ch['T_telephone']}"
                    + (f"; a sender that suppresses noise, browser audio: T={t_sup}" if t_sup is not None else "")
                    + "); the count restarts after an alarm",
            "K": ch["K"], "M": ch["M"], "T": ch["T"], "T_telephone": ch["T_telephone"],
            **({"T_suppressed": t_sup} if t_sup is not None else {}),
            "windowSeconds": C.WINDOW / C.SR, "hopSeconds": C.HOP / C.SR, "skipWindowsBelowDbfs": -50,
            "limits": ("does not detect a clone of the enrolled voice (zero-shot TTS/VC of the same person: "
                       f"{metrics['testDetectionCloneOfSameSpeakerTtsVc']:.0%} of test clone splices) nor codec/"
                       "vocoder resynthesis of it; emotional speech of the same person can fall under T"),
        },
        "declared": {
            "rule": (f"a stream matches a declared synthetic voice when M={dc['rule']['M']} consecutive kept windows "
                     f"have a cosine >= T={dc['rule']['T']} to its profile (the L2-normalised mean embedding of its "
                     f"reference windows); M windows in a row below T end the match. Telephone speech (8 kHz G.711) "
                     f"against clean references: T={dc['rule']['T_telephone']}; a noise-suppressing (browser) "
                     f"sender's speech: T={dc['rule']['T_suppressed']}"),
            "M": dc["rule"]["M"], "T": dc["rule"]["T"], "T_telephone": dc["rule"]["T_telephone"],
            "T_suppressed": dc["rule"]["T_suppressed"],
            **({"profilesFrom": profiles_from} if profiles_from else {}),
            "selection": dc["rule"]["selection"],
            "measured": {"command": dc["command"], "test": dc["test"], "testTelephone": dc["telephone"]["test"],
                         "testBrowser": dc["browser"]["test"]},
        },
        "license": "Apache-2.0 (weights of resemblyzer 0.1.4, Copyright 2019 Resemble.AI; LICENSE-resemblyzer here)",
        "provenance": {
            "package": "resemblyzer", "version": version("resemblyzer"),
            "wheel": "Resemblyzer-0.1.4-py3-none-any.whl (PyPI)",
            "file": "resemblyzer/pretrained.pt",
            "sha256": hashlib.sha256(pretrained.read_bytes()).hexdigest(),
            "license": ("Apache-2.0: the wheel's LICENSE (Apache License 2.0, 'Copyright 2019 Resemble.AI') and "
                        "classifier 'License :: OSI Approved :: Apache Software License' (METADATA's License field "
                        "says UNKNOWN)"),
            "changes": ("exported to ONNX with the mel front end in the graph; the GE2E loss scalars "
                        "(similarity_weight/bias) dropped; weights unchanged in the float32 export (sha256 "
                        f"{fp32_sha}); the shipped file quantizes LSTM layers 2 and 3 to int8 (onnxruntime dynamic "
                        "quantization, DynamicQuantizeLSTM, int8 weights per output channel; quantize.py), layer 1, "
                        "the front end and the linear layer stay float32"),
            "architecture": "LSTM(40->256, 3 layers) -> last hidden state -> Linear(256->256) -> ReLU -> L2 norm",
        },
        "parity": {
            "command": parity["command"],
            "clips": parity["clips"], "windows": parity["windows"],
            "melMaxAbsDiff": parity["mel"]["maxAbsDiff"], "melMaxRelDiff": parity["mel"]["maxRelDiff"],
            "embeddingMaxAbsDiff": parity["embedding"]["maxAbsDiff"],
            "embeddingMinCosine": parity["embedding"]["minCosine"],
            "int8": {"minCosineToFloat32": q["minCosineToOnnx"], "meanCosineToFloat32": q["meanCosineToOnnx"],
                     "minCosineToResemblyzer": q["minCosineToResemblyzer"], "threshold": q["threshold"],
                     "batchedMinCosineToAlone": q["batched"]["minCosineToAlone"],
                     "batched": ("activations are quantized per run, so an embedding moves a little with the windows "
                                 "batched beside it: smallest cosine of a window in a batch of 8 to itself alone, over "
                                 f"{q['batched']['batches']} batches of parity windows")},
            "pipelineMinCosine": parity["pipeline"]["minCosine"],
            "pipelineMedianCosine": parity["pipeline"]["medianCosine"],
            "reference": "resemblyzer 0.1.4 wav_to_mel_spectrogram (librosa 0.11) and VoiceEncoder.forward",
        },
        "dataCard": (
            "Pretrained by Resemble AI (GE2E speaker verification; the training data is not stated in the wheel). "
            "Not retrained here. Evaluated (takeover_eval.py) on real and synthetic speech of ../shared/train "
            "(voice-tts, voice-vc) plus Debian's Asterisk prompts (Allison Smith) and pocketsphinx LibriVox clips: "
            f"TUNE {tk['splits']['tune']['identities']} / TEST {tk['splits']['test']['identities']} identities, "
            "split by speaker, no speaker on both sides; English mostly, some German, Chinese, others."),
        "training": {
            "command": ("bash detectors/training/speaker/setup.sh && "
                        "detectors/training/.venv/bin/python detectors/training/speaker/export.py && "
                        "detectors/training/.venv/bin/python detectors/training/speaker/quantize.py && "
                        "detectors/training/.venv/bin/python detectors/training/speaker/parity.py && "
                        "detectors/training/.venv/bin/python detectors/training/speaker/takeover_eval.py && "
                        "detectors/training/.venv/bin/python detectors/training/speaker/declared_eval.py && "
                        "detectors/training/.venv/bin/python detectors/training/speaker/declared_eval.py --profile-model "
                        "detectors/training/.cache/speaker/model-fp32.onnx --out "
                        "eval-results/speaker/declared-from-1.0.0.json && "
                        "detectors/training/.venv/bin/python detectors/training/speaker/write_manifest.py"),
            "seconds": round(parity["seconds"] + tk["seconds"] + dc["seconds"], 1),
            "metrics": metrics,
        },
        "budget": {"gmacPerSecondAudio": round(MACS_PER_WINDOW / 1e9 / (C.HOP / C.SR), 4)},
        "verdict": {"weight": 0, "basis": "not a pFake detector: its embeddings feed the voice-continuity check (pipeline/verdict/SpeakerContinuity.ts, reason takeover:voice), never the fused pFake"},
    }
    out = Path(args.out)
    out.write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"write_manifest.py: {out} (sha256 {sha}, {len(onnx_bytes)} bytes)")


if __name__ == "__main__":
    main()

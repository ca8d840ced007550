#!/usr/bin/env python3
"""Writes detectors/models/<id>/manifest.json for a converted face model.

Usage: write_manifest.py <id> <model.onnx> <verify.json> <convert command>
The sha256, the input/output specs (read back from the ONNX graph) and the verification
result (max relative difference against TFJS) are filled in; the rest is per model below.
"""
import hashlib
import json
import sys

import onnx

SRC = "@vladmandic/human models/"
# What @vladmandic/human feeds its PAD models, and what the service feeds them instead.
PAD_CROP = (
    "model expects (as @vladmandic/human feeds it): the BlazeFace box enlarged 1.4x, squared, not rotated, "
    "cut and resized bilinearly to 192x192 (its mesh input), then resized bilinearly to the model size; "
    "value = pixel / 255 in [0, 1], RGB. The service feeds its 256x256 aligned face crop instead "
    "(eyes level, side 1.3 x max(box w, h)), resized bilinearly by the inference worker; "
    "detectors/eval/padCrops.ts measures both crops on the same faces"
)
PAD_CALIBRATION = {
    "method": "logistic", "a": 1.0, "b": 0.0,
    "fittedOn": "not fitted (no offline presentation-attack data): identity mapping, pFake = sigmoid(fake_logit) = 1 - P(real) of the original model",
}
PER_MODEL = {
    "face-detect": {
        "version": "0.1.0",
        "task": "face-detect",
        "image": {
            "width": 256, "height": 256, "layout": "NHWC", "channels": "RGB",
            "scale": 1 / 127.5, "mean": [127.5, 127.5, 127.5], "std": [1, 1, 1],
            "crop": "whole frame letterboxed to a square (black padding, centred), resized bilinearly to 256x256; value = (pixel - 127.5) / 127.5 in [-1, 1]",
        },
        "output": {
            "meaning": "SSD head, MediaPipe BlazeFace (back/full model): cls16 [batch,512,1] and cls8 [batch,384,1] are score logits for 16x16x2 and 8x8x6 anchors (centres at (i+0.5)*stride, stride 16 and 32 in 256-pixel input units); reg16/reg8 [batch,n,16] are dx, dy, w, h of the box then 6 keypoints (x, y) as offsets from the anchor centre, in input pixels. Keypoints: right eye, left eye, nose tip, mouth, right ear tragion, left ear tragion (subject's right = image left)."
        },
        "license": "Apache-2.0 (MediaPipe BlazeFace weights, Google); TFJS packaging by @vladmandic/human under MIT",
        "dataCard": "Upstream: MediaPipe BlazeFace face detector (Bazarevsky et al. 2019, 'BlazeFace: Sub-millisecond Neural Face Detection on Mobile GPUs'); trained by Google on a proprietary set of about 66k images of faces (model card: geographically diverse, evaluated for fairness across skin tones and genders). This is the 256x256 'back camera' variant that targets smaller and farther faces. Converted here from the TFJS graph model shipped in npm @vladmandic/human; no retraining. Known gaps: faces under about 20 px in the 256 input (about 50 px in a 640-wide frame) and strong profile views are missed.",
        "source": SRC + "blazeface.json",
    },
    "face-landmarks": {
        "version": "0.1.0",
        "task": "face-landmarks",
        "image": {
            "width": 192, "height": 192, "layout": "NHWC", "channels": "RGB",
            "scale": 1 / 255, "mean": [0, 0, 0], "std": [1, 1, 1],
            "crop": "square box centred on the detector box, side 1.5 x max(w, h), rotated so the detector's eye keypoints are level, resized bilinearly to 192x192; value = pixel / 255 in [0, 1]",
        },
        "output": {
            "meaning": "mesh [batch,1404]: 468 landmarks (x, y, z) in crop pixels (x, y in 0..192; z relative depth in the same units, negative towards the camera), MediaPipe canonical face-mesh topology. faceflag [batch,1]: probability (already sigmoid) that the crop holds a face. contours [batch,266]: 133 (x, y) contour points (unused here)."
        },
        "license": "Apache-2.0 (MediaPipe Face Mesh weights, Google); TFJS packaging by @vladmandic/human under MIT",
        "dataCard": "Upstream: MediaPipe Face Mesh (Kartynnik et al. 2019, 'Real-time Facial Surface Geometry from Monocular Video on Mobile GPUs'); trained by Google on about 30k in-the-wild mobile-camera photos with manual 2D landmarks plus synthetic renderings for the 3D mesh (model card lists evaluation across 17 geographical subregions). Weights stored as float16 upstream, up-cast to float32 here; no retraining. Known gaps: crops must come from a detector (the model assumes a roughly centred, upright face); extreme yaw beyond about 60 degrees degrades.",
        "source": SRC + "facemesh.json",
    },
    "face-antispoof": {
        "version": "0.1.0",
        "task": "face-pad",
        "image": {
            "width": 128, "height": 128, "layout": "NHWC", "channels": "RGB",
            "scale": 1 / 255, "mean": [0, 0, 0], "std": [1, 1, 1],
            "crop": PAD_CROP,
        },
        "output": {
            "meaning": "fake_logit [batch,1]: logit of 'not real', higher = more likely a spoof; sigmoid(fake_logit) = 1 - real exactly (it is the negated pre-sigmoid value of the original model, added by detectors/convert/add_fake_logit.py). real [batch,1]: the original model's sigmoid output, which @vladmandic/human reports as face.real ('checks if input is realistic, e.g. computer generated faces', its faceid demo accepts real >= 0.6)."
        },
        "calibration": PAD_CALIBRATION,
        "license": "MIT (@vladmandic/human, which ships the TFJS model); upstream training code: the Kaggle notebook named below, license not stated in the package",
        "dataCard": "Upstream: a small Keras CNN (4 conv blocks + 2 dense layers, about 0.2 M parameters, 128x128 RGB input, sigmoid output). The TFJS model.json says generatedBy 'https://www.kaggle.com/anku420/fake-face-detection' and convertedBy vladmandic; @vladmandic/human's faceid demo README says it 'checks if input is realistic (e.g. computer generated faces)', is 'trained on low-resolution inputs' and is meant as 'a quick check when used together with other indicators'. Weights stored as float16 upstream (0.85 MB), up-cast to float32 here (1.7 MB). The training data is not documented in the package (the notebook's name suggests a Kaggle real-vs-fake face image set; unverified). No held-out numbers are published. Converted here from TFJS without retraining. Known gaps: unknown training population and capture conditions; not trained on replay or print attacks through a webcam that we know of; not trained on face swaps or reenactment; scores on our aligned crops were measured, not validated (see docs/models.md).",
        "source": SRC + "antispoof.json",
    },
    "face-liveness": {
        "version": "0.1.0",
        "task": "face-pad",
        "image": {
            "width": 32, "height": 32, "layout": "NHWC", "channels": "RGB",
            "scale": 1 / 255, "mean": [0, 0, 0], "std": [1, 1, 1],
            "crop": PAD_CROP,
        },
        "output": {
            "meaning": "fake_logit [batch,1]: logit of 'not live', higher = more likely a spoof; sigmoid(fake_logit) = 1 - probs[:, 0] exactly (difference of the two pre-softmax values, added by detectors/convert/add_fake_logit.py). probs [batch,2]: the original softmax; @vladmandic/human reports probs[0] as face.live ('checks if input has obvious artifacts due to recording, e.g. playing back phone recording of a face'), so column 0 is taken to mean live."
        },
        "calibration": PAD_CALIBRATION,
        "license": "MIT (@vladmandic/human, which ships the TFJS model); upstream training code: github.com/leokwu/livenessnet, license not stated in the package",
        "dataCard": "Upstream: 'LivenessNet', a tiny Keras CNN (2 conv blocks with batch norm + dense, 32x32 RGB input, 2-way softmax). The TFJS model.json says generatedBy 'https://github.com/leokwu/livenessnet' and convertedBy vladmandic; @vladmandic/human's faceid demo README says it 'checks if input has obvious artifacts due to recording (e.g. playing back phone recording of a face)' and is 'trained on low-resolution inputs'. The training data is not documented in the package (unknown; the LivenessNet recipe it is named after trains on a few minutes of one person's own real and phone-replayed selfie video). No held-out numbers are published. Converted here from TFJS without retraining. Known gaps: unknown and very likely tiny training population; 32x32 input sees only coarse texture and colour; not trained on face swaps; scores on our aligned crops were measured, not validated (see docs/models.md).",
        "source": SRC + "liveness.json",
    },
    "face-embed": {
        "version": "0.1.0",
        "task": "face-embed",
        "image": {
            "width": 224, "height": 224, "layout": "NHWC", "channels": "RGB",
            "scale": 1, "mean": [0, 0, 0], "std": [1, 1, 1],
            "crop": "the service's 256x256 aligned face crop (eyes level, side 1.3 x max(box w, h)) resized bilinearly to 224x224; value = pixel in [0, 255] (@vladmandic/human feeds its face crop in [0, 1] times 255)",
        },
        "output": {
            "meaning": "descriptor [batch,1024]: the global-average-pooled features of the description network, which @vladmandic/human returns as face.embedding for face matching. Compare L2-normalised descriptors by dot product (cosine): same identity high, different identities low (docs/continuity.md measures both on real talking-face clips)."
        },
        "license": "MIT (@vladmandic/human, which ships and trained or converted the TFJS model); upstream architecture MobileNet v1",
        "dataCard": "Upstream: @vladmandic/human's 'faceres' description model (MobileNet v1 backbone, 224x224 RGB, heads for age, gender and a 1024-d descriptor; about 3.5 M parameters stored as float16). The package's docs say it was trained by its author for face description and matching; the training data is not documented in the package. Converted here from TFJS without retraining; weights stay float16 in the file (cast to float32 at load, exactly the same values). Known gaps: unknown training population; profiles, heavy occlusion and low light degrade the descriptor; a face swap of the same target identity keeps the descriptor, by design (continuity catches a change of person, not a forgery of the same one).",
        "source": SRC + "faceres.json",
    },
}


def face_takeover(eval_path: str, manifest_path: str):
    """The face-continuity rule chosen by detectors/eval/faceContinuity.ts (K, M, T) when it has run here,
    else the one the committed manifest carries (eval-results/ is not committed)."""
    try:
        chosen = json.load(open(eval_path))["chosen"]
        return {"K": int(chosen["K"]), "M": int(chosen["M"]), "T": float(chosen["T"])}
    except (OSError, KeyError, ValueError):
        pass
    try:
        return json.load(open(manifest_path)).get("takeover")
    except (OSError, ValueError):
        return None


def specs(values):
    out = []
    for v in values:
        dims = []
        for d in v.type.tensor_type.shape.dim:
            dims.append(d.dim_value if d.HasField("dim_value") else (d.dim_param or "dim"))
        out.append({"name": v.name, "dtype": "float32", "shape": dims})
    return out


def main():
    model_id, onnx_path, verify_path, command = sys.argv[1:5]
    data = open(onnx_path, "rb").read()
    model = onnx.load_from_string(data)
    verify = json.load(open(verify_path))
    per = dict(PER_MODEL[model_id])
    source = per.pop("source")
    max_rel = max(r["rel"] for r in verify["results"])
    manifest_task = per["task"]
    if manifest_task == "face-embed":
        takeover = face_takeover("eval-results/face/continuity.json", "detectors/models/face-embed/manifest.json")
        if takeover:
            per["takeover"] = takeover
    manifest = {
        "schemaVersion": 1,
        "id": model_id,
        "version": per.pop("version"),
        "task": per.pop("task"),
        "file": "model.onnx",
        "sha256": hashlib.sha256(data).hexdigest(),
        "inputs": specs(model.graph.input),
        "outputs": specs(model.graph.output),
        **per,
        "calibration": per.pop("calibration", {"method": "logistic", "a": 1.0, "b": 0.0,
                                               "fittedOn": "not applicable: outputs are geometry and detector scores, used as documented in output.meaning"}),
        "training": {"command": command, "seconds": 0,
                     "metrics": {"tfjsMaxRelDiff": max_rel, "tfjsCases": len(verify["results"])}},
        "conversion": {"from": source, "converter": "detectors/convert/tfjs_to_onnx.py",
                       "verifiedAgainst": "TFJS 4.22 CPU backend (bundle in @vladmandic/human) on 3 synthetic inputs, max |diff| / max(1, max |ref|)"
                       + ("; fake_logit added after verification by detectors/convert/add_fake_logit.py (sigmoid(fake_logit) = 1 - P(real) checked to 1e-5)" if manifest_task == "face-pad" else "")},
    }
    print(json.dumps(manifest, indent=2))


if __name__ == "__main__":
    main()

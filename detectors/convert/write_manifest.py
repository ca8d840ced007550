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
}


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
        "calibration": {"method": "logistic", "a": 1.0, "b": 0.0,
                        "fittedOn": "not applicable: outputs are geometry and detector scores, used as documented in output.meaning"},
        "training": {"command": command, "seconds": 0,
                     "metrics": {"tfjsMaxRelDiff": max_rel, "tfjsCases": len(verify["results"])}},
        "conversion": {"from": source, "converter": "detectors/convert/tfjs_to_onnx.py",
                       "verifiedAgainst": "TFJS 4.22 CPU backend (bundle in @vladmandic/human) on 3 synthetic inputs, max |diff| / max(1, max |ref|)"},
    }
    print(json.dumps(manifest, indent=2))


if __name__ == "__main__":
    main()

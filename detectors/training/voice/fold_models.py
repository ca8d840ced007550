"""Publishes the cross-validation fold models for measurements on held-out speakers.

For the chosen architecture and step count (DIR/cv/report.json), writes OUT/<id>-fold<k>/{model.onnx,manifest.json}
(the shipped manifest with that id, this file's hash and version "<version>-fold<k>") and OUT/bonafide-speakers.tsv: every
bona fide clip with its speaker (page-qualified, so one corpus on two pages counts as two speakers) and the index
of the fold model that never saw its page, and OUT/spoof-calls.tsv: every spoof clip as a "speaker" named
"<generator> / <target speaker>@<page>" (one generator speaking one target: one fraud call) with the same fold index.
`detectors/eval/drift.ts` reads those lists (`--label spoof` for the second; `--lists-only` writes only the lists).
`--own-calibration`: the fold models carry the calibrations DIR/cv/report.json chose for this run (wideband, telephone,
suppressed: what `train.py final` writes), not the template's: for fold models of a CV run other than the one behind
--shipped (run.sh passes the manifest it has just written, so there the two agree):

  python detectors/training/voice/fold_models.py --data DIR --shipped detectors/models/voice-antispoof \
      --manifests ../shared/train/voice-tts ../shared/train/voice-vc --out /tmp/folds
  node --import tsx detectors/eval/drift.ts /tmp/folds/bonafide-speakers.tsv --model /tmp/folds/voice-antispoof-fold0 ... --model /tmp/folds/voice-antispoof-fold4
  node --import tsx detectors/eval/drift.ts /tmp/folds/spoof-calls.tsv --label spoof --model ... (the same folds)
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil


def own_calibration(template: dict, chosen: dict) -> dict:
    """The template's `calibration` with the report's chosen (a, b) per channel family, as `train.py final` writes
    them: `wideband` at the top level, `telephone` and `suppressed` (where the report has it) as entries."""
    cal = json.loads(json.dumps(template))
    cal["a"], cal["b"] = (float(x) for x in chosen["wideband"])
    for family in ("telephone", "suppressed"):
        if family in chosen and chosen[family]:
            a, b = (float(x) for x in chosen[family])
            cal[family] = {**cal.get(family, {}), "a": a, "b": b}
        else:
            cal.pop(family, None)
    return cal


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--shipped", required=True, help="folder of the shipped model (its manifest is the template)")
    ap.add_argument("--manifests", nargs="+", required=True, help="the manifest folders build_data.py read")
    ap.add_argument("--out", required=True)
    ap.add_argument("--lists-only", action="store_true", help="write only the two TSV lists, not the fold models")
    ap.add_argument("--own-calibration", action="store_true",
                    help="the calibrations of DIR/cv/report.json's chosen run instead of --shipped's")
    args = ap.parse_args()
    rep = json.load(open(os.path.join(args.data, "cv", "report.json")))
    arch, step = rep["chosen"]["arch"], int(rep["chosen"]["steps"])
    meta = json.load(open(os.path.join(args.data, "clips.json")))
    template = json.load(open(os.path.join(args.shipped, "manifest.json")))
    os.makedirs(args.out, exist_ok=True)
    for k in range(0 if args.lists_only else int(meta["folds"])):
        d = os.path.join(args.out, f"{template['id']}-fold{k}")  # the registry wants id == folder name
        os.makedirs(d, exist_ok=True)
        src = os.path.join(args.data, "cv", arch, f"fold{k}-step{step}.onnx")
        shutil.copyfile(src, os.path.join(d, "model.onnx"))
        m = dict(template)
        m["id"] = os.path.basename(d)
        m["version"] = f"{template['version']}-fold{k}"
        m["sha256"] = hashlib.sha256(open(src, "rb").read()).hexdigest()
        m["dataCard"] = f"cross-validation fold model {k}: trained without the pages of fold {k}. " + template["dataCard"]
        if args.own_calibration:
            m["calibration"] = own_calibration(template["calibration"], rep["chosen"]["calibration"])
        json.dump(m, open(os.path.join(d, "manifest.json"), "w"), indent=2)
    page_dir = {}
    for md in args.manifests:
        for name in os.listdir(md):
            if os.path.isdir(os.path.join(md, name)):
                page_dir[name] = md
    lists = {0: ("bonafide", "bonafide-speakers.tsv"), 1: ("spoof", "spoof-calls.tsv")}
    for label, (name, file) in lists.items():
        rows = ["path\tlabel\tspeaker\tmodel"]
        for c in meta["clips"]:
            if c["label"] != label:
                continue
            spk = c["speaker"] if c["speaker"] not in ("", "-") else c["path"]
            if label == 1:
                spk = f"{c['generator']} / {spk}"
            rows.append(f"{os.path.abspath(os.path.join(page_dir[c['page']], c['path']))}\t{name}\t{spk}@{c['group']}\t{c['fold']}")
        with open(os.path.join(args.out, file), "w") as f:
            f.write("\n".join(rows) + "\n")
        print(f"{len(rows) - 1} {name} clips listed in {os.path.join(args.out, file)}")
    if not args.lists_only:
        print(f"fold models for {arch} at {step} steps written to {args.out}")


if __name__ == "__main__":
    main()

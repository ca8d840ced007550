"""SIP legs judged wideband (G.722, and Opus from a gateway): do the shipped wideband weights keep real callers on
such a leg out of `suspicious`, and if not, which pair of their own?

The service judges a G.722 leg and a gateway's Opus leg as wideband audio (wideband calibration) and never as a
noise-suppressed sender (a SIP leg never says whether its far end suppressed noise); their windows carry a mark
(`quality.codec` 'g722' or 'sip-opus') that puts them in a leg family of their own. This script puts the held-out
calls of `choose_weight.py` through the leg's channel (`--leg g722`: the service's own G.722 codec, channel.ts
`g722`; `--leg sip-opus`: Opus 24 kb/s, channel `opus24`, the browser passes' channel) and applies the rule fixed in
the voice recipe README ("Decision: G.722 (HD-voice) SIP legs", "Decision: a family of their own for Opus SIP legs"):

  - the 169 single-person genuine calls as they are, and behind a sender's noise suppressor (channel.py ns-list at
    --suppressed), both judged wideband, with the speaker model's takeover rule in every verdict;
  - the held-out spoof calls, for what the pair catches on such a leg;
  - with `--volte` (G.722 only): the same genuine calls as VoLTE callers on the G.722 trunk (channel.ts `amrwbg722`:
    AMR-WB 12.65 kb/s, then G.722), as they are and behind the suppressor, two more genuine passes that the pair must
    keep under --max-share too (README: "Check: VoLTE callers (AMR-WB) on G.722 and G.711 legs").

If both genuine passes stay under --max-share at the shipped pair (both manifests' `verdict.weight`), the legs keep
it ("keep"); otherwise the pair rule (choose_weight.best_pair: most spoof calls flagged among the pairs keeping every
genuine pass under --max-share; ties: larger first weight, then larger stage weight) over these passes names the pair
they would need ("own pair"). Also per pass: the call-level AUROC and EER of the mean window pFake (genuine calls as
is against spoof calls). The result goes to --out; with --write the outcome also goes into both manifests (--model,
--stage): `verdict.weightG722` / `verdict.weightSipOpus` = the pair rule's pair ("own pair") or no such weight at all
("keep"), and a sentence on these legs at the end of `verdict.basis` (an earlier one replaced). run.sh runs it so
after choose_weight.py, which rewrites `verdict` whole and so drops older leg weights.

  python detectors/training/voice/sip_legs.py --leg g722 --work /tmp/tw/work --folds /tmp/tw/work/folds \
      --stage-folds /tmp/tw/work/stage-folds --speaker-embed detectors/models/speaker-embed \
      --out docs/results/g722-legs.json [--reuse-sweeps] [--write]

WORK, the fold models and their lists are those of a `choose_weight.py --pair` run (`--folds`, `whisper_stage.py
folds`); the passes land in WORK/sweeps/<list>-<label>[-g722]/ (choose_weight.sweep_name; through Opus 24 the genuine
pass as is and the spoof pass are choose_weight.py's own) and `--reuse-sweeps` reads back a stored one whose command
is the same. Nothing from ../shared/eval/ is read.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))  # common/
from choose_weight import (REPO, best_pair, pair_grids, pair_sweep, recipe_cap, single_person_list,  # noqa: E402
                           sweep_name)
from common.metrics import auroc, eer  # noqa: E402

# per leg: the drift.ts channel, the manifest's weight key, what --write appends to verdict.basis (and strips from
# it first, so a rerun replaces its own sentence), and the leg's name in prose
LEGS = {
    "g722": {"channel": "g722", "volte": "amrwbg722", "key": "weightG722", "mark": "; on G.722 legs",
             "name": "G.722 SIP callers",
             "through": "G.722 64 kb/s",
             "describe": "g722 (detectors/eval/channel.ts: Resampler -> 16 kHz -> the service's G.722 64 kb/s codec)"},
    "sip-opus": {"channel": "opus24", "key": "weightSipOpus", "mark": "; on Opus SIP legs",
                 "name": "Opus SIP callers", "through": "Opus 24 kb/s",
                 "describe": "opus24 (detectors/eval/channel.ts: libopus 24 kb/s, 20 ms frames, the service's "
                             "OpusDecoder and Resampler)"},
}


def write_outcome(path: str, leg: str, weight: float | None, sentence: str) -> None:
    """Sets (a float) or removes (None) the leg's weight (`verdict.weightG722`, `verdict.weightSipOpus`) in the
    manifest at `path` and puts `sentence` (which starts with the leg's mark) in its basis, replacing an earlier one
    and keeping the other leg's sentence."""
    spec = LEGS[leg]
    m = json.load(open(path))
    v = {k: x for k, x in m["verdict"].items() if k != "basis"}  # an existing weight keeps its place
    if weight is None:
        v.pop(spec["key"], None)
    else:
        v[spec["key"]] = weight
    basis = m["verdict"]["basis"]
    parts = {}  # the basis split at the legs' marks: {mark or "": text}
    marks = sorted((basis.find(x["mark"]), x["mark"]) for x in LEGS.values() if x["mark"] in basis)
    cut = [0] + [i for i, _ in marks] + [len(basis)]
    parts[""] = basis[:cut[1]]
    for (i, mark), end in zip(marks, cut[2:]):
        parts[mark] = basis[i:end]
    parts[spec["mark"]] = sentence
    v["basis"] = parts.pop("") + "".join(parts[x["mark"]] for x in LEGS.values() if x["mark"] in parts)
    m["verdict"] = v
    with open(path, "w") as f:
        json.dump(m, f, indent=2)
        f.write("\n")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--leg", required=True, choices=tuple(LEGS), help="which SIP legs: G.722 or a gateway's Opus")
    ap.add_argument("--work", required=True, help="a choose_weight.py --pair WORK folder")
    ap.add_argument("--folds", required=True, help="fold models and their lists (fold_models.py --out)")
    ap.add_argument("--stage-folds", required=True, help="the stage's fold models (whisper_stage.py folds --out)")
    ap.add_argument("--model", default=os.path.join(REPO, "detectors", "models", "voice-antispoof"),
                    help="the shipped first stage: its verdict.weight is the pair's first weight")
    ap.add_argument("--stage", default=os.path.join(REPO, "detectors", "models", "voice-whisper"),
                    help="the shipped cascade stage: its verdict.weight is the pair's second weight")
    ap.add_argument("--speaker-embed", default="", help="the speaker model whose takeover rule joins genuine verdicts")
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--max-share", type=float, default=0.02)
    ap.add_argument("--suppressed", type=int, default=2, choices=(1, 2, 3))
    ap.add_argument("--fusion", default="per-detector", choices=("pooled", "per-detector"))
    ap.add_argument("--reuse-sweeps", action="store_true")
    ap.add_argument("--volte", action="store_true",
                    help="G.722 legs: two more genuine passes, the speakers as VoLTE callers (AMR-WB 12.65 kb/s, then "
                         "G.722) as is and behind the suppressor")
    ap.add_argument("--out", required=True, help="the result's JSON file")
    ap.add_argument("--write", action="store_true",
                    help="write the outcome into both manifests (the leg's weight and a sentence of the basis)")
    args = ap.parse_args()
    spec = LEGS[args.leg]
    if args.volte and "volte" not in spec:
        ap.error(f"--volte is for G.722 legs, not {args.leg}")
    from channel import ns_list  # this script's folder is on sys.path

    if args.speaker_embed and os.path.isdir(args.speaker_embed):
        args.speaker_embed = os.path.abspath(args.speaker_embed)
    folds_dir = os.path.abspath(args.folds)
    folds = len([d for d in os.listdir(folds_dir) if d.startswith("voice-antispoof-fold")])
    first_m = json.load(open(os.path.join(args.model, "manifest.json")))
    stage_m = json.load(open(os.path.join(args.stage, "manifest.json")))
    shipped = (float(first_m["verdict"]["weight"]), float(stage_m["verdict"]["weight"]))
    # the grids choose_weight.py --pair searched (each up to its recipe's cap), so the pair rule can name another,
    # and the shipped weights (off the grids when choose_weight.py found no pair and wrote 0 / 0)
    default1, default2 = pair_grids(recipe_cap(first_m), recipe_cap(stage_m))
    grid1, grid2 = sorted(set(default1) | {shipped[0]}), sorted(set(default2) | {shipped[1]})
    bona = os.path.join(folds_dir, "bonafide-speakers.tsv")
    dropped = 0
    if args.speaker_embed:
        bona, dropped = single_person_list(bona, os.path.join(args.work, "single-person"))
    ns_bona = ns_list(bona, os.path.join(args.work, f"suppressed-ns{args.suppressed}"), args.suppressed)
    # (name, list, label, channel): judged wideband, never as a suppressed sender (a SIP leg never says); the genuine
    # passes first, the spoof pass last
    passes = [("genuine", bona, "bonafide", spec["channel"]), ("genuineSuppressed", ns_bona, "bonafide", spec["channel"])]
    if args.volte:
        passes += [("genuineVolte", bona, "bonafide", spec["volte"]),
                   ("genuineVolteSuppressed", ns_bona, "bonafide", spec["volte"])]
    passes.append(("spoof", os.path.join(folds_dir, "spoof-calls.tsv"), "spoof", spec["channel"]))
    with ThreadPoolExecutor(max_workers=2) as pool:
        jobs = [pool.submit(pair_sweep, args.work, folds_dir, args.stage_folds, lst, label, grid1, grid2, folds,
                            channel,
                            args.seconds, args.fusion, False, args.speaker_embed if label == "bonafide" else "",
                            args.reuse_sweeps)
                for _, lst, label, channel in passes]
        results = [j.result() for j in jobs]
    genuine, (spoof, n_spoof) = results[:-1], results[-1]
    n = genuine[0][1]
    at = {name: counts[shipped] for (name, _, _, _), (counts, _) in zip(passes, results)}
    # the leg's own pair as the manifests carry it now (verdict.weightG722 / weightSipOpus), where both do and the
    # grids hold it: what a rerun with more passes (--volte) asks of the pair in use
    leg_pair = (first_m["verdict"].get(spec["key"]), stage_m["verdict"].get(spec["key"]))
    at_leg = ({name: counts.get((float(leg_pair[0]), float(leg_pair[1])))
               for (name, _, _, _), (counts, _) in zip(passes, results)}
              if None not in leg_pair else None)
    keep = all(counts[shipped] / calls < args.max_share for counts, calls in genuine)
    own, table = best_pair(genuine, spoof, args.max_share)
    # call-level separation: the mean window pFake (before the verdict weight) of each call, from the passes' reports
    reports = {}
    for name, lst, label, channel in passes:
        stored = json.load(open(os.path.join(args.work, "sweeps", sweep_name(lst, label, False, channel),
                                             "command.json")))
        reports[name] = json.load(open(stored["report"]))

    def means(name: str, key: str) -> list[float]:
        return [float(s[key]) for s in reports[name]["speakers"] if s.get(key) is not None]

    separation = {}  # only where both sides have scored calls
    for key, stage in (("meanWindowPFake", "voice-antispoof"), ("meanStagePFake", "voice-whisper")):
        for g in [name for name, *_ in passes[:-1]]:
            real, fake = means(g, key), means("spoof", key)
            if real and fake:
                labels = np.r_[np.zeros(len(real)), np.ones(len(fake))]
                separation[f"{stage}:{g}"] = {"auroc": round(auroc(labels, np.r_[real, fake]), 4),
                                              "eer": round(eer(np.array(real), np.array(fake)), 4)}
    # the genuine passes' names in the tables' prose, in pass order
    passes_text = "as is/suppressed/" + ("VoLTE as is/VoLTE suppressed/" if args.volte else "")
    result = {
        "question": f"{spec['name']} judged wideband: at the shipped wideband pair, what share of held-out genuine "
                    f"speakers' {args.seconds} s calls become suspicious (as is; behind a sender's noise suppressor, "
                    "judged wideband" + ("; both again as VoLTE callers, AMR-WB 12.65 kb/s before the trunk" if args.volte
                                         else "") + "), and how many held-out spoof calls are flagged",
        "leg": args.leg,
        "channel": spec["describe"],
        "passes": {name: {"list": os.path.abspath(lst), "label": label, "channel": channel}
                   for name, lst, label, channel in passes},
        "shippedPair": list(shipped),
        "calls": {"genuine": n, "spoof": n_spoof, "leftOutSeveralPeople": dropped},
        "atShippedPair": at,
        "legPair": None if at_leg is None else [float(leg_pair[0]), float(leg_pair[1])],
        "atLegPair": at_leg,
        "maxShare": args.max_share,
        "decision": "keep" if keep else "own pair",
        "pairRule": {"pair": list(own),
                     "table": f"first/stage weight: genuine suspicious {passes_text}spoof calls flagged: {table}"},
        "callSeparation": separation,
        "command": "python detectors/training/voice/sip_legs.py " + " ".join(sys.argv[1:]),
    }
    if args.write:
        over = (f"the same {n} speakers through {spec['through']} as is and behind the suppressor"
                + (", and so as VoLTE callers (AMR-WB 12.65 kb/s first)" if args.volte else "")
                + " (judged wideband: a SIP leg never says)")
        outcome = (f"the wideband pair {shipped[0]:g}/{shipped[1]:g} kept, as it keeps under {args.max_share:.0%} of "
                   f"{over} out of suspicious" if keep else
                   f"the pair {own[0]:g}/{own[1]:g} (verdict.{spec['key']}), the wideband pair making too many of "
                   f"{over} suspicious; chosen the same way, the most of the {n_spoof} spoof calls through "
                   f"{spec['through']} flagged")
        sentence = (f"{spec['mark']} ({spec['name']}, wideband calibration; sip_legs.py) {outcome}; genuine "
                    f"suspicious {passes_text}spoof calls flagged: {table}")
        for path, w in ((os.path.join(args.model, "manifest.json"), own[0]),
                        (os.path.join(args.stage, "manifest.json"), own[1])):
            write_outcome(path, args.leg, None if keep else w, sentence)
        result["written"] = [os.path.relpath(os.path.abspath(d), REPO) for d in (args.model, args.stage)]
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    print(json.dumps({k: result[k] for k in ("atShippedPair", "atLegPair", "decision", "pairRule", "callSeparation")},
                     indent=1))


if __name__ == "__main__":
    main()

"""The default weak-evidence challenge threshold (the service's DFD_CHALLENGE_LEAN_P) from held-out calls.

A participant whose verdict is `likely-genuine` with a fused pFake at or above L is challenged once per call
(challenge-response/ChallengeService.ts). This script measures, for L on drift.ts's LEAN_GRID (0.50-0.59), how many
calls an automatic challenge would reach (ever `suspicious`, or `likely-genuine` at pFake >= L), with the fold
models that never saw each call's page, at the given verdict weights, through three drift.ts passes: the held-out
genuine speakers as they are, the same speakers behind a sender's noise suppressor, and the held-out spoof calls.
The rule (README "Decision: a weak-evidence challenge threshold", fixed before the runs): the smallest L at which at
most --max-share of the genuine speakers are challenged in both genuine passes; none: 1 (off). Nothing from
../shared/eval/ is read.

  python detectors/training/voice/lean_threshold.py --folds WORK/folds --stage-folds WORK/stage-folds \
      --weights 0.25,0.1 [--suppressed-list WORK/suppressed-ns2/bonafide-speakers.tsv] [--work /tmp/dfd-lean]

(WORK: run.sh's, where choose_weight.py --pair left the fold models, their lists and the suppressed list.)
Prints one JSON object (and writes it to WORK/lean-threshold.json). `--channel g711` measures phone legs instead
(DFD_CHALLENGE_LEAN_P_TELEPHONE, README "Decision: a weak-evidence threshold for phone legs"): G.711 judged with
the telephone calibration, as the service judges SIP and Twilio legs, and the suppressed pass is the same speakers
behind the suppressor (a handset's stand-in), then G.711, judged as a phone leg that does not say so
(WORK/lean-threshold-g711.json). `--channel g722` measures G.722 SIP legs (judged wideband, the suppressed pass
too: a SIP leg never says; WORK/lean-threshold-g722.json). `--undeclared` judges the suppressed pass of a wideband
channel the same way: a gateway's Opus leg (`--channel opus24 --undeclared`, README "Decision: a family of their own
for Opus SIP legs"; WORK/lean-threshold-undeclared.json). With `--phone-amr` (how the phone threshold is chosen
since the mobile-callers decision) the same speakers also go through AMR-NB 12.2 kb/s then G.711, as is and behind
the suppressor, and the rule holds over all four genuine passes.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor

from choose_weight import run_drift  # this script's folder is on sys.path

HERE = os.path.dirname(os.path.abspath(__file__))


def weighted_copies(src: str, dst: str, prefix: str, weight: float) -> list[str]:
    """Copies every `<prefix>-fold<k>` model folder of src into dst with verdict weight `weight`; their paths."""
    out = []
    names = sorted(n for n in os.listdir(src) if n.startswith(prefix + "-fold"))
    if not names:
        raise SystemExit(f"lean_threshold: no {prefix}-fold<k> models in {src}")
    for n in names:
        d = os.path.join(dst, n)
        shutil.rmtree(d, ignore_errors=True)
        shutil.copytree(os.path.join(src, n), d)
        mp = os.path.join(d, "manifest.json")
        m = json.load(open(mp))
        m["verdict"] = {"weight": weight, "basis": "lean_threshold.py: the weight under test"}
        with open(mp, "w") as f:
            json.dump(m, f, indent=2)
        out.append(d)
    return out


def drift(lst: str, label: str, models: list[str], stages: list[str], out: str, channel: str, seconds: int,
          suppressed: bool) -> dict:
    """One drift.ts pass; g711 and amrg711 are judged as a phone leg is (drift.ts marks their windows telephone: the
    verdict takes their narrowband audio, with the manifests' telephone calibration and weight)."""
    args = []
    for m, s in zip(models, stages):
        args += ["--model", m, "--stage2", s]
    rep = run_drift(lst, args, out, "--label", label, "--channel", channel, "--seconds", str(seconds),
                    *(["--suppressed"] if suppressed else []))
    return {"calls": rep["totals"]["speakers"], "suspicious": rep["totals"]["suspicious"],
            "lean": {f"{r['pFake']:.2f}": r["challenged"] for r in rep["lean"]}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--folds", required=True, help="voice-antispoof-fold<k> models + bonafide-speakers.tsv, "
                                                   "spoof-calls.tsv (fold_models.py / choose_weight.py)")
    ap.add_argument("--stage-folds", required=True, help="voice-whisper-fold<k> models (whisper_stage.py folds)")
    ap.add_argument("--weights", required=True, type=lambda v: [float(x) for x in v.split(",")],
                    help="SpecNet's and the stage's verdict weights (the shipped pair)")
    ap.add_argument("--suppressed-list", help="the genuine speakers' list behind the suppressor (channel.py ns-list); "
                                              "default: made here at --suppressed")
    ap.add_argument("--suppressed", type=int, default=2, choices=(1, 2, 3))
    ap.add_argument("--channel", default="opus24")
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--phone-amr", action="store_true",
                    help="--channel g711: two more genuine passes, the speakers through AMR-NB 12.2 kb/s then G.711 (a "
                         "mobile caller) as is and behind the suppressor, held to the same rule")
    ap.add_argument("--undeclared", action="store_true",
                    help="the suppressed pass judged wideband, as a leg that cannot say it suppressed noise (a "
                         "gateway's Opus leg) is judged, not with the suppressed calibration")
    ap.add_argument("--max-share", type=float, default=0.10)
    ap.add_argument("--work", default="/tmp/dfd-lean")
    args = ap.parse_args()
    if len(args.weights) != 2:
        ap.error("--weights takes two values: SpecNet's and the stage's")
    if args.phone_amr and args.channel != "g711":
        ap.error("--phone-amr is for phone legs (--channel g711)")
    os.makedirs(args.work, exist_ok=True)
    models = weighted_copies(args.folds, os.path.join(args.work, "models"), "voice-antispoof", args.weights[0])
    stages = weighted_copies(args.stage_folds, os.path.join(args.work, "models"), "voice-whisper", args.weights[1])
    if len(models) != len(stages):
        raise SystemExit(f"lean_threshold: {len(models)} SpecNet folds but {len(stages)} stage folds")
    bona = os.path.join(args.folds, "bonafide-speakers.tsv")
    ns_bona = args.suppressed_list
    if not ns_bona:
        sys.path.insert(0, HERE)
        from channel import ns_list
        ns_bona = ns_list(bona, os.path.join(args.work, f"suppressed-ns{args.suppressed}"), args.suppressed)
    # A browser says its suppressor is on (the verdict takes the suppressed calibration); a phone leg never does:
    # behind a handset's suppressor it is judged like any G.711 leg. Nor does a G.722 SIP leg or a gateway's Opus leg
    # (--undeclared), judged wideband.
    says = args.channel not in ("g711", "g722") and not args.undeclared
    # (list, label, scored as a suppressed sender, channel)
    passes = {"genuine": (bona, "bonafide", False, args.channel),
              "genuineSuppressed": (ns_bona, "bonafide", says, args.channel)}
    if args.phone_amr:
        passes |= {"genuineAmr": (bona, "bonafide", False, "amrg711"),
                   "genuineAmrSuppressed": (ns_bona, "bonafide", False, "amrg711")}
    passes["spoof"] = (os.path.join(args.folds, "spoof-calls.tsv"), "spoof", False, args.channel)
    with ThreadPoolExecutor(max_workers=2) as pool:
        jobs = {k: pool.submit(drift, lst, label, models, stages, os.path.join(args.work, k), ch,
                               args.seconds, sup) for k, (lst, label, sup, ch) in passes.items()}
        res = {k: j.result() for k, j in jobs.items()}
    grid = list(res["genuine"]["lean"].keys())
    genuine = [p for p in res if p != "spoof"]
    ok = [g for g in grid if all(res[p]["lean"][g] <= args.max_share * res[p]["calls"] for p in genuine)]
    chosen = float(min(ok, key=float)) if ok else 1.0
    out = {
        "rule": f"smallest L with at most {args.max_share:.0%} of the genuine speakers challenged in every genuine "
                f"pass ({', '.join(genuine)}; ever suspicious, or likely-genuine at pFake >= L); none: 1 (off)",
        "weights": {"voice-antispoof": args.weights[0], "voice-whisper": args.weights[1]},
        "channel": args.channel, "suppressedJudged": "suppressed" if says else "as the leg's channel",
        "seconds": args.seconds, "folds": len(models),
        "passes": res,
        "chosen": chosen,
        "spoofChallengedAtChosen": res["spoof"]["lean"].get(f"{chosen:.2f}") if ok else res["spoof"]["suspicious"],
    }
    suffix = ("-" + args.channel if args.channel != "opus24" else "") + ("-undeclared" if args.undeclared else "")
    with open(os.path.join(args.work, f"lean-threshold{suffix}.json"), "w") as f:
        json.dump(out, f, indent=2)
        f.write("\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()

"""Study: the cascade stage (`voice-whisper`) on one speech window in N instead of its manifest's (8).

Rule and result: detectors/training/voice/README.md, "Study: the stage on one window in 2 instead of 1 in 8".

What it does, in one command:
  1. copies the stage's fold models (`whisper_stage.py folds`) into WORK/stage-folds-n<N> with
     `cascade.everyNthWindow` = N (the only change; drift.ts gives the stage the windows the service's CascadeSampler
     would), and both shipped model folders into WORK/models/ (choose_weight.py writes its choice there, never into
     detectors/models/);
  2. runs the recipe's own pair choice over them (`choose_weight.py --pair --speaker-embed ... --folds ...`; with
     `--phase 2` also `--phone-pair --phone-amr`, the stored wideband passes read back with `--reuse-sweeps`), its
     passes in WORK/sweeps/ as always;
  3. applies the same pair rule (choose_weight.best_pair) to the control's stored passes (the shipped choice's WORK,
     every 8th window) and to the study's, per family, and writes both with the rule's outcome to --out.

  python detectors/training/voice/cascade_study.py --every 2 --work /tmp/cs/n2 --control-work /tmp/tw/work \
      --folds /tmp/tw/work/folds --stage-folds /tmp/tw/work/stage-folds --data detectors/training/.cache/voice2ns \
      --manifests ../shared/train/voice-tts ../shared/train/voice-vc --speaker-embed detectors/models/speaker-embed \
      --phase 1 --out docs/results/cascade-every2.json

Nothing from ../shared/eval/ is read.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from choose_weight import REPO, best_pair, sweep_name  # noqa: E402


def _pass(folder: str, label: str, channel: str = "opus24", suppressed: bool = False) -> str:
    """The WORK/sweeps folder choose_weight.py / sip_legs.py give a pass over WORK/<folder>'s list (sweep_name)."""
    return sweep_name(os.path.join(folder, f"{label}.tsv"), label, suppressed, channel)


# each family's passes, genuine first and the spoof calls last: the single-person genuine calls, the same behind the
# suppressor (WORK/suppressed-ns2), the fold models' spoof calls (--folds)
SP, NS, SPOOF = "single-person", "suppressed-ns2", "folds"
FAMILIES = {
    "wideband": [_pass(SP, "bonafide"), _pass(NS, "bonafide", suppressed=True), _pass(SPOOF, "spoof")],
    "phone": [_pass(SP, "bonafide", "g711"), _pass(NS, "bonafide", "g711"), _pass(SP, "bonafide", "amrg711"),
              _pass(NS, "bonafide", "amrg711"), _pass(SPOOF, "spoof", "g711")],
    # sip_legs.py's passes: the suppressed calls judged wideband (a SIP leg never says), G.722 through its codec
    "sip-opus": [_pass(SP, "bonafide"), _pass(NS, "bonafide"), _pass(SPOOF, "spoof")],
    # since 2026-12-07 with the speakers as VoLTE callers too (sip_legs.py --volte: AMR-WB, then G.722)
    "g722": [_pass(SP, "bonafide", "g722"), _pass(NS, "bonafide", "g722"), _pass(SP, "bonafide", "amrwbg722"),
             _pass(NS, "bonafide", "amrwbg722"), _pass(SPOOF, "spoof", "g722")],
}
MIN_GAIN = 15  # the rule: spoof calls the wideband pair at N must flag beyond the control's
MAX_SHARE = 0.02


def read_pass(work: str, name: str) -> tuple[dict[tuple[float, float], int], int, dict]:
    """A stored pass: ({(first, stage) weight: calls suspicious}, calls, what the report says about its stage)."""
    cmd = json.load(open(os.path.join(work, "sweeps", name, "command.json")))
    rep = json.load(open(cmd["report"]))
    counts = {(float(r["weight"]), float(r["stageWeight"])): int(r["suspicious"]) for r in rep["sweep"]}
    return counts, int(rep["totals"]["speakers"]), {
        "everyNthWindow": sorted({s["everyNthWindow"] for s in rep["stage2"]}),
        "firstStageWindows": rep["timing"]["windows"], "stageWindows": rep["timing"]["stageWindows"],
        "wallSeconds": round(rep["timing"]["wallSeconds"])}


def family_choice(work: str, family: str) -> dict | None:
    names = FAMILIES[family]
    if not all(os.path.isfile(os.path.join(work, "sweeps", n, "command.json")) for n in names):
        return None
    passes = [read_pass(work, n) for n in names]
    genuine = [(c, n) for c, n, _ in passes[:-1]]
    spoof, n_spoof, _ = passes[-1]
    pair, _ = best_pair(genuine, spoof, MAX_SHARE)
    return {"pair": list(pair), "spoofFlagged": spoof.get(pair, 0), "spoofCalls": n_spoof,
            "genuineSuspicious": [c.get(pair, 0) for c, _ in genuine], "genuineCalls": [n for _, n in genuine],
            "passes": {nm: info for nm, (_, _, info) in zip(names, passes)},
            # the whole grid, so a reader can see the operating points around the choice
            "grid": {f"{a:g}/{b:g}": [c[(a, b)] for c, _ in genuine] + [spoof[(a, b)]] for a, b in sorted(spoof)}}


def prepare(args: argparse.Namespace) -> tuple[str, str, str]:
    folds = os.path.join(args.work, f"stage-folds-n{args.every}")
    for k in range(args.n_folds):
        src, dst = (os.path.join(d, f"voice-whisper-fold{k}") for d in (args.stage_folds, folds))
        if os.path.isdir(dst):
            shutil.rmtree(dst)
        shutil.copytree(src, dst)
        path = os.path.join(dst, "manifest.json")
        m = json.load(open(path))
        m["cascade"]["everyNthWindow"] = args.every
        with open(path, "w") as f:
            json.dump(m, f, indent=2)
            f.write("\n")
    models = os.path.join(args.work, "models")
    os.makedirs(models, exist_ok=True)
    out = []
    for src in (args.model, args.stage):
        dst = os.path.join(models, os.path.basename(os.path.normpath(src)))
        if not os.path.isdir(dst):
            shutil.copytree(src, dst)
        out.append(dst)
    return folds, out[0], out[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--every", type=int, default=2, help="the stage scores one speech window in N")
    ap.add_argument("--work", required=True, help="a new WORK for this study's passes")
    ap.add_argument("--control-work", required=True, help="the shipped choice's WORK (its stored passes)")
    ap.add_argument("--folds", help="fold models and their lists (fold_models.py --out)")
    ap.add_argument("--stage-folds", help="the stage's fold models (whisper_stage.py folds --out)")
    ap.add_argument("--n-folds", type=int, default=5)
    ap.add_argument("--data", help="the SpecNet cache (its clips.json)")
    ap.add_argument("--manifests", nargs="+")
    ap.add_argument("--model", default=os.path.join(REPO, "detectors", "models", "voice-antispoof"))
    ap.add_argument("--stage", default=os.path.join(REPO, "detectors", "models", "voice-whisper"))
    ap.add_argument("--speaker-embed", help="the speaker model whose takeover rule joins genuine verdicts")
    ap.add_argument("--phase", type=int, choices=(1, 2), default=1)
    ap.add_argument("--compare-only", action="store_true",
                    help="run nothing: apply the rule to the passes stored under --work and --control-work")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    if args.every < 1:
        ap.error("--every is a positive integer")
    missing = [f for f in ("folds", "stage_folds", "data", "manifests", "speaker_embed") if not getattr(args, f)]
    if missing and not args.compare_only:
        ap.error("the passes need --" + ", --".join(m.replace("_", "-") for m in missing))
    stage_folds, model, stage = prepare(args) if not args.compare_only else (
        os.path.join(args.work, f"stage-folds-n{args.every}"), "", "")
    if not args.compare_only:
        cmd = [sys.executable, os.path.join(HERE, "choose_weight.py"), "--data", args.data, "--model", model,
               "--manifests", *args.manifests, "--seconds", "60", "--work", args.work, "--folds", args.folds,
               "--stage", stage, "--stage-folds", stage_folds, "--pair", "--speaker-embed", args.speaker_embed,
               "--reuse-sweeps"]
        if args.phase == 2:
            cmd += ["--phone-pair", "--phone-amr"]
        print("[cascade_study] " + " ".join(cmd), flush=True)
        subprocess.run(cmd, cwd=REPO, check=True)
    result: dict = {"every": args.every, "rule": "detectors/training/voice/README.md, \"Study: the stage on one "
                    "window in 2 instead of 1 in 8\"", "minGain": MIN_GAIN, "maxShare": MAX_SHARE, "families": {}}
    for fam in FAMILIES:
        ctl, new = family_choice(args.control_work, fam), family_choice(args.work, fam)
        if new is not None and any(p["everyNthWindow"] != [args.every] for p in new["passes"].values()):
            raise SystemExit(f"cascade_study: a {fam} pass under {args.work} had the stage on another share of windows "
                             f"than 1 in {args.every}: "
                             + ", ".join(f"{n} {p['everyNthWindow']}" for n, p in new["passes"].items()))
        if ctl is not None and new is not None:
            result["families"][fam] = {"control": ctl, "study": new,
                                       "gain": new["spoofFlagged"] - ctl["spoofFlagged"]}
    wb = result["families"].get("wideband")
    if wb is None:
        raise SystemExit("cascade_study: the wideband passes are missing")
    ok = all(s / n < MAX_SHARE for s, n in zip(wb["study"]["genuineSuspicious"], wb["study"]["genuineCalls"]))
    result["phase1"] = "passes" if ok and wb["gain"] >= MIN_GAIN else "fails"
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    for fam, r in result["families"].items():
        print(f"[cascade_study] {fam}: control {r['control']['pair']} flags "
              f"{r['control']['spoofFlagged']} of {r['control']['spoofCalls']} (genuine "
              f"{r['control']['genuineSuspicious']}); 1 window in {args.every}: {r['study']['pair']} flags "
              f"{r['study']['spoofFlagged']} (genuine {r['study']['genuineSuspicious']}): gain {r['gain']}", flush=True)
    print(f"[cascade_study] phase 1 {result['phase1']} (rule: at least {MIN_GAIN} more)", flush=True)


if __name__ == "__main__":
    main()

"""Sets the shipped model's verdict weight from genuine-caller drift on held-out speakers.

The recipe's first weight is `1 - 2 x mean leave-source-out EER`. A weight is only acceptable if genuine callers stay
out of `suspicious`: each held-out bona fide speaker of the training pages gets a 60 s call, judged by the
cross-validation fold model that never saw its page, through the service's verdict (`detectors/eval/drift.ts`);
the share that ever becomes `suspicious` must stay under --max-share (2 %). This script searches the 0.05 grid
below the first weight (binary search; the share grows with the weight) and writes the largest acceptable weight
into the manifest with its basis. Nothing from ../shared/eval/ is read.

  python detectors/training/voice/choose_weight.py --data DIR --model detectors/models/voice-antispoof \
      --manifests ../shared/train/voice-tts ../shared/train/voice-vc [--channel opus24] [--work /tmp/dfd-weight]

Cascade stage (`--stage`): the first stage keeps its shipped weight; the stage's weight is chosen the same way, with
both stages in every call (drift.ts --stage2 with the stage's fold models from `whisper_stage.py folds`). Every
weight of the grid is replayed over one scoring pass (drift.ts --stage-weights); the same grid over the held-out
spoof calls (fold_models.py's spoof-calls.tsv) goes into the basis as call-level detection. `--folds DIR` reuses
fold models (and their two lists) from an earlier run instead of rebuilding them. `--fusion` is the verdict's
detectorFusion the weight is chosen for (ParticipantVerdict: `pooled` or `per-detector`; it must match the
service's DFD_VERDICT_DETECTOR_FUSION default) and goes into the basis. The grid's cap is the stage recipe's first
value, 1 - 2 x its mean wideband leave-source-out EER (manifest training.metrics), so a rerun is not capped by the
weight an earlier run wrote.

  python detectors/training/voice/choose_weight.py --data DIR --model detectors/models/voice-antispoof \
      --manifests ... --stage detectors/models/voice-whisper --stage-folds /tmp/folds-whisper [--folds /tmp/folds]

Every passive path (`--pair --speaker-embed DIR`): the genuine calls also run the speaker model's takeover rule in the
same verdict (drift.ts --speaker-embed), so a false takeover counts against a pair as a detector's false alarm does,
which is what "genuine callers stay out of suspicious" means in the service. Calls whose speaker label names several
people (takeover_eval.py's ambiguous corpus labels: "FLEURS de", "Common Voice ja", ...) are left out of both genuine
lists there: the rule rightly raises takeovers in them.

Phone legs behind a handset's noise suppressor (`--pair --phone-ns`): a fourth genuine pass, the suppressed speakers
through G.711 judged as the service judges a SIP or Twilio leg (telephone calibration, no suppressed signal), must
stay under --max-share too. `--reuse-sweeps` reads back a pass of an earlier run under the same WORK whose drift.ts
command is the same and whose list and model manifests are unchanged (WORK/sweeps/*/command.json), so adding a pass
to a finished choice runs only the new one.

A pair per channel family (`--pair --phone-pair`, run.sh's default): the pair above is chosen over the wideband
passes only (as is and behind a browser's suppressor; spoof calls through --channel) and written as
`verdict.weight`; phone legs get their own, `verdict.weightTelephone`, chosen the same way over the same speakers
through G.711 as is and behind the suppressor and the same spoof calls through G.711, all judged as a phone leg
(telephone calibration and takeover threshold). The service weights a window by its channel's weight. With
`--phone-amr` (run.sh's default since 2026-12-06) two more genuine phone passes bound the phone pair: the same
speakers through AMR-NB 12.2 kb/s then G.711 (a mobile caller on a G.711 trunk), as is and behind the suppressor.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
# drift.ts channels that reach the service as a phone leg (telephone calibration and weight): G.711, and AMR-NB or
# AMR-WB then G.711 (a mobile or VoLTE caller on a G.711 trunk). drift.ts decides this itself
# (detectors/eval/channel.ts: a channel's calibration family); `judged_as` checks every report against this list, so
# the two cannot disagree silently.
PHONE_CHANNELS = ("g711", "amrg711", "amrwbg711")
# channels whose passes are stored under a name of their own (WORK/sweeps/<list>-<label>[-ns]-<channel>); the
# wideband --channel passes keep the bare name they always had
NAMED_CHANNELS = PHONE_CHANNELS + ("g722", "amrwbg722")


def judged_as(flags: tuple[str, ...] | list[str]) -> str:
    """The channel family drift.ts must have judged a pass with these flags as: 'telephone' on a phone channel,
    'suppressed' behind a sender's noise suppressor, else 'wideband'."""
    channel = flags[flags.index("--channel") + 1] if "--channel" in flags else "clean"
    return "telephone" if channel in PHONE_CHANNELS else "suppressed" if "--suppressed" in flags else "wideband"


def check_judged(rep: dict, flags: tuple[str, ...] | list[str]) -> dict:
    """`rep`, after checking that drift.ts judged its windows as this script takes them to be judged (its
    settings.judgedAs: the calibration and verdict weight the service gives that family)."""
    want, got = judged_as(flags), rep.get("settings", {}).get("judgedAs")
    if got != want:
        raise SystemExit(f"drift.ts judged a pass as {got!r}, this script expects {want!r} (flags {' '.join(flags)}): "
                         "PHONE_CHANNELS and detectors/eval/channel.ts disagree, or the report predates judgedAs")
    return rep


def run_drift(lst: str, model_args: list[str], out: str, *flags: str) -> dict:
    """One detectors/eval/drift.ts run over an eval list (`model_args`: its --model / --stage2 flags, `flags` the
    rest), its report written under `out`; the report's JSON (checked with `check_judged`)."""
    os.makedirs(out, exist_ok=True)
    res = subprocess.run(["node", "--import", "tsx", os.path.join(REPO, "detectors", "eval", "drift.ts"), lst,
                          *model_args, *flags, "--out", out, "--quiet"],
                         cwd=REPO, check=True, capture_output=True, text=True).stdout
    return check_judged(json.loads(res), flags)


def drift_share(work: str, folds_dir: str, weight: float, folds: int, channel: str, seconds: int) -> float:
    """Copies the fold models with this weight and returns the suspicious share drift.ts reports."""
    d = os.path.join(work, f"w{weight:.2f}")
    shutil.rmtree(d, ignore_errors=True)
    models = []
    for k in range(folds):
        src = os.path.join(folds_dir, f"voice-antispoof-fold{k}")
        dst = os.path.join(d, f"voice-antispoof-fold{k}")
        shutil.copytree(src, dst)
        m = json.load(open(os.path.join(dst, "manifest.json")))
        m["verdict"]["weight"] = weight
        json.dump(m, open(os.path.join(dst, "manifest.json"), "w"), indent=2)
        models += ["--model", dst]
    rep = run_drift(os.path.join(folds_dir, "bonafide-speakers.tsv"), models, d, "--channel", channel,
                    "--seconds", str(seconds))
    share = float(rep["totals"]["suspiciousShare"])
    print(f"[choose_weight] weight {weight:.2f}: {share:.3%} of held-out speakers suspicious", flush=True)
    return share


def drift_sweep(work: str, folds_dir: str, stage_folds: str, label: str, first: float, grid: list[float], folds: int,
                channel: str, seconds: int, fusion: str) -> dict[float, tuple[int, int]]:
    """One drift.ts pass over the bona fide speakers or spoof calls with both stages, the first stage at `first`;
    {stage weight: (suspicious, n)}."""
    lst = os.path.join(folds_dir, "bonafide-speakers.tsv" if label == "bonafide" else "spoof-calls.tsv")
    counts, n = pair_sweep(work, folds_dir, stage_folds, lst, label, [first], grid, folds, channel, seconds, fusion)
    res = {w: (hit, n) for (_, w), hit in counts.items()}
    for w, (hit, _) in sorted(res.items()):
        print(f"[choose_weight] stage weight {w:.4g}: {hit} of {n} {label} calls suspicious", flush=True)
    return res


def file_sha256(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def single_person_list(tsv: str, out: str) -> tuple[str, int]:
    """Writes out/<name of tsv> without the rows whose speaker (fold_models.py's "<label>@<page group>") is a corpus
    label naming several people (takeover_eval.identity); (that list, calls left out: distinct speakers)."""
    sys.path.insert(0, os.path.join(HERE, "..", "speaker"))
    from takeover_eval import identity

    lines = open(tsv).read().splitlines()
    col = lines[0].split("\t").index("speaker")
    keep, dropped = [lines[0]], set()
    for r in lines[1:]:
        spk = r.split("\t")[col]
        if identity(spk.rsplit("@", 1)[0], "")[1]:
            dropped.add(spk)
        else:
            keep.append(r)
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, os.path.basename(tsv))
    with open(path, "w") as f:
        f.write("\n".join(keep) + "\n")
    return path, len(dropped)


def sweep_name(lst: str, label: str, suppressed: bool, channel: str) -> str:
    """The folder under WORK/sweeps that holds the pass of `pair_sweep` over this list, label and channel."""
    return (os.path.basename(os.path.dirname(lst)) + "-" + label + ("-ns" if suppressed else "")
            + (f"-{channel}" if channel in NAMED_CHANNELS else ""))


def pair_sweep(work: str, folds_dir: str, stage_folds: str, lst: str, label: str, grid1: list[float],
               grid2: list[float], folds: int, channel: str, seconds: int, fusion: str,
               suppressed: bool = False, speaker_embed: str = "",
               reuse: bool = False) -> tuple[dict[tuple[float, float], int], int]:
    """One drift.ts pass over a list with both stages, replayed at every (first, stage) weight pair;
    ({(first, stage): calls suspicious}, calls). `suppressed`: the list's audio is behind a sender's noise suppressor,
    calibrated as the service calibrates such a sender (drift.ts --suppressed: the manifests'
    calibration.suppressed). `speaker_embed`: the speaker model whose takeover rule joins every verdict. A g711
    pass (and an amrg711 one: AMR-NB, then G.711) is judged as the service judges a phone leg (telephone
    calibration; drift.ts marks a phone channel's windows as a phone leg's). The pass lands in
    WORK/sweeps/<list folder>-<label>[-ns][-g711|-amrg711|-g722]/: drift.ts's report and command.json (the command
    and where its report is); `reuse`: a pass whose stored command is this one, word for word, is read back, not run
    again."""
    args = []
    for k in range(folds):
        args += ["--model", os.path.join(folds_dir, f"voice-antispoof-fold{k}"),
                 "--stage2", os.path.join(stage_folds, f"voice-whisper-fold{k}")]
    name = sweep_name(lst, label, suppressed, channel)
    out = os.path.join(work, "sweeps", name)
    flags = ["--label", label, "--channel", channel, "--seconds", str(seconds),
             "--weights", ",".join(f"{w}" for w in grid1), "--stage-weights", ",".join(f"{w}" for w in grid2),
             "--fusions", fusion, *(["--suppressed"] if suppressed else []),
             *(["--speaker-embed", speaker_embed] if speaker_embed else [])]
    # what the pass read, not only where: the list's rows and every model's manifest (its ONNX file's sha256, its
    # calibrations), so a pass over models rebuilt in the same folders is run again, not read back
    model_dirs = [a for a in args if a not in ("--model", "--stage2")] + ([speaker_embed] if speaker_embed else [])
    command = {"list": os.path.abspath(lst), "listSha256": file_sha256(lst), "models": args, "flags": flags,
               "manifestSha256": [file_sha256(os.path.join(d, "manifest.json")) if os.path.isdir(d) else d
                                  for d in model_dirs]}
    stored_path = os.path.join(out, "command.json")
    stored = json.load(open(stored_path)) if os.path.isfile(stored_path) else {}
    if reuse and stored.get("command") == command and os.path.isfile(stored.get("report", "")):
        rep = check_judged(json.load(open(stored["report"])), flags)
        # one write per line: the passes run in threads
        print(f"[choose_weight] {name}: reusing the stored pass\n", end="", flush=True)
    else:
        if stored:
            os.remove(stored_path)
        rep = run_drift(lst, args, out, *flags)
        with open(stored_path, "w") as f:  # written last: a stored command always has its finished report
            json.dump({"command": command, "report": rep["files"]["json"]}, f, indent=1)
    n = int(rep["totals"]["speakers"])
    print(f"[choose_weight] {label} calls of {lst}: {n}\n", end="", flush=True)
    return {(float(r["weight"]), float(r["stageWeight"])): int(r["suspicious"]) for r in rep["sweep"]}, n


def choose_pair(args: argparse.Namespace, folds_dir: str, folds: int) -> None:
    """Both stages' weights at once: the pairs on the 0.05 grids (each up to its recipe's cap) that keep under
    --max-share of the held-out genuine speakers out of `suspicious` through the channel as is *and* behind a
    sender's noise suppressor (channel.py sender_ns at --suppressed), and among them the pair flagging the most
    held-out spoof calls as is (ties: the larger first-stage weight, then the larger stage weight). Writes both
    manifests' verdict."""
    from channel import ns_list  # this script's folder is on sys.path

    first_path, stage_path = os.path.join(args.model, "manifest.json"), os.path.join(args.stage, "manifest.json")
    first_m, stage_m = json.load(open(first_path)), json.load(open(stage_path))
    cap1, cap2 = recipe_cap(first_m), recipe_cap(stage_m)
    default1, default2 = pair_grids(cap1, cap2)
    grid1 = [w for w in args.first_weights if w <= cap1 + 1e-9] if args.first_weights else \
        (default1 or [round(cap1, 4)])
    grid2 = [w for w in args.stage_weights if w <= cap2 + 1e-9] if args.stage_weights else default2
    if not grid1 or not grid2:
        raise SystemExit(f"choose_weight: no weights to try under the caps {cap1} / {cap2}")
    ns_dir = os.path.join(args.work, f"suppressed-ns{args.suppressed}")
    lists = {"bonafide": os.path.join(folds_dir, "bonafide-speakers.tsv"),
             "spoof": os.path.join(folds_dir, "spoof-calls.tsv")}
    dropped = 0
    if args.speaker_embed:
        lists["bonafide"], dropped = single_person_list(lists["bonafide"], os.path.join(args.work, "single-person"))
    ns_bona = ns_list(lists["bonafide"], ns_dir, args.suppressed)
    # (list, label, scored as a suppressed sender, channel): the genuine passes first, the spoof calls last; with
    # --phone-ns the suppressed speakers again, through G.711 as a phone leg (no signal says a handset suppressed)
    passes = [(lists["bonafide"], "bonafide", False, args.channel), (ns_bona, "bonafide", True, args.channel)]
    if args.phone_ns:
        passes.append((ns_bona, "bonafide", False, "g711"))
    passes.append((lists["spoof"], "spoof", False, args.channel))
    # --phone-pair: the phone-leg family on its own, judged as the service judges a SIP or Twilio leg (telephone
    # calibration): the genuine speakers through G.711 as is and behind the suppressor (with --phone-amr also through
    # AMR-NB then G.711, a mobile caller), the spoof calls through G.711
    phone = [(lists["bonafide"], "bonafide", False, "g711"), (ns_bona, "bonafide", False, "g711")]
    if args.phone_amr:
        phone += [(lists["bonafide"], "bonafide", False, "amrg711"), (ns_bona, "bonafide", False, "amrg711")]
    phone = phone + [(lists["spoof"], "spoof", False, "g711")] if args.phone_pair else []
    with ThreadPoolExecutor(max_workers=2) as pool:
        jobs = [pool.submit(pair_sweep, args.work, folds_dir, args.stage_folds, lst, label, grid1, grid2, folds,
                            ch, args.seconds, args.fusion, sup, args.speaker_embed if label == "bonafide" else "",
                            args.reuse_sweeps)
                for lst, label, sup, ch in passes + phone]
        results = [j.result() for j in jobs]
    wide, phone_results = results[:len(passes)], results[len(passes):]
    genuine, (spoof, ns) = wide[:-1], wide[-1]
    nb = genuine[0][1]
    best, table = best_pair(genuine, spoof, args.max_share)
    tel = best_pair(phone_results[:-1], phone_results[-1][0], args.max_share) if phone_results else None
    where = (f"of the {nb} held-out bona fide speakers of the training pages in a {args.seconds} s call "
             f"({args.channel}, "
             f"fold models that never saw the call's page) and of the same speakers behind a sender's noise suppressor "
             f"(WebRTC NS level {args.suppressed}, channel.py ns-list; scored as the service scores a sender that "
             f"suppresses noise: with calibration.suppressed where a manifest has one)"
             + (", and of those suppressed speakers again through G.711 mu-law, judged as a phone leg (telephone "
                "calibration: no signal says a handset suppressed noise)" if args.phone_ns else "")
             + (f", with the takeover rule of {os.path.basename(os.path.normpath(args.speaker_embed))} in the same "
                f"verdict ({dropped} calls of several people under one corpus label left out)"
                if args.speaker_embed else ""))
    phone_basis = (f"; on phone legs (verdict.weightTelephone, windows scored with the telephone calibration) the pair "
                   f"{tel[0][0]:g}/{tel[0][1]:g} chosen the same way over the same speakers through G.711 mu-law as is "
                   f"and behind the suppressor"
                   + (", and through AMR-NB 12.2 kb/s then G.711 (a mobile caller) as is and behind the suppressor"
                      if args.phone_amr else "")
                   + f", judged as a phone leg, the most of the {phone_results[-1][1]} spoof calls through G.711 "
                   f"flagged; genuine suspicious as is/suppressed/"
                   + ("AMR as is/AMR suppressed/" if args.phone_amr else "") + f"spoof calls flagged: {tel[1]}"
                   if tel else "")
    basis = (f"largest-detection pair of weights (this model {','.join(f'{w:g}' for w in grid1)} "
             f"of at most {cap1:.4f}, "
             f"the stage {','.join(f'{w:g}' for w in grid2)} of at most {cap2:.4f}) "
             f"keeping under {args.max_share:.0%} {where} out of suspicious, the most of the {ns} held-out spoof calls "
             f"flagged among those (choose_weight.py --pair; drift.ts --stage2 --weights --stage-weights, verdict "
             f"detectorFusion {args.fusion}); first/stage weight: genuine suspicious as is/suppressed"
             + ("/suppressed phone leg" if args.phone_ns else "") + f"/spoof calls flagged: {table}" + phone_basis)
    first_m["verdict"] = {"weight": best[0], **({"weightTelephone": tel[0][0]} if tel else {}), "basis": basis}
    stage_m["verdict"] = {"weight": best[1], **({"weightTelephone": tel[0][1]} if tel else {}),
                          "basis": basis.replace("(this model ", "(voice-antispoof ", 1)
                          .replace(", the stage ", ", this stage ", 1)}
    for path, m in ((first_path, first_m), (stage_path, stage_m)):
        with open(path, "w") as f:
            json.dump(m, f, indent=2)
            f.write("\n")
    print(f"[choose_weight] pair {best[0]} / {best[1]}" + (f", on phone legs {tel[0][0]} / {tel[0][1]}" if tel else "")
          + f" written to {first_path} and {stage_path}", flush=True)


def best_pair(genuine: list[tuple[dict[tuple[float, float], int], int]], spoof: dict[tuple[float, float], int],
              max_share: float) -> tuple[tuple[float, float], str]:
    """The pair flagging the most spoof calls among those keeping every genuine pass under max_share (ties: the
    larger first-stage weight, then the larger stage weight; none: (0, 0)), and the grid as text: per pair the
    genuine passes' suspicious calls, then the spoof calls flagged."""
    plain = genuine[0][0]
    ok = [p for p in plain if all(counts[p] / n < max_share for counts, n in genuine)]
    best = max(ok, key=lambda p: (spoof[p], p[0], p[1])) if ok else (0.0, 0.0)
    table = "; ".join(f"{a:g}/{b:g}: " + "/".join(str(counts[(a, b)]) for counts, _ in genuine) + f"/{spoof[(a, b)]}"
                      for a, b in sorted(plain))
    return best, table


def pair_grids(cap1: float, cap2: float) -> tuple[list[float], list[float]]:
    """The default --pair grids: the first stage's weights on the 0.05 grid from 0.05 up to cap1, the stage's from 0 up
    to cap2."""
    return ([round(0.05 * i, 2) for i in range(1, int(math.floor(cap1 / 0.05 + 1e-9)) + 1)],
            [round(0.05 * i, 2) for i in range(0, int(math.floor(cap2 / 0.05 + 1e-9)) + 1)])


def recipe_cap(manifest: dict) -> float:
    """A recipe's first weight: 1 - 2 x mean wideband LSO EER (else the manifest's current weight)."""
    m = manifest.get("training", {}).get("metrics", {})
    eers = [m.get(f"lsoMeanEer_{c}") for c in ("clean", "opus24", "opus12loss")]
    if all(isinstance(e, (int, float)) for e in eers):
        return round(max(0.0, 1 - 2 * sum(eers) / 3), 4)
    return float(manifest["verdict"]["weight"])


def choose_stage(args: argparse.Namespace, folds_dir: str, folds: int) -> None:
    first = float(json.load(open(os.path.join(args.model, "manifest.json")))["verdict"]["weight"])
    path = os.path.join(args.stage, "manifest.json")
    manifest = json.load(open(path))
    cap = recipe_cap(manifest)
    grid = [round(0.05 * i, 2) for i in range(0, int(math.floor(cap / 0.05 + 1e-9)) + 1)]
    if cap > grid[-1] + 1e-9:
        grid.append(round(cap, 4))
    # the two passes at once (one node process each: two cores)
    with ThreadPoolExecutor(max_workers=2) as pool:
        jobs = [pool.submit(drift_sweep, args.work, folds_dir, args.stage_folds, label, first, grid, folds,
                            args.channel, args.seconds, args.fusion) for label in ("bonafide", "spoof")]
        bona, spoof = (j.result() for j in jobs)
    ok = [w for w in grid if bona[w][1] > 0 and bona[w][0] / bona[w][1] < args.max_share]
    best = max(ok) if ok else 0.0
    nb, ns = bona[grid[0]][1], spoof[grid[0]][1]
    first_id, nth = os.path.basename(os.path.normpath(args.model)), manifest.get("cascade", {}).get("everyNthWindow", 1)
    manifest["verdict"] = {
        "weight": best,
        "basis": (f"largest stage weight on a 0.05 grid up to {cap:.4f} for which, with {first_id} "
                  f"at {first} and this stage on every {nth}th window, "
                  f"under {args.max_share:.0%} of the {nb} held-out bona fide speakers of the training pages become "
                  f"suspicious in a {args.seconds} s call ({args.channel}, fold models that never saw the call's page, "
                  f"verdict detectorFusion {args.fusion}; detectors/eval/drift.ts --stage2 --stage-weights --fusions); "
                  f"genuine speakers suspicious: "
                  + ", ".join(f"{w:g}: {bona[w][0]}" for w in grid)
                  + f"; held-out spoof calls flagged (of {ns}): " + ", ".join(f"{w:g}: {spoof[w][0]}" for w in grid)),
    }
    with open(path, "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    print(f"[choose_weight] stage verdict weight {best} written to {path}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--manifests", nargs="+", required=True)
    ap.add_argument("--channel", default="opus24")
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--max-share", type=float, default=0.02)
    ap.add_argument("--work", default="/tmp/dfd-weight")
    ap.add_argument("--folds", help="reuse these fold models and lists (fold_models.py --out) instead of rebuilding")
    ap.add_argument("--stage", help="choose this cascade stage's weight (the first stage keeps its own)")
    ap.add_argument("--stage-folds", help="the stage's fold models (whisper_stage.py folds --out)")
    ap.add_argument("--fusion", default="per-detector", choices=("pooled", "per-detector"),
                    help="the verdict's detectorFusion the stage weight is chosen for (the service default's)")
    ap.add_argument("--pair", action="store_true",
                    help="with --stage: choose both stages' weights at once, genuine speakers as is and behind a "
                         "sender's noise suppressor (how the shipped pair was chosen)")
    ap.add_argument("--first-weights", type=lambda v: [float(x) for x in v.split(",")],
                    help="--pair: the first stage's weights to try (default: the 0.05 grid up to its recipe's cap)")
    ap.add_argument("--stage-weights", type=lambda v: [float(x) for x in v.split(",")],
                    help="--pair: the stage's weights to try (default: 0 and the 0.05 grid up to its recipe's cap)")
    ap.add_argument("--speaker-embed", default="",
                    help="--pair: a speaker-embedding model whose takeover rule joins the genuine calls' verdicts "
                         "(calls of several people under one corpus label left out); default off here, on in run.sh "
                         "(SPEAKER_EMBED), as the shipped pair was chosen")
    ap.add_argument("--phone-ns", action="store_true",
                    help="--pair: a fourth genuine pass, the suppressed speakers through G.711 judged as a phone leg "
                         "(telephone calibration), must stay under --max-share too")
    ap.add_argument("--phone-pair", action="store_true",
                    help="--pair: phone legs get their own pair (verdict.weightTelephone), chosen over the genuine "
                         "speakers through G.711 as is and behind the suppressor and the spoof calls through G.711, "
                         "all judged as a phone leg; the wideband pair then answers for wideband passes only")
    ap.add_argument("--phone-amr", action="store_true",
                    help="--phone-pair: two more genuine phone passes, the speakers through AMR-NB 12.2 kb/s then "
                         "G.711 (a mobile caller on a G.711 trunk) as is and behind the suppressor, under --max-share")
    ap.add_argument("--reuse-sweeps", action="store_true",
                    help="--pair: read back a drift pass stored under WORK/sweeps whose command is the same, word for "
                         "word (e.g. to add --phone-ns to a finished choice); default: every pass runs")
    ap.add_argument("--suppressed", type=int, default=2, choices=(1, 2, 3),
                    help="--pair: the noise suppressor's level (channel.py sender_ns; 2 as a browser)")
    args = ap.parse_args()
    if args.stage and not args.stage_folds:
        ap.error("--stage needs --stage-folds")
    if args.pair and not args.stage:
        ap.error("--pair needs --stage and --stage-folds")
    for flag, on in (("--speaker-embed", args.speaker_embed), ("--phone-ns", args.phone_ns),
                     ("--phone-pair", args.phone_pair), ("--reuse-sweeps", args.reuse_sweeps)):
        if on and not args.pair:
            ap.error(f"{flag} needs --pair")
    if args.phone_amr and not args.phone_pair:
        ap.error("--phone-amr needs --phone-pair")
    if args.phone_ns and args.phone_pair:
        ap.error("--phone-ns (phone legs bound the one pair) and --phone-pair (phone legs get their own pair) "
                 "exclude each other")
    if args.speaker_embed and os.path.isdir(args.speaker_embed):  # one spelling per model, so stored passes match
        args.speaker_embed = os.path.abspath(args.speaker_embed)
    os.makedirs(args.work, exist_ok=True)
    folds_dir = os.path.abspath(args.folds) if args.folds else os.path.join(args.work, "folds")
    if not args.folds:
        shutil.rmtree(folds_dir, ignore_errors=True)
        subprocess.run([sys.executable, os.path.join(HERE, "fold_models.py"), "--data", args.data, "--shipped",
                        args.model, "--manifests", *args.manifests, "--out", folds_dir], check=True)
    folds = int(json.load(open(os.path.join(args.data, "clips.json")))["folds"])
    if args.pair:
        choose_pair(args, folds_dir, folds)
        return
    if args.stage:
        choose_stage(args, folds_dir, folds)
        return
    path = os.path.join(args.model, "manifest.json")
    manifest = json.load(open(path))
    first = float(manifest["verdict"]["weight"])
    grid = [round(0.05 * i, 2) for i in range(1, int(math.floor(first / 0.05 + 1e-9)) + 1)]
    if not grid or first > grid[-1] + 1e-9:
        grid.append(round(first, 4))
    lo, hi, best, shares = 0, len(grid) - 1, 0.0, {}
    while lo <= hi:
        mid = (lo + hi) // 2
        share = drift_share(args.work, folds_dir, grid[mid], folds, args.channel, args.seconds)
        shares[f"{grid[mid]:.2f}"] = share
        if share < args.max_share:
            best, lo = grid[mid], mid + 1
        else:
            hi = mid - 1
    manifest["verdict"] = {
        "weight": best,
        "basis": (f"largest weight on a 0.05 grid up to {first:.4f} (1 - 2 x mean leave-source-out EER) for which "
                  f"under {args.max_share:.0%} of the held-out bona fide speakers of the training pages become "
                  f"suspicious in a {args.seconds} s call ({args.channel}, each judged by the fold model that never "
                  f"saw its page; detectors/eval/drift.ts); measured: "
                  + ", ".join(f"weight {w}: {s:.1%}" for w, s in sorted(shares.items()))),
    }
    with open(path, "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    print(f"[choose_weight] verdict weight {best} written to {path}")


if __name__ == "__main__":
    main()

"""Declared synthetic voices with the shipped speaker-embedding ONNX: how often a declared voice is recognised, and
how often something else is taken for it.

    detectors/training/.venv/bin/python detectors/training/speaker/declared_eval.py [--train DIR] [--seed 17]
        [--model ONNX] [--profile-model ONNX]

`--profile-model`: the references are embedded by another model file, as when declared voices enrolled with an earlier
version of the model are matched by the installed one (README, "Declared voices across a model upgrade").

An operator declares a legitimate synthetic voice (an IVR, a text-to-speech user) from a few reference clips; a
participant whose speech matches it gets the reason `declared-synthetic` instead of an alarm. A false match is a hole:
the participant's voice detector evidence is set aside. So the rule is chosen for a low false-match rate.

Material, identities, the TUNE/TEST split and the single-speaker calls are those of takeover_eval.py (same seed, same
functions): ../shared/train/voice-tts and voice-vc (never ../shared/eval) plus the Debian speakers; no identity on
both sides.

Declared voices: spoof clips of the generative kinds (TTS/VC, not codec or vocoder resynthesis) grouped by
(page group, generator, identity spoken), non-ambiguous identities only, with at least 3 clips. The first clips (in
key order) up to ENROL_SECONDS of audio are the references; the profile is the L2-normalised mean embedding of their
windows (1.6 s every 0.8 s, windows under -50 dBFS skipped), as the service computes it
(pipeline/verdict/DeclaredVoices.ts). The remaining clips of the voice are its held-out test clips.

Rule: a stream matches a declared voice when M consecutive kept windows have a cosine >= T to its profile (live: the
verdict then carries the reason while the match holds).

Counted per side:
- true match: held-out clips of the declared voice that match it;
- false match, real speech: (declared voice, single-speaker call of a real person) pairs that match, the person's
  identity being different from the identity the declared voice speaks;
- false match, other synthetic voices: (declared voice, held-out clip of another declared voice) pairs, where the
  other voice speaks another identity;
- the same identity through another system (another generator or page speaking the declared voice's identity):
  reported, not in the false-match rate (it is a clone of the declared voice, which matching cannot tell apart);
- the cloned person: real recordings of the identity a declared voice speaks (reported, not in the false-match rate:
  a voice cloned from a real person matches that person; docs/continuity.md says so).

Selection on TUNE only: for each M in M_GRID the smallest T at which at most MAX_FMR of the real-speech pairs and at
most MAX_FMR of the other-synthetic pairs match; then the M with the highest true-match rate (ties: smaller M).
Reported on TEST with that (M, T). Telephone: the live speech (held-out clips, calls) through 8 kHz G.711 mu-law, the
references clean (an operator uploads recordings); T_telephone chosen the same way on TUNE with the same M. Browser:
the live speech through a browser caller's path (takeover_eval.browser: WebRTC noise suppression, 48 kHz Opus
24 kb/s), references clean; T_suppressed chosen the same way on TUNE with the same M, for the windows the service marks
as a noise-suppressing sender's. Writes eval-results/speaker/declared.json.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

import speakerlib as C
from takeover_eval import (MIN_DBFS, HOP_S, WIN_S, Clip, build_calls, dedupe, embed_audio, load_material,
                           split_identities)

ENROL_SECONDS = 8.0
MIN_CLIPS = 3
M_GRID = (2, 3, 4)
T_GRID = np.round(np.arange(0.50, 0.991, 0.005), 3)
MAX_FMR = 0.01


def kept(emb: np.ndarray, dbfs: np.ndarray) -> np.ndarray:
    return emb[dbfs >= MIN_DBFS]


def profile(windows: np.ndarray) -> np.ndarray | None:
    if len(windows) == 0:
        return None
    p = windows.mean(axis=0)
    return p / (np.linalg.norm(p) + 1e-12)


def best_run(cos: np.ndarray, m: int) -> float:
    """The largest T at which M consecutive windows reach T (the max over runs of the run's minimum); -1 if too short."""
    if len(cos) < m:
        return -1.0
    return float(np.lib.stride_tricks.sliding_window_view(cos, m).min(axis=1).max())


def first_match_seconds(cos: np.ndarray, m: int, t: float) -> float | None:
    """End (s, counting kept windows only) of the M-th window of the first run of M windows >= T."""
    run = 0
    for j, c in enumerate(cos):
        run = run + 1 if c >= t else 0
        if run >= m:
            return j * HOP_S + WIN_S
    return None


def declared_voices(clips: list[Clip], side: dict[str, str]) -> dict[str, list[dict]]:
    groups: dict[tuple, list[Clip]] = defaultdict(list)
    for c in clips:
        if c.label == "spoof" and c.kind == "tts-vc" and not c.ambiguous:
            groups[(c.group, c.generator, c.ident)].append(c)
    out: dict[str, list[dict]] = {"tune": [], "test": []}
    for (group, gen, ident), cs in sorted(groups.items()):
        if len(cs) < MIN_CLIPS:
            continue
        cs = sorted(cs, key=lambda c: c.key)
        refs, total = [], 0.0
        for c in cs:
            if total >= ENROL_SECONDS or len(refs) >= len(cs) - 1:
                break
            refs.append(c)
            total += c.seconds
        held = cs[len(refs):]
        if not held:
            continue
        out[side[ident]].append({"id": f"{group}|{gen}|{ident}", "group": group, "generator": gen, "ident": ident,
                                 "refs": refs, "held": held, "refSeconds": total})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", default=str(C.SHARED_TRAIN))
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--model", default=str(C.ONNX_PATH), help="the ONNX file evaluated (default: the shipped one)")
    ap.add_argument("--profile-model", default=None,
                    help="another ONNX file that embeds the references (profiles made with an earlier model version, "
                         "matched against --model's embeddings of the live speech); default: --model")
    ap.add_argument("--out", default=str(C.RESULTS / "declared.json"))
    args = ap.parse_args()
    t0 = time.time()
    model_path = Path(args.model)
    model_sha = hashlib.sha256(model_path.read_bytes()).hexdigest()
    sess = C.session(model_path)
    profile_path = Path(args.profile_model) if args.profile_model else model_path
    profile_sha = hashlib.sha256(profile_path.read_bytes()).hexdigest()
    profile_sess = C.session(profile_path) if profile_path != model_path else sess
    clips, _ = load_material(Path(args.train))
    dedupe(clips)
    side, _ = split_identities(clips, args.seed)
    voices = declared_voices(clips, side)
    singles = {s: [c for c in build_calls(clips, side, s, args.seed) if c.ctype == "single"] for s in ("tune", "test")}
    print(f"material {time.time() - t0:.0f}s: voices tune {len(voices['tune'])} test {len(voices['test'])}; "
          f"single calls tune {len(singles['tune'])} test {len(singles['test'])}", flush=True)

    def emb_of(x: np.ndarray, channel: str = "clean", reference: bool = False) -> np.ndarray:
        # A clip shorter than one 1.6 s window has no window (the live windower would not make one either).
        if len(x) < C.WINDOW:
            return np.zeros((0, 256), np.float32)
        if reference:
            return kept(*embed_audio(profile_sess, x, channel, profile_sha))
        return kept(*embed_audio(sess, x, channel, model_sha))

    # best_run per pair and M: the pair matches at T iff best_run >= T. References are always clean recordings (an
    # operator uploads them); the live speech comes through `channel` (clean, or 8 kHz G.711 for a phone call).
    def side_scores(s: str, channel: str = "clean") -> dict:
        vs = voices[s]
        profs = []
        for v in vs:
            p = profile(np.concatenate([emb_of(c.audio, reference=True) for c in v["refs"]]).reshape(-1, 256))
            profs.append(p)
        held = [(i, emb_of(c.audio, channel)) for i, v in enumerate(vs) for c in v["held"]]
        calls = [(c, emb_of(c.audio, channel)) for c in singles[s]]
        out = {m: {"true": [], "real": [], "other": [], "cloned": [], "sameIdentity": []} for m in M_GRID}
        first = []
        for i, (v, p) in enumerate(zip(vs, profs)):
            if p is None:
                continue
            for j, e in held:
                other = vs[j]
                if j == i:
                    for m in M_GRID:
                        out[m]["true"].append(best_run(e @ p, m))
                    first.append((i, e @ p))
                else:
                    # Another system speaking the same identity is a clone of this voice: reported, not a false match.
                    key = "other" if other["ident"] != v["ident"] else "sameIdentity"
                    for m in M_GRID:
                        out[m][key].append(best_run(e @ p, m))
            for c, e in calls:
                target = "cloned" if c.a == v["ident"] else "real"
                for m in M_GRID:
                    out[m][target].append(best_run(e @ p, m))
        return {"scores": {m: {k: np.array(x) for k, x in d.items()} for m, d in out.items()}, "first": first,
                "voices": len([p for p in profs if p is not None])}

    tune = side_scores("tune")
    test = side_scores("test")
    tune_tel = side_scores("tune", "telephone")
    test_tel = side_scores("test", "telephone")
    tune_brw = side_scores("tune", "browser")
    test_brw = side_scores("test", "browser")
    print(f"scored {time.time() - t0:.0f}s", flush=True)

    rate = lambda xs, t: float((xs >= t).mean()) if len(xs) else None  # noqa: E731  (None: no pairs on this side)
    table = []
    for m in M_GRID:
        sc = tune["scores"][m]
        ok = [t for t in T_GRID if (rate(sc["real"], t) or 0.0) <= MAX_FMR and (rate(sc["other"], t) or 0.0) <= MAX_FMR]
        if not ok:
            continue
        t = float(min(ok))
        table.append({"M": m, "T": t, "trueMatch": rate(sc["true"], t), "falseMatchReal": rate(sc["real"], t),
                      "falseMatchOtherSynthetic": rate(sc["other"], t)})
    best = sorted(table, key=lambda r: (-r["trueMatch"], r["M"]))[0]
    m, t = best["M"], best["T"]
    # Telephone and browser speech: the same M, the smallest T meeting the same false-match limits on TUNE speech
    # through that channel.
    def channel_t(side_: dict) -> float:
        sc_ = side_["scores"][m]
        return float(min(x for x in T_GRID if (rate(sc_["real"], x) or 0.0) <= MAX_FMR
                         and (rate(sc_["other"], x) or 0.0) <= MAX_FMR))
    t_tel = channel_t(tune_tel)
    t_sup = channel_t(tune_brw)

    def report(side_: dict, t: float = t) -> dict:
        sc = side_["scores"][m]
        delays = [d for i, cos in side_["first"] if (d := first_match_seconds(cos, m, t)) is not None]
        return {
            "declaredVoices": side_["voices"],
            "trueMatch": {"rate": rate(sc["true"], t), "clips": int(len(sc["true"]))},
            "falseMatchRealSpeech": {"rate": rate(sc["real"], t), "pairs": int(len(sc["real"])),
                                     "matched": int((sc["real"] >= t).sum())},
            "falseMatchOtherSyntheticVoices": {"rate": rate(sc["other"], t), "pairs": int(len(sc["other"])),
                                               "matched": int((sc["other"] >= t).sum())},
            "clonedPersonOwnRecordings": {"rate": rate(sc["cloned"], t), "pairs": int(len(sc["cloned"]))},
            "sameIdentityOtherSystem": {"rate": rate(sc["sameIdentity"], t), "pairs": int(len(sc["sameIdentity"]))},
            "secondsOfSpeechToFirstMatch": {"median": float(np.median(delays)) if delays else None,
                                            "p90": float(np.percentile(delays, 90)) if delays else None},
        }

    result = {
        "command": "detectors/training/.venv/bin/python detectors/training/speaker/declared_eval.py"
                   + (f" --seed {args.seed}" if args.seed != 17 else "")
                   + (f" --model {os.path.relpath(model_path, C.REPO)}" if model_path.resolve() != C.ONNX_PATH else "")
                   + (f" --profile-model {os.path.relpath(profile_path, C.REPO)}"
                      if profile_path != model_path else ""),
        "seed": args.seed,
        "model": {"file": os.path.relpath(model_path, C.REPO), "sha256": model_sha},
        "profileModel": {"file": os.path.relpath(profile_path, C.REPO), "sha256": profile_sha},
        "rule": {"M": m, "T": t, "T_telephone": t_tel, "T_suppressed": t_sup, "enrolSeconds": ENROL_SECONDS, "windowSeconds": WIN_S, "hopSeconds": HOP_S,
                 "selection": f"TUNE: per M the smallest T with <= {MAX_FMR:.0%} false matches (real speech and other "
                              "synthetic voices, separately); then the highest true-match rate"},
        "tuneTable": table,
        "tune": report(tune),
        "test": report(test),
        "telephone": {"channel": "live speech 16 -> 8 kHz, G.711 mu-law, -> 16 kHz; references clean",
                      "tune": report(tune_tel, t_tel), "test": report(test_tel, t_tel)},
        "browser": {"channel": "live speech through WebRTC noise suppression (level 2) and 48 kHz Opus 24 kb/s "
                               "(takeover_eval.browser); references clean",
                    "tune": report(tune_brw, t_sup), "test": report(test_brw, t_sup),
                    "testAtWidebandT": report(test_brw, t)},
        "seconds": round(time.time() - t0, 1),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in ("rule", "test")}, indent=2))


if __name__ == "__main__":
    main()

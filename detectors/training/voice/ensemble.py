"""Seed ensembles of SpecNet: several networks of one recipe that differ only in their training seed, scored as the
mean of their logits (all OC-softmax scores on one scale, minus a cosine).

- `SeedEnsemble`: the torch module `train.py final` exports when the chosen CV run is an ensemble.
- `merge_onnx`: one ONNX graph from member graphs with the same input and output (`waveform` -> `logit`), their
  mean as the output; for the fold models of an ensemble CV run, whose members were exported separately.
- `cv_run`: `train.py ensemble`: an ensemble CV run (DIR/cv/<name>/) from member runs, so `report`, `final`,
  `choose_weight.py` and the other tools that read CV runs take it like any other.
"""
from __future__ import annotations

import json
import os

import numpy as np
import torch
from torch import nn

from specnet import SpecNet, normalise


class SeedEnsemble(nn.Module):
    """The mean of SpecNet members' scores. The members share one configuration, so their front end (level
    normalisation and the fixed-kernel spectrogram, no learned weights) runs once: the same numbers as each member
    alone, one STFT kernel in the ONNX file and one STFT per window."""

    def __init__(self, members: list[SpecNet]):
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs members")
        if any(m.cfg != members[0].cfg for m in members):
            raise ValueError("members differ in their configuration")
        self.members = nn.ModuleList(members)
        self.cfg = members[0].cfg

    @property
    def spec(self) -> nn.Module:
        """The shared front end (count_macs counts its STFT once)."""
        return self.members[0].spec

    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        s = self.spec(normalise(wav)).unsqueeze(1)
        return torch.stack([m.score(m.embed_spec(s)) for m in self.members]).mean(dim=0)


def merge_onnx(paths: list[str], out: str, input_name: str = "waveform", output_name: str = "logit") -> None:
    """Writes one graph that runs every member on the shared input and outputs the mean of their outputs."""
    import onnx
    from onnx import compose, helper

    models = [onnx.load(p) for p in paths]
    if len({tuple((o.domain, o.version) for o in m.opset_import) for m in models}) != 1:
        raise SystemExit("members differ in their opsets")
    nodes, inits, values = [], [], []
    outs = []
    for i, m in enumerate(models):
        if [x.name for x in m.graph.input] != [input_name] or [x.name for x in m.graph.output] != [output_name]:
            raise SystemExit(f"{paths[i]}: expected one input {input_name!r} and one output {output_name!r}")
        p = compose.add_prefix(m, f"m{i}_")
        g = p.graph
        for n in g.node:
            n.input[:] = [input_name if x == f"m{i}_{input_name}" else x for x in n.input]
        nodes += list(g.node)
        inits += list(g.initializer)
        values += list(g.value_info)
        outs.append(f"m{i}_{output_name}")
    nodes.append(helper.make_node("Mean", outs, [output_name], name="ensemble_mean"))
    first = models[0].graph
    graph = helper.make_graph(nodes, "seed_ensemble", list(first.input), list(first.output), inits, value_info=values)
    merged = helper.make_model(graph, opset_imports=list(models[0].opset_import),
                               producer_name="detectors/training/voice/ensemble.py")
    merged.ir_version = models[0].ir_version
    onnx.checker.check_model(merged)
    onnx.save(merged, out)


def cv_run(data: str, folds: int, runs: list[str], seeds: list[int], step: int, name: str) -> None:
    """DIR/cv/<name>/: per fold, the members' held-out scores at `step` averaged (fold<k>.json, one checkpoint) and
    their fold models merged (fold<k>-step<step>.onnx). `seeds` are the members' `--seed` values, which `final`
    trains the shipped members with."""
    if len(runs) != len(seeds) or len(runs) < 2:
        raise SystemExit("give two or more --runs and one --seeds value for each")
    out_dir = os.path.join(data, "cv", name)
    if name in runs:
        raise SystemExit("the ensemble run needs a name of its own")
    os.makedirs(out_dir, exist_ok=True)
    for k in range(folds):
        fs = [json.load(open(os.path.join(data, "cv", r, f"fold{k}.json"))) for r in runs]
        if any(f["clipIdx"] != fs[0]["clipIdx"] for f in fs):
            raise SystemExit(f"fold {k}: the runs hold different clips")
        same = {json.dumps([f["arch"], f.get("swa"), f.get("extraSpoofs")]) for f in fs}
        if len(same) != 1:
            raise SystemExit("members must be runs of one architecture, weight averaging and extra spoofs")
        cks = []
        for f, r in zip(fs, runs):
            ck = next((x for x in f["checkpoints"] if x["step"] == step), None)
            if ck is None:
                raise SystemExit(f"{r} fold {k} has no checkpoint at step {step}")
            cks.append(ck["scores"])
        scores = {ch: np.mean([np.array(s[ch]) for s in cks], axis=0).tolist() for ch in cks[0]}
        result = {"fold": k, "arch": fs[0]["arch"], "run": name, "steps": step, "clipIdx": fs[0]["clipIdx"],
                  "checkpoints": [{"step": step, "scores": scores}],
                  **{key: fs[0][key] for key in ("swa", "extraSpoofs") if fs[0].get(key)},
                  "ensemble": {"runs": runs, "seeds": seeds}}
        merge_onnx([os.path.join(data, "cv", r, f"fold{k}-step{step}.onnx") for r in runs],
                   os.path.join(out_dir, f"fold{k}-step{step}.onnx"))
        with open(os.path.join(out_dir, f"fold{k}.json"), "w") as fh:
            json.dump(result, fh)

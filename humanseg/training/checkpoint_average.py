"""Average the weights of checkpoints of one architecture (weight averaging along a training chain).

Checkpoints taken at the low end of successive cosine runs that continue one another (`--init`) sit in one
basin; their mean is often better than any of them (Izmailov et al. 2018, stochastic weight averaging).
Float tensors (weights and batch-norm statistics) are averaged; integer buffers come from the last file.
The result is an ordinary checkpoint: `humanseg export` and `humanseg train --init` read it. Its history is
the runs the members share, then each member's own runs after them, then an entry that names the files
averaged; its cumulative samples are the sum over that history, so two runs continued from one file count
both their samples and the shared ones once."""
from __future__ import annotations

from pathlib import Path

import torch

from ..errors import HumansegError
from .checkpoint_file import read_checkpoint


class AverageError(ValueError):
    """Checkpoints that cannot be averaged (missing, or of different architectures)."""


def average_checkpoints(paths: list[Path]) -> dict:
    if len(paths) < 2:
        raise AverageError("give at least two checkpoints to average")
    states = []
    for path in paths:
        try:
            states.append(read_checkpoint(path))
        except HumansegError as exc:  # missing, unreadable or not a checkpoint
            raise AverageError(str(exc)) from None
    first = states[0]
    def architecture(state: dict) -> tuple:   # an older checkpoint without model_kwargs took the defaults
        return state.get("model"), state.get("model_kwargs") or {}

    for path, state in zip(paths[1:], states[1:]):
        if architecture(state) != architecture(first) or state["state_dict"].keys() != first["state_dict"].keys():
            raise AverageError(f"{path}: holds {' '.join(map(str, architecture(state)))}, "
                               f"not {' '.join(map(str, architecture(first)))}")
    averaged = {}
    for key, value in states[-1]["state_dict"].items():
        if value.is_floating_point():
            averaged[key] = torch.stack([s["state_dict"][key].float() for s in states]).mean(0).to(value.dtype)
        else:
            averaged[key] = value.clone()
    newest = max(states, key=lambda s: int(s.get("training_samples", 0)))
    result = dict(newest)
    result["state_dict"] = averaged
    result["training_runs"] = merged_history([list(s.get("training_runs", [])) for s in states]) + [
        {"average_of": [str(p) for p in paths], "samples": 0}]
    result["training_samples"] = sum(int(run.get("samples", 0)) for run in result["training_runs"])
    return result


def merged_history(histories: list[list[dict]]) -> list[dict]:
    """The runs all histories start with, once, then each history's remaining runs in the given order; two
    checkpoints of one run (same output folder, e.g. best.pt and last.pt) count that run once, at its longest,
    and an entry without an output folder (an earlier average) that several histories hold is listed once."""
    shared = 0
    while all(len(h) > shared and h[shared] == histories[0][shared] for h in histories):
        shared += 1
    own: dict = {}
    for run in (run for h in histories for run in h[shared:]):
        key = run.get("out") or repr(sorted(run.items()))
        if key not in own or int(run.get("samples", 0)) > int(own[key].get("samples", 0)):
            own[key] = run
    return histories[0][:shared] + list(own.values())

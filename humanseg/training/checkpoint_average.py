"""Average the weights of checkpoints of one architecture (weight averaging along a training chain).

Checkpoints taken at the low end of successive cosine runs that continue one another (`--init`) sit in one
basin; their mean is often better than any of them (Izmailov et al. 2018, stochastic weight averaging).
Float tensors (weights and batch-norm statistics) are averaged; integer buffers come from the last file.
The result is an ordinary checkpoint: `humanseg export` and `humanseg train --init` read it. Its history is
that of the member with the most cumulative samples (the members share one lineage), plus an entry that
names the files averaged."""
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
    for path, state in zip(paths[1:], states[1:]):
        same = (state.get("model"), state.get("model_kwargs")) == (first.get("model"), first.get("model_kwargs"))
        if not same or state["state_dict"].keys() != first["state_dict"].keys():
            raise AverageError(f"{path}: holds {state.get('model')} {state.get('model_kwargs')}, "
                               f"not {first.get('model')} {first.get('model_kwargs')}")
    averaged = {}
    for key, value in states[-1]["state_dict"].items():
        if value.is_floating_point():
            averaged[key] = torch.stack([s["state_dict"][key].float() for s in states]).mean(0).to(value.dtype)
        else:
            averaged[key] = value.clone()
    newest = max(states, key=lambda s: int(s.get("training_samples", 0)))
    result = dict(newest)
    result["state_dict"] = averaged
    result["training_runs"] = list(newest.get("training_runs", [])) + [
        {"average_of": [str(p) for p in paths], "samples": 0}]
    result["training_samples"] = int(newest.get("training_samples", 0))
    return result

"""Freezing named parts of a model during training (`humanseg train --freeze encoder,context,ups,head`).

A frozen part keeps its weights (no gradient, not in the optimizer) and its batch-norm statistics (it stays
in eval mode while the rest trains), so a head trained on top of a frozen network leaves that network's
output exactly as it was: e.g. a matting head on the shipped segmentation model, whose probability stays
the coarse alpha it refines."""
from __future__ import annotations

from torch import nn

from ..errors import OptionError


def freeze_parts(model: nn.Module, names: list[str]) -> list[nn.Module]:
    """Stop training the top-level children `names` of `model`; return them (for `train_mode`).
    Raises OptionError (a ValueError) naming the unknown part(s) and the known ones."""
    children = dict(model.named_children())
    unknown = [n for n in names if n not in children]
    if unknown:
        raise OptionError(f"--freeze: {', '.join(unknown)} is not a part of this model; "
                         f"its parts are {', '.join(children)}")
    if names and len(set(names)) == len(children):
        raise OptionError("--freeze: that would freeze every part of the model; nothing would train")
    frozen = [children[n] for n in names]
    for part in frozen:
        part.requires_grad_(False)
    return frozen


def train_mode(model: nn.Module, frozen: list[nn.Module]) -> None:
    """model.train(), with the frozen parts back in eval mode (their batch-norm statistics stay fixed)."""
    model.train()
    for part in frozen:
        part.eval()


def trainable_parameters(model: nn.Module) -> list[nn.Parameter]:
    return [p for p in model.parameters() if p.requires_grad]

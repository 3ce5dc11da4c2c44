"""A trained network as a second distillation teacher (`humanseg train --teacher-model CKPT`).

The teacher labels in `<data>/**/soft/` are fixed maps of the original photos; a teacher network instead sees each
augmented batch exactly as the student does (same canvas, crop, lighting and previous mask) and gives its person
probability for it. Its use here: a network grown from another one that lost capacity on the way (the gate-free
`fast-portrait-prior-lean`, folded from the gated model by training/fold_gates.py) learns what the original
computed on every training input, not only where labels and fixed teacher maps say so (Hinton et al. 2015,
knowledge distillation). Loss: `teacher_model_weight` x the same BCE as the teacher labels, on every pixel."""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ..errors import HumansegError, OptionError
from .checkpoint_file import read_checkpoint
from .losses.distill import SoftTargetLoss
from .models import create_model, input_channels, predicts_alpha


def load_model_teacher(path: str | Path, channels: int) -> nn.Module:
    """The checkpoint's network in eval mode with frozen weights; OptionError (one line) when the file is not a
    humanseg training checkpoint or its network takes another number of input channels than the student."""
    try:
        state = read_checkpoint(path)
        teacher = create_model(state["model"], **state.get("model_kwargs", {}))
        teacher.load_state_dict(state["state_dict"])
    except (HumansegError, RuntimeError, TypeError) as exc:
        raise OptionError(f"--teacher-model: {exc}".splitlines()[0]) from None
    if input_channels(teacher) != channels:
        raise OptionError(f"--teacher-model: {path} takes {input_channels(teacher)} input channels, the student "
                          f"{channels}")
    if predicts_alpha(teacher):
        raise OptionError(f"--teacher-model: {path} is a matting model; give a segmentation checkpoint")
    for p in teacher.parameters():
        p.requires_grad_(False)
    return teacher.eval()


def model_teacher_loss(teacher: nn.Module, x: torch.Tensor, logits: torch.Tensor, distill: SoftTargetLoss
                       ) -> torch.Tensor:
    """BCE of the student's person probability to the teacher's on the same input x, over every pixel."""
    with torch.no_grad():
        target = teacher(x).float().softmax(1)[:, 1]
    return distill(logits, target, torch.ones_like(target, dtype=torch.bool))

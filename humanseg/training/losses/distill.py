"""Distillation to teacher soft labels: binary cross-entropy of the person probability."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class SoftTargetLoss(nn.Module):
    """Mean over valid pixels of BCE(softmax(logits)[:, 1], target).

    logits: NxCxHxW (2 classes: the person logit is l1 - l0); target: float NxHxW in [0, 1];
    valid: bool NxHxW. Returns 0 (with a gradient path) when no pixel is valid."""

    def forward(self, logits: torch.Tensor, target: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        person_logit = (logits[:, 1] - logits[:, 0]).float()
        loss = F.binary_cross_entropy_with_logits(person_logit, target.float(), reduction="none")
        weight = valid.float()
        return (loss * weight).sum() / weight.sum().clamp(min=1.0)

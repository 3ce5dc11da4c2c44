"""Losses for 2-class (or C-class) segmentation. All take logits NxCxHxW and labels NxHxW (int64)."""
from __future__ import annotations

import torch
from torch import nn

from ...errors import OptionError
from .connectivity import SemanticConnectivityLoss
from .cross_entropy import CrossEntropyLoss
from .dice import DiceLoss
from .lovasz import LovaszSoftmaxLoss

LOSSES = {
    "ce": CrossEntropyLoss,
    "lovasz": LovaszSoftmaxLoss,
    "dice": DiceLoss,
    "scl": SemanticConnectivityLoss,
}


class MixedLoss(nn.Module):
    """Weighted sum of named losses, e.g. {"ce": 0.8, "lovasz": 0.2, "scl": 1.0}."""

    def __init__(self, weights: dict[str, float], class_weights: list[float] | None = None):
        super().__init__()
        unknown = set(weights) - set(LOSSES)
        if unknown:
            raise OptionError(f"--losses: unknown loss(es) {sorted(unknown)}; choose from {sorted(LOSSES)}")
        self.weights = dict(weights)
        self.losses = nn.ModuleDict({
            name: LOSSES[name](class_weights=class_weights) if name == "ce" else LOSSES[name]()
            for name in weights
        })

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        total = logits.new_zeros(())
        parts = {}
        for name, weight in self.weights.items():
            value = self.losses[name](logits, labels)
            parts[name] = float(value.detach())
            total = total + weight * value
        return total, parts

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class DiceLoss(nn.Module):
    """1 - mean over classes of (2 sum(p g) + eps) / (sum(p) + sum(g) + eps), batch pooled; 255 ignored."""

    def __init__(self, eps: float = 1.0, ignore_index: int = 255):
        super().__init__()
        self.eps = eps
        self.ignore_index = ignore_index

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        probs = logits.float().softmax(1)
        valid = (labels != self.ignore_index).unsqueeze(1).float()
        onehot = F.one_hot(labels.clamp(max=probs.shape[1] - 1), probs.shape[1]).permute(0, 3, 1, 2).float()
        probs, onehot = probs * valid, onehot * valid
        dims = (0, 2, 3)
        dice = (2 * (probs * onehot).sum(dims) + self.eps) / (probs.sum(dims) + onehot.sum(dims) + self.eps)
        return 1.0 - dice.mean()

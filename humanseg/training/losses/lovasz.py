"""Lovasz-softmax loss (Berman et al., CVPR 2018): a convex surrogate of 1 - IoU per class."""
from __future__ import annotations

import torch
from torch import nn


def lovasz_gradient(gt_sorted: torch.Tensor) -> torch.Tensor:
    """Gradient of the Jaccard loss extension for ground truth sorted by decreasing error."""
    total = gt_sorted.sum()
    intersection = total - gt_sorted.cumsum(0)
    union = total + (1.0 - gt_sorted).cumsum(0)
    jaccard = 1.0 - intersection / union
    if gt_sorted.numel() > 1:
        jaccard[1:] = jaccard[1:] - jaccard[:-1]
    return jaccard


class LovaszSoftmaxLoss(nn.Module):
    """Mean over classes present in the labels of the Lovasz extension of 1 - IoU.

    Pixels of the whole batch are pooled (as PaddleSeg does by default); label 255 is ignored.
    """

    def __init__(self, ignore_index: int = 255):
        super().__init__()
        self.ignore_index = ignore_index

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        probs = logits.float().softmax(1)
        c = probs.shape[1]
        probs = probs.permute(0, 2, 3, 1).reshape(-1, c)
        labels = labels.reshape(-1)
        valid = labels != self.ignore_index
        probs, labels = probs[valid], labels[valid]
        losses = []
        for cls in range(c):
            fg = (labels == cls).float()
            if fg.sum() == 0:
                continue
            errors = (fg - probs[:, cls]).abs()
            errors_sorted, order = torch.sort(errors, descending=True)
            losses.append(torch.dot(errors_sorted, lovasz_gradient(fg[order])))
        if not losses:
            return probs.sum() * 0.0
        return torch.stack(losses).mean()

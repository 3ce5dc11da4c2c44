"""Semantic Connectivity loss (SCL, PP-HumanSeg, Chu et al. 2022).

Components come from the hard prediction (argmax) and the label; the IoU of each intersecting
pair is computed with the soft probability of the class, so the loss has a gradient:
    I_ij = sum of p over pixels in pred component i and label component j
    U_ij = sum of p over pred component i + |label component j| - I_ij
SC follows `humanseg.evaluation.connectivity` (the same pairing the evaluator uses) and the loss
is 1 - SC. When no pair intersects, the cold-start loss |P u G| / |image| (with soft P) is used.
Averaged over images and over the classes present in prediction or label.

Components are found on the CPU; the soft sums for the whole batch are two index_add calls on
the logits' device, so the loss costs a handful of kernels per batch.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ...evaluation.connectivity import pair_components


class SemanticConnectivityLoss(nn.Module):
    def __init__(self, ignore_index: int = 255):
        super().__init__()
        self.ignore_index = ignore_index

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        probs = logits.float().softmax(1)
        n_img, n_cls, h, w = probs.shape
        hard = probs.detach().argmax(1).cpu().numpy()
        labels_np = labels.cpu().numpy()
        valid_np = labels_np != self.ignore_index
        pix = h * w

        joint_index = np.zeros((n_img, n_cls, pix), np.int64)   # into the batch's soft-intersection table
        area_index = np.zeros((n_img, n_cls, pix), np.int64)    # into the batch's soft pred-area table
        use = np.zeros((n_img, n_cls), bool)
        cold = np.zeros((n_img, n_cls), bool)
        pair_table_pos, pair_area_pos, pair_gt_area, pair_weight = [], [], [], []
        table_size, area_size = 1, 1  # slot 0 collects pixels that belong to no component
        for n in range(n_img):
            for c in range(n_cls):
                pred = (hard[n] == c) & valid_np[n]
                gt = (labels_np[n] == c) & valid_np[n]
                if not pred.any() and not gt.any():
                    continue
                use[n, c] = True
                pairs = pair_components(pred, gt)
                touches = pairs.intersection[1:, 1:] > 0
                if not touches.any():
                    cold[n, c] = True
                    continue
                n_g = pairs.n_gt
                in_pred = pairs.pred_labels.reshape(-1) > 0
                joint = pairs.pred_labels.reshape(-1).astype(np.int64) * (n_g + 1) + pairs.gt_labels.reshape(-1)
                joint_index[n, c] = np.where(in_pred, table_size + joint, 0)
                area_index[n, c] = np.where(in_pred, area_size + pairs.pred_labels.reshape(-1), 0)
                n_touch = touches.sum(0)
                denominator = n_g + int((~touches.any(1)).sum())
                pi, gj = np.nonzero(touches)
                pair_table_pos.append(table_size + (pi + 1) * (n_g + 1) + (gj + 1))
                pair_area_pos.append(area_size + pi + 1)
                pair_gt_area.append(pairs.intersection[:, 1:].sum(0)[gj])
                pair_weight.append(1.0 / (n_touch[gj] * denominator))
                table_size += (pairs.n_pred + 1) * (n_g + 1)
                area_size += pairs.n_pred + 1
        n_used = int(use.sum())
        if n_used == 0:
            return probs.sum() * 0.0

        device = probs.device
        valid = torch.from_numpy(valid_np).to(device).unsqueeze(1)
        flat = (probs * valid).reshape(-1)
        total = probs.new_zeros(())
        if pair_table_pos:
            soft_table = probs.new_zeros(table_size).index_add(0, torch.from_numpy(joint_index.reshape(-1)).to(device), flat)
            soft_area = probs.new_zeros(area_size).index_add(0, torch.from_numpy(area_index.reshape(-1)).to(device), flat)
            inter = soft_table[torch.from_numpy(np.concatenate(pair_table_pos)).to(device)]
            pred_area = soft_area[torch.from_numpy(np.concatenate(pair_area_pos)).to(device)]
            gt_area = torch.from_numpy(np.concatenate(pair_gt_area).astype(np.float32)).to(device)
            weight = torch.from_numpy(np.concatenate(pair_weight).astype(np.float32)).to(device)
            iou = inter / (pred_area + gt_area - inter).clamp_min(1e-6)
            n_matched = int((use & ~cold).sum())
            total = total + n_matched - (weight * iou).sum()   # sum over (image, class) of 1 - SC
        if cold.any():
            onehot = torch.from_numpy((labels_np[:, None] == np.arange(n_cls)[None, :, None, None])).to(device).float()
            union = (probs + onehot - probs * onehot) * valid
            per = union.sum((2, 3)) / pix
            total = total + per[torch.from_numpy(cold).to(device)].sum()
        return total / n_used

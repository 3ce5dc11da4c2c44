"""Semantic connectivity (SC) of a predicted mask against a label (PP-HumanSeg, Chu et al. 2022).

Connected components of prediction P and label G are paired where they intersect. Each label
component scores the mean IoU of the predicted components that touch it (0 if none). Predicted
components that touch no label component are "isolated".

    SC = sum(label component scores) / (number of label components + number of isolated predicted components)

SC is 1 when both masks are empty.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass
class ComponentPairs:
    """Component label maps and their pixel-count intersection table.

    pred_labels / gt_labels: int32 HxW, 0 = outside the class, 1..n = component id.
    intersection: int64 (n_pred + 1) x (n_gt + 1) pixel counts of each (pred id, gt id) pair.
    """

    pred_labels: np.ndarray
    gt_labels: np.ndarray
    n_pred: int
    n_gt: int
    intersection: np.ndarray


def components(mask: np.ndarray) -> tuple[int, np.ndarray]:
    """mask: bool HxW. Returns (count, int32 HxW labels with 0 = background), 8-connectivity."""
    n, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8, ltype=cv2.CV_32S)
    return n - 1, labels


def pair_components(pred: np.ndarray, gt: np.ndarray) -> ComponentPairs:
    """pred, gt: bool HxW masks of one class."""
    n_pred, pl = components(pred)
    n_gt, gl = components(gt)
    joint = pl.astype(np.int64) * (n_gt + 1) + gl
    table = np.bincount(joint.ravel(), minlength=(n_pred + 1) * (n_gt + 1)).reshape(n_pred + 1, n_gt + 1)
    return ComponentPairs(pl, gl, n_pred, n_gt, table)


def sc_from_table(intersection: np.ndarray, pred_area: np.ndarray, gt_area: np.ndarray) -> float:
    """SC from intersections I[i, j] (components only, no background row/col) and areas."""
    n_pred, n_gt = intersection.shape
    if n_pred == 0 and n_gt == 0:
        return 1.0
    touches = intersection > 0
    union = pred_area[:, None] + gt_area[None, :] - intersection
    iou = np.where(touches, intersection / np.maximum(union, 1e-12), 0.0)
    n_touch = touches.sum(0)
    scores = np.where(n_touch > 0, iou.sum(0) / np.maximum(n_touch, 1), 0.0)
    isolated = int((~touches.any(1)).sum())
    return float(scores.sum() / (n_gt + isolated))


def semantic_connectivity(pred: np.ndarray, gt: np.ndarray) -> float:
    """SC in [0, 1] of bool HxW prediction vs bool HxW label for one class."""
    pairs = pair_components(pred, gt)
    table = pairs.intersection.astype(np.float64)
    return sc_from_table(table[1:, 1:], table[1:, :].sum(1), table[:, 1:].sum(0))

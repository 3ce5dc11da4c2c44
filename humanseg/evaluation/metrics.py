"""Segmentation metrics on binary person masks (bool or {0,1} HxW arrays)."""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from .connectivity import semantic_connectivity


def intersection_union(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """[[I_bg, U_bg], [I_fg, U_fg]] pixel counts (int64)."""
    pred, gt = pred.astype(bool), gt.astype(bool)
    fg_i = np.count_nonzero(pred & gt)
    fg_u = np.count_nonzero(pred | gt)
    bg_i = pred.size - fg_u
    bg_u = pred.size - fg_i
    return np.array([[bg_i, bg_u], [fg_i, fg_u]], np.int64)


def boundary(mask: np.ndarray, width: int) -> np.ndarray:
    """Pixels within `width` of the mask's edge (bool HxW)."""
    m = mask.astype(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * width + 1, 2 * width + 1))
    return cv2.dilate(m, kernel) != cv2.erode(m, kernel)


def boundary_f(pred: np.ndarray, gt: np.ndarray, tolerance: float = 0.0075) -> float:
    """Boundary F-score: precision/recall of edge pixels matched within a tolerance of
    `tolerance` x image diagonal (at least 1 px), as in the DAVIS benchmark."""
    pred, gt = pred.astype(bool), gt.astype(bool)
    radius = max(1, round(tolerance * float(np.hypot(*pred.shape))))
    pb, gb = boundary(pred, 1) & pred, boundary(gt, 1) & gt
    if not pb.any() and not gb.any():
        return 1.0
    if not pb.any() or not gb.any():
        return 0.0
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    gb_wide = cv2.dilate(gb.astype(np.uint8), kernel) > 0
    pb_wide = cv2.dilate(pb.astype(np.uint8), kernel) > 0
    precision = np.count_nonzero(pb & gb_wide) / np.count_nonzero(pb)
    recall = np.count_nonzero(gb & pb_wide) / np.count_nonzero(gb)
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


@dataclass
class SegmentationScores:
    """Accumulates per-image results. mIoU comes from summed intersections and unions
    (as PaddleSeg reports it), boundary F and SC are means over images."""

    iu: np.ndarray = field(default_factory=lambda: np.zeros((2, 2), np.int64))
    boundary_f: list[float] = field(default_factory=list)
    sc: list[float] = field(default_factory=list)
    n_images: int = 0

    def add(self, pred: np.ndarray, gt: np.ndarray, detailed: bool = True) -> dict[str, float]:
        """Score one image; returns its row {"fg_iou"[, "boundary_f", "sc"]} (with "iu": its counts)."""
        iu = intersection_union(pred, gt)
        row = {"fg_iou": float(iu[1, 0] / iu[1, 1]) if iu[1, 1] else 1.0}
        if detailed:
            row["boundary_f"] = boundary_f(pred, gt)
            row["sc"] = semantic_connectivity(pred.astype(bool), gt.astype(bool))
        self.record(iu, row)
        return {**row, "iu": iu}

    def record(self, iu: np.ndarray, row: dict[str, float]) -> None:
        """Add an image already scored by `add` (its counts and row), e.g. to a per-source total."""
        self.iu += iu
        self.n_images += 1
        if "boundary_f" in row:
            self.boundary_f.append(row["boundary_f"])
            self.sc.append(row["sc"])

    def summary(self) -> dict[str, float]:
        ious = self.iu[:, 0] / np.maximum(self.iu[:, 1], 1)
        out = {"miou": float(ious.mean()), "fg_iou": float(ious[1])}
        if self.boundary_f:
            out["boundary_f"] = float(np.mean(self.boundary_f))
            out["sc"] = float(np.mean(self.sc))
        return out


class ScoresBySource:
    """SegmentationScores overall and per source (the <source> folder of <source>/images)."""

    def __init__(self):
        self.all = SegmentationScores()
        self.sources: dict[str, SegmentationScores] = {}

    def add(self, pred: np.ndarray, gt: np.ndarray, source: str) -> dict[str, float]:
        row = self.all.add(pred, gt)
        self.sources.setdefault(source, SegmentationScores()).record(row["iu"], row)
        return {k: v for k, v in row.items() if k != "iu"}

    def per_source(self) -> dict[str, dict[str, float]]:
        """{source: {"miou", "fg_iou", "boundary_f", "sc", "n_images"}}, sources in name order."""
        return {name: {**scores.summary(), "n_images": scores.n_images}
                for name, scores in sorted(self.sources.items())}

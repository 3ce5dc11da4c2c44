import numpy as np
import pytest

from humanseg.evaluation.connectivity import semantic_connectivity
from humanseg.evaluation.metrics import SegmentationScores, boundary_f
from tests.drawn_example import drawn_masks


def test_semantic_connectivity_of_drawn_example():
    pred, gt = drawn_masks()
    assert semantic_connectivity(pred, gt) == pytest.approx(0.125)
    assert semantic_connectivity(~pred, ~gt) == pytest.approx(40 / 54)


def test_semantic_connectivity_edge_cases():
    empty = np.zeros((5, 5), bool)
    full = np.ones((5, 5), bool)
    assert semantic_connectivity(empty, empty) == 1.0
    assert semantic_connectivity(full, full) == 1.0
    assert semantic_connectivity(full, empty) == 0.0   # one isolated predicted component
    assert semantic_connectivity(empty, full) == 0.0   # one unmatched label component


def test_miou_sums_intersections_and_unions_over_images():
    pred, gt = drawn_masks()
    scores = SegmentationScores()
    scores.add(pred, gt)
    scores.add(gt, gt)  # perfect: person I = U = 16, background I = U = 44
    s = scores.summary()
    fg = (6 + 16) / (20 + 16)
    bg = (40 + 44) / (54 + 44)
    assert s["fg_iou"] == pytest.approx(fg)
    assert s["miou"] == pytest.approx((fg + bg) / 2)
    assert s["sc"] == pytest.approx((0.125 + 1.0) / 2)


def test_boundary_f_perfect_shifted_and_empty():
    gt = np.zeros((100, 100), bool)
    gt[20:80, 30:70] = True
    assert boundary_f(gt, gt) == 1.0
    far = np.roll(gt, 15, axis=1)
    assert boundary_f(far, gt) < 0.6
    assert boundary_f(np.zeros_like(gt), gt) == 0.0

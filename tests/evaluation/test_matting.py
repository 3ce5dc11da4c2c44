"""Matting errors (SAD, MSE, Grad, Conn) on tiny arrays whose answers are worked out by hand."""
import numpy as np
import pytest

from humanseg.evaluation.matting import (MattingScores, connectivity_error, connectivity_levels,
                                         gaussian_gradient_magnitude, gradient_error, matting_errors, mse, sad,
                                         unknown_band)


def test_sad_and_mse_on_a_3x3_case():
    gt = np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], float)
    pred = np.array([[0.1, 0, 0], [0, 0.5, 0], [0, 0, 0.2]])
    assert sad(pred, gt) == pytest.approx((0.1 + 0.5 + 0.2) / 1000)
    assert mse(pred, gt) == pytest.approx((0.01 + 0.25 + 0.04) / 9)
    centre = np.zeros((3, 3), bool)
    centre[1, 1] = True
    assert sad(pred, gt, centre) == pytest.approx(0.5 / 1000)
    assert mse(pred, gt, centre) == pytest.approx(0.25)
    assert mse(pred, gt, np.zeros((3, 3), bool)) == 0.0


def test_identical_alphas_score_zero_on_every_metric():
    rng = np.random.default_rng(0)
    alpha = np.clip(rng.normal(0.5, 0.4, (20, 30)), 0, 1)
    errors = matting_errors(alpha, alpha)
    assert errors == {"sad": 0.0, "mse": 0.0, "grad": 0.0, "conn": 0.0}
    assert matting_errors(alpha, alpha, unknown_band(alpha, 2)) == errors


def test_gradient_of_a_ramp_is_its_slope_and_flat_offsets_cost_nothing():
    ramp = np.tile(np.arange(40) * 0.02, (30, 1))             # slope 0.02 per px along x
    magnitude = gaussian_gradient_magnitude(ramp)
    assert magnitude[10:20, 10:30] == pytest.approx(0.02, rel=0.02)
    flat = np.full((30, 40), 0.5)
    assert gradient_error(flat, np.full((30, 40), 0.2)) == pytest.approx(0, abs=1e-12)  # zero gradients: no error
    interior = np.zeros((30, 40), bool)
    interior[10:20, 10:30] = True
    assert gradient_error(flat, ramp, interior) == pytest.approx(200 * 0.02 ** 2 / 1000, rel=0.05)


def test_connectivity_of_a_row_cut_in_two():
    # GT is one opaque run; the prediction dips to 0.3 at pixel 3. From level 0.4 on, pixels 0-2 are the
    # source region, so pixels 3-5 lost touch at l = 0.3. phi_gt = 1 - 0.7 at 3-5; phi_pred = 1 at 3 (d = 0)
    # and 0.3 at 4-5: only pixel 3 differs, by 0.7.
    gt = np.ones((1, 6))
    pred = np.array([[1, 1, 1, 0.3, 1, 1]])
    assert connectivity_levels(pred, gt) == pytest.approx(np.array([[1, 1, 1, 0.3, 0.3, 0.3]]))
    assert connectivity_error(pred, gt) == pytest.approx(0.7 / 1000)
    assert connectivity_error(gt, gt) == 0.0


def test_connectivity_of_an_island():
    # A 3x3 opaque block and, apart from it, one pixel of alpha 0.5 (GT) / 0.8 (prediction). The island is never
    # in the largest component, so l = 0 there: phi_gt = 0.5, phi_pred = 0.2. Everything else agrees.
    gt = np.zeros((5, 7))
    gt[1:4, 1:4] = 1
    pred = gt.copy()
    gt[2, 6], pred[2, 6] = 0.5, 0.8
    assert connectivity_error(pred, gt) == pytest.approx(0.3 / 1000)
    # an island below theta (d = 0.1 < 0.15) counts as connected
    pred[2, 6], gt[2, 6] = 0.1, 0.0
    assert connectivity_error(pred, gt) == 0.0


def test_unknown_band_is_the_soft_region_and_edge_dilated():
    gt = np.zeros((9, 9))
    gt[3:6, 3:6] = 1
    band0 = unknown_band(gt, 0)
    # the 3-pixel-wide edge (cross-shaped morphological gradient) of the square
    assert band0[3, 3] and not band0[4, 4]
    assert band0[4, 2] and band0[4, 3] and band0[4, 5] and band0[4, 6] and not band0[4, 1]
    assert not band0[0].any()
    assert unknown_band(gt, 2)[4, 0] and unknown_band(gt, 2).sum() > band0.sum()
    soft = np.zeros((9, 9))
    soft[0, 0] = 0.4                                          # a lone soft pixel (below 0.5, no hard edge)
    assert unknown_band(soft, 0).sum() == 1 and unknown_band(soft, 0)[0, 0]


def test_scores_average_over_images_whole_and_band():
    gt = np.zeros((9, 9))
    gt[3:6, 3:6] = 1
    scores = MattingScores(band_radius=1)
    scores.add(gt, gt)
    far = gt.copy()
    far[0, 0] = 1                                             # an error outside the band
    row = scores.add(far, gt)
    assert row["sad"] == pytest.approx(1 / 1000) and row["band_sad"] == 0.0
    s = scores.summary()
    assert s["n_images"] == 2 and s["band_radius"] == 1
    assert s["whole"]["sad"] == pytest.approx(0.5 / 1000) and s["whole"]["mse"] == pytest.approx(1 / 81 / 2)
    assert s["band"]["sad"] == 0.0

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from humanseg.training.losses import CrossEntropyLoss, DiceLoss, LovaszSoftmaxLoss, MixedLoss, SemanticConnectivityLoss  # noqa: E402
from tests.drawn_example import drawn_masks  # noqa: E402


def sharp_logits(pred: np.ndarray, scale: float = 50.0) -> torch.Tensor:
    """1x2xHxW logits whose softmax is (numerically) the one-hot of `pred`."""
    fg = torch.from_numpy(pred.astype(np.float32))
    return torch.stack([(1 - fg) * scale, fg * scale])[None]


def labels_of(gt: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(gt.astype(np.int64))[None]


def test_cross_entropy_with_class_weights_matches_hand_value():
    # pixel a: label 1, logits (0, ln 3) -> p = 3/4;  pixel b: label 0, logits (0, 0) -> p = 1/2
    logits = torch.tensor([[0.0, 0.0], [math.log(3), 0.0]]).reshape(1, 2, 1, 2)
    labels = torch.tensor([[[1, 0]]])
    assert CrossEntropyLoss()(logits, labels).item() == pytest.approx((-math.log(0.75) - math.log(0.5)) / 2, abs=1e-6)
    weighted = CrossEntropyLoss(class_weights=[1.0, 3.0])(logits, labels).item()
    assert weighted == pytest.approx((3 * -math.log(0.75) + 1 * -math.log(0.5)) / 4, abs=1e-6)


def test_lovasz_on_hard_predictions_equals_one_minus_iou():
    pred, gt = drawn_masks()
    # IoU person = 6 / 20, IoU background = 40 / 54
    expected = ((1 - 6 / 20) + (1 - 40 / 54)) / 2
    assert LovaszSoftmaxLoss()(sharp_logits(pred), labels_of(gt)).item() == pytest.approx(expected, abs=1e-5)


def test_lovasz_is_zero_for_perfect_prediction_and_has_gradient():
    _, gt = drawn_masks()
    assert LovaszSoftmaxLoss()(sharp_logits(gt), labels_of(gt)).item() == pytest.approx(0.0, abs=1e-6)
    logits = torch.zeros(1, 2, 6, 10, requires_grad=True)
    LovaszSoftmaxLoss()(logits, labels_of(gt)).backward()
    assert logits.grad.abs().sum() > 0


def test_dice_matches_hand_value():
    pred, gt = drawn_masks()
    # eps = 1: person (2*6+1)/(10+16+1), background (2*40+1)/(50+44+1)
    expected = 1 - (13 / 27 + 81 / 95) / 2
    assert DiceLoss()(sharp_logits(pred), labels_of(gt)).item() == pytest.approx(expected, abs=1e-5)


def test_scl_matches_hand_computed_sc_of_drawn_example():
    pred, gt = drawn_masks()
    expected = ((1 - 0.125) + (1 - 40 / 54)) / 2
    assert SemanticConnectivityLoss()(sharp_logits(pred), labels_of(gt)).item() == pytest.approx(expected, abs=1e-5)


def test_scl_cold_start_when_nothing_intersects():
    gt = np.zeros((6, 10), bool)
    gt[0:2, 0:2] = True            # 4 px
    pred = np.zeros((6, 10), bool)
    pred[4, 8:10] = True           # 2 px, disjoint: person loss = |P u G| / |image| = 6 / 60
    # background: intersection 54, union 60 -> SC 0.9 -> loss 0.1
    assert SemanticConnectivityLoss()(sharp_logits(pred), labels_of(gt)).item() == pytest.approx(0.1, abs=1e-5)


def test_scl_has_gradient_and_rewards_better_predictions():
    _, gt = drawn_masks()
    logits = torch.zeros(1, 2, 6, 10)
    logits[0, 1] = torch.from_numpy(gt.astype(np.float32)) * 2 - 1
    logits.requires_grad_(True)
    loss = SemanticConnectivityLoss()(logits, labels_of(gt))
    loss.backward()
    assert logits.grad.abs().sum() > 0
    better = SemanticConnectivityLoss()(logits.detach() * 5, labels_of(gt))
    assert better.item() < loss.item()


def test_mixed_loss_weights_parts():
    pred, gt = drawn_masks()
    logits, labels = sharp_logits(pred), labels_of(gt)
    total, parts = MixedLoss({"ce": 0.8, "lovasz": 0.2, "scl": 1.0})(logits, labels)
    assert total.item() == pytest.approx(0.8 * parts["ce"] + 0.2 * parts["lovasz"] + parts["scl"], rel=1e-5)
    with pytest.raises(ValueError):
        MixedLoss({"nope": 1.0})


def test_soft_target_loss_is_bce_of_the_person_probability_over_valid_pixels():
    from humanseg.training.losses.distill import SoftTargetLoss

    logits = torch.zeros(1, 2, 2, 2)           # p(person) = 0.5 everywhere
    logits[0, 1, 0, 0] = 2.0                    # p = sigmoid(2) at one pixel
    target = torch.tensor([[[1.0, 1.0], [0.0, 0.25]]])
    valid = torch.tensor([[[True, True], [True, False]]])
    p = 1 / (1 + np.exp(-2.0))
    expected = (-np.log(p) + np.log(2) + np.log(2)) / 3
    assert SoftTargetLoss()(logits, target, valid).item() == pytest.approx(expected, rel=1e-5)
    none = SoftTargetLoss()(logits.requires_grad_(True), target, torch.zeros_like(valid))
    assert none.item() == 0.0
    none.backward()

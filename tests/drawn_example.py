"""A small drawn example whose scores are computed by hand in the tests' comments."""
import numpy as np


def drawn_masks() -> tuple[np.ndarray, np.ndarray]:
    """6x10 label with two components G1 (rows 0-1, cols 0-3) and G2 (rows 4-5, cols 6-9);
    prediction with P1 (rows 0-1, cols 0-1), P2 (rows 0-1, col 3) and P3 (rows 2-3, cols 8-9).

    P1 n G1 = 4, union 8 -> IoU 0.5;  P2 n G1 = 2, union 8 -> IoU 0.25;  G2 touched by nothing;
    P3 touches no label component (isolated).
    SC(person) = (mean(0.5, 0.25) + 0) / (2 label components + 1 isolated) = 0.375 / 3 = 0.125.
    Background: one component each; |P| = 10, |G| = 16, |P n G| = 6, so background intersection
    = 60 - 20 = 40, background union = 60 - 6 = 54: SC(background) = 40/54.
    """
    gt = np.zeros((6, 10), bool)
    gt[0:2, 0:4] = True
    gt[4:6, 6:10] = True
    pred = np.zeros((6, 10), bool)
    pred[0:2, 0:2] = True
    pred[0:2, 3] = True
    pred[2:4, 8:10] = True
    return pred, gt

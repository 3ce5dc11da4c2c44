"""Load and validate image/mask pairs for training (finding them is shared with evaluation)."""
from __future__ import annotations

import cv2
import numpy as np

from ...io.folders import Pair, find_images, find_pairs  # noqa: F401  (re-exported)
from ...io.masks import mask_problem, read_person_mask


class BadSample(Exception):
    """A pair that cannot be used; the message names the file and the problem."""


def load_pair(pair: Pair) -> tuple[np.ndarray, np.ndarray]:
    """Returns (uint8 HxWx3 RGB image, uint8 HxW label in {0, 1}); raises BadSample. The mask is read by the
    rule `humanseg eval` and the training store use (io/masks.py: 0/255, 0/1, 8 or 16 bits)."""
    image = cv2.imread(str(pair.image), cv2.IMREAD_COLOR)
    if image is None:
        raise BadSample(f"{pair.image}: unreadable image")
    mask = read_person_mask(pair.mask)
    problem = mask_problem(pair.mask, mask, image.shape)
    if problem:
        raise BadSample(problem)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB), mask.astype(np.uint8)


def check_pairs(pairs: list[Pair]) -> tuple[list[Pair], list[str]]:
    """Split pairs into usable ones and one problem line per bad pair."""
    good, problems = [], []
    for pair in pairs:
        try:
            load_pair(pair)
        except BadSample as exc:
            problems.append(str(exc))
        else:
            good.append(pair)
    return good, problems

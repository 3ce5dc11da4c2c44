"""Find and validate image/mask pairs in `<root>/<source>/{images,masks}` trees.

Mask convention: 0 = background, 255 = person (any value > 127 counts as person after checks).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}


@dataclass(frozen=True)
class Pair:
    image: Path
    mask: Path


def find_pairs(root: Path) -> list[Pair]:
    """All (image, mask) pairs under root: every `images/` folder with a sibling `masks/` folder.

    A mask is matched by stem, any image suffix. Images without a mask are ignored.
    """
    root = Path(root)
    pairs = []
    for images_dir in sorted(p for p in root.rglob("images") if p.is_dir()):
        masks_dir = images_dir.parent / "masks"
        if not masks_dir.is_dir():
            continue
        masks = {m.stem: m for m in masks_dir.iterdir() if m.suffix.lower() in IMAGE_SUFFIXES}
        for image in sorted(images_dir.iterdir()):
            if image.suffix.lower() in IMAGE_SUFFIXES and image.stem in masks:
                pairs.append(Pair(image, masks[image.stem]))
    return pairs


def find_images(root: Path) -> list[Path]:
    """All image files below root (used for backgrounds and calibration folders)."""
    return sorted(p for p in Path(root).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


class BadSample(Exception):
    """A pair that cannot be used; the message names the file and the problem."""


def load_pair(pair: Pair) -> tuple[np.ndarray, np.ndarray]:
    """Returns (uint8 HxWx3 RGB image, uint8 HxW label in {0, 1}); raises BadSample."""
    image = cv2.imread(str(pair.image), cv2.IMREAD_COLOR)
    if image is None:
        raise BadSample(f"{pair.image}: unreadable image")
    mask = cv2.imread(str(pair.mask), cv2.IMREAD_GRAYSCALE)
    if mask is None:
        raise BadSample(f"{pair.mask}: unreadable mask")
    if mask.shape != image.shape[:2]:
        raise BadSample(f"{pair.mask}: mask is {mask.shape[1]}x{mask.shape[0]}, image is {image.shape[1]}x{image.shape[0]}")
    values = np.unique(mask)
    if not np.isin(values, (0, 1, 255)).all():
        raise BadSample(f"{pair.mask}: mask is not binary (values {values[:6].tolist()}...; expected 0 and 255)")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB), (mask > 0).astype(np.uint8)


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

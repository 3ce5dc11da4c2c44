"""Find image/mask pairs in `<root>/<source>/{images,masks}` trees.

Mask convention: 0 = background, 255 = person (any value > 127 counts as person); label maps whose largest value
is at most 127 (0/1) are person > 0, and 16-bit masks likewise; a shape drawn only in an alpha channel (one colour
on transparency) is read from its alpha: training, its validation and `humanseg eval` read
masks with one rule (io/masks.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .suffixes import IMAGE_SUFFIXES


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

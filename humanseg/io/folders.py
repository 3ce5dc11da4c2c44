"""Find image/mask pairs in `<root>/<source>/{images,masks}` trees.

Mask convention: 0 = background, 255 = person (any value > 127 counts as person); label maps whose largest value
is at most 127 (0/1) are person > 0, and 16-bit masks likewise; a shape drawn only in an alpha channel (one colour
on transparency) is read from its alpha: training, its validation and `humanseg eval` read
masks with one rule (io/masks.py).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

from ..errors import HumansegWarning
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
        masks = label_files(masks_dir)
        for image in sorted(images_dir.iterdir()):
            if image.suffix.lower() in IMAGE_SUFFIXES and image.stem in masks:
                pairs.append(Pair(image, masks[image.stem]))
    return pairs


def label_files(folder: Path) -> dict[str, Path]:
    """stem -> the label file (mask or teacher label) of that stem in `folder`, any image suffix in any case;
    {} when there is no such folder. Where several files share a stem (a.png and a.jpg), the PNG is used (it is
    lossless), else the first by name, and one HumansegWarning names them, so that what labels an image is never
    left to the order the file system lists files in."""
    folder = Path(folder)
    if not folder.is_dir():
        return {}
    by_stem: dict[str, list[Path]] = {}
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file():
            by_stem.setdefault(path.stem, []).append(path)
    chosen, doubles = {}, []
    for stem, paths in by_stem.items():
        chosen[stem] = next((p for p in paths if p.suffix.lower() == ".png"), paths[0])
        if len(paths) > 1:
            doubles.append(f"{stem} ({', '.join(p.name for p in paths)}: {chosen[stem].name} used)")
    if doubles:
        more = f" and {len(doubles) - 3} more" if len(doubles) > 3 else ""
        warnings.warn(f"{folder}: {len(doubles)} stems have more than one label file: {'; '.join(doubles[:3])}{more}",
                      HumansegWarning, stacklevel=2)
    return chosen


def find_images(root: Path) -> list[Path]:
    """All image files below root (used for backgrounds and calibration folders)."""
    return sorted(p for p in Path(root).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())

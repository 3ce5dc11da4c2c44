"""Whether a GIF is animated: counted from its frame headers with Pillow, no pixel decoded. An animated GIF is
a video and a one-frame GIF an image, for `humanseg batch`, folder mode of `humanseg image` and read_image."""
from __future__ import annotations

import warnings
from pathlib import Path

from .suffixes import GIF_SUFFIXES, IMAGE_SUFFIXES, VIDEO_SUFFIXES


def frame_count(path: str | Path) -> int:
    """Frames in the image file at `path` (1 for a still); 1 too when Pillow cannot read it, so that the
    image reader, which opens it next, says what is wrong with it in its one-line error."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # Pillow's decompression-bomb warning: only headers are read
            with Image.open(path) as im:
                return max(1, int(getattr(im, "n_frames", 1)))
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError):   # damaged or unreadable
        return 1


def kind_of(path: Path) -> str | None:
    """"image", "video" or None (not a type humanseg reads), by suffix; a GIF by its frames: an animated one is a
    video, a one-frame one an image."""
    suffix = path.suffix.lower()
    if suffix in GIF_SUFFIXES:
        return "video" if frame_count(path) > 1 else "image"
    return "image" if suffix in IMAGE_SUFFIXES else "video" if suffix in VIDEO_SUFFIXES else None

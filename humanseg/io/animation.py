"""Whether a GIF, PNG or WebP is animated: counted from its frame headers with Pillow, no pixel decoded. An
animated GIF or PNG (APNG) is a video and a one-frame one an image, for `humanseg batch`, folder mode of
`humanseg image` and read_image. An animated WebP is a video too, but one the video reader (FFmpeg) cannot
decode: it is refused with what to do (io/video.py), never read as its first frame."""
from __future__ import annotations

import warnings
from pathlib import Path

from .suffixes import GIF_SUFFIXES, IMAGE_SUFFIXES, VIDEO_SUFFIXES

# suffixes whose files may hold several frames
ANIMATABLE_SUFFIXES = GIF_SUFFIXES | {".png", ".webp"}
FORMAT_NAMES = {".gif": "GIF", ".png": "PNG (APNG)", ".webp": "WebP"}


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


def is_animated(path: str | Path) -> bool:
    """Whether `path` is a GIF, PNG or WebP of more than one frame."""
    return Path(path).suffix.lower() in ANIMATABLE_SUFFIXES and frame_count(path) > 1


def animated_name(path: str | Path) -> str:
    """'an animated GIF' / 'an animated PNG (APNG)' / 'an animated WebP'."""
    return f"an animated {FORMAT_NAMES.get(Path(path).suffix.lower(), 'image')}"


def kind_of(path: Path) -> str | None:
    """"image", "video" or None (not a type humanseg reads), by suffix; a GIF, PNG or WebP by its frames: an
    animated one is a video, a one-frame one an image."""
    suffix = path.suffix.lower()
    if suffix in ANIMATABLE_SUFFIXES and path.is_file() and frame_count(path) > 1:
        return "video"
    if suffix in GIF_SUFFIXES:
        return "image"
    return "image" if suffix in IMAGE_SUFFIXES else "video" if suffix in VIDEO_SUFFIXES else None

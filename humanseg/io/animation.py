"""Whether a GIF is animated: counted from its frame headers with Pillow, no pixel decoded. `humanseg batch`
makes an animated GIF a video and a one-frame GIF an image."""
from __future__ import annotations

import warnings
from pathlib import Path


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

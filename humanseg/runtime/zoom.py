"""The still recipe's second look at small people: where the people in a photo fill only a small part of it,
segment the part that holds them again, so they get the whole canvas budget (Segmenter.zoom_share,
humanseg.still_zoom)."""
from __future__ import annotations

import numpy as np

ZOOM_MARGIN = 0.2       # the box around everything called person grows by this share of its size on each side
MIN_ZOOM_SHARE = 0.005  # smaller boxes are left alone: a speck in an empty scene is not worth a close look
MAX_ZOOM_SHARE = 0.9


def zoom_box(mask: np.ndarray, share: float, level: float = 0.5) -> tuple[int, int, int, int] | None:
    """(y0, y1, x0, x1) of the part of a frame-size person map to segment again: the box around every pixel
    at or above `level`, grown by ZOOM_MARGIN and clipped to the frame, when it covers at least
    MIN_ZOOM_SHARE and less than `share` of the frame; else None."""
    rows, cols = np.flatnonzero((mask >= level).any(1)), np.flatnonzero((mask >= level).any(0))
    if not len(rows):
        return None
    h, w = mask.shape
    y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    dy, dx = ZOOM_MARGIN * (y1 - y0), ZOOM_MARGIN * (x1 - x0)
    y0, y1 = max(0, int(y0 - dy)), min(h, int(np.ceil(y1 + dy)))
    x0, x1 = max(0, int(x0 - dx)), min(w, int(np.ceil(x1 + dx)))
    area = (y1 - y0) * (x1 - x0) / (h * w)
    return (y0, y1, x0, x1) if MIN_ZOOM_SHARE <= area < share else None

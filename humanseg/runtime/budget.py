"""Canvas pixel budgets of adaptive models: the defaults per use, in one place for the API and the CLI.

An adaptive model (humanseg.canvas_pixels in its metadata) sees each frame on a canvas of the frame's
own shape at about `canvas_pixels` pixels (runtime/canvas.py). Budgets are multiples of the model's
own (the canvas it was trained on): a photo is worth a larger canvas than a live video frame.

- "video": the model's own budget. `Segmenter()` and its streams; the video and webcam commands.
- "still": the model's `humanseg.still_budget_scale` metadata times it (measured on the validation
  set at export: a model trained at one scale may lose accuracy on a larger canvas), else
  BUDGET_SCALE["still"] times it. convert_image/convert_folder and evaluate when they make their own
  Segmenter; the image, eval and serve commands.
Legacy fixed-canvas models ignore budgets. Imports nothing heavy, so the CLI can show the defaults.
"""
from __future__ import annotations

import numbers

from ..errors import InputError

BUDGET_SCALE = {"video": 1, "still": 2}
MAX_CANVAS_PIXELS = 4096 * 4096
MAX_STILL_SCALE = 16
MAX_STILL_SCALES = 4   # each scale is one more network pass (two, mirror-averaged) per photo


def still_scales_problem(scales) -> str | None:
    """Why a model's still-budget scales (humanseg.still_budget_scale(s), `export --still-scale`) cannot be
    used, or None: 1 to MAX_STILL_SCALES multiples, each in (0, MAX_STILL_SCALE]."""
    if not 1 <= len(scales) <= MAX_STILL_SCALES or any(not 0 < v <= MAX_STILL_SCALE for v in scales):
        return f"give 1 to {MAX_STILL_SCALES} still scales, each in (0, {MAX_STILL_SCALE}]"
    return None


def check_canvas_pixels(value) -> None:
    """Raise InputError unless `value` is None, "video", "still" or an integer in [1, MAX_CANVAS_PIXELS]."""
    if value is None or (isinstance(value, str) and value in BUDGET_SCALE):
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not 1 <= value <= MAX_CANVAS_PIXELS:
        raise InputError(f"canvas_pixels {value!r} must be a whole number of pixels in [1, {MAX_CANVAS_PIXELS}], "
                         f"or one of {sorted(BUDGET_SCALE)}")

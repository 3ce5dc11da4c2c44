"""The ONNX Runtime session behind `Segmenter`, and what the model's metadata says about its input.

Metadata keys (written by training/export.py):
- `humanseg.still_budget_scale` (optional, adaptive models): the budget for still images as a multiple
  of the model's own, as measured at export (`humanseg export --still-scale`); runtime/budget.py's
  default when absent.
- `humanseg.still_budget_scales` (optional, with the one above): several such multiples, comma-separated
  (`--still-scale 1.25,2`): a still image is segmented at each budget and the maps are averaged
  (multi-scale averaging). The first equals `still_budget_scale`, which older runtimes read alone.
- `humanseg.still_prior_weight` (optional, 4-channel models): a still image is segmented twice at each
  budget, first with an empty previous mask, then with this weight times the first output as the
  previous mask; the second output is kept (`humanseg export --still-prior W`).
- `humanseg.still_refine` (optional): a still image's map is refined with a colour-guided filter of this
  radius, as a fraction of the photo's long side, in (0, 0.1] (`humanseg export --still-refine F`;
  runtime/postprocess.color_guided_refine).
- `humanseg.still_zoom` (optional): when everything a still's map calls person fits in a box (plus a margin)
  under this share of the photo, in (0.005, 0.9], the box is segmented again and its map used there
  (`humanseg export --still-zoom A`; runtime/zoom.py).
- `humanseg.canvas_pixels`, `humanseg.stride`: an adaptive model. Each frame gets its own canvas,
  `runtime.canvas.adaptive_canvas(w, h, pixels, stride)`, and any pixel budget may be asked for.
- no `humanseg.canvas_pixels`: a legacy model with a fixed canvas, `humanseg.canvas` = "LONGxSHORT"
  (landscape; portrait frames get the transpose). Pixel budgets are ignored.
- no humanseg metadata at all (a foreign model) with a fixed integer input height and width: that size is the
  canvas, in every frame's orientation (the model accepts no other); else the legacy default 256x144.
- `humanseg.input_channels`: 3 (RGB in [-1, 1]) or 4 (RGB + the previous frame's person probability
  in [0, 1]); the input's own shape says the same when it is fixed.
"""
from __future__ import annotations

import numbers
import os
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import ModelError, OptionError
from ..weights import resolve_model
from .budget import still_scales_problem
from .postprocess import MAX_REFINE_FRACTION
from .zoom import MAX_ZOOM_SHARE, MIN_ZOOM_SHARE
from .canvas import adaptive_canvas
from .letterbox import canvas_for

PREFERRED_PROVIDERS = ["CUDAExecutionProvider", "CoreMLExecutionProvider", "DmlExecutionProvider", "CPUExecutionProvider"]

# ONNX Runtime's worker threads spin for a while after each run by default. Between two runs a frame
# pipeline resizes, composites and encodes on the same cores, and the spinning threads slow all of that
# down (and everything else on the machine): on our 2-core machine under load, a 720p segment loop took
# half the time with spinning off.
SESSION_CONFIG = {"session.intra_op.allow_spinning": "0"}

_adaptive_canvas = lru_cache(maxsize=256)(adaptive_canvas)  # a few sizes per run, each asked for every frame


class ModelSession:
    """Loads a humanseg ONNX model once; `run(x)` maps NxCxhxw input (C = `input_channels`) to Nx2xhxw logits."""

    def __init__(self, model: str | Path = "portrait", providers: list[str] | None = None, threads: int | None = None):
        import onnxruntime as ort

        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, numbers.Integral)
                                    or threads < 0):
            raise OptionError(f"threads {threads!r}: give a whole number of CPU threads, 1 or more (None or 0: "
                              "all cores, at most 4)")
        self.path = resolve_model(model)
        options = ort.SessionOptions()
        options.intra_op_num_threads = int(threads or 0) or min(os.cpu_count() or 1, 4)
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        for key, value in SESSION_CONFIG.items():
            options.add_session_config_entry(key, value)
        available = ort.get_available_providers()
        chosen = providers or [p for p in PREFERRED_PROVIDERS if p in available]
        try:
            self.session = ort.InferenceSession(str(self.path), options, providers=chosen)
        except Exception as exc:  # onnxruntime raises several unrelated types for bad files
            raise ModelError(f"{self.path}: cannot load as an ONNX model ({str(exc).splitlines()[0][:120]})") from exc
        self.metadata = meta = self.session.get_modelmeta().custom_metadata_map
        self.input_name = self.session.get_inputs()[0].name
        shape = self.session.get_inputs()[0].shape
        # a model that fixes its input's height and width and says nothing of its canvas gets that size
        fixed = len(shape) == 4 and all(isinstance(v, int) and v > 0 for v in shape[2:])
        own_size = (shape[3], shape[2]) if fixed and not meta.keys() & {"humanseg.canvas", "humanseg.canvas_pixels"} \
            else None
        self.fixed_size: tuple[int, int] | None = own_size   # (width, height) of every canvas, or None
        try:
            canvas = meta.get("humanseg.canvas") or (f"{own_size[0]}x{own_size[1]}" if own_size else "256x144")
            long_side, short_side = (int(v) for v in canvas.lower().split("x"))
            pixels = meta.get("humanseg.canvas_pixels")
            self.canvas_pixels: int | None = int(pixels) if pixels else None
            self.stride = int(meta.get("humanseg.stride", 16))
            scale = meta.get("humanseg.still_budget_scale")
            self.still_scale: float | None = float(scale) if scale else None
            scales = meta.get("humanseg.still_budget_scales")
            self.still_scales: tuple[float, ...] | None = \
                tuple(float(v) for v in scales.split(",")) if scales else (self.still_scale,) if scale else None
            declared = int(meta.get("humanseg.input_channels", 0))
            weight = meta.get("humanseg.still_prior_weight")
            self.still_prior_weight: float = float(weight) if weight else 0.0
            refine = meta.get("humanseg.still_refine")
            self.still_refine: float = float(refine) if refine else 0.0
            zoom = meta.get("humanseg.still_zoom")
            self.still_zoom: float = float(zoom) if zoom else 0.0
        except ValueError as exc:
            raise ModelError(f"{self.path}: unreadable humanseg metadata ({exc})") from exc
        self.long_side, self.short_side = max(long_side, short_side), min(long_side, short_side)
        channels = shape[1] if len(shape) == 4 and isinstance(shape[1], int) else declared or 3
        if len(shape) != 4 or channels not in (3, 4) or (declared and declared != channels):
            raise ModelError(f"{self.path}: expected an Nx3xHxW or Nx4xHxW input, found {shape}"
                             + (f" with humanseg.input_channels={declared}" if declared else ""))
        if (self.canvas_pixels is not None and self.canvas_pixels < 1) or self.stride < 1:
            raise ModelError(f"{self.path}: humanseg.canvas_pixels and humanseg.stride must be positive")
        if self.still_scales is not None and still_scales_problem(self.still_scales):
            raise ModelError(f"{self.path}: humanseg.still_budget_scale(s): {still_scales_problem(self.still_scales)}")
        if self.still_scales and self.still_scales[0] != self.still_scale:
            raise ModelError(f"{self.path}: humanseg.still_budget_scales must start with humanseg.still_budget_scale")
        if weight and not (channels == 4 and 0 < self.still_prior_weight <= 1):
            raise ModelError(f"{self.path}: humanseg.still_prior_weight must be in (0, 1] and needs a 4-channel model")
        if refine and not 0 < self.still_refine <= MAX_REFINE_FRACTION:
            raise ModelError(f"{self.path}: humanseg.still_refine must be in (0, {MAX_REFINE_FRACTION}] (a fraction of "
                             "the photo's long side)")
        if zoom and not MIN_ZOOM_SHARE < self.still_zoom <= MAX_ZOOM_SHARE:
            raise ModelError(f"{self.path}: humanseg.still_zoom must be in ({MIN_ZOOM_SHARE}, {MAX_ZOOM_SHARE}] "
                             "(a share of the photo)")
        self.input_channels: int = channels

    @property
    def adaptive(self) -> bool:
        """True when every frame gets its own canvas at a pixel budget; False: a legacy fixed canvas."""
        return self.canvas_pixels is not None

    @property
    def budget(self) -> int:
        """The model's own canvas budget in pixels (the canvas it was trained on)."""
        return self.canvas_pixels if self.canvas_pixels is not None else self.long_side * self.short_side

    def canvas(self, frame_w: int, frame_h: int, pixels: int | None = None) -> tuple[int, int]:
        """(width, height) of the model canvas for a frame_w x frame_h frame.

        Adaptive models: `adaptive_canvas` at `pixels` (default: the model's own budget). Legacy models:
        the fixed canvas in the frame's orientation; `pixels` is ignored. A foreign model with a fixed input
        size (`fixed_size`): that size, whatever the frame.
        """
        if self.fixed_size is not None:
            return self.fixed_size
        if self.canvas_pixels is None:
            return canvas_for((frame_h, frame_w), self.long_side, self.short_side)
        return _adaptive_canvas(frame_w, frame_h, pixels or self.canvas_pixels, self.stride)

    @property
    def providers(self) -> list[str]:
        return self.session.get_providers()

    def run(self, x: np.ndarray) -> np.ndarray:
        """x: float32 NxCxhxw -> float32 Nx2xhxw logits (background, person); ModelError naming the model file when
        ONNX Runtime cannot run it or it gives another shape."""
        try:
            logits = self.session.run(None, {self.input_name: x})[0]
        except Exception as exc:  # onnxruntime raises several unrelated types (InvalidArgument, Fail, ...)
            raise ModelError(f"cannot run model {self.path}: {str(exc).strip().splitlines()[0][:200]}") from exc
        expected = (x.shape[0], 2, *x.shape[2:])
        if getattr(logits, "shape", None) != expected:
            got = "x".join(map(str, getattr(logits, "shape", ()))) or type(logits).__name__
            raise ModelError(f"cannot run model {self.path}: it gave a {got} output, expected "
                             f"{'x'.join(map(str, expected))} (background and person logits)")
        return logits

"""Temporal stabilisation of video masks: the previous mask as a model input, and fusion of
per-frame probability maps (at model canvas resolution).

Fusion of the maps after the model:
- "none": each frame on its own.
- "ema": exponential smoothing, out = a * new + (1 - a) * previous.
- "flow": PP-HumanSeg-style optical-flow fusion: DIS flow between the previous and the current
  gray canvas, forward and backward; where the two agree (consistency check) the previous fused
  map is warped to the current frame and blended with the new prediction; elsewhere the new
  prediction is used as is.
Feedback into the model ("prior"; models with a 4th input channel only): the stream's previous
canvas map is the 4th channel of the next frame's input (see runtime.segmenter.SegmentStream). It
combines with a fusion: "prior+ema", "prior+flow".

"auto" picks by the model: AUTO_FOR_PRIOR_MODELS for models with the 4th channel, "flow" otherwise.
"""
from __future__ import annotations

import cv2
import numpy as np

from ..errors import InputError, OptionError

FUSION_MODES = ("none", "ema", "flow")
TEMPORAL_MODES = FUSION_MODES + ("prior", "prior+ema", "prior+flow")
AUTO = "auto"
# The default video path of models with a previous-mask input, chosen with the flicker measure of
# benchmarks/pipeline.py (`--sections flicker --model PATH` reruns it on any model). On an early
# fast-portrait-prior checkpoint, geometric-mean flicker over the bundled clip and the 16 talking-head
# clips relative to flow: prior+flow 0.77, prior+ema 0.79, prior alone 1.08, with the best teacher
# agreement for prior+flow. To be confirmed on the trained model.
AUTO_FOR_PRIOR_MODELS = "prior+flow"
AUTO_FOR_PLAIN_MODELS = "flow"
# Flow fusion's blend: out = FLOW_WEIGHT * new + (1 - FLOW_WEIGHT) * warped previous, where the forward and
# backward flows agree within CONSISTENCY_PX. Chosen on the tenth default (2026-12-07,
# benchmarks/temporal_fusion.py; RESULTS.md): against 0.4 / 1 px, flicker on the 16 talking-head clips -7 % (prior+flow) and -12 % (flow), teacher
# agreement within 0.0005, and on fast synthetic pans of val photos (GT masks) mIoU +0.0013 / -0.0002.
FLOW_WEIGHT, CONSISTENCY_PX = 0.2, 2.0
# A hard cut in a video (an edit, another camera) makes the previous mask wrong everywhere; a stream that sees
# one starts again as at a first frame. Measure: the mean |gray difference| (0-255) of 32x18 thumbnails of two
# consecutive canvases. On the 16 talking-head clips and the bundled clip at most 17, on fast synthetic pans of
# val photos (16 px a frame) at most 28, between two different photos 57-101 (2026-12-07, 2,993 pairs and 20 cuts,
# thumbnails of the whole frames; a canvas is the frame resized, so its thumbnail is nearly the same).
SCENE_CUT_DIFFERENCE = 40.0
THUMBNAIL_SIZE = (32, 18)


def thumbnail(canvas_bgr: np.ndarray) -> np.ndarray:
    """float32 32x18 (18x32 for a portrait canvas) gray thumbnail of a uint8 BGR canvas, for `is_scene_cut`."""
    size = THUMBNAIL_SIZE if canvas_bgr.shape[1] >= canvas_bgr.shape[0] else THUMBNAIL_SIZE[::-1]
    gray = cv2.cvtColor(canvas_bgr, cv2.COLOR_BGR2GRAY)
    return cv2.resize(gray, size, interpolation=cv2.INTER_AREA).astype(np.float32)


def is_scene_cut(previous: np.ndarray | None, current: np.ndarray) -> bool:
    """Whether two consecutive `thumbnail`s of canvases of one shape differ as two different shots do (canvases
    of another shape are not judged: the stream moves its previous mask onto the new canvas instead)."""
    if previous is None or previous.shape != current.shape:
        return False
    return float(np.abs(current - previous).mean()) > SCENE_CUT_DIFFERENCE


def resolve_temporal(mode: str, input_channels: int) -> str:
    """The concrete mode for a model with `input_channels` (3 or 4) inputs; "auto" picks by the model.
    Raises OptionError (a ValueError) for unknown modes and InputError for a prior mode on a 3-channel model."""
    if mode == AUTO:
        return AUTO_FOR_PRIOR_MODELS if input_channels == 4 else AUTO_FOR_PLAIN_MODELS
    if mode not in TEMPORAL_MODES:
        raise OptionError(f"temporal mode must be one of {', '.join((AUTO,) + TEMPORAL_MODES)}, got {mode!r}")
    if mode.startswith("prior") and input_channels != 4:
        raise InputError(f"temporal mode {mode} feeds the previous mask to the model, which needs a model with a "
                         f"4th input channel; this one has {input_channels}: use flow, ema or none")
    return mode


class TemporalFilter:
    """mode: one of TEMPORAL_MODES. `prior` says whether the stream feeds its previous map to the
    model; calling the filter applies the fusion part of the mode."""

    def __init__(self, mode: str = "flow", ema_weight: float = 0.5, flow_weight: float = FLOW_WEIGHT,
                 consistency_px: float = CONSISTENCY_PX):
        if mode not in TEMPORAL_MODES:
            raise OptionError(f"temporal mode must be one of {', '.join(TEMPORAL_MODES)}, got {mode!r}")
        self.mode = mode
        self.prior = mode.startswith("prior")
        self.fusion = mode.split("+")[1] if "+" in mode else ("none" if self.prior else mode)
        self.ema_weight = ema_weight
        self.flow_weight = flow_weight
        self.consistency_px = consistency_px
        self._prev_map: np.ndarray | None = None
        self._prev_gray: np.ndarray | None = None
        self._dis = None
        self._grid: tuple[np.ndarray, np.ndarray] | None = None

    def reset(self) -> None:
        self._prev_map = self._prev_gray = None

    def __call__(self, prob: np.ndarray, canvas_bgr: np.ndarray) -> np.ndarray:
        """prob: float32 hxw in [0, 1] for the canvas; canvas_bgr: uint8 hxwx3 model-input image."""
        if self.fusion == "none":
            return prob
        prev = self._prev_map
        gray = cv2.cvtColor(canvas_bgr, cv2.COLOR_BGR2GRAY) if self.fusion == "flow" else None
        if prev is None or prev.shape != prob.shape:
            fused = prob
        elif self.fusion == "ema":
            fused = self.ema_weight * prob + (1 - self.ema_weight) * prev
        else:
            fused = self._flow_fuse(prob, gray)
        self._prev_map = fused
        self._prev_gray = gray
        return fused

    def _flow_fuse(self, prob: np.ndarray, gray: np.ndarray) -> np.ndarray:
        if self._prev_gray is None or self._prev_gray.shape != gray.shape:
            return prob
        if self._dis is None:
            self._dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
        backward = self._dis.calc(gray, self._prev_gray, None)   # current -> previous position
        forward = self._dis.calc(self._prev_gray, gray, None)    # previous -> current position
        h, w = gray.shape
        if self._grid is None or self._grid[0].shape != (h, w):
            self._grid = tuple(np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32)))
        xs, ys = self._grid
        map_x, map_y = xs + backward[..., 0], ys + backward[..., 1]
        warped_prev = cv2.remap(self._prev_map, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        fw_at_prev = cv2.remap(forward, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        round_trip = np.abs(fw_at_prev + backward).sum(-1)
        consistent = (round_trip < self.consistency_px) & (np.abs(warped_prev - prob) < 0.5)
        blended = self.flow_weight * prob + (1 - self.flow_weight) * warped_prev
        return np.where(consistent, blended, prob).astype(np.float32)

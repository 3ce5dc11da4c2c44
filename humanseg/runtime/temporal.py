"""Temporal stabilisation of per-frame probability maps (at model canvas resolution).

- "none": each frame on its own.
- "ema": exponential smoothing, out = a * new + (1 - a) * previous.
- "flow": PP-HumanSeg-style optical-flow fusion: DIS flow between the previous and the current
  gray canvas, forward and backward; where the two agree (consistency check) the previous fused
  map is warped to the current frame and blended with the new prediction; elsewhere the new
  prediction is used as is.
"""
from __future__ import annotations

import cv2
import numpy as np

TEMPORAL_MODES = ("none", "ema", "flow")


class TemporalFilter:
    def __init__(self, mode: str = "flow", ema_weight: float = 0.5, flow_weight: float = 0.4,
                 consistency_px: float = 1.0):
        if mode not in TEMPORAL_MODES:
            raise ValueError(f"temporal mode must be one of {TEMPORAL_MODES}, got {mode!r}")
        self.mode = mode
        self.ema_weight = ema_weight
        self.flow_weight = flow_weight
        self.consistency_px = consistency_px
        self._prev_map: np.ndarray | None = None
        self._prev_gray: np.ndarray | None = None
        self._dis = None

    def reset(self) -> None:
        self._prev_map = self._prev_gray = None

    def __call__(self, prob: np.ndarray, canvas_bgr: np.ndarray) -> np.ndarray:
        """prob: float32 hxw in [0, 1] for the canvas; canvas_bgr: uint8 hxwx3 model-input image."""
        if self.mode == "none":
            return prob
        prev = self._prev_map
        if prev is None or prev.shape != prob.shape:
            fused = prob
        elif self.mode == "ema":
            fused = self.ema_weight * prob + (1 - self.ema_weight) * prev
        else:
            fused = self._flow_fuse(prob, cv2.cvtColor(canvas_bgr, cv2.COLOR_BGR2GRAY))
        self._prev_map = fused
        if self.mode == "flow":
            self._prev_gray = cv2.cvtColor(canvas_bgr, cv2.COLOR_BGR2GRAY)
        return fused

    def _flow_fuse(self, prob: np.ndarray, gray: np.ndarray) -> np.ndarray:
        if self._prev_gray is None or self._prev_gray.shape != gray.shape:
            return prob
        if self._dis is None:
            self._dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
        backward = self._dis.calc(gray, self._prev_gray, None)   # current -> previous position
        forward = self._dis.calc(self._prev_gray, gray, None)    # previous -> current position
        h, w = gray.shape
        xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        map_x, map_y = xs + backward[..., 0], ys + backward[..., 1]
        warped_prev = cv2.remap(self._prev_map, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        fw_at_prev = cv2.remap(forward, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        round_trip = np.abs(fw_at_prev + backward).sum(-1)
        consistent = (round_trip < self.consistency_px) & (np.abs(warped_prev - prob) < 0.5)
        blended = self.flow_weight * prob + (1 - self.flow_weight) * warped_prev
        return np.where(consistent, blended, prob).astype(np.float32)

"""Scrolling "bullet comments" drawn over the background but behind the person."""
from __future__ import annotations

import cv2
import numpy as np

from .backgrounds import BackgroundEffect, Blur
from .composite import composite


class CommentsBehind(BackgroundEffect):
    """texts scroll right-to-left in lanes over `under`'s background; the person stays in front.

    speed: fraction of the frame width a comment travels per frame.
    """

    def __init__(self, texts: list[str], under: BackgroundEffect | None = None, speed: float = 0.006,
                 lanes: int = 6, color: tuple[int, int, int] = (255, 255, 255)):
        if not texts:
            raise ValueError("CommentsBehind needs at least one text")
        self.texts = list(texts)
        self.under = under or Blur()
        self.speed = speed
        self.lanes = lanes
        self.bgr = tuple(int(c) for c in color[::-1])
        self.frame_index = 0

    def background(self, frame: np.ndarray, mask: np.ndarray) -> np.ndarray:
        bg = self.under.background(frame, mask).copy()
        h, w = frame.shape[:2]
        scale = max(0.4, h / 720)
        thickness = max(1, round(2 * scale))
        lane_h = h / (self.lanes + 1)
        for i, text in enumerate(self.texts):
            lane = i % self.lanes
            (tw, _), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
            period = w + tw + 40
            offset = (i * 0.37 % 1.0) * period
            x = int(w - (self.frame_index * self.speed * w + offset) % period)
            y = int(lane_h * (lane + 1))
            cv2.putText(bg, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thickness + 2, cv2.LINE_AA)
            cv2.putText(bg, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, self.bgr, thickness, cv2.LINE_AA)
        self.frame_index += 1
        return bg

    def __call__(self, frame: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return composite(frame, self.background(frame, mask), mask)

"""Frame -> model input, and model output -> full-resolution person probability."""
from __future__ import annotations

import cv2
import numpy as np

from .letterbox import LetterboxBox, canvas_for, letterbox, normalize_rgb, unletterbox


def prepare(frame_bgr: np.ndarray, canvas: tuple[int, int] | None, long_side: int = 256, short_side: int = 144
            ) -> tuple[np.ndarray, LetterboxBox, np.ndarray]:
    """uint8 HxWx3 BGR frame -> (float32 1x3xhxw RGB in [-1, 1], content box, letterboxed BGR canvas).

    canvas: (width, height) or None to pick long_side x short_side by the frame's orientation.
    """
    size = canvas or canvas_for(frame_bgr.shape, long_side, short_side)
    boxed, box = letterbox(frame_bgr, size)
    return normalize_rgb(cv2.cvtColor(boxed, cv2.COLOR_BGR2RGB)), box, boxed


def person_probability(logits: np.ndarray) -> np.ndarray:
    """2-class logits 1x2xhxw -> float32 hxw person probability (softmax channel 1)."""
    diff = logits[0, 0] - logits[0, 1]
    np.clip(diff, -30, 30, out=diff)
    return 1.0 / (1.0 + np.exp(diff, dtype=np.float32))


def to_frame(prob_canvas: np.ndarray, box: LetterboxBox, frame_shape: tuple[int, ...]) -> np.ndarray:
    """Canvas-resolution probability -> float32 HxW at the frame's size."""
    return unletterbox(prob_canvas, box, (frame_shape[1], frame_shape[0]))

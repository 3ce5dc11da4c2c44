"""Alpha compositing of a frame over a background with a float person map."""
from __future__ import annotations

import cv2
import numpy as np


def composite(frame: np.ndarray, background: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """uint8 HxWx3 frame and background, float32 HxW mask in [0, 1] -> uint8 HxWx3.

    out = frame * mask + background * (1 - mask), computed by OpenCV's blendLinear (SIMD, no
    float copies of the images).
    """
    mask = np.ascontiguousarray(mask, dtype=np.float32)
    return cv2.blendLinear(frame, background, mask, 1.0 - mask)

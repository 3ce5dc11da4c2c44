"""Aspect-ratio-preserving resize with padding, shared by training and inference.

Training imports these functions so that train and serve never drift apart.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

PAD_VALUE = 127  # grey: maps to ~0 after [-1, 1] normalisation
# Adaptive canvases (runtime/canvas.py) are at most ~9% off the frame's aspect for frames up to 3:1;
# their content is stretched to fill them rather than padded (see letterbox_box).
ADAPTIVE_MAX_STRETCH = 0.1


@dataclass(frozen=True)
class LetterboxBox:
    """Where the resized content sits inside the canvas (pixels of the canvas)."""

    x: int
    y: int
    width: int
    height: int


def canvas_for(frame_shape: tuple[int, ...], long_side: int = 256, short_side: int = 144) -> tuple[int, int]:
    """Canvas (width, height) that matches the frame's orientation.

    Landscape or square frames get long_side x short_side, portrait frames the transpose.
    """
    h, w = frame_shape[:2]
    return (long_side, short_side) if w >= h else (short_side, long_side)


def letterbox_box(src_w: int, src_h: int, dst_w: int, dst_h: int, max_stretch: float = 0.0) -> LetterboxBox:
    """Where a src_w x src_h image lies on a dst_w x dst_h canvas: scaled to fit, centred.

    max_stretch: when the two aspect ratios differ by at most this factor (0.1: 10%), the image fills
    the whole canvas instead (slightly stretched, no padding at all). The adaptive canvas is chosen
    close to the frame's aspect, so its models use ADAPTIVE_MAX_STRETCH: no padding sits next to a
    person the frame cuts off; only panoramas beyond 3:1 are letterboxed.
    """
    if max_stretch and abs(math.log((dst_w / dst_h) / (src_w / src_h))) <= math.log1p(max_stretch) + 1e-12:
        return LetterboxBox(0, 0, dst_w, dst_h)
    scale = min(dst_w / src_w, dst_h / src_h)
    width = max(1, min(dst_w, round(src_w * scale)))
    height = max(1, min(dst_h, round(src_h * scale)))
    return LetterboxBox((dst_w - width) // 2, (dst_h - height) // 2, width, height)


def letterbox(image: np.ndarray, size: tuple[int, int], pad_value: int = PAD_VALUE,
              interpolation: int | None = None, max_stretch: float = 0.0) -> tuple[np.ndarray, LetterboxBox]:
    """Resize `image` (HxW or HxWxC) into a (width, height) canvas keeping its aspect ratio
    (up to `max_stretch`, see letterbox_box).

    Returns the canvas (same dtype and channels) and the box where the content lies.
    Downscaling uses INTER_AREA, upscaling INTER_LINEAR, unless `interpolation` is given.
    """
    dst_w, dst_h = size
    src_h, src_w = image.shape[:2]
    box = letterbox_box(src_w, src_h, dst_w, dst_h, max_stretch)
    if interpolation is None:
        interpolation = cv2.INTER_AREA if box.width < src_w else cv2.INTER_LINEAR
    if (box.width, box.height) == (src_w, src_h):
        resized = image
    else:
        resized = cv2.resize(image, (box.width, box.height), interpolation=interpolation)
        if resized.ndim < image.ndim:   # OpenCV drops a single channel: HxWx1 -> HxW
            resized = resized[..., None]
    if (box.width, box.height) == (dst_w, dst_h):
        return np.ascontiguousarray(resized), box
    canvas = np.full((dst_h, dst_w) + image.shape[2:], pad_value, dtype=image.dtype)
    canvas[box.y:box.y + box.height, box.x:box.x + box.width] = resized
    return canvas, box


def unletterbox(canvas_map: np.ndarray, box: LetterboxBox, out_size: tuple[int, int]) -> np.ndarray:
    """Crop the content box out of a canvas-sized map and resize it to out_size (width, height).

    canvas_map: float32 HxW (canvas resolution). Returns float32 of shape (out_h, out_w).
    """
    crop = canvas_map[box.y:box.y + box.height, box.x:box.x + box.width]
    if (crop.shape[1], crop.shape[0]) == tuple(out_size):
        return np.ascontiguousarray(crop)
    return cv2.resize(crop, out_size, interpolation=cv2.INTER_LINEAR)


def normalize_rgb(canvas_rgb: np.ndarray) -> np.ndarray:
    """uint8 HxWx3 RGB -> float32 1x3xHxW in [-1, 1] (the models' input contract)."""
    x = canvas_rgb.astype(np.float32)
    x *= 1.0 / 127.5
    x -= 1.0
    return x.transpose(2, 0, 1)[None].copy()

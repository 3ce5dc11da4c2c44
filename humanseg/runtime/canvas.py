"""Aspect-adaptive model canvas: the frame's shape at a fixed pixel budget, sides a multiple of the
network's stride, so square and odd photos use the whole budget and padding is at most a sliver.

Shared by inference (runtime) and training (batches are drawn on such canvases), so both see the
same geometry.
"""
from __future__ import annotations

import math

MAX_ASPECT = 3.0  # wider or taller frames get a 3:1 canvas and are letterboxed inside it
PADDING_COST = 3.0  # a padded pixel costs three unused budget pixels


def adaptive_canvas(frame_w: int, frame_h: int, pixels: int, stride: int = 16) -> tuple[int, int]:
    """(width, height) of the canvas for a frame_w x frame_h frame.

    Sides are multiples of `stride`; width x height is at most `pixels` (or one stride square).
    Among those the canvas with the largest area x min(r, 1/r) ** PADDING_COST wins (r = canvas
    aspect / frame aspect, the frame's aspect clamped to 1:3..3:1): the pixels the letterboxed
    frame gets, with padding counted three times, so padding stays a sliver left by the stride.

    >>> adaptive_canvas(1280, 720, 256 * 144)
    (256, 144)
    >>> adaptive_canvas(600, 600, 256 * 144)
    (192, 192)
    """
    if frame_w <= 0 or frame_h <= 0 or pixels <= 0 or stride <= 0:
        raise ValueError("frame sides, pixel budget and stride must be positive")
    aspect = min(MAX_ASPECT, max(1 / MAX_ASPECT, frame_w / frame_h))
    budget = max(pixels, stride * stride)
    best, best_key = (stride, stride), None
    for h in range(stride, budget // stride + 1, stride):
        widest = budget // h // stride * stride
        for w in {widest, min(widest, max(stride, round(h * aspect / stride) * stride))}:
            if w < stride:
                continue
            r = (w / h) / aspect
            key = (w * h * min(r, 1 / r) ** PADDING_COST, -abs(math.log(r)))
            if best_key is None or key > best_key:
                best, best_key = (w, h), key
    return best

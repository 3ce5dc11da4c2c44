"""The base of every effect: `effect(frame, mask)` checks what it is given, in this one place, then calls
`apply`. A mask of another size than the frame, of an integer type or with values outside [0, 1] is a
one-line InputError naming both sizes (or the values), not a NumPy broadcasting traceback or a silently
wrong picture. Also the checks of the effects' own settings that several share (a colour, a value in [0, 1])."""
from __future__ import annotations

import numpy as np

from ..errors import InputError

SLACK = 1e-3   # mask values this far outside [0, 1] (rounding) are clipped, not refused


class Effect:
    """`effect(frame uint8 HxWx3 BGR, mask float32 HxW in [0, 1]) -> uint8 frame`. Subclasses implement
    `apply(frame, mask)`, which gets the checked inputs (the mask as float32 HxW in [0, 1])."""

    def __call__(self, frame: np.ndarray, mask: np.ndarray) -> np.ndarray:
        frame, mask = checked_inputs(frame, mask)
        return self.apply(frame, mask)

    def apply(self, frame: np.ndarray, mask: np.ndarray) -> np.ndarray:
        raise NotImplementedError


def checked_inputs(frame, mask) -> tuple[np.ndarray, np.ndarray]:
    """(frame, mask as float32 HxW in [0, 1]), or InputError saying what is wrong with them. The mask may be
    HxW or HxWx1, float in [0, 1] or bool; the frame uint8 HxWx3 (BGR, as read_image and cv2.imread give)."""
    frame, mask = np.asarray(frame), np.asarray(mask)
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise InputError(f"image is {_layout(frame)}; effects take uint8 HxWx3 BGR (as read_image and cv2.imread "
                         "give)")
    if mask.ndim == 3 and mask.shape[2] == 1:
        mask = mask[..., 0]
    if mask.shape != frame.shape[:2]:
        size = f"{mask.shape[1]}x{mask.shape[0]}" if mask.ndim == 2 else _layout(mask)
        raise InputError(f"mask is {size} but the image is {frame.shape[1]}x{frame.shape[0]} (width x height); "
                         "give the image's own mask, float32 HxW in [0, 1], as Segmenter.segment(image) returns")
    if mask.dtype == np.bool_:
        return frame, mask.astype(np.float32)
    if mask.dtype.kind != "f":
        raise InputError(f"mask is {mask.dtype}; effects take float32 in [0, 1] (for a 0-255 mask: mask / 255)")
    mask = mask.astype(np.float32, copy=False)
    if mask.size:
        low, high = float(mask.min()), float(mask.max())
        if np.isnan(low) or np.isnan(high):
            raise InputError("mask has NaN values; effects take a mask in [0, 1]")
        if not (low >= -SLACK and high <= 1 + SLACK):
            raise InputError(f"mask values run from {low:g} to {high:g}; effects take a mask in [0, 1] (for a 0-255 "
                             "mask: mask / 255)")
        if low < 0 or high > 1:
            mask = np.clip(mask, 0.0, 1.0)
    return frame, mask


def _layout(array: np.ndarray) -> str:
    """'float64 100x80x4' (dtype and shape) for a message."""
    return f"{array.dtype} {'x'.join(map(str, array.shape)) or 'a scalar'}"


def unit_value(name: str, value) -> float:
    """`value` as a float in [0, 1], or InputError naming the setting (nan, text and None refused too)."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} '{value}' is not a number") from None
    if not 0.0 <= value <= 1.0:   # also refuses nan
        raise InputError(f"{name} {value} is not in [0, 1]")
    return value


def parse_hex_color(text: str) -> tuple[int, int, int]:
    """(r, g, b) 0-255 from '#RRGGBB' (the # optional); InputError otherwise."""
    value = text.strip().lstrip("#")
    if len(value) != 6 or any(c not in "0123456789abcdefABCDEF" for c in value):
        raise InputError(f"colour '{text}' is not of the form #RRGGBB")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def rgb_color(value) -> tuple[int, int, int]:
    """(r, g, b) 0-255 from '#RRGGBB' or three integers 0-255 (r, g, b); InputError otherwise."""
    if isinstance(value, str):
        return parse_hex_color(value)
    try:
        rgb = tuple(value)
        if len(rgb) == 3 and all(float(c).is_integer() and 0 <= c <= 255 for c in rgb):
            return tuple(int(c) for c in rgb)
    except (TypeError, ValueError, OverflowError):
        pass
    raise InputError(f"colour {value!r} is not #RRGGBB or three integers 0-255 (r, g, b)")

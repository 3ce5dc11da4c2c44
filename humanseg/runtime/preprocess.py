"""Frame -> model input, and model output -> full-resolution person probability.

The frame is touched at full resolution twice: one resize down to the canvas (on the frame's own
channels, no copy before it) and one resize of the probability back up. Everything else (colour
order, gray or alpha, normalisation, the prior channel) happens on the small canvas.
"""
from __future__ import annotations

import cv2
import numpy as np

from ..errors import InputError
from .letterbox import LetterboxBox, letterbox

_TO_BGR = {("bgr", 3): None, ("rgb", 3): cv2.COLOR_RGB2BGR, ("bgr", 4): cv2.COLOR_BGRA2BGR,
           ("rgb", 4): cv2.COLOR_RGBA2BGR}


ORDERS = ("bgr", "rgb")


def check_frame(frame: np.ndarray, order: str = "bgr") -> None:
    """Raise InputError unless `frame` is a non-empty HxW or HxWxC (C = 1..4) array of real numbers (bool, integer
    or float) and `order` is "bgr" or "rgb"."""
    if not isinstance(frame, np.ndarray) or frame.ndim not in (2, 3) or frame.size == 0 \
            or (frame.ndim == 3 and frame.shape[2] > 4):
        got = f"{frame.dtype} {'x'.join(map(str, frame.shape)) or 'a scalar'} array" \
            if isinstance(frame, np.ndarray) else type(frame).__name__
        raise InputError(f"frame must be a non-empty HxW or HxWxC numpy array with 1 to 4 channels, got {got}")
    if frame.dtype.kind not in "buif":
        raise InputError(f"frame is a {frame.dtype} array; give uint8 pixels (uint16 and float in [0, 1] or [0, 255] "
                         "are converted)")
    if order not in ORDERS:
        raise InputError(f"order {order!r}: use 'bgr' (OpenCV's) or 'rgb'")


def canvas_image(frame: np.ndarray, size: tuple[int, int], order: str = "bgr", max_stretch: float = 0.0
                 ) -> tuple[np.ndarray, LetterboxBox]:
    """Any frame -> (uint8 hxwx3 BGR canvas of `size` (width, height), box of the content in it).

    frame: HxW gray, HxWx2 gray + alpha, HxWx3 BGR/RGB or HxWx4 BGRA/RGBA (order: "bgr" or "rgb");
    uint8, uint16 or float (as io.images.to_bgr8). It is letterboxed first (aspect kept up to
    `max_stretch`, grey padding; letterbox.letterbox_box) and converted to 8-bit BGR on the canvas.
    """
    if frame.dtype != np.uint8:  # rare: 16-bit or float frames are brought to 8 bits first
        from ..io.images import to_bgr8

        frame = to_bgr8(frame if order == "bgr" or frame.ndim == 2 or frame.shape[2] < 3
                        else frame[..., [2, 1, 0, 3][:frame.shape[2]]])
        order = "bgr"
    boxed, box = letterbox(frame, size, max_stretch=max_stretch)
    channels = 1 if boxed.ndim == 2 else boxed.shape[2]
    if channels <= 2:
        return cv2.cvtColor(boxed if boxed.ndim == 2 else boxed[..., 0], cv2.COLOR_GRAY2BGR), box
    code = _TO_BGR[(order, channels)]
    return (boxed if code is None else cv2.cvtColor(boxed, code)), box


def model_input(canvas_bgr: np.ndarray, channels: int = 3, prior: np.ndarray | None = None) -> np.ndarray:
    """uint8 hxwx3 BGR canvas -> float32 1xCxhxw: RGB in [-1, 1] and, for C = 4, the prior
    (float32 hxw person probability in [0, 1] of the previous frame; None: all zeros)."""
    h, w = canvas_bgr.shape[:2]
    x = np.empty((1, channels, h, w), np.float32)
    rgb = x[0, :3]
    np.multiply(canvas_bgr.transpose(2, 0, 1)[::-1], np.float32(1 / 127.5), out=rgb)
    rgb -= 1.0
    if channels == 4:
        x[0, 3] = 0.0 if prior is None else prior
    return x


def person_probability(logits: np.ndarray) -> np.ndarray:
    """2-class logits 1x2xhxw -> float32 hxw person probability (softmax channel 1): the logistic of the
    logit difference, as 0.5 + 0.5 tanh(d / 2), which cannot overflow (no clipping pass)."""
    p = np.subtract(logits[0, 1], logits[0, 0])
    p *= 0.5
    np.tanh(p, out=p)
    p *= 0.5
    p += 0.5
    return p


def to_frame(prob_canvas: np.ndarray, box: LetterboxBox, frame_shape: tuple[int, ...]) -> np.ndarray:
    """Canvas-resolution probability (float32 hxw) -> float32 HxW at the frame's size: the content
    box (a view, not a copy) resized with INTER_LINEAR straight to the frame."""
    crop = prob_canvas[box.y:box.y + box.height, box.x:box.x + box.width]
    size = (frame_shape[1], frame_shape[0])
    if (crop.shape[1], crop.shape[0]) == size:
        return crop.copy()  # never the canvas map itself: a stream keeps that as its state
    return cv2.resize(crop, size, interpolation=cv2.INTER_LINEAR)


def move_to_canvas(prob: np.ndarray, box: LetterboxBox, size: tuple[int, int], new_box: LetterboxBox) -> np.ndarray:
    """A canvas map's content (float32, content in `box`) on another canvas of `size` (width, height)
    with content in `new_box`; 0 in the new canvas's padding. For the temporal prior when the canvas
    changes between frames (and to clear the padding when it does not)."""
    out = np.zeros((size[1], size[0]), np.float32)
    crop = prob[box.y:box.y + box.height, box.x:box.x + box.width]
    if (box.width, box.height) != (new_box.width, new_box.height):
        crop = cv2.resize(crop, (new_box.width, new_box.height), interpolation=cv2.INTER_LINEAR)
    out[new_box.y:new_box.y + new_box.height, new_box.x:new_box.x + new_box.width] = crop
    return out

"""Bullet comments drawn over the background but behind the person.

Text is drawn with OpenCV's Hershey font, which has printable ASCII only. Accented letters are
drawn as their base letter (é -> e); characters it cannot draw (emoji, CJK, symbols) are left out
with one `HumansegWarning` per effect naming them, instead of OpenCV's "?" marks.
"""
from __future__ import annotations

import copy
import math
import numbers
import unicodedata
import warnings

import cv2
import numpy as np

from ..errors import HumansegWarning, OptionError
from .backgrounds import BackgroundEffect, Blur
from .effect import rgb_color

FONT = cv2.FONT_HERSHEY_SIMPLEX


def drawable_text(text: str) -> tuple[str, set[str]]:
    """(what OpenCV's font can draw of `text`, the characters left out). Accents are dropped
    (NFKD), other non-ASCII characters removed, runs of spaces collapsed."""
    kept, dropped = [], set()
    for char in text:
        if " " <= char <= "~" or char.isspace():
            kept.append(char if " " <= char <= "~" else " ")
            continue
        base = "".join(c for c in unicodedata.normalize("NFKD", char) if " " <= c <= "~")
        if base:
            kept.append(base)
        elif not unicodedata.category(char).startswith(("M", "C")):   # marks, joiners, variation selectors
            dropped.add(char)
    return " ".join("".join(kept).split()), dropped


PACE_FPS = 30   # `speed` is per frame at this frame rate


class CommentsBehind(BackgroundEffect):
    """Texts in `lanes` rows over `under`'s background; the person stays in front.

    Video (still=False): comments enter from the right edge and scroll left, `speed` of the frame
    width per frame at 30 frames a second; `play_at(rate)` (convert_video calls it with the input's frame
    rate) keeps that pace in seconds at other rates, so a 60 fps clip scrolls as fast as a 30 fps one. Make
    the effect once per video: it counts frames.
    Still (still=True; convert_image sets it): comments are laid out on-screen, spread over their lanes.
    texts: the comments (one string is one comment); color: (r, g, b) 0-255 or '#RRGGBB'; speed: a finite
    number (negative scrolls right); lanes: 1 or more. Settings it cannot use are an OptionError.
    """

    def __init__(self, texts: list[str] | str, under: BackgroundEffect | None = None, speed: float = 0.006,
                 lanes: int = 6, color: tuple[int, int, int] | str = (255, 255, 255), still: bool = False):
        texts = [texts] if isinstance(texts, str) else list(texts)   # not one comment a letter
        if not any(isinstance(t, str) and t.strip() for t in texts):
            raise OptionError("comments: give at least one text that is not blank")
        if not all(isinstance(t, str) for t in texts):
            raise OptionError(f"comments: {texts!r} are not all texts")
        if not (isinstance(lanes, numbers.Integral) and lanes >= 1):
            raise OptionError(f"comments: lanes {lanes!r} must be an integer, 1 or more")
        if not (isinstance(speed, numbers.Real) and math.isfinite(speed)):
            raise OptionError(f"comments: speed {speed!r} is not a finite number")
        under = Blur() if under is None else under
        if not hasattr(under, "background"):
            raise OptionError("comments need a background effect under them (blur, color, image or video)")
        self.texts = texts
        self.under = under
        self.speed = float(speed)
        self.lanes = int(lanes)
        self.bgr = rgb_color(color)[::-1]
        self.still = bool(still)
        self._drawn = []
        dropped: set[str] = set()
        for text in self.texts:
            drawn, lost = drawable_text(text)
            self._drawn.append(drawn)
            dropped |= lost
        if dropped:
            warnings.warn(f"comments: {' '.join(sorted(dropped))} cannot be drawn by OpenCV's font and were left out",
                          HumansegWarning, stacklevel=2)
        self._frame_index = 0
        self._per_frame = 1.0   # frames at 30 fps that one call stands for (play_at)

    def play_at(self, rate) -> None:
        """Calls come at `rate` frames a second (None or 0: unknown, taken as 30)."""
        self._per_frame = PACE_FPS / float(rate) if rate else 1.0

    def as_still(self) -> "CommentsBehind":
        """The same comments laid out on-screen, for a single image."""
        still = copy.copy(self)
        still.still, still._frame_index = True, 0
        return still

    def _x_positions(self, w: int, widths: list[int]) -> list[int]:
        xs = []
        for i, tw in enumerate(widths):
            lane = i % self.lanes
            if self.still:
                in_lane = len(range(lane, len(widths), self.lanes))
                slot_w = w / in_lane
                margin = max(4, round(0.02 * w))
                free = max(0.0, slot_w - tw - 2 * margin)
                x = (i // self.lanes) * slot_w + margin + (i * 0.37 % 1.0) * free
            else:
                period = w + tw + 40
                offset = (i * 0.37 % 1.0) * period
                x = w - (self._frame_index * self._per_frame * self.speed * w + offset) % period
            xs.append(int(x))
        return xs

    def background(self, frame: np.ndarray, mask: np.ndarray) -> np.ndarray:
        bg = self.under.background(frame, mask).copy()
        h, w = frame.shape[:2]
        scale = max(0.4, h / 720)
        thickness = max(1, round(2 * scale))
        lane_h = h / (self.lanes + 1)
        widths = [cv2.getTextSize(text, FONT, scale, thickness)[0][0] for text in self._drawn]
        for i, (text, x) in enumerate(zip(self._drawn, self._x_positions(w, widths))):
            if not text:
                continue
            y = int(lane_h * (i % self.lanes + 1))
            cv2.putText(bg, text, (x, y), FONT, scale, (0, 0, 0), thickness + 2, cv2.LINE_AA)
            cv2.putText(bg, text, (x, y), FONT, scale, self.bgr, thickness, cv2.LINE_AA)
        self._frame_index += 1
        return bg

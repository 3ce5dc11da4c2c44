"""Effects that replace what is behind the person. Each is a callable
`effect(frame_bgr uint8 HxWx3, mask float32 HxW in [0, 1]) -> uint8 HxWx3 (or HxWx4 for Transparent)`;
a frame or mask it cannot use is an InputError (effect.py checks both for every effect).

Background effects also expose `background(frame, mask)` so other effects (CommentsBehind) can
draw on it before the person is put back on top.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ..errors import InputError
from .composite import composite
from .effect import Effect, rgb_color, unit_value

MAX_BLUR_STRENGTH = 20.0   # % of the short side: wider blurs look no different (and 1e6 runs for minutes)


class BackgroundEffect(Effect):
    def background(self, frame: np.ndarray, mask: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def apply(self, frame: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return composite(frame, self.background(frame, mask), mask)


class Blur(BackgroundEffect):
    """Blur the background. strength: Gaussian sigma in % of the frame's short side, in [0, MAX_BLUR_STRENGTH];
    0 leaves the background as it is.

    Mask-aware: the blur is a normalised convolution of the background pixels only
    (blur(frame * (1 - m)) / blur(1 - m)), so the person never smears into the background as a
    halo. Computed at reduced resolution (the result is smooth anyway) and upsampled.
    """

    def __init__(self, strength: float = 3.0):
        try:
            self.strength = float(strength)
        except (TypeError, ValueError):
            raise InputError(f"blur strength '{strength}' is not a number") from None
        if not 0 <= self.strength <= MAX_BLUR_STRENGTH:   # also refuses nan
            raise InputError(f"blur strength {strength} is not in [0, {MAX_BLUR_STRENGTH:g}] (% of the short side)")

    def background(self, frame: np.ndarray, mask: np.ndarray) -> np.ndarray:
        if self.strength == 0:   # no blur: the frame itself (not a 1-pixel blur)
            return frame.copy()
        h, w = frame.shape[:2]
        sigma_full = max(1.0, self.strength / 100 * min(h, w))
        factor = max(1, min(int(sigma_full // 3), min(h, w) // 4))
        sigma = sigma_full / factor
        # fx/fy = 1/integer takes OpenCV's fast integer area-averaging path (3-4x faster than a dsize)
        img = cv2.resize(frame, None, fx=1 / factor, fy=1 / factor, interpolation=cv2.INTER_AREA).astype(np.float32)
        weight = 1.0 - cv2.resize(mask, None, fx=1 / factor, fy=1 / factor, interpolation=cv2.INTER_AREA)
        weight = np.clip(weight, 0.0, 1.0) ** 2  # trust clear background pixels most
        num = cv2.GaussianBlur(img * weight[..., None], (0, 0), sigma)
        den = cv2.GaussianBlur(weight, (0, 0), sigma)[..., None]
        plain = cv2.GaussianBlur(img, (0, 0), sigma)
        out = np.where(den > 1e-3, num / np.maximum(den, 1e-6), plain)
        out = np.clip(out, 0, 255).astype(np.uint8)
        return cv2.resize(out, (w, h), interpolation=cv2.INTER_LINEAR)


class Color(BackgroundEffect):
    """A flat colour. rgb: (r, g, b) 0-255 or '#RRGGBB' (InputError otherwise)."""

    def __init__(self, rgb: tuple[int, int, int] | str = (0, 177, 64)):
        self.bgr = rgb_color(rgb)[::-1]

    def background(self, frame: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return np.full_like(frame, self.bgr)


def cover_fit(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Scale to cover (width, height) keeping aspect ratio, then centre-crop (no stretching)."""
    h, w = image.shape[:2]
    scale = max(width / w, height / h)
    nw, nh = max(width, round(w * scale)), max(height, round(h * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(image, (nw, nh), interpolation=interp)
    x, y = (nw - width) // 2, (nh - height) // 2
    return resized[y:y + height, x:x + width]


class StillBackground(BackgroundEffect):
    """A still picture behind the person, cover-fitted (cached per frame size). Where the picture is transparent
    (an alpha channel, say a PNG frame or sticker sheet), the frame's own background shows through it, as
    through a layer in an image editor; an opaque picture replaces the background."""

    def __init__(self, picture: np.ndarray, alpha: np.ndarray | None = None):
        self.image, self.alpha = picture, alpha
        self._cache: dict[tuple[int, int], tuple[np.ndarray, np.ndarray | None]] = {}

    def background(self, frame: np.ndarray, mask: np.ndarray) -> np.ndarray:
        key = (frame.shape[1], frame.shape[0])
        if key not in self._cache:
            alpha = None if self.alpha is None else cover_fit(self.alpha, *key)[..., None]
            self._cache = {key: (cover_fit(self.image, *key), alpha)}
        picture, alpha = self._cache[key]
        if alpha is None:
            return picture
        return np.clip(picture * alpha + frame * (1.0 - alpha) + 0.5, 0, 255).astype(np.uint8)


class Image(StillBackground):
    """A still image file behind the person (see StillBackground: its transparent parts show the frame)."""

    def __init__(self, path: str | Path):
        from ..io.images import read_image_and_alpha

        self.path = Path(path)
        super().__init__(*read_image_and_alpha(self.path))


class VideoBackground(BackgroundEffect):
    """A video behind the person, looping, upright (the clip's display rotation applied, as players show
    it), cover-fitted. One background frame per call, unless `play_at(rate)` says how many frames a second
    the calls come at (convert_video does): then the background plays at its own speed, its frames repeated
    or skipped as a player would."""

    def __init__(self, path: str | Path):
        from ..io.video import VideoReader

        self.path = Path(path)
        self._reader = VideoReader(self.path)
        self._frames = None
        self._current, self._index = None, -1   # the frame shown and its index in the current loop
        self._step = None                       # background frames per call; None: one
        self._position = 0.0                    # where in the current loop the calls have got to, in frames

    def play_at(self, rate) -> None:
        """Calls come at `rate` frames a second (None or 0: unknown, one background frame per call)."""
        own = self._reader.info.fps
        self._step = float(own) / float(rate) if rate and own else None

    def _next(self) -> np.ndarray:
        if self._frames is None:
            self._frames = iter(self._reader.frames(upright=True))
        frame = next(self._frames, None)
        self._index += 1
        if frame is None:
            self._frames = iter(self._reader.frames(upright=True))
            frame = next(self._frames, None)
            self._index = 0
            if frame is None:
                raise InputError(f"{self.path}: background video has no frames")
        return frame

    def background(self, frame: np.ndarray, mask: np.ndarray) -> np.ndarray:
        if self._current is None or self._step is None:
            self._current = self._next()
        else:
            self._position += self._step
            while self._index < int(self._position + 1e-6):
                last = self._index
                self._current = self._next()
                if self._index == 0:           # looped: start the count again from this loop's start
                    self._position -= last + 1
        return cover_fit(self._current, frame.shape[1], frame.shape[0])


class Transparent(Effect):
    """The person on a transparent background: uint8 HxWx4 BGRA, alpha = mask."""

    def apply(self, frame: np.ndarray, mask: np.ndarray) -> np.ndarray:
        alpha = np.clip(mask * 255 + 0.5, 0, 255).astype(np.uint8)
        return np.dstack([frame, alpha])


class MaskOnly(Effect):
    """The person map itself as a gray image (white = person), uint8 HxWx3."""

    def apply(self, frame: np.ndarray, mask: np.ndarray) -> np.ndarray:
        gray = np.clip(mask * 255 + 0.5, 0, 255).astype(np.uint8)
        return cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)


class Overlay(Effect):
    """The frame with the person tinted (for checking masks). rgb: tint colour, (r, g, b) 0-255 or '#RRGGBB';
    opacity in [0, 1]."""

    def __init__(self, rgb: tuple[int, int, int] | str = (255, 0, 128), opacity: float = 0.5):
        self.bgr = np.array(rgb_color(rgb)[::-1], np.float32)
        self.opacity = unit_value("overlay opacity", opacity)

    def apply(self, frame: np.ndarray, mask: np.ndarray) -> np.ndarray:
        tinted = np.clip(frame * (1 - self.opacity) + self.bgr * self.opacity, 0, 255).astype(np.uint8)
        return composite(tinted, frame, mask)

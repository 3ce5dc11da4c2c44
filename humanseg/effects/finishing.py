"""Composite finishing: wrappers around a background effect that make the person look shot in place.

Each wrapper is itself an effect, `effect(frame uint8 HxWx3, mask float32 HxW in [0, 1]) -> uint8 HxWx3`,
and wraps another (`under`). The innermost plain effect gives the background; each wrapper, from the inside
out, changes the *person layer* (what is composited over the background with the mask as alpha):

- `Foreground(under, method)`: the person's own colour at soft edges instead of the frame's, which carries
  the old background (humanseg/matting/foreground.py). Put it innermost: it estimates from the frame.
  Works on `Transparent()` too (a cut-out without the old background's rim); refused on `MaskOnly` and
  `Overlay`, whose outputs show the mask or the frame itself.
- `Harmonize(under, strength)`: moves the person's colour statistics (mean and spread of luma and colour
  differences) towards the visible background's; 0 changes nothing, 1 matches them.
- `PoissonBlend(under)`: Poisson image editing (Perez et al., SIGGRAPH 2003) with `cv2.seamlessClone`:
  the person's gradients kept, its colours pulled to the background's at the outline. Stills only
  (it changes from frame to frame and takes a while).
- `LightWrap(under, strength, width)`: the new background's light spilling over the person's edge
  (screen blend of the blurred visible background, fading inwards over `width`).

`with_finishing(effect, ...)` stacks them in that order, as the CLI and the service do. Pixels of the person
far from the edge (alpha 1) are left as they are by Foreground and LightWrap, and by Harmonize at strength 0.
"""
from __future__ import annotations

import copy
import importlib.util

import cv2
import numpy as np

from ..errors import InputError
from ..matting.foreground import CLEAR, FOREGROUND_METHODS, ML_INSTALL, bounding_slices as _box, estimate_foreground
from .backgrounds import BackgroundEffect, MaskOnly, Overlay
from .composite import composite
from .effect import unit_value

LIGHT_WRAP_WIDTH = 1.5      # % of the short side
MAX_LIGHT_WRAP_WIDTH = 20.0


class Finishing(BackgroundEffect):
    """Base of the finishing wrappers. Subclasses implement `finish(frame, person, background, mask) -> person`
    (uint8 HxWx3 each; background None when the innermost effect has none, e.g. Transparent)."""

    needs_background = True
    option = "finishing"   # the CLI option / form field the wrapper stands for, for messages

    def __init__(self, under):
        self.under = under
        if self.needs_background and not hasattr(base_effect(under), "background"):
            raise InputError(f"{self.option} needs a background effect (blur, color, image or video)")

    def finish(self, frame: np.ndarray, person: np.ndarray, background: np.ndarray | None,
               mask: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def layers(self, frame: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """(person layer, background layer or None) after this wrapper and those inside it."""
        if isinstance(self.under, Finishing):
            person, background = self.under.layers(frame, mask)
        else:
            person = frame
            background = self.under.background(frame, mask) if hasattr(self.under, "background") else None
        return self.finish(frame, person, background, mask), background

    def background(self, frame: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return self.under.background(frame, mask)

    def apply(self, frame: np.ndarray, mask: np.ndarray) -> np.ndarray:
        person, background = self.layers(frame, mask)
        if background is None:   # Transparent, MaskOnly, Overlay: the person layer stands in for the frame
            return base_effect(self)(person, mask)
        return composite(person, background, mask)

    def as_still(self) -> "Finishing":
        """A copy whose inner effects are in their still-image form (CommentsBehind laid out on-screen)."""
        still = copy.copy(self)
        if callable(getattr(self.under, "as_still", None)):
            still.under = self.under.as_still()
        return still


def base_effect(effect):
    """The innermost effect under any finishing wrappers."""
    while isinstance(effect, Finishing):
        effect = effect.under
    return effect


def has_finishing(effect, kind: type) -> bool:
    """Whether a wrapper of `kind` is among the finishing wrappers of `effect`."""
    while isinstance(effect, Finishing):
        if isinstance(effect, kind):
            return True
        effect = effect.under
    return False


class Foreground(Finishing):
    """Composite the estimated foreground colour F instead of the frame. method: "fast" (live video),
    "ml" (stills; needs `pip install 'humanseg[matte]'`) or "none". F equals the frame where alpha is 1."""

    needs_background = False
    option = "foreground"

    def __init__(self, under, method: str = "fast"):
        if method not in FOREGROUND_METHODS:
            raise InputError(f"foreground '{method}' is not one of {', '.join(FOREGROUND_METHODS)}")
        if method == "ml" and importlib.util.find_spec("pymatting") is None:   # say so before any work is done
            raise ImportError(f"the ml foreground estimate needs pymatting: {ML_INSTALL}", name="pymatting")
        if isinstance(base_effect(under), MaskOnly):
            raise InputError("foreground changes the person's colours and a mask output has none; drop it for the "
                             "mask")
        if isinstance(base_effect(under), Overlay):   # it would show the estimate, not the frame, round the edge
            raise InputError("foreground changes the colours round the person's edge, and overlay shows the frame "
                             "itself to check the mask; drop it for the overlay")
        super().__init__(under)
        self.method = method

    def finish(self, frame, person, background, mask):
        return estimate_foreground(person, mask, self.method)


def _luma_chroma() -> np.ndarray:
    """3x3 matrix: BGR -> (Y, Cr, Cb) of ITU-R BT.601 without the offsets, a linear luma / colour-difference basis."""
    y = np.array([0.114, 0.587, 0.299])
    return np.stack([y, 0.713 * (np.array([0.0, 0.0, 1.0]) - y), 0.564 * (np.array([1.0, 0.0, 0.0]) - y)])


LUMA_CHROMA = _luma_chroma()
LUMA_CHROMA_INV = np.linalg.inv(LUMA_CHROMA)


class Harmonize(Finishing):
    """Move the person's colour statistics towards the background's. strength in [0, 1]: 0 is the identity,
    1 gives the person the visible background's mean and spread of luma and of both colour differences
    (Y, Cr, Cb; the spread ratio clamped to [2/3, 3/2], so a flat background does not flatten the person).
    Statistics: the person weighted by alpha, the background by 1 - alpha (what shows of it), from about
    64k pixels of each. The basis is linear, so the whole change is one 3x4 colour matrix per frame
    (cv2.transform), cheap enough for video."""

    option = "harmonize"

    def __init__(self, under, strength: float = 0.5):
        super().__init__(under)
        self.strength = unit_value("harmonize", strength)

    @staticmethod
    def _stats(bgr: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Weighted mean and standard deviation of (Y, Cr, Cb) over uint8 HxWx3 `bgr`, weight HxW."""
        ycc = bgr.reshape(-1, 3).astype(np.float64) @ LUMA_CHROMA.T
        weight = weight.reshape(-1).astype(np.float64)
        total = max(float(weight.sum()), 1e-6)
        mean = weight @ ycc / total
        var = weight @ (ycc - mean) ** 2 / total
        return mean, np.sqrt(np.maximum(var, 1e-6))

    def matrix(self, person: np.ndarray, background: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """The 3x4 BGR colour matrix (0-255 units) this frame's person gets."""
        h, w = mask.shape
        step = max(1, int(np.sqrt(h * w / 65536)))
        m_small = mask[::step, ::step]
        mean_p, std_p = self._stats(person[::step, ::step], m_small)
        mean_b, std_b = self._stats(background[::step, ::step], 1 - m_small)
        s = self.strength
        gain = np.clip(std_b / std_p, 2 / 3, 1.5) ** s
        target = mean_p + s * (mean_b - mean_p)
        linear = LUMA_CHROMA_INV @ np.diag(gain) @ LUMA_CHROMA
        offset = LUMA_CHROMA_INV @ (target - gain * mean_p)
        return np.hstack([linear, offset[:, None]])

    def finish(self, frame, person, background, mask):
        box = _box(mask > CLEAR)
        if self.strength == 0 or box is None:
            return person
        ys, xs = box
        out = person.copy()
        out[ys, xs] = cv2.transform(np.ascontiguousarray(person[ys, xs]), self.matrix(person, background, mask))
        return out


class PoissonBlend(Finishing):
    """Poisson blending of the person into the background (cv2.seamlessClone, NORMAL_CLONE) over every pixel
    with some person (alpha > 0), then composited with the soft mask. For stills: it recolours the whole
    person, differently from frame to frame, and costs a solve per image."""

    option = "poisson"

    def finish(self, frame, person, background, mask):
        region = (mask > CLEAR).astype(np.uint8) * 255
        region[0, :] = region[-1, :] = 0   # seamlessClone ignores the outermost pixels; say so ourselves,
        region[:, 0] = region[:, -1] = 0   # so that the box below is its box and the clone lands in place
        box = _box(region > 0)
        if box is None:
            return person
        ys, xs = box
        x, y, bw, bh = xs.start, ys.start, xs.stop - xs.start, ys.stop - ys.start
        if min(bw, bh) < 3:   # nothing to solve (and OpenCV fails on such a region)
            return person
        centre = (x + bw // 2, y + bh // 2)
        return cv2.seamlessClone(person, background, region, centre, cv2.NORMAL_CLONE)


class LightWrap(Finishing):
    """The new background's light wrapping round the person's edge: the person layer is screen-blended with the
    blurred visible background, weighted by strength * (1 - blurred alpha), so it fades inwards over about
    `width` % of the short side (Gaussian sigma). strength in [0, 1]; pixels further inside than ~4 widths
    are unchanged."""

    option = "light wrap"

    def __init__(self, under, strength: float = 0.5, width: float = LIGHT_WRAP_WIDTH):
        super().__init__(under)
        self.strength = unit_value("light wrap", strength)
        try:
            width = float(width)
        except (TypeError, ValueError):
            raise InputError(f"light wrap width '{width}' is not a number") from None
        if not 0 < width <= MAX_LIGHT_WRAP_WIDTH:
            raise InputError(f"light wrap width {width} is not in (0, {MAX_LIGHT_WRAP_WIDTH:g}] (% of the short side)")
        self.width = width

    def finish(self, frame, person, background, mask):
        if self.strength == 0:
            return person
        h, w = mask.shape
        sigma_full = max(1.0, self.width / 100 * min(h, w))
        factor = max(1, min(int(sigma_full // 2), min(h, w) // 8))
        sigma = sigma_full / factor
        small = (lambda x: cv2.resize(x, None, fx=1 / factor, fy=1 / factor, interpolation=cv2.INTER_AREA)) \
            if factor > 1 else (lambda x: x)
        # at 1/factor: the light L (the visible background, blurred; 0-1) and the wrap weight k, as one k L
        visible = 1.0 - small(mask)
        spread = cv2.GaussianBlur(visible, (0, 0), sigma)
        light = cv2.GaussianBlur(small(background).astype(np.float32) * (1 / 255) * visible[..., None], (0, 0), sigma)
        wrap = self.strength * np.clip(spread, 0, 1)
        wrap[wrap < 1e-3] = 0
        light *= (wrap / np.maximum(spread, 1e-3))[..., None]
        small_box = _box((wrap > 0) & (visible < 1.0 - CLEAR))   # where some light falls on some person
        if small_box is None:
            return person
        if factor > 1:
            light = cv2.resize(light, (w, h), interpolation=cv2.INTER_LINEAR)
        ys, xs = (slice(max(0, sl.start * factor - factor), min(n, sl.stop * factor + factor))
                  for sl, n in zip(small_box, (h, w)))
        p = person[ys, xs].astype(np.float32)
        # screen: 1 - (1 - p)(1 - k L)  =  p + k L (1 - p), in 0-255
        lifted = cv2.add(p, cv2.multiply(np.clip(light[ys, xs], 0, 1), 255.0 - p))
        out = person.copy()
        out[ys, xs] = (np.clip(lifted, 0, 255, out=lifted) + 0.5).astype(np.uint8)
        return out


def with_finishing(effect, foreground: str = "none", harmonize: float = 0.0, poisson: bool = False,
                   light_wrap: float = 0.0, light_wrap_width: float = LIGHT_WRAP_WIDTH):
    """`effect` wrapped in the finishing steps that are on, in the order Foreground, Harmonize, PoissonBlend,
    LightWrap (the CLI's --foreground, --harmonize, --poisson, --light-wrap, --light-wrap-width and the
    service's form fields of the same names). All off: `effect` itself."""
    if foreground not in FOREGROUND_METHODS:
        raise InputError(f"foreground '{foreground}' is not one of {', '.join(FOREGROUND_METHODS)}")
    if foreground != "none":
        effect = Foreground(effect, foreground)
    if unit_value("harmonize", harmonize) > 0:
        effect = Harmonize(effect, harmonize)
    if poisson:
        effect = PoissonBlend(effect)
    if unit_value("light wrap", light_wrap) > 0:
        effect = LightWrap(effect, light_wrap, light_wrap_width)
    return effect

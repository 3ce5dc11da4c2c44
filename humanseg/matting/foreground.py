"""Foreground colour estimation: the person's own colour F at soft edges, from I = aF + (1 - a)B.

A pixel at a soft edge (hair, motion blur, a feathered mask) is a mix of the person and the old
background. Compositing the raw frame there carries the old background's colour onto the new one as a
rim; compositing F instead does not. Two estimators, both returning uint8 BGR HxWx3 with F = I
wherever alpha is (nearly) 1, so the person's opaque pixels are never changed:

- "ml": the multi-level method of Germer et al., "Fast Multi-Level Foreground Estimation" (ICPR 2020),
  through pymatting (`pip install 'humanseg[matte]'`); for stills. Its numba kernels are compiled on
  pymatting's first import (about a minute, once; cached beside the package afterwards).
- "fast": blur fusion after Forte and Pitie, "Approximate Fast Foreground Colour Estimation" (ICIP
  2021), with box filters and local means weighted by a**4 / (1 - a)**4 (our change: wide soft edges
  keep less of the old background): three passes at 1/`scale` resolution over the whole frame, then one
  arithmetic step at full resolution over the uncertain band's bounding box. Cheap enough for live
  video (benchmarks/foreground.py).
"""
from __future__ import annotations

import cv2
import numpy as np

from ..errors import InputError

FOREGROUND_METHODS = ("fast", "ml", "none")
OPAQUE = 1.0 - 0.5 / 255   # alpha at or above: the pixel is the person's own colour, F = I
CLEAR = 0.5 / 255          # alpha at or below: nothing of the person shows
EPS = 1e-4


def estimate_foreground(image: np.ndarray, alpha: np.ndarray, method: str = "fast") -> np.ndarray:
    """image: uint8 HxWx3 (any channel order), alpha: float HxW in [0, 1] -> F, uint8 HxWx3.
    method: "fast", "ml" or "none" (F = image)."""
    if method == "fast":
        return estimate_foreground_fast(image, alpha)
    if method == "ml":
        return estimate_foreground_ml(image, alpha)
    if method == "none":
        return image
    raise InputError(f"foreground method '{method}' is not one of {', '.join(FOREGROUND_METHODS)}")


def _check(image: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"image must be uint8 HxWx3, got {image.dtype} {image.shape}")
    if alpha.shape != image.shape[:2]:
        raise ValueError(f"alpha {alpha.shape} does not match image {image.shape[:2]}")
    return np.clip(np.asarray(alpha, np.float32), 0.0, 1.0)


def bounding_slices(mask: np.ndarray, margin: int = 0) -> tuple[slice, slice] | None:
    """Rows and columns holding every pixel where `mask` (bool HxW) is True, `margin` px wider; None if none."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return None
    h, w = mask.shape
    return (slice(max(0, rows[0] - margin), min(h, rows[-1] + margin + 1)),
            slice(max(0, cols[0] - margin), min(w, cols[-1] + margin + 1)))


def _band_box(alpha: np.ndarray, margin: int) -> tuple[slice, slice] | None:
    """The box of the uncertain pixels (CLEAR < alpha < OPAQUE), `margin` px wider; None if none."""
    return bounding_slices((alpha > CLEAR) & (alpha < OPAQUE), margin)


WEIGHT_POWER = 4   # local means weight pixels by a**4 and (1 - a)**4: confident pixels dominate


def _three(x: np.ndarray) -> np.ndarray:
    """HxW -> HxWx3, the same values in each channel (OpenCV's per-element ops are much faster than numpy's
    broadcasting of an HxWx1 array)."""
    return cv2.merge([x, x, x])


def _fusion_passes(img: np.ndarray, alpha: np.ndarray, fg: np.ndarray, bg: np.ndarray,
                   radii: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Blur-fusion passes. img, fg, bg: float32 HxWx3 in [0, 1]; alpha: float32 HxW; radii: box radii in px.
    Each pass takes the local means Fm, Bm of the current foreground and background estimates and puts the
    unexplained rest of the pixel, r = I - a Fm - (1 - a) Bm, back on both: F = Fm + a r, B = Bm + (1 - a) r."""
    a3, c3 = _three(alpha), _three(1 - alpha)
    a2, c2 = alpha * alpha, (1 - alpha) * (1 - alpha)
    w_fg, w_bg = a2 * a2, c2 * c2
    w_fg3, w_bg3 = _three(w_fg), _three(w_bg)
    for radius in radii:
        k = (2 * radius + 1, 2 * radius + 1)
        fm = cv2.divide(cv2.blur(cv2.multiply(fg, w_fg3), k, borderType=cv2.BORDER_REFLECT),
                        _three(np.maximum(cv2.blur(w_fg, k, borderType=cv2.BORDER_REFLECT), EPS)))
        bm = cv2.divide(cv2.blur(cv2.multiply(bg, w_bg3), k, borderType=cv2.BORDER_REFLECT),
                        _three(np.maximum(cv2.blur(w_bg, k, borderType=cv2.BORDER_REFLECT), EPS)))
        rest = cv2.subtract(cv2.subtract(img, cv2.multiply(a3, fm)), cv2.multiply(c3, bm))
        fg = np.clip(cv2.add(fm, cv2.multiply(a3, rest)), 0, 1)
        bg = np.clip(cv2.add(bm, cv2.multiply(c3, rest)), 0, 1)
    return fg, bg


def estimate_foreground_fast(image: np.ndarray, alpha: np.ndarray, radii: tuple[float, ...] = (0.08, 0.028, 0.008),
                             scale: int = 4) -> np.ndarray:
    """Blur-fusion foreground estimate. image: uint8 HxWx3, alpha: float HxW in [0, 1] -> F uint8 HxWx3.

    radii: box radii of the passes, in fractions of the short side (58, 20 and 6 px at 720p), all run at
    1/scale resolution over the whole frame. Their F and B, upsampled, then take one last step at full
    resolution over the uncertain band's bounding box only, F = F' + a (I - a F' - (1 - a) B'), which brings
    the frame's own detail back. F = I wherever alpha >= OPAQUE.
    """
    alpha = _check(image, alpha)
    h, w = alpha.shape
    short = min(h, w)
    box = _band_box(alpha, 1)
    if box is None:
        return image.copy()
    scale = max(1, min(int(scale), short // 8 or 1))
    if scale > 1:   # fx = 1/integer: OpenCV's fast area-averaging path, on the uint8 image
        small = lambda x: cv2.resize(x, None, fx=1 / scale, fy=1 / scale, interpolation=cv2.INTER_AREA)
        i_small, a_small = small(image).astype(np.float32) * (1 / 255), small(alpha)
    else:
        i_small, a_small = image.astype(np.float32) * (1 / 255), alpha
    f_small, b_small = _fusion_passes(i_small, a_small, i_small, i_small,
                                      [max(1, round(r * short / scale)) for r in radii])
    ys, xs = box
    bg = _upsample_crop(b_small * 255, (h, w), ys, xs)
    diff = _upsample_crop((f_small - b_small) * 255, (h, w), ys, xs)       # F' - B', 0-255
    a3 = _three(alpha[ys, xs])
    # F = B' + (F' - B') + a (I - B' - a (F' - B'))
    rest = cv2.subtract(cv2.subtract(image[ys, xs].astype(np.float32), bg), cv2.multiply(a3, diff))
    f = cv2.add(cv2.add(bg, diff), cv2.multiply(a3, rest))
    crop = (np.clip(f, 0, 255, out=f) + 0.5).astype(np.uint8)
    crop = cv2.copyTo(image[ys, xs], (alpha[ys, xs] >= OPAQUE).view(np.uint8), crop)   # opaque: the frame itself
    out = image.copy()
    out[ys, xs] = crop
    return out


def _upsample_crop(small: np.ndarray, size: tuple[int, int], ys: slice, xs: slice) -> np.ndarray:
    """The part [ys, xs] of `small` resized to `size` (h, w) with bilinear interpolation, computing only that
    part (the same values as cv2.resize of the whole, up to interpolation at the crop border)."""
    h, w = size
    sh, sw = small.shape[:2]
    if (sh, sw) == (h, w):
        return small[ys, xs]
    if (ys.stop - ys.start) * (xs.stop - xs.start) > h * w // 4:   # most of the frame: resize it all
        return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)[ys, xs]
    fy, fx = sh / h, sw / w
    # pixel-centre mapping as cv2.resize: src = (dst + 0.5) * f - 0.5
    map_x = (np.arange(xs.start, xs.stop, dtype=np.float32) + 0.5) * fx - 0.5
    map_y = (np.arange(ys.start, ys.stop, dtype=np.float32) + 0.5) * fy - 0.5
    mx, my = np.meshgrid(map_x, map_y)
    return cv2.remap(small, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


ML_INSTALL = "pip install 'humanseg[matte]'"
ML_MIN_SIDE = 2   # pymatting's multi-level pyramid divides by its level count, 0 for a 1x1 image


def estimate_foreground_ml(image: np.ndarray, alpha: np.ndarray, regularization: float = 1e-5,
                           n_small_iterations: int = 10, n_big_iterations: int = 2) -> np.ndarray:
    """Multi-level foreground estimate (Germer et al. 2020) with pymatting. image: uint8 HxWx3, alpha: float
    HxW in [0, 1] -> F uint8 HxWx3, F = I where alpha is (nearly) 1. Raises ImportError naming pymatting when
    it is not installed (the CLI turns that into the pip install line). An image whose long side is under
    ML_MIN_SIDE px (1x1) gets the fast estimate instead."""
    alpha = _check(image, alpha)
    try:
        from pymatting import estimate_foreground_ml as pymatting_ml
    except ImportError as exc:
        raise ImportError(f"the ml foreground estimate needs pymatting: {ML_INSTALL}", name="pymatting") from exc
    if max(alpha.shape) < ML_MIN_SIDE:
        return estimate_foreground_fast(image, alpha)
    if _band_box(alpha, 0) is None:
        return image.copy()
    f = pymatting_ml(image.astype(np.float32) * (1 / 255), alpha, regularization=regularization,
                     n_small_iterations=n_small_iterations, n_big_iterations=n_big_iterations)
    out = np.clip(np.asarray(f) * 255 + 0.5, 0, 255).astype(np.uint8)
    keep = alpha >= OPAQUE
    out[keep] = image[keep]
    return out

"""Alpha matting errors of Rhemann et al., CVPR 2009 ("A perceptually motivated online benchmark for image
matting"): SAD, MSE, gradient error and connectivity error.

Conventions (those of the alphamatting.com / Deep Image Matting tables):
- alphas are float HxW in [0, 1] (8-bit alphas are divided by 255 first, `alpha_from_uint8`);
- SAD, Grad and Conn are sums over the scored pixels divided by 1000 ("in thousands"), so they grow with
  the image size: compare them only on the same images;
- MSE is the mean of squared differences over the scored pixels (no scaling);
- `region` (bool HxW) picks the scored pixels: the whole image, or the unknown band (`unknown_band`).
  Gradients and connectivity are always computed on the whole image, then summed over the region.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

GRAD_SIGMA = 1.4
CONN_STEP = 0.1
CONN_THETA = 0.15
METRICS = ("sad", "mse", "grad", "conn")


def alpha_from_uint8(alpha: np.ndarray) -> np.ndarray:
    """uint8 HxW in [0, 255] -> float64 HxW in [0, 1]."""
    return alpha.astype(np.float64) / 255.0


def _region(pred: np.ndarray, region: np.ndarray | None) -> np.ndarray:
    return np.ones(pred.shape, bool) if region is None else region.astype(bool)


def sad(pred: np.ndarray, gt: np.ndarray, region: np.ndarray | None = None) -> float:
    """Sum of absolute differences over `region`, / 1000. pred, gt: float HxW in [0, 1]."""
    r = _region(pred, region)
    return float(np.abs(pred.astype(np.float64) - gt)[r].sum() / 1000.0)


def mse(pred: np.ndarray, gt: np.ndarray, region: np.ndarray | None = None) -> float:
    """Mean squared difference over `region` (0 for an empty region). pred, gt: float HxW in [0, 1]."""
    r = _region(pred, region)
    if not r.any():
        return 0.0
    return float(((pred.astype(np.float64) - gt) ** 2)[r].mean())


def gaussian_gradient_magnitude(alpha: np.ndarray, sigma: float = GRAD_SIGMA) -> np.ndarray:
    """|grad alpha| with first-derivative-of-Gaussian filters (float64 HxW).

    Separable kernels truncated at ceil(3 sigma): a Gaussian normalised to sum 1 across the derivative's
    direction and its exact derivative, -x / sigma^2 * G(x), along it, so a ramp of slope s gives about s.
    Borders repeat the edge pixel.
    """
    half = int(np.ceil(3 * sigma))
    x = np.arange(-half, half + 1, dtype=np.float64)
    g = np.exp(-x ** 2 / (2 * sigma ** 2))
    g /= g.sum()
    dg = -x / sigma ** 2 * g
    # cv2.sepFilter2D correlates; flipping the odd kernel makes it a convolution (so d/dx of a rising ramp > 0)
    dg = dg[::-1].copy()
    a = alpha.astype(np.float64)
    gx = cv2.sepFilter2D(a, cv2.CV_64F, dg, g, borderType=cv2.BORDER_REPLICATE)
    gy = cv2.sepFilter2D(a, cv2.CV_64F, g, dg, borderType=cv2.BORDER_REPLICATE)
    return np.hypot(gx, gy)


def gradient_error(pred: np.ndarray, gt: np.ndarray, region: np.ndarray | None = None,
                   sigma: float = GRAD_SIGMA) -> float:
    """Sum over `region` of (|grad pred| - |grad gt|)^2, / 1000 (gradients: `gaussian_gradient_magnitude`)."""
    r = _region(pred, region)
    diff = gaussian_gradient_magnitude(pred, sigma) - gaussian_gradient_magnitude(gt, sigma)
    return float((diff ** 2)[r].sum() / 1000.0)


def _largest_component(mask: np.ndarray) -> np.ndarray:
    """bool HxW: the largest 4-connected component of `mask` (all False when it is empty)."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=4)
    if n <= 1:
        return np.zeros(mask.shape, bool)
    return labels == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))


def connectivity_levels(pred: np.ndarray, gt: np.ndarray, step: float = CONN_STEP) -> np.ndarray:
    """For each pixel, the last threshold level l at which it still belongs to the source region.

    Levels t_k = k * step (k = 0 .. 1/step). The source region at t_k is the largest 4-connected component of
    (pred >= t_k) & (gt >= t_k). A pixel first missing from it at t_k gets l = t_(k-1); a pixel in it at every
    level gets l = 1. float64 HxW in [0, 1].
    """
    n = int(round(1 / step))
    levels = np.full(pred.shape, -1.0)
    for k in range(1, n + 1):
        t = k / n
        source = _largest_component((pred >= t) & (gt >= t))
        levels[(levels < 0) & ~source] = (k - 1) / n
    levels[levels < 0] = 1.0
    return levels


def connectivity_error(pred: np.ndarray, gt: np.ndarray, region: np.ndarray | None = None,
                       step: float = CONN_STEP, theta: float = CONN_THETA) -> float:
    """Sum over `region` of |phi(pred) - phi(gt)|, / 1000.

    phi(a) = 1 - d * [d >= theta] with d = a - l, l from `connectivity_levels` (shared by pred and gt): a pixel
    whose alpha sits well above the level where it lost touch with the main region is poorly connected.
    pred, gt: float HxW in [0, 1].
    """
    r = _region(pred, region)
    levels = connectivity_levels(pred, gt, step)
    dp, dg = pred - levels, gt - levels
    phi_p = 1 - dp * (dp >= theta)
    phi_g = 1 - dg * (dg >= theta)
    return float(np.abs(phi_p - phi_g)[r].sum() / 1000.0)


def unknown_band(gt: np.ndarray, radius: int) -> np.ndarray:
    """The trimap's unknown region of a GT alpha: its soft pixels (0 < gt < 1) and the edge of gt >= 0.5,
    dilated by a disc of `radius` px (radius 0: no dilation). gt: float HxW in [0, 1]; bool HxW."""
    soft = (gt > 0) & (gt < 1)
    hard = (gt >= 0.5).astype(np.uint8)
    cross = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))
    edge = cv2.dilate(hard, cross) != cv2.erode(hard, cross)
    band = (soft | edge).astype(np.uint8)
    if radius > 0:
        disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
        band = cv2.dilate(band, disc)
    return band > 0


def matting_errors(pred: np.ndarray, gt: np.ndarray, region: np.ndarray | None = None) -> dict[str, float]:
    """{"sad", "mse", "grad", "conn"} of pred vs gt (float HxW in [0, 1]) over `region` (whole image: None)."""
    pred = np.clip(pred.astype(np.float64), 0, 1)
    gt = gt.astype(np.float64)
    if pred.shape != gt.shape:
        raise ValueError(f"pred {pred.shape} and gt {gt.shape} differ in shape")
    return {"sad": sad(pred, gt, region), "mse": mse(pred, gt, region),
            "grad": gradient_error(pred, gt, region), "conn": connectivity_error(pred, gt, region)}


@dataclass
class MattingScores:
    """Per-image matting errors over the whole image and the unknown band (`band_radius` px), averaged over
    images (the per-image mean, as matting benchmarks report them)."""

    band_radius: int = 10
    rows: list[dict[str, float]] = field(default_factory=list)

    def add(self, pred: np.ndarray, gt: np.ndarray) -> dict[str, float]:
        """Score one image; returns its row {"sad", ..., "band_sad", ...}. pred, gt: float HxW in [0, 1]."""
        whole = matting_errors(pred, gt)
        band = matting_errors(pred, gt, unknown_band(gt, self.band_radius))
        row = {**whole, **{f"band_{k}": v for k, v in band.items()}}
        self.record(row)
        return row

    def record(self, row: dict[str, float]) -> None:
        """Add a row already scored by `add` (e.g. to a per-source total)."""
        self.rows.append(row)

    def summary(self) -> dict:
        """{"whole": {sad, mse, grad, conn}, "band": {...}, "band_radius", "n_images"} (means over images)."""
        def mean(key: str) -> float:
            return float(np.mean([r[key] for r in self.rows])) if self.rows else 0.0

        return {"whole": {k: mean(k) for k in METRICS}, "band": {k: mean(f"band_{k}") for k in METRICS},
                "band_radius": self.band_radius, "n_images": len(self.rows)}

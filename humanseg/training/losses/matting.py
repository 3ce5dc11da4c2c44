"""Matting losses for alpha-predicting models (fast-portrait-matte), mixed by weights like MixedLoss.

All take the predicted alpha and the target alpha as float NxHxW in [0, 1]:
- "l1":   mean |alpha - target|.
- "mse":  mean (alpha - target)^2. L1 is least at the median of the plausible alphas, MSE at their mean:
          where the model cannot tell, L1 pushes towards a confident 0 or 1 and MSE towards the hedge
          that the MSE metric (and the eye, on a soft edge) prefers.
- "comp": compositional loss (Xu et al., Deep Image Matting, CVPR 2017) over pasted samples, whose
          foreground F and background B are known: mean |alpha F + (1 - alpha) B - I| / 255 with
          I = target F + (1 - target) B the composite made with the target, i.e.
          mean |(alpha - target)(F - B)| / 255 over the 3 channels. F, B: float Nx3xHxW in [0, 255].
- "grad": L1 of the Sobel gradients (x and y, kernel divided by 8, replicate padding), summed.
- "lap":  Laplacian-pyramid L1 over 5 levels, level i weighted 2^i (as Robust Video Matting, Lin et
          al. 2021): Gaussian 5x5 blur (replicate padding) and stride-2 subsampling; each band is a
          level minus its upsampled (bilinear) coarser level; the last level is the low-pass rest.
          A constant offset c therefore costs exactly 2^4 c.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ...errors import OptionError

DEFAULT_MATTING_WEIGHTS = {"l1": 1.0, "comp": 0.5, "grad": 0.5, "lap": 1.0}


def alpha_l1(alpha: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return (alpha - target).abs().mean()


def alpha_mse(alpha: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return (alpha - target).square().mean()


def compositional(alpha: torch.Tensor, target: torch.Tensor, fg: torch.Tensor, bg: torch.Tensor,
                  pasted: torch.Tensor) -> torch.Tensor:
    """pasted: bool N; 0 (with a gradient path) when no sample is pasted."""
    if not bool(pasted.any()):
        return alpha.sum() * 0.0
    diff = (alpha[pasted] - target[pasted]).unsqueeze(1) * (fg[pasted] - bg[pasted])
    return diff.abs().mean() / 255.0


_SOBEL_X = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]) / 8


def sobel(a: torch.Tensor) -> torch.Tensor:
    """float NxHxW -> Nx2xHxW (d/dx, d/dy), replicate padding."""
    kernel = torch.stack([_SOBEL_X, _SOBEL_X.T]).unsqueeze(1).to(a)
    return F.conv2d(F.pad(a.unsqueeze(1), (1, 1, 1, 1), mode="replicate"), kernel)


def gradient(alpha: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return (sobel(alpha) - sobel(target)).abs().mean() * 2  # sum over the two directions


_GAUSS_1D = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0]) / 16


def _blur(a: torch.Tensor) -> torch.Tensor:
    kernel = (_GAUSS_1D[:, None] * _GAUSS_1D[None]).view(1, 1, 5, 5).to(a)
    return F.conv2d(F.pad(a, (2, 2, 2, 2), mode="replicate"), kernel)


def laplacian_pyramid(a: torch.Tensor, levels: int = 5) -> list[torch.Tensor]:
    """float Nx1xHxW -> `levels` maps: levels - 1 band-pass maps (finest first), then the low-pass rest."""
    pyramid, current = [], a
    for _ in range(levels - 1):
        down = _blur(current)[..., ::2, ::2]
        up = F.interpolate(down, size=current.shape[-2:], mode="bilinear", align_corners=False)
        pyramid.append(current - up)
        current = down
    pyramid.append(current)
    return pyramid


def laplacian(alpha: torch.Tensor, target: torch.Tensor, levels: int = 5) -> torch.Tensor:
    pred, true = laplacian_pyramid(alpha.unsqueeze(1), levels), laplacian_pyramid(target.unsqueeze(1), levels)
    return sum((2 ** i) * (p - t).abs().mean() for i, (p, t) in enumerate(zip(pred, true)))


class MattingLoss(nn.Module):
    """Weighted sum of named matting losses, e.g. {"l1": 1, "comp": 0.5, "grad": 0.5, "lap": 1}."""

    NAMES = ("l1", "mse", "comp", "grad", "lap")

    def __init__(self, weights: dict[str, float] | None = None):
        super().__init__()
        weights = DEFAULT_MATTING_WEIGHTS if weights is None else weights
        unknown = set(weights) - set(self.NAMES)
        if unknown:
            raise OptionError(f"unknown matting loss(es) {sorted(unknown)}; choose from {list(self.NAMES)}")
        self.weights = dict(weights)

    def forward(self, alpha: torch.Tensor, target: torch.Tensor, fg: torch.Tensor | None = None,
                bg: torch.Tensor | None = None, pasted: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, dict[str, float]]:
        """alpha, target: float NxHxW in [0, 1]; fg, bg: float Nx3xHxW in [0, 255] and pasted: bool N,
        needed only for "comp". Returns (total, {name: value})."""
        alpha, target = alpha.float(), target.float()
        total, parts = alpha.new_zeros(()), {}
        for name, weight in self.weights.items():
            if name == "comp":
                value = compositional(alpha, target, fg.float(), bg.float(), pasted)
            else:
                value = {"l1": alpha_l1, "mse": alpha_mse, "grad": gradient, "lap": laplacian}[name](alpha, target)
            parts[name] = float(value.detach())
            total = total + weight * value
        return total, parts

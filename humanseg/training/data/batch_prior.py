"""The previous frame's mask, made on the device for training the 4-channel (temporal prior) models.

At run time the network gets its own output for the previous frame. In training that input is
made from the current target (synthetic) or, for clip frames, is the teacher label of the previous
labelled frame (real motion):
- empty with probability `p_empty` (the first frame, a person entering);
- wrong with probability `p_wrong` (another sample's mask, moved): the network must learn to
  overrule a bad prior instead of copying it;
- else the target moved by a small random affine (shift up to 6% of the canvas, scale 0.93-1.07,
  rotation up to 4 degrees), eroded or dilated by up to 3 px, blurred, with noise: what the last
  frame's prediction looks like after the person moved a little.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .batch_geometry import uniform


def _small_motion(target: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    n, device = target.shape[0], target.device
    angle = uniform(n, -4, 4, gen, device) * math.pi / 180
    scale = uniform(n, 0.93, 1.07, gen, device)
    tx, ty = uniform(n, -0.12, 0.12, gen, device), uniform(n, -0.12, 0.12, gen, device)  # normalised coords: 6%
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos, -sin, tx], -1), torch.stack([sin, cos, ty], -1)], -2)
    grid = F.affine_grid(theta, list(target.shape), align_corners=False)
    return F.grid_sample(target, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def _max_filter(m: torch.Tensor, radius: int) -> torch.Tensor:
    """Square (2r+1)^2 max filter as two 1-D passes (exact for a square window, 2k instead of k^2)."""
    k = 2 * radius + 1
    return F.max_pool2d(F.max_pool2d(m, (1, k), 1, (0, radius)), (k, 1), 1, (radius, 0))


def _grow_or_shrink(m: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Per sample: dilate (max filter), erode (min filter) or keep, radius 1-3 px."""
    n = m.shape[0]
    kind = torch.randint(0, 3, (n,), generator=gen, device=m.device)
    radius = int(torch.randint(1, 4, (1,), generator=gen, device=m.device).item())
    out = m.clone()
    grow, shrink = torch.nonzero(kind == 0).flatten(), torch.nonzero(kind == 1).flatten()
    if grow.numel():
        out[grow] = _max_filter(m[grow], radius)
    if shrink.numel():
        out[shrink] = -_max_filter(-m[shrink], radius)
    return out


def synthetic_prior(target: torch.Tensor, gen: torch.Generator, real: torch.Tensor | None = None,
                    has_real: torch.Tensor | None = None, p_empty: float = 0.3, p_wrong: float = 0.1,
                    p_real: float = 0.7) -> torch.Tensor:
    """target: float Nx1xHxW person map in [0, 1] (label, alpha or teacher) on the canvas.
    real: optional Nx1xHxW previous-frame map for samples where has_real (N bool) is set.
    Returns float32 Nx1xHxW in [0, 1]."""
    n, device = target.shape[0], target.device
    shifted = _small_motion(target, gen)
    moved = _grow_or_shrink(shifted, gen)
    sigma = uniform(n, 0.0, 0.06, gen, device).view(n, 1, 1, 1)
    moved = F.avg_pool2d(moved, 3, 1, 1, count_include_pad=False)
    moved = (moved + sigma * torch.randn(moved.shape, generator=gen, device=device)).clamp(0, 1)
    wrong = shifted.roll(1, 0)  # another sample's (moved) mask
    choice = torch.rand(n, generator=gen, device=device).view(n, 1, 1, 1)
    prior = torch.where(choice < p_empty, torch.zeros_like(moved),
                        torch.where(choice < p_empty + p_wrong, wrong, moved))
    if real is not None and has_real is not None:
        use_real = has_real.view(n, 1, 1, 1) & (torch.rand(n, generator=gen, device=device).view(n, 1, 1, 1) < p_real)
        prior = torch.where(use_real & (choice >= p_empty), real, prior)
    return prior

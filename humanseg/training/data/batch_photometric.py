"""Per-batch colour, lighting, blur, noise and compression augmentation on the training device.

Every function takes float32 Nx3xHxW RGB in [0, 255], a torch.Generator on the same device and a
probability, draws its parameters per sample as tensors, and returns the same shape and range.
Samples not selected pass through unchanged and, except for the cheap colour jitter, are not
computed at all. No Python loop runs over samples.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .batch_geometry import uniform


def chosen(n: int, p: float, gen: torch.Generator, device) -> torch.Tensor:
    """Nx1x1x1 float 0/1: which samples get an augmentation."""
    return (torch.rand(n, generator=gen, device=device) < p).float().view(n, 1, 1, 1)


def on_some(x: torch.Tensor, p: float, gen: torch.Generator, fn) -> torch.Tensor:
    """Apply fn(x[selected], gen) to a random share p of the samples only (the others are not
    computed at all); returns a new tensor."""
    selected = torch.nonzero(torch.rand(x.shape[0], generator=gen, device=x.device) < p).flatten()
    if selected.numel() == 0:
        return x
    out = x.clone()
    out[selected] = fn(x[selected], gen)
    return out


def color_jitter(x: torch.Tensor, gen: torch.Generator, p: float = 0.8, strength: float = 0.35) -> torch.Tensor:
    """Brightness (gain and offset), contrast, saturation and a hue rotation (in YIQ)."""
    n, device = x.shape[0], x.device
    on = chosen(n, p, gen, device)
    view = (n, 1, 1, 1)
    gain = 1 + on * (uniform(n, -strength, strength, gen, device).view(view))
    offset = on * uniform(n, -30, 30, gen, device).view(view) * strength
    y = x * gain + offset
    mean = y.mean((1, 2, 3), keepdim=True)
    y = (y - mean) * (1 + on * uniform(n, -strength, strength, gen, device).view(view)) + mean
    gray = y.mean(1, keepdim=True)
    y = (y - gray) * (1 + on * uniform(n, -strength, strength, gen, device).view(view)) + gray
    hue = on.view(n) * (torch.rand(n, generator=gen, device=device) < 0.3).float() * uniform(n, -0.28, 0.28, gen, device)
    return rotate_hue(y, hue).clamp(0, 255)


_RGB2YIQ = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])


def rotate_hue(x: torch.Tensor, radians: torch.Tensor) -> torch.Tensor:
    """Rotate the chroma plane (I, Q) by `radians` (N) per sample."""
    to_yiq = _RGB2YIQ.to(x.device)
    cos, sin = torch.cos(radians), torch.sin(radians)
    one, zero = torch.ones_like(cos), torch.zeros_like(cos)
    rot = torch.stack([torch.stack([one, zero, zero], -1), torch.stack([zero, cos, -sin], -1),
                       torch.stack([zero, sin, cos], -1)], -2)
    m = torch.linalg.inv(to_yiq) @ rot @ to_yiq  # Nx3x3
    return torch.einsum("nij,njhw->nihw", m, x)


def lighting(x: torch.Tensor, gen: torch.Generator, p: float = 0.3) -> torch.Tensor:
    """A point light (radial falloff) or a line light (a band), added or subtracted, slightly tinted."""
    return on_some(x, p, gen, _light)


def _light(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    n, _, h, w = x.shape
    device = x.device
    ys = torch.arange(h, device=device, dtype=torch.float32).view(1, h, 1)
    xs = torch.arange(w, device=device, dtype=torch.float32).view(1, 1, w)
    v = lambda t: t.view(n, 1, 1)  # noqa: E731
    big = float(max(h, w))
    cx, cy = v(uniform(n, -0.2, 1.2, gen, device) * w), v(uniform(n, -0.2, 1.2, gen, device) * h)
    radius = v(uniform(n, 0.3, 1.0, gen, device) * big)
    point = torch.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * radius ** 2))
    angle = v(uniform(n, 0, math.pi, gen, device))
    extent = w * angle.cos().abs() + h * angle.sin().abs()
    dist = xs * angle.cos() + ys * angle.sin() - v(uniform(n, 0.2, 0.8, gen, device)) * extent
    band = v(uniform(n, 0.1, 0.5, gen, device) * big)
    line = torch.exp(-dist ** 2 / (2 * band ** 2))
    field = torch.where(v(torch.rand(n, generator=gen, device=device) < 0.5), point, line)
    amount = uniform(n, -90, 120, gen, device).view(n, 1, 1, 1)
    tint = uniform(3 * n, 0.8, 1.2, gen, device).view(n, 3, 1, 1)
    return (x + field[:, None] * amount * tint).clamp(0, 255)


def blur(x: torch.Tensor, gen: torch.Generator, p: float = 0.2) -> torch.Tensor:
    """Defocus (Gaussian, sigma 0.6-1.6) or linear motion blur (length 3-7, any angle), one 7x7
    depthwise kernel per selected sample."""
    return on_some(x, p, gen, _blur)


def _blur(x: torch.Tensor, gen: torch.Generator, k: int = 7) -> torch.Tensor:
    n, c, h, w = x.shape
    device = x.device
    r = torch.arange(k, device=device, dtype=torch.float32) - k // 2
    yy, xx = r.view(1, k, 1), r.view(1, 1, k)
    sigma = uniform(n, 0.6, 1.6, gen, device).view(n, 1, 1)
    gauss = torch.exp(-(xx ** 2 + yy ** 2) / (2 * sigma ** 2))
    angle = uniform(n, 0, math.pi, gen, device).view(n, 1, 1)
    half = uniform(n, 1.0, 3.0, gen, device).view(n, 1, 1)
    along = xx * angle.cos() + yy * angle.sin()
    across = -xx * angle.sin() + yy * angle.cos()
    motion = (1 - across.abs()).clamp(min=0) * (along.abs() <= half).float()
    kind = torch.rand(n, generator=gen, device=device).view(n, 1, 1)
    kernel = torch.where(kind < 0.5, gauss, motion)
    kernel = kernel / kernel.sum((1, 2), keepdim=True)
    weight = kernel.repeat_interleave(c, 0).unsqueeze(1)  # (n*c)x1xkxk
    padded = F.pad(x.reshape(1, n * c, h, w), (k // 2,) * 4, mode="replicate")
    return F.conv2d(padded, weight, groups=n * c).view(n, c, h, w)


def noise(x: torch.Tensor, gen: torch.Generator, p: float = 0.2) -> torch.Tensor:
    """Gaussian sensor noise, sigma 2-8 (of 255)."""
    def add_noise(y, g):
        sigma = uniform(y.shape[0], 2, 8, g, y.device).view(-1, 1, 1, 1)
        return (y + sigma * torch.randn(y.shape, generator=g, device=y.device)).clamp(0, 255)

    return on_some(x, p, gen, add_noise)


def grayscale(x: torch.Tensor, gen: torch.Generator, p: float = 0.05) -> torch.Tensor:
    def gray(y, g):
        return (y * torch.tensor([0.299, 0.587, 0.114], device=y.device).view(1, 3, 1, 1)).sum(1, keepdim=True).expand_as(y)

    return on_some(x, p, gen, gray)


def _dct_matrix(size: int, device) -> torch.Tensor:
    i = torch.arange(size, device=device, dtype=torch.float32)
    m = torch.cos(math.pi * (2 * i[None] + 1) * i[:, None] / (2 * size)) * math.sqrt(2 / size)
    m[0] /= math.sqrt(2)
    return m


_JPEG_LUMA = torch.tensor([
    [16, 11, 10, 16, 24, 40, 51, 61], [12, 12, 14, 19, 26, 58, 60, 55], [14, 13, 16, 24, 40, 57, 69, 56],
    [14, 17, 22, 29, 51, 87, 80, 62], [18, 22, 37, 56, 68, 109, 103, 77], [24, 35, 55, 64, 81, 104, 113, 92],
    [49, 64, 78, 87, 103, 121, 120, 101], [72, 92, 95, 98, 112, 100, 103, 99]], dtype=torch.float32)


def compression(x: torch.Tensor, gen: torch.Generator, p: float = 0.2) -> torch.Tensor:
    """JPEG-like degradation: 8x8 block DCT with the standard luminance table scaled for quality
    20-70, quantised and inverted (all channels alike). Canvas sides that are not multiples of 8
    are handled by padding."""
    return on_some(x, p, gen, _jpeg_like)


def _jpeg_like(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    n, c, h, w = x.shape
    device = x.device
    quality = uniform(n, 20, 70, gen, device)
    scale = torch.where(quality < 50, 50 / quality, 2 - quality / 50).view(n, 1, 1, 1, 1, 1)
    step = (_JPEG_LUMA.to(device) * scale).clamp(min=1)
    ph, pw = -h % 8, -w % 8
    y = F.pad(x, (0, pw, 0, ph), mode="replicate") - 128
    hb, wb = (h + ph) // 8, (w + pw) // 8
    blocks = y.view(n, c, hb, 8, wb, 8).permute(0, 1, 2, 4, 3, 5)  # n c hb wb 8 8
    d = _dct_matrix(8, device)
    coef = d @ blocks @ d.T
    coef = torch.round(coef / step) * step
    back = (d.T @ coef @ d).permute(0, 1, 2, 4, 3, 5).reshape(n, c, h + ph, w + pw)[..., :h, :w] + 128
    return back.clamp(0, 255)


def low_resolution(x: torch.Tensor, gen: torch.Generator, p: float = 0.1) -> torch.Tensor:
    """A cheap camera: selected samples are shrunk 2x and enlarged again."""
    def shrink_and_enlarge(y, g):
        small = F.interpolate(y, scale_factor=0.5, mode="bilinear", align_corners=False, antialias=False)
        return F.interpolate(small, size=y.shape[-2:], mode="bilinear", align_corners=False)

    return on_some(x, p, gen, shrink_and_enlarge)


def photometric(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """The full chain with the probabilities of the per-sample pipeline it replaces."""
    x = color_jitter(x, gen)
    x = lighting(x, gen)
    x = blur(x, gen)
    x = low_resolution(x, gen)
    x = noise(x, gen)
    x = compression(x, gen)
    return grayscale(x, gen)

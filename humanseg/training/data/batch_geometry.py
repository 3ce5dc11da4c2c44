"""Per-batch geometry on the training device: affine maps from a canvas to store slots.

Coordinates are continuous pixels (pixel i spans [i, i + 1)), the convention of cv2.resize and of
`grid_sample(align_corners=False)`. A map is an Nx2x3 tensor `theta` taking a canvas point
(x, y, 1) to a slot point; `warp` samples slots through it.

- `letterbox_maps`: the runtime's letterbox (content box -> `letterbox_box` on the canvas), then a
  random scale, rotation, shift and flip about the canvas centre.
- `person_maps`: a person's bounding box placed on the canvas, whole (random size and position) or
  as a webcam head-and-shoulders crop whose cut edge touches the canvas bottom.
- `cover_maps`: a background cropped to cover the canvas at a random zoom, position and flip.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F



def uniform(n: int, low: float, high: float, gen: torch.Generator, device) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, generator=gen, device=device)


def _matrix(a, b, c, d, e, f) -> torch.Tensor:
    """Nx3x3 from six length-N tensors (row-major 2x3 part)."""
    one, zero = torch.ones_like(a), torch.zeros_like(a)
    return torch.stack([torch.stack([a, b, c], -1), torch.stack([d, e, f], -1),
                        torch.stack([zero, zero, one], -1)], -2)


def _inverse_similarity(scale, angle, shift_x, shift_y, flip, width: int, height: int) -> torch.Tensor:
    """Nx3x3 inverse of: flip about the centre, then scale and rotate about the centre, then shift."""
    cx, cy = width / 2, height / 2
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    # forward: p' = R s (F(p) - c) + c + t  ->  inverse: F^-1((R s)^-1 (p' - c - t) + c)
    ix, iy = cx + shift_x, cy + shift_y
    inv = _matrix(cos, sin, cx - cos * ix - sin * iy, -sin, cos, cy + sin * ix - cos * iy)
    sign = torch.where(flip, -torch.ones_like(scale), torch.ones_like(scale))
    flip_m = _matrix(sign, torch.zeros_like(sign), torch.where(flip, torch.full_like(sign, width), torch.zeros_like(sign)),
                     torch.zeros_like(sign), torch.ones_like(sign), torch.zeros_like(sign))
    return flip_m @ inv


def letterbox_maps(boxes: torch.Tensor, width: int, height: int, gen: torch.Generator, augment: bool = True,
                   scale=(0.75, 1.35), max_angle: float = 15.0, max_shift: float = 0.15,
                   max_stretch: float = 0.0, quarter_turn_prob: float = 0.0, side_cut_prob: float = 0.0,
                   keep_bottom_prob: float = 0.0, cut_off: torch.Tensor | None = None) -> torch.Tensor:
    """Nx2x3 canvas -> slot maps; `boxes` Nx4 (x, y, w, h) content boxes in slot pixels.

    Without augmentation this is exactly the runtime's letterbox of the content box (with the same
    `max_stretch` as runtime.letterbox.letterbox_box). quarter_turn_prob > 0 (with augmentation): that
    share of the samples is first turned by 90 degrees, either way (people lying down, a phone held
    sideways without an orientation tag), and letterboxed at its turned size. side_cut_prob > 0: that share is
    zoomed in and pushed 20-40 % of the canvas width to the left or right, so the side edge cuts through the
    person (a face half out of a webcam frame), with the photo still covering the canvas where it can.
    keep_bottom_prob > 0: of the samples whose photo cuts the person off at the bottom (`cut_off`, N bool) and are
    not turned, that share is placed without rotation and shifted down where needed so the photo's bottom edge
    stays on or below the canvas bottom: the body runs off the canvas edge as the runtime's adaptive canvas shows
    such a photo, instead of ending above a band of padding."""
    n, device = boxes.shape[0], boxes.device
    x0, y0, w, h = boxes.unbind(1)
    to_slot = _letterbox_matrix(x0, y0, w, h, width, height, max_stretch)
    turn = torch.zeros(n, dtype=torch.bool, device=device)
    if augment and quarter_turn_prob > 0:
        turn = torch.rand(n, generator=gen, device=device) < quarter_turn_prob
        clockwise = torch.rand(n, generator=gen, device=device) < 0.5
        turned = _turned_letterbox_matrix(x0, y0, w, h, width, height, max_stretch, clockwise)
        to_slot = torch.where(turn.view(n, 1, 1), turned, to_slot)
    if not augment:
        return to_slot[:, :2]
    s = uniform(n, *scale, gen, device)
    angle = uniform(n, -max_angle, max_angle, gen, device) * math.pi / 180
    angle = torch.where(torch.rand(n, generator=gen, device=device) < 0.5, angle, torch.zeros_like(angle))
    tx = uniform(n, -max_shift, max_shift, gen, device) * width
    ty = uniform(n, -max_shift, max_shift, gen, device) * height
    flip = torch.rand(n, generator=gen, device=device) < 0.5
    if side_cut_prob > 0:  # drawn only when asked, so other settings keep their random streams
        cut = torch.rand(n, generator=gen, device=device) < side_cut_prob
        off = uniform(n, 0.2, 0.4, gen, device)
        side = torch.where(torch.rand(n, generator=gen, device=device) < 0.5, -1.0, 1.0)
        zoom = 1 + 2 * off + uniform(n, 0.0, 0.2, gen, device)      # wide enough to cover the shifted canvas
        tx = torch.where(cut, side * off * width, tx)
        s = torch.where(cut, zoom, s)
    if keep_bottom_prob > 0 and cut_off is not None:  # drawn only when asked, as above
        keep = cut_off & ~turn & (torch.rand(n, generator=gen, device=device) < keep_bottom_prob)
        _, py, _, ph = placed_boxes(w, h, width, height, max_stretch)
        # forward y' = s (y - cy) + cy + ty: the photo's bottom edge py + ph must land at y' >= height
        low = height / 2 - s * (py + ph - height / 2)
        ty = torch.where(keep, torch.maximum(ty, low), ty)
        angle = torch.where(keep, torch.zeros_like(angle), angle)
    return (to_slot @ _inverse_similarity(s, angle, tx, ty, flip, width, height))[:, :2]


def _letterbox_matrix(x0, y0, w, h, width: int, height: int, max_stretch: float) -> torch.Tensor:
    """Nx3x3 canvas -> slot map of the runtime's letterbox of the content boxes (x0, y0, w, h)."""
    px, py, pw, ph = placed_boxes(w, h, width, height, max_stretch)
    kx, ky = w / pw, h / ph  # slot pixels per canvas pixel
    zero = torch.zeros_like(kx)
    return _matrix(kx, zero, x0 - px * kx, zero, ky, y0 - py * ky)


def _turned_letterbox_matrix(x0, y0, w, h, width: int, height: int, max_stretch: float,
                             clockwise: torch.Tensor) -> torch.Tensor:
    """As _letterbox_matrix for the content turned by 90 degrees (clockwise where `clockwise`, else
    anticlockwise): the turned content (h x w) is letterboxed, so canvas x runs along the slot's y."""
    px, py, pw, ph = placed_boxes(h, w, width, height, max_stretch)
    zero = torch.zeros_like(pw)
    # clockwise: the slot's left column, read from its bottom up, becomes the canvas's top row
    #   slot x = x0 + w (v - py) / ph,      slot y = y0 + h (1 - (u - px) / pw)
    cw = _matrix(zero, w / ph, x0 - w * py / ph, -h / pw, zero, y0 + h + h * px / pw)
    #   slot x = x0 + w (1 - (v - py) / ph), slot y = y0 + h (u - px) / pw
    acw = _matrix(zero, -w / ph, x0 + w + w * py / ph, h / pw, zero, y0 - h * px / pw)
    return torch.where(clockwise.view(-1, 1, 1), cw, acw)


def placed_boxes(w: torch.Tensor, h: torch.Tensor, width: int, height: int, max_stretch: float = 0.0):
    """`runtime.letterbox.letterbox_box` for N sizes at once: (x, y, w, h) float tensors on the canvas."""
    scale = torch.minimum(width / w, height / h)
    pw = (w * scale).round().clamp(1, width)
    ph = (h * scale).round().clamp(1, height)
    if max_stretch:
        fill = ((width / height) / (w / h)).log().abs() <= math.log1p(max_stretch) + 1e-12
        pw, ph = torch.where(fill, float(width), pw), torch.where(fill, float(height), ph)
    return torch.div(width - pw, 2, rounding_mode="floor"), torch.div(height - ph, 2, rounding_mode="floor"), pw, ph


def person_maps(person: torch.Tensor, width: int, height: int, webcam: torch.Tensor, gen: torch.Generator,
                cut_off: torch.Tensor | None = None,
                small: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(Nx2x3 canvas -> slot maps, N slot rows below which the person is cut away).

    person: Nx4 (x0, y0, x1, y1) boxes in slot pixels; webcam: N bool. A full-body person (taller
    than 1.8x wide) in webcam mode keeps its top 30-55%; the kept part fills 75-105% of the canvas
    height and its cut edge lies on the canvas bottom. Otherwise the whole person is 40-95% of
    the canvas height at a random position, except that a person the photo cuts off at the bottom
    (`cut_off`, N bool) keeps that edge on the canvas bottom rather than floating. A whole person
    marked `small` (N bool) is 12-40% of the canvas height instead, as people in street scenes."""
    n, device = person.shape[0], person.device
    x0, y0, x1, y1 = person.unbind(1)
    pw, ph = (x1 - x0).clamp(min=1), (y1 - y0).clamp(min=1)
    tall = ph > 1.8 * pw
    keep = torch.where(webcam & tall, uniform(n, 0.3, 0.55, gen, device), torch.ones_like(ph))
    cut = y0 + ph * keep
    kept_h = cut - y0
    whole = uniform(n, 0.4, 0.95, gen, device)
    if small is not None:
        whole = torch.where(small & ~webcam, uniform(n, 0.12, 0.4, gen, device), whole)
    target = torch.where(webcam, uniform(n, 0.75, 1.05, gen, device), whole) * height
    scale = torch.minimum(target / kept_h, torch.where(webcam, 1.1, 0.95) * width / pw)
    free = (height - kept_h * scale).clamp(min=1.0)
    anchored = webcam if cut_off is None else webcam | cut_off
    py = torch.where(anchored, height - kept_h * scale, torch.rand(n, generator=gen, device=device) * free)
    px = uniform(n, -0.15, 0.15, gen, device) * width + (width - pw * scale) / 2
    flip = torch.rand(n, generator=gen, device=device) < 0.5
    zero, inv = torch.zeros_like(scale), 1 / scale
    # canvas (u, v) -> slot: x = x0 + (u - px) / s, y = y0 + (v - py) / s; flip mirrors the person box
    to_slot = _matrix(inv, zero, x0 - px * inv, zero, inv, y0 - py * inv)
    mirror = _matrix(torch.where(flip, -1.0, 1.0) * torch.ones_like(scale), zero,
                     torch.where(flip, 2 * px + pw * scale, zero), zero, torch.ones_like(scale), zero)
    return (to_slot @ mirror)[:, :2], cut


def cover_maps(boxes: torch.Tensor, width: int, height: int, gen: torch.Generator) -> torch.Tensor:
    """Nx2x3 maps that crop each content box to cover the canvas (zoom 1-1.6x, random position, flip)."""
    n, device = boxes.shape[0], boxes.device
    bx, by, bw, bh = boxes.unbind(1)
    scale = torch.maximum(width / bw, height / bh) * uniform(n, 1.0, 1.6, gen, device)
    span_x, span_y = (bw - width / scale).clamp(min=0), (bh - height / scale).clamp(min=0)
    ox = bx + torch.rand(n, generator=gen, device=device) * span_x
    oy = by + torch.rand(n, generator=gen, device=device) * span_y
    flip = torch.rand(n, generator=gen, device=device) < 0.5
    inv, zero = 1 / scale, torch.zeros_like(scale)
    a = torch.where(flip, -inv, inv)
    c = torch.where(flip, ox + width * inv, ox)
    return _matrix(a, zero, c, zero, inv, oy)[:, :2]


def slot_points(theta: torch.Tensor, width: int, height: int) -> torch.Tensor:
    """NxHxWx2 slot coordinates (x, y) of every canvas pixel centre."""
    device = theta.device
    ys = torch.arange(height, device=device, dtype=torch.float32) + 0.5
    xs = torch.arange(width, device=device, dtype=torch.float32) + 0.5
    grid = torch.stack([xs.expand(height, width), ys[:, None].expand(height, width),
                        torch.ones(height, width, device=device)], -1)
    return torch.einsum("hwk,njk->nhwj", grid, theta)


def warp(slots: torch.Tensor, points: torch.Tensor, mode: str = "bilinear") -> torch.Tensor:
    """Sample NxCxSxS slots (any dtype) at NxHxWx2 slot points -> float32 NxCxHxW (0 outside)."""
    size = slots.shape[-1]
    grid = points * (2.0 / size) - 1.0
    return F.grid_sample(slots.float(), grid, mode=mode, padding_mode="zeros", align_corners=False)


def inside(points: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
    """Nx1xHxW bool: the point lies in its content box (x, y, w, h)."""
    x, y = points[..., 0], points[..., 1]
    b = boxes[:, :, None, None]
    return ((x >= b[:, 0]) & (x < b[:, 0] + b[:, 2]) & (y >= b[:, 1]) & (y < b[:, 1] + b[:, 3]))[:, None]

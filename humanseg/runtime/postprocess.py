"""Mask clean-up: threshold, morphological gate, blob filtering, feathering, guided refinement (grey guide, a
radius in px: the --refine option) and the still recipe's colour-guided refinement (a radius relative to the photo)."""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import cv2
import numpy as np

from ..errors import InputError

MAX_GATE_PX = 25     # px: the gate's erode/dilate radii; an ellipse of radius 400 took 11 s per 720p frame (100: 0.7 s)
MAX_FEATHER = 20.0   # px: wider sigmas wash the mask out (and 1e6 px runs for minutes); the CLI and service cap it


@dataclass
class PostProcess:
    """Options applied in this order. Maps are float32 HxW in [0, 1].

    threshold: None keeps the soft map; a value gives a hard 0/1 mask.
    gate: PP-HumanSeg's morphological gate: erode the thresholded mask with a small kernel,
        dilate it with a larger one, and multiply the soft map by the result (kills specks,
        keeps soft edges). (erode_px, dilate_px) at frame resolution, or None.
    keep_largest: keep only the largest connected person region.
    min_blob_fraction: drop person regions smaller than this share of the frame.
    refine: guided-filter edge refinement with the frame as guide (radius in px, or 0 to skip).
    feather: Gaussian sigma in px applied to the final edge, in [0, MAX_FEATHER] (0 to skip).
    """

    threshold: float | None = None
    gate: tuple[int, int] | None = None
    keep_largest: bool = False
    min_blob_fraction: float = 0.0
    refine: int = 0
    feather: float = 0.0

    @property
    def active(self) -> bool:
        return bool(self.threshold is not None or self.gate or self.keep_largest or self.min_blob_fraction
                    or self.refine or self.feather)

    def __call__(self, prob: np.ndarray, frame_bgr: np.ndarray | None = None) -> np.ndarray:
        if self.gate:
            prob = morphological_gate(prob, *self.gate)
        if self.keep_largest or self.min_blob_fraction:
            prob = filter_blobs(prob, self.keep_largest, self.min_blob_fraction)
        if self.refine and frame_bgr is not None:
            prob = guided_refine(frame_bgr, prob, self.refine)
        if self.threshold is not None:
            prob = (prob >= self.threshold).astype(np.float32)
        if self.feather:
            prob = cv2.GaussianBlur(prob, (0, 0), self.feather)
        return prob


def _in_range(value, low: float, high: float = math.inf) -> bool:
    return isinstance(value, numbers.Real) and math.isfinite(value) and low <= value <= high


def _count(value) -> bool:
    return _in_range(value, 0) and float(value).is_integer()


def check_postprocess(post: PostProcess) -> None:
    """Raise InputError for mask options out of range (the CLI checks the same at its parser). Segmenter checks
    its own before each frame: unchecked, a threshold of 5 gave an all-background mask without a word."""
    problems = []
    if post.threshold is not None and not _in_range(post.threshold, 0, 1):
        problems.append(f"threshold {post.threshold} is not in [0, 1]")
    if post.gate is not None and (not isinstance(post.gate, (tuple, list)) or len(post.gate) != 2
                                  or not all(_count(v) for v in post.gate)):
        problems.append(f"gate {post.gate!r} must be two non-negative integers (erode, dilate)")
    elif post.gate is not None and max(post.gate) > MAX_GATE_PX:
        problems.append(f"gate {tuple(post.gate)!r}: radii are at most {MAX_GATE_PX} px")
    if not _count(post.refine):
        problems.append(f"refine {post.refine} must be a non-negative integer")
    if not _in_range(post.feather, 0, MAX_FEATHER):
        problems.append(f"feather {post.feather} is not in [0, {MAX_FEATHER:g}] (px)")
    if not _in_range(post.min_blob_fraction, 0, 1):
        problems.append(f"min_blob_fraction {post.min_blob_fraction} is not in [0, 1]")
    if problems:
        raise InputError("; ".join(problems))


def morphological_gate(prob: np.ndarray, erode_px: int, dilate_px: int, level: float = 0.5) -> np.ndarray:
    hard = (prob >= level).astype(np.uint8)
    if erode_px > 0:
        hard = cv2.erode(hard, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * erode_px + 1,) * 2))
    if dilate_px > 0:
        hard = cv2.dilate(hard, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * dilate_px + 1,) * 2))
    return prob * hard.astype(np.float32)


def filter_blobs(prob: np.ndarray, keep_largest: bool, min_fraction: float, level: float = 0.5) -> np.ndarray:
    hard = (prob >= level).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(hard, connectivity=8)
    if n <= 1:
        return prob
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = np.zeros(n, bool)
    if keep_largest:
        keep[1 + int(np.argmax(areas))] = True
    else:
        keep[1:] = areas >= min_fraction * prob.size
    if keep_largest and min_fraction:
        keep[1:] &= areas >= min_fraction * prob.size
    # soft edges around kept regions survive: gate by a slightly dilated keep-mask
    gate = cv2.dilate(keep[labels].astype(np.uint8), np.ones((5, 5), np.uint8))
    return prob * gate.astype(np.float32)


def guided_refine(frame_bgr: np.ndarray, prob: np.ndarray, radius: int = 8, eps: float = 1e-3,
                  work_scale: int = 4) -> np.ndarray:
    """Fast guided filter (He et al. 2010/2015) with the gray frame as guide: coefficients are
    computed at 1/work_scale resolution, upsampled and applied at full resolution, so edges
    follow the frame's own edges (hair, shoulders)."""
    h, w = prob.shape
    guide = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY).astype(np.float32) * (1.0 / 255)
    small = (max(1, w // work_scale), max(1, h // work_scale))
    g = cv2.resize(guide, small, interpolation=cv2.INTER_AREA)
    p = cv2.resize(prob, small, interpolation=cv2.INTER_AREA)
    # a box wider than twice the grid already spans all of it: larger radii give the same map (within 1e-3) but
    # cost time in proportion (refine=1e6 took two minutes on a 320x240 frame)
    r = max(1, min(radius // work_scale, max(small)))
    box = lambda x: cv2.boxFilter(x, -1, (2 * r + 1, 2 * r + 1))  # noqa: E731
    mean_g, mean_p = box(g), box(p)
    var_g = box(g * g) - mean_g * mean_g
    cov_gp = box(g * p) - mean_g * mean_p
    a = cov_gp / (var_g + eps)
    b = mean_p - a * mean_g
    a = cv2.resize(box(a), (w, h), interpolation=cv2.INTER_LINEAR)
    b = cv2.resize(box(b), (w, h), interpolation=cv2.INTER_LINEAR)
    return np.clip(a * guide + b, 0.0, 1.0)


REFINE_WORK_SIDE = 200   # long side (px) of the grid a colour-guided refinement computes its coefficients on
MAX_REFINE_FRACTION = 0.1


def color_guided_refine(frame_bgr: np.ndarray, prob: np.ndarray, radius_fraction: float, eps: float = 1e-3,
                        work_side: int = REFINE_WORK_SIDE) -> np.ndarray:
    """Guided filter (He et al. 2010/2015) with the colour frame as guide, so the map's edges follow the
    photo's colour edges. Scale-free: the filter's coefficients are computed on a grid whose long side is
    `work_side` (or the frame's, if smaller) with a radius of `radius_fraction` of that long side, then
    upsampled and applied to every pixel of the frame, and a 5x5 median removes the specks that leaves. The
    still recipe's refinement (humanseg.still_refine, Segmenter.refine_fraction): on the validation set about
    +0.3 mIoU points (benchmarks/RESULTS.md)."""
    h, w = prob.shape
    step = max(1.0, max(h, w) / work_side)
    small = (max(1, round(w / step)), max(1, round(h / step)))
    g = cv2.resize(frame_bgr, small, interpolation=cv2.INTER_AREA).astype(np.float32) * np.float32(1 / 255)
    p = cv2.resize(prob, small, interpolation=cv2.INTER_AREA)
    r = max(1, round(radius_fraction * max(small)))
    box = lambda x: cv2.boxFilter(x, -1, (2 * r + 1, 2 * r + 1))  # noqa: E731
    mean_g, mean_p = box(g), box(p)
    cov_gp = box(g * p[..., None]) - mean_g * mean_p[..., None]
    var = {(i, j): (box(g[..., i] * g[..., j]) - mean_g[..., i] * mean_g[..., j]).astype(np.float64) + eps * (i == j)
           for i in range(3) for j in range(i, 3)}
    a = _solve_symmetric3(var, cov_gp.astype(np.float64)).astype(np.float32)
    b = mean_p - (a * mean_g).sum(-1)
    # (a / 255, b) upsampled plane by plane and the frame's uint8 channels used as they are: contiguous planes
    # make this about 1.7x faster than one 4-channel upsampling with strided channel views (same result)
    coefficients = box(np.concatenate([a * np.float32(1 / 255), b[..., None]], -1))
    up = lambda c: cv2.resize(np.ascontiguousarray(coefficients[..., c]), (w, h), interpolation=cv2.INTER_LINEAR)  # noqa: E731
    out = up(3)
    for c, channel in enumerate(cv2.split(frame_bgr)[:3]):
        out += up(c) * channel
    # the frame's pixel noise leaves 1-7 px specks along the edge (semantic connectivity 0.50 -> 0.15 on the
    # validation set); a 5x5 median removes them and keeps the edge (back to 0.49, same mIoU)
    return cv2.medianBlur(np.clip(out, 0.0, 1.0, out=out), 5)


def _solve_symmetric3(m: dict, rhs: np.ndarray) -> np.ndarray:
    """x with M x = rhs for a field of symmetric 3x3 matrices M, given as {(i, j): HxW entry} for i <= j, and
    HxWx3 right-hand sides: by cofactors (float64), about 8x faster than numpy.linalg.solve on small matrices."""
    a, b, c, d, e, f = m[0, 0], m[0, 1], m[0, 2], m[1, 1], m[1, 2], m[2, 2]
    i00, i01, i02 = d * f - e * e, c * e - b * f, b * e - c * d
    i11, i12, i22 = a * f - c * c, b * c - a * e, a * d - b * b
    det = a * i00 + b * i01 + c * i02
    x, y, z = rhs[..., 0], rhs[..., 1], rhs[..., 2]
    return np.stack([i00 * x + i01 * y + i02 * z, i01 * x + i11 * y + i12 * z, i02 * x + i12 * y + i22 * z], -1) \
        / det[..., None]

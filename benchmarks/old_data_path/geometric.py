"""Geometric augmentation and person-onto-background synthesis.

All functions take uint8 HxWx3 RGB images and uint8 HxW labels in {0, 1} and return a pair
already placed on a (width, height) canvas.
"""
from __future__ import annotations

import cv2
import numpy as np

from humanseg.runtime.letterbox import PAD_VALUE, letterbox


def _affine(img: np.ndarray, label: np.ndarray, matrix: np.ndarray, size: tuple[int, int],
            border: np.ndarray | int) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(border, np.ndarray):
        out = cv2.warpAffine(img, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        lab = cv2.warpAffine(label, matrix, size, flags=cv2.INTER_NEAREST, borderValue=0)
        cover = cv2.warpAffine(np.ones(label.shape, np.uint8), matrix, size, flags=cv2.INTER_NEAREST, borderValue=0)
        out = np.where(cover[..., None] > 0, out, border)
        return out, lab
    out = cv2.warpAffine(img, matrix, size, flags=cv2.INTER_LINEAR, borderValue=(border,) * 3)
    lab = cv2.warpAffine(label, matrix, size, flags=cv2.INTER_NEAREST, borderValue=0)
    return out, lab


def random_letterbox(img: np.ndarray, label: np.ndarray, size: tuple[int, int], rng: np.random.Generator
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Letterbox (as at inference) then random scale (0.75-1.35), shift, rotation (+-15 deg), flip."""
    if rng.random() < 0.5:
        img, label = img[:, ::-1], label[:, ::-1]
    img, _ = letterbox(np.ascontiguousarray(img), size)
    label, _ = letterbox(np.ascontiguousarray(label), size, pad_value=0, interpolation=cv2.INTER_NEAREST)
    w, h = size
    scale = rng.uniform(0.75, 1.35)
    angle = rng.uniform(-15, 15) if rng.random() < 0.5 else 0.0
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
    m[:, 2] += rng.uniform(-0.15, 0.15, size=2) * (w, h)
    return _affine(img, label, m, size, PAD_VALUE)


def cover_crop(bg: np.ndarray, size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Random crop of a background resized to cover (width, height), no stretching."""
    w, h = size
    bh, bw = bg.shape[:2]
    scale = max(w / bw, h / bh) * rng.uniform(1.0, 1.6)
    bg = cv2.resize(bg, (max(w, round(bw * scale)), max(h, round(bh * scale))), interpolation=cv2.INTER_AREA)
    y = int(rng.integers(0, bg.shape[0] - h + 1))
    x = int(rng.integers(0, bg.shape[1] - w + 1))
    out = bg[y:y + h, x:x + w]
    return out[:, ::-1].copy() if rng.random() < 0.5 else out.copy()


def composite_on_background(img: np.ndarray, label: np.ndarray, bg: np.ndarray, size: tuple[int, int],
                            rng: np.random.Generator, webcam_crop: bool) -> tuple[np.ndarray, np.ndarray]:
    """Cut the labelled person out and paste them onto a background.

    webcam_crop: keep only head and shoulders (the top 30-55% of the person's height) and place
    them at the bottom of the frame, as a webcam sees a person in a call; else place the whole
    person at a random scale and position.
    """
    if rng.random() < 0.5:
        img, label = img[:, ::-1], label[:, ::-1]
    w, h = size
    ys, xs = np.nonzero(label)
    if len(ys) == 0:
        return cover_crop(bg, size, rng), np.zeros((h, w), np.uint8)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    if webcam_crop:
        if (y1 - y0) > 1.8 * (x1 - x0):  # a full-body person: keep head and shoulders only
            y1 = y0 + max(1, int((y1 - y0) * rng.uniform(0.3, 0.55)))
        rows = label[y0:y1]
        cols = np.nonzero(rows.any(0))[0]
        x0, x1 = cols.min(), cols.max() + 1
        target_h = h * rng.uniform(0.75, 1.05)
        scale = target_h / (y1 - y0)
        scale = min(scale, w * 1.1 / (x1 - x0))
        py = h - (y1 - y0) * scale  # the crop's bottom edge touches the frame's bottom
    else:
        scale = h * rng.uniform(0.4, 0.95) / (y1 - y0)
        scale = min(scale, w * 0.95 / (x1 - x0))
        py = rng.uniform(0, max(1.0, h - (y1 - y0) * scale))
    px = rng.uniform(-0.15, 0.15) * w + (w - (x1 - x0) * scale) / 2
    m = np.array([[scale, 0, px - x0 * scale], [0, scale, py - y0 * scale]], np.float32)
    person = cv2.warpAffine(np.ascontiguousarray(img), m, size, flags=cv2.INTER_LINEAR)
    crop_label = np.zeros_like(label)
    crop_label[y0:y1] = label[y0:y1]
    lab = cv2.warpAffine(crop_label, m, size, flags=cv2.INTER_NEAREST)
    soft = cv2.warpAffine(crop_label.astype(np.float32), m, size, flags=cv2.INTER_LINEAR)
    soft = cv2.GaussianBlur(soft, (3, 3), 0)[..., None]
    background = cover_crop(bg, size, rng)
    if rng.random() < 0.3:
        background = cv2.GaussianBlur(background, (0, 0), rng.uniform(1, 4))
    out = person * soft + background * (1 - soft)
    return np.clip(out, 0, 255).astype(np.uint8), lab

"""Colour, blur, noise and lighting augmentation on uint8 HxWx3 RGB images."""
from __future__ import annotations

import cv2
import numpy as np


def color_jitter(img: np.ndarray, rng: np.random.Generator, strength: float = 0.35) -> np.ndarray:
    """Random brightness, contrast, saturation and hue."""
    x = img.astype(np.float32)
    x = x * rng.uniform(1 - strength, 1 + strength) + rng.uniform(-30, 30) * strength
    mean = x.mean()
    x = (x - mean) * rng.uniform(1 - strength, 1 + strength) + mean
    gray = x.mean(2, keepdims=True)
    x = (x - gray) * rng.uniform(1 - strength, 1 + strength) + gray
    x = np.clip(x, 0, 255).astype(np.uint8)
    if rng.random() < 0.3:
        hsv = cv2.cvtColor(x, cv2.COLOR_RGB2HSV)
        hsv[..., 0] = (hsv[..., 0].astype(np.int16) + int(rng.integers(-8, 9))) % 180
        x = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
    return x


def blur(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Gaussian (defocus) or linear motion blur."""
    if rng.random() < 0.5:
        k = int(rng.choice([3, 5]))
        return cv2.GaussianBlur(img, (k, k), 0)
    k = int(rng.choice([3, 5, 7]))
    kernel = np.zeros((k, k), np.float32)
    kernel[k // 2] = 1.0 / k
    rot = cv2.getRotationMatrix2D((k / 2 - 0.5, k / 2 - 0.5), float(rng.uniform(0, 180)), 1.0)
    kernel = cv2.warpAffine(kernel, rot, (k, k))
    kernel /= max(kernel.sum(), 1e-6)
    return cv2.filter2D(img, -1, kernel)


def noise(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    sigma = rng.uniform(2, 8)
    return np.clip(img.astype(np.float32) + rng.normal(0, sigma, img.shape), 0, 255).astype(np.uint8)


def lighting(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Simulated light source: a point light (radial falloff) or a line light (a band), added or
    subtracted (shadow), with a slightly tinted colour."""
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    if rng.random() < 0.5:
        cx, cy = rng.uniform(-0.2, 1.2) * w, rng.uniform(-0.2, 1.2) * h
        radius = rng.uniform(0.3, 1.0) * max(h, w)
        field = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * radius ** 2))
    else:
        angle = rng.uniform(0, np.pi)
        offset = rng.uniform(0.2, 0.8) * (w * abs(np.cos(angle)) + h * abs(np.sin(angle)))
        dist = xx * np.cos(angle) + yy * np.sin(angle) - offset
        width = rng.uniform(0.1, 0.5) * max(h, w)
        field = np.exp(-(dist ** 2) / (2 * width ** 2))
    amount = rng.uniform(-90, 120)
    tint = rng.uniform(0.8, 1.2, size=3).astype(np.float32)
    out = img.astype(np.float32) + field[..., None] * amount * tint
    return np.clip(out, 0, 255).astype(np.uint8)


def photometric(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The full photometric chain with fixed probabilities."""
    if rng.random() < 0.8:
        img = color_jitter(img, rng)
    if rng.random() < 0.3:
        img = lighting(img, rng)
    if rng.random() < 0.2:
        img = blur(img, rng)
    if rng.random() < 0.2:
        img = noise(img, rng)
    if rng.random() < 0.05:
        img = np.repeat(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)[..., None], 3, 2)
    return img

"""Green-screen keying: a colour-difference keyer that turns frames shot on green into alpha and a de-spilled
foreground, and a clip-to-dataset writer that composites them onto new backgrounds.

The key of a pixel is how far green exceeds the other channels, k = G - max(R, B), as a fraction of the
screen's own key k_s (the screen colour is estimated per frame, `screen_colour`). Alpha falls linearly from 1
at k / k_s <= low to 0 at k / k_s >= high. The keyer is exact for foreground colours with G = max(R, B) (greys,
whites) over a uniform screen; where the foreground has G < max(R, B) (skin, red, blue) its soft edges come out
somewhat too opaque, and foreground greens (clothes, green-lit hair) come out transparent.
"""
from __future__ import annotations

import math
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..errors import InputError, OutputError

SPILL_MODES = ("max", "mean", "none")
MAX_CLEAN_RADIUS = 50   # px: specks and pin holes are a few px; a disc of radius r costs (2r + 1)^2 per pixel
MAX_BLUR_SIGMA = 50.0   # px: OpenCV's kernel grows with sigma (1e9 exhausts the memory)
CLIP_FOLDERS = ("images", "alpha", "fg", "masks")


@dataclass(frozen=True)
class KeyerSettings:
    """low, high: key fractions (k / k_s) where alpha is 1 and 0 (0 <= low < high); despill: limit G of the
    foreground to max(R, B) ("max"), to (R + B) / 2 ("mean", stronger) or not at all ("none");
    clean_radius: grey opening then closing of alpha by a disc of this radius in px (0: off), which removes
    specks and pin holes; blur_sigma: Gaussian blur of alpha in px (0: off).

    The default thresholds suit a dull, unevenly lit screen (docs/matting_keying.md); for an evenly lit,
    saturated screen low=0, high=1 follows the soft edges more closely."""

    low: float = 0.1
    high: float = 0.5
    despill: str = "max"
    clean_radius: int = 0
    blur_sigma: float = 0.0

    def __post_init__(self):
        if not (0 <= self.low < self.high and math.isfinite(self.high)):   # also refuses nan
            raise InputError(f"keying thresholds low={self.low}, high={self.high}: need 0 <= low < high, finite")
        if self.despill not in SPILL_MODES:
            raise InputError(f"despill {self.despill!r}: choose one of {', '.join(SPILL_MODES)}")
        if not 0 <= self.clean_radius <= MAX_CLEAN_RADIUS or self.clean_radius != int(self.clean_radius):
            raise InputError(f"clean radius {self.clean_radius}: use a whole number of px from 0 to {MAX_CLEAN_RADIUS}")
        if not 0 <= self.blur_sigma <= MAX_BLUR_SIGMA:   # also refuses nan
            raise InputError(f"blur sigma {self.blur_sigma}: use 0 to {MAX_BLUR_SIGMA:g} px")


def green_key(frame: np.ndarray) -> np.ndarray:
    """k = G - max(R, B): float32 HxW in [-1, 1]. frame: float32 HxWx3 BGR in [0, 1]."""
    return frame[..., 1] - np.maximum(frame[..., 0], frame[..., 2])


def screen_colour(frame: np.ndarray, min_key: float = 0.03) -> np.ndarray:
    """The screen's BGR colour (float32 3 in [0, 1]): the median of the greenest half of the pixels whose key
    exceeds `min_key`. frame: float32 HxWx3 BGR in [0, 1]. Raises InputError where nothing is green."""
    key = green_key(frame)
    green = key > min_key
    if np.count_nonzero(green) < max(16, key.size // 1000):
        raise InputError("no green screen found in the frame (almost no pixel has more green than red and blue)")
    greenest = green & (key >= np.median(key[green]))
    return np.median(frame[greenest], axis=0).astype(np.float32)


def key_alpha(frame: np.ndarray, screen: np.ndarray, settings: KeyerSettings = KeyerSettings()) -> np.ndarray:
    """Alpha (float32 HxW in [0, 1]) of frame (float32 HxWx3 BGR in [0, 1]) against a screen colour (BGR)."""
    screen_key = float(screen[1] - max(screen[0], screen[2]))
    if screen_key <= 0:
        raise InputError("the screen colour is not green (its G does not exceed R and B)")
    fraction = green_key(frame) / screen_key
    alpha = np.clip((settings.high - fraction) / (settings.high - settings.low), 0, 1).astype(np.float32)
    if settings.clean_radius > 0:
        r = int(settings.clean_radius)
        disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
        alpha = cv2.morphologyEx(cv2.morphologyEx(alpha, cv2.MORPH_OPEN, disc), cv2.MORPH_CLOSE, disc)
    if settings.blur_sigma > 0:
        alpha = cv2.GaussianBlur(alpha, (0, 0), settings.blur_sigma)
    return alpha


def despill(colour: np.ndarray, mode: str = "max") -> np.ndarray:
    """Limit green to max(R, B) ("max") or (R + B) / 2 ("mean"); "none" returns a copy. BGR float in [0, 1]."""
    out = colour.copy()
    if mode == "max":
        out[..., 1] = np.minimum(out[..., 1], np.maximum(out[..., 0], out[..., 2]))
    elif mode == "mean":
        out[..., 1] = np.minimum(out[..., 1], (out[..., 0] + out[..., 2]) / 2)
    return out


def key_frame(frame: np.ndarray, settings: KeyerSettings = KeyerSettings(),
              screen: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Key one frame shot on green. frame: uint8 HxWx3 BGR; screen: its BGR colour in [0, 1] (estimated from
    the frame when None).

    Returns (alpha float32 HxW in [0, 1], fg float32 HxWx3 BGR in [0, 1]). fg is the straight (not
    premultiplied) foreground colour: the screen's share (1 - alpha) * screen taken out of the pixel, spill
    limited (`despill`), divided by alpha; black where alpha = 0.
    """
    image = frame.astype(np.float32) / 255.0
    if screen is None:
        screen = screen_colour(image)
    alpha = key_alpha(image, screen, settings)
    a = alpha[..., None]
    premultiplied = despill(np.clip(image - (1 - a) * screen, 0, 1), settings.despill)
    fg = np.where(a > 0.5 / 255, premultiplied / np.maximum(a, 1e-6), 0.0)
    return alpha, np.clip(fg, 0, 1).astype(np.float32)


def composite(fg: np.ndarray, alpha: np.ndarray, background: np.ndarray) -> np.ndarray:
    """I = alpha F + (1 - alpha) B. fg: float BGR in [0, 1]; alpha: float HxW in [0, 1]; background: uint8 BGR
    of the same size. Returns uint8 HxWx3 BGR."""
    a = alpha[..., None]
    out = a * fg + (1 - a) * (background.astype(np.float32) / 255.0)
    return np.clip(np.round(out * 255), 0, 255).astype(np.uint8)


def key_clip(video: str | Path, out: str | Path, backgrounds: str | Path, every: int = 4, max_frames: int = 60,
             seed: int = 0, settings: KeyerSettings = KeyerSettings()) -> list[Path]:
    """Key every `every`-th frame of a green-screen clip (at most `max_frames` of them) and write training /
    validation triples under `<out>/<clip stem>/`: images/<frame>.jpg (the keyed person composited onto a
    background drawn at random, seeded, from `backgrounds` and cover-fitted), alpha/<frame>.png (8-bit),
    fg/<frame>.png (de-spilled straight foreground, BGR) and masks/<frame>.png (alpha > 127 as 0/255), so
    `humanseg eval` reads the folder. <frame> is the 0-based frame index, 6 digits. Returns the image paths.

    The clip's folder is written whole or not at all: the frames go to a hidden temporary folder beside it,
    renamed into place at the end, replacing the folder an earlier run made (so no frame of another run, made
    with other settings, stays mixed in). A frame that cannot be keyed is an InputError naming it, and nothing
    is written. A `<clip stem>` that is a file, or a folder holding anything else, is an OutputError.
    """
    from ..effects.backgrounds import cover_fit
    from ..io.folders import find_images
    from ..io.images import read_image, temp_beside, write_image
    from ..io.video import VideoReader

    if every < 1 or max_frames < 1:
        raise InputError("every and max_frames must be 1 or more")
    background_paths = find_images(Path(backgrounds)) if Path(backgrounds).is_dir() else []
    if not background_paths:
        raise InputError(f"{backgrounds}: no background images found (expected a folder of .jpg/.png files)")
    reader = VideoReader(video)
    root = Path(out) / Path(video).stem
    if Path(out).exists() and not Path(out).is_dir():
        raise OutputError(f"{out}: is a file; give a folder for the keyed clips")
    _check_clip_folder(root)
    try:
        Path(out).mkdir(parents=True, exist_ok=True)
        tmp = temp_beside(root, directory=True)
    except OSError as exc:
        raise OutputError(f"{out}: cannot create the output folder ({exc.strerror or exc})") from exc
    try:
        for sub in CLIP_FOLDERS:
            (tmp / sub).mkdir()
        rng = np.random.default_rng(seed)
        names = []
        for index, frame in enumerate(reader.frames(upright=True)):
            if len(names) >= max_frames:
                break
            if index % every:
                continue
            try:
                alpha, fg = key_frame(frame, settings)
            except InputError as exc:
                raise InputError(f"{video}: frame {index}: {exc}; nothing was written") from exc
            background = read_image(background_paths[rng.integers(len(background_paths))])
            background = cover_fit(background, frame.shape[1], frame.shape[0])
            alpha8 = np.round(alpha * 255).astype(np.uint8)
            name = f"{index:06d}"
            write_image(tmp / "alpha" / f"{name}.png", alpha8)
            write_image(tmp / "fg" / f"{name}.png", np.round(fg * 255).astype(np.uint8))
            write_image(tmp / "masks" / f"{name}.png", np.where(alpha8 > 127, 255, 0).astype(np.uint8))
            write_image(tmp / "images" / f"{name}.jpg", composite(fg, alpha, background))
            names.append(name)
        _replace_folder(tmp, root)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return [root / "images" / f"{name}.jpg" for name in names]


def _check_clip_folder(root: Path) -> None:
    """OutputError unless `root` is absent or a folder key_clip made (nothing in it but CLIP_FOLDERS)."""
    if not os.path.lexists(root):
        return
    if root.is_symlink() or not root.is_dir():
        raise OutputError(f"{root}: exists and is not a folder; choose another output folder")
    others = sorted(p.name for p in root.iterdir() if p.name not in CLIP_FOLDERS or not p.is_dir())
    if others:
        raise OutputError(f"{root}: holds {', '.join(others[:5])}, which keying did not write; it replaces the "
                          "whole folder, so choose another output folder or move those away")


def _replace_folder(new: Path, root: Path) -> None:
    """Put the folder `new` at `root`, replacing the folder an earlier run made there."""
    from ..io.images import temp_beside

    old = None
    try:
        if os.path.lexists(root):
            old = temp_beside(root, directory=True)
            os.replace(root, old)   # an empty folder: rename(2) replaces it
        os.replace(new, root)
    except OSError as exc:
        if old is not None and not os.path.lexists(root):
            os.replace(old, root)   # the earlier run's folder back where it was
        raise OutputError(f"{root}: cannot put the keyed frames in place ({exc.strerror or exc})") from exc
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)

"""Reading a person mask file: one rule for `humanseg eval`, training and its validation, and the data tools.

A mask is 8- or 16-bit, grey or colour (colour is converted to grey). Person is above half the value range
(0/255, 0/65535) or, when the largest value is at most half of it (a 0/1 label map, or class ids), wherever it
is above 0: such a map is read as what it labels rather than as an empty mask.

A mask with an alpha channel (RGBA, or grey + alpha) whose colour is one value wherever it is visible (alpha
above 0) draws the person only in its alpha: a black or white shape on transparency, as image editors export
it. Its alpha is the mask then, by the same rule. Otherwise the colour is the mask and the alpha is ignored."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def person_of(raw: np.ndarray) -> np.ndarray:
    """bool HxW person of a mask array as OpenCV reads it unchanged (uint8 or uint16, HxW, HxWx3 or HxWx4)."""
    if raw.ndim == 3 and raw.shape[2] == 4 and _person_in_alpha(raw):
        raw = raw[..., 3]
    elif raw.ndim == 3:
        raw = cv2.cvtColor(raw, cv2.COLOR_BGRA2GRAY if raw.shape[2] == 4 else cv2.COLOR_BGR2GRAY)
    half = np.iinfo(raw.dtype).max // 2 if raw.dtype.kind in "ui" else 0.5
    return raw > (half if raw.max() > half else 0)


def _person_in_alpha(bgra: np.ndarray) -> bool:
    """Whether an HxWx4 mask's alpha varies while its colour is one value over its visible (alpha > 0) pixels."""
    alpha = bgra[..., 3]
    if alpha.min() == alpha.max():
        return False
    visible = bgra[..., :3][alpha > 0]   # N x 3; not empty, as alpha varies
    return bool((visible == visible[0]).all())


def mask_problem(path: str | Path, person: np.ndarray | None, image_shape: tuple[int, ...]) -> str | None:
    """The line telling why `person` (read_person_mask of `path`) cannot label an image of `image_shape`
    (HxW...), or None when it can: the one wording of eval, training and its validation."""
    if person is None:
        return f"{path}: unreadable mask"
    if person.shape != tuple(image_shape[:2]):
        return f"{path}: {sizes('mask', person.shape, image_shape)}"
    return None


def sizes(what: str, shape: tuple[int, ...], image_shape: tuple[int, ...]) -> str:
    """'mask is 64x48, image is 48x64' (width x height) for two arrays' shapes."""
    return f"{what} is {shape[1]}x{shape[0]}, image is {image_shape[1]}x{image_shape[0]}"


def read_person_mask(path: str | Path) -> np.ndarray | None:
    """bool HxW person of a mask file (see the module's rule), upright as its image is read (EXIF orientation
    applied, as read_image and OpenCV's colour reads do); None when it cannot be read as an image."""
    from .image_bytes import decode_upright, read_header

    try:
        data = np.fromfile(str(path), dtype=np.uint8)
    except OSError:
        return None
    header = read_header(data)
    raw = decode_upright(data, header.orientation if header else 1)
    if raw is None or raw.ndim not in (2, 3) or (raw.ndim == 3 and raw.shape[2] not in (1, 3, 4)):
        return None
    if raw.ndim == 3 and raw.shape[2] == 1:
        raw = raw[..., 0]
    return person_of(raw)


def read_teacher_label(path: str | Path) -> np.ndarray | None:
    """uint8 HxWx2 (MediaPipe person probability, RVM alpha) of a 2-channel teacher label PNG, or None when the
    file is not one (OpenCV reads grey + alpha as BGRA: B is the probability, A the alpha)."""
    raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if raw is None or raw.ndim != 3 or raw.shape[2] not in (2, 4):
        return None
    return raw if raw.shape[2] == 2 else np.ascontiguousarray(raw[..., [0, 3]])

"""Encoded image bytes: size and EXIF orientation from the header alone, then upright pixels.

The header is read with Pillow, which parses only the file's header (no pixel is decoded), so a
pixel limit can be checked before any memory is spent on pixels. Pixels are decoded by OpenCV with
IMREAD_UNCHANGED (alpha and 16 bit kept, EXIF ignored), then turned upright here, as photo viewers do.
"""
from __future__ import annotations

import io
import re
import struct
import warnings
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

ORIENTATION_TAG = 0x0112


@dataclass(frozen=True)
class ImageHeader:
    """Stored size (before orientation), EXIF orientation (1..8, 1: as stored) and format ("JPEG", "PNG", ...).

    width and height are 0 when only the pixel count is known (a header past Pillow's bomb limit).
    """

    width: int
    height: int
    orientation: int = 1
    format: str = ""
    claimed_pixels: int = 0

    @property
    def pixels(self) -> int:
        return self.width * self.height or self.claimed_pixels

    def describe(self) -> str:
        return f"{self.width}x{self.height}" if self.width else f"{self.pixels} pixels"


def read_header(data: bytes | np.ndarray) -> ImageHeader | None:
    """The header of encoded image bytes, or None when Pillow cannot identify them. Decodes no pixels.

    We never decode with Pillow, so its decompression-bomb warning is silenced and its bomb error
    (past 2 x Image.MAX_IMAGE_PIXELS) gives a header with the claimed pixel count: callers compare
    `pixels` with their own limit.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                width, height = im.size
                return ImageHeader(width, height, _orientation(im), im.format or "")
    except Image.DecompressionBombError as exc:
        # past twice Image.MAX_IMAGE_PIXELS Pillow refuses even to parse; it names the pixel count
        found = re.search(r"\((\d+) pixels\)", str(exc))
        limit = 2 * (Image.MAX_IMAGE_PIXELS or 0) + 1
        return ImageHeader(0, 0, claimed_pixels=int(found[1]) if found else limit)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, struct.error):
        return None


def _orientation(im: Image.Image) -> int:
    """EXIF orientation without decoding pixels (Pillow's PNG getexif() would load the whole image)."""
    try:
        if "exif" in im.info or hasattr(im, "tag_v2"):
            value = im.getexif().get(ORIENTATION_TAG, 1)
        else:
            return 1
    except Exception:  # noqa: BLE001 - a broken EXIF block is ignored, as photo viewers do
        return 1
    return int(value) if isinstance(value, int) and 1 <= value <= 8 else 1


def apply_orientation(image: np.ndarray, orientation: int) -> np.ndarray:
    """Stored pixels (HxW[xC]) -> upright pixels for an EXIF orientation 1..8 (as PIL.ImageOps.exif_transpose)."""
    if orientation == 2:
        return cv2.flip(image, 1)
    if orientation == 3:
        return cv2.rotate(image, cv2.ROTATE_180)
    if orientation == 4:
        return cv2.flip(image, 0)
    if orientation == 5:
        return np.ascontiguousarray(image.swapaxes(0, 1))
    if orientation == 6:
        return cv2.rotate(image, cv2.ROTATE_90_CLOCKWISE)
    if orientation == 7:
        return np.ascontiguousarray(image[::-1, ::-1].swapaxes(0, 1))
    if orientation == 8:
        return cv2.rotate(image, cv2.ROTATE_90_COUNTERCLOCKWISE)
    return image


def decode_upright(data: bytes | np.ndarray, orientation: int = 1) -> np.ndarray | None:
    """Decoded pixels (any depth and channels, as IMREAD_UNCHANGED), turned upright; None if OpenCV cannot decode."""
    buf = np.frombuffer(data, np.uint8) if isinstance(data, (bytes, bytearray, memoryview)) else data
    try:
        image = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    except cv2.error:
        return None
    if image is None or image.size == 0:
        return None
    return apply_orientation(image, orientation)

"""Reading any still image as 8-bit BGR, and writing outputs atomically."""
from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from ..errors import InputError, OutputError
from .suffixes import IMAGE_SUFFIXES, VIDEO_SUFFIXES

MAX_PIXELS = 120_000_000  # ~ 11000 x 11000; larger images are refused with a clear message


def one_of(suffixes) -> str:
    """'.a, .b or .c': file types for a message, in name order."""
    names = sorted(suffixes)
    return f"{', '.join(names[:-1])} or {names[-1]}" if len(names) > 1 else "".join(names)


def some_of(names: list[str], shown: int = 10) -> str:
    """'a, b, c and 7 more': the first `shown` of `names`, in their order, and how many others, for a message."""
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return f"{', '.join(names[:shown])}{more}"


def to_bgr8(image: np.ndarray) -> np.ndarray:
    """Any decoded image (gray, gray+alpha, BGR, BGRA; 8 or 16 bit; float) -> uint8 HxWx3 BGR."""
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    elif image.dtype != np.uint8:
        top = image.max()
        if np.isnan(top):   # else cast to uint8 as whatever the platform makes of NaN, with only a RuntimeWarning
            raise InputError("image has NaN values; give pixels in [0, 1] or [0, 255]")
        image = np.clip(image.astype(np.float32) * (255.0 if top <= 1.0 else 1.0), 0, 255).astype(np.uint8)
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    channels = image.shape[2]
    if channels == 1:
        return cv2.cvtColor(image[..., 0], cv2.COLOR_GRAY2BGR)
    if channels == 2:
        return cv2.cvtColor(image[..., 0], cv2.COLOR_GRAY2BGR)
    if channels == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    return image


def alpha_of(image: np.ndarray) -> np.ndarray | None:
    """The alpha channel of decoded pixels (gray+alpha or BGRA, any depth) as float32 HxW in [0, 1]; None when
    there is none or every pixel is opaque."""
    if image.ndim != 3 or image.shape[2] not in (2, 4):
        return None
    alpha = image[..., -1]
    full = np.iinfo(alpha.dtype).max if np.issubdtype(alpha.dtype, np.integer) else 1.0
    if (alpha >= full).all():
        return None
    return np.clip(alpha.astype(np.float32) / float(full), 0.0, 1.0)


def unreadable(path: str | Path, exc: OSError) -> InputError:
    """The InputError for an OSError met while reading the input `path` (permission denied, I/O error...)."""
    if isinstance(exc, PermissionError):
        return InputError(f"{path}: permission denied; check that you can read it")
    return InputError(f"{path}: cannot read ({exc.strerror or exc})")


def check_input_file(path: Path, what: str) -> None:
    """InputError unless `path` is a non-empty file; what: "an image file", "a video file"."""
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, expected {what}")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: file is empty")


def read_image(path: str | Path) -> np.ndarray:
    """uint8 HxWx3 BGR, upright (EXIF orientation applied, as photo viewers show it); raises InputError
    naming the file for anything unusable (an animated GIF too; a one-frame GIF is an image). The pixel limit
    is checked on the header, before decoding. An alpha channel is dropped (read_image_and_alpha keeps it)."""
    return to_bgr8(_read_decoded(Path(path)))


def read_image_and_alpha(path: str | Path) -> tuple[np.ndarray, np.ndarray | None]:
    """(read_image's BGR, the alpha channel as float32 HxW in [0, 1], or None when the file has none or is
    opaque everywhere)."""
    decoded = _read_decoded(Path(path))
    return to_bgr8(decoded), alpha_of(decoded)


def _read_decoded(path: Path) -> np.ndarray:
    """The decoded pixels of read_image, before conversion (any depth and channels)."""
    from .image_bytes import decode_upright, read_header

    try:
        check_input_file(path, "an image file")
        data = np.fromfile(str(path), dtype=np.uint8)
    except OSError as exc:
        raise unreadable(path, exc) from exc
    header = read_header(data)  # None for formats only OpenCV knows: checked after decoding instead
    too_large = f"larger than the {MAX_PIXELS // 1_000_000} MP limit; downscale it first"
    if header is not None and header.pixels > MAX_PIXELS:
        raise InputError(f"{path}: image is {header.describe()}, {too_large}")
    if header is not None:   # OpenCV would read an animation's first frame only
        from .animation import ANIMATABLE_SUFFIXES, animated_name, frame_count

        if path.suffix.lower() in ANIMATABLE_SUFFIXES and (frames := frame_count(path)) > 1:
            raise InputError(f"{path}: is {animated_name(path)} ({frames} frames), not a still image; use "
                             "`humanseg video` (or convert_video), or `humanseg batch` for a folder")
    image = decode_upright(data, header.orientation if header else 1)
    if image is None:
        if path.suffix.lower() in VIDEO_SUFFIXES:
            raise InputError(f"{path}: is a video, not an image; use `humanseg video` (or convert_video)")
        raise InputError(f"{path}: not a readable image (corrupt, truncated or unsupported format)")
    if image.shape[0] * image.shape[1] > MAX_PIXELS:
        raise InputError(f"{path}: image is {image.shape[1]}x{image.shape[0]}, {too_large}")
    return image


def same_file(a: str | Path, b: str | Path) -> bool:
    a, b = Path(a), Path(b)
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def is_same_path(a: str | Path, b: str | Path) -> bool:
    """Whether `a` and `b` name one file: the same resolved path, or the same file (hard or symbolic links)."""
    return same_file(a, b) or Path(a).resolve() == Path(b).resolve()


def check_output_path(inp: str | Path, out: str | Path) -> None:
    """Refuse to write over the input or into a missing folder."""
    inp, out = Path(inp), Path(out)
    if is_same_path(inp, out):
        raise OutputError(f"{out}: output path is the input; choose another output so the input is kept")
    if not out.parent.exists():
        raise OutputError(f"{out.parent}: output folder does not exist")


def check_background_kept(background: str | Path | None, out: str | Path) -> None:
    """Refuse to write over the background file (--bg) of the effect; background None: no file to keep."""
    if background is not None and is_same_path(background, out):
        raise OutputError(f"{out}: output path is the --bg background file; choose another output so the "
                          "background is kept")


def temp_beside(path: str | Path, directory: bool = False) -> Path:
    """Create a new, uniquely named hidden file (or folder with directory=True) `.NAME.<random>.part`
    beside `path` and return its path: concurrent runs writing the same output never share one.
    Created with the usual permissions (umask applies), unlike tempfile's private 0600/0700."""
    import secrets

    path = Path(path)
    for _ in range(100):
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
        try:
            if directory:
                os.mkdir(tmp, 0o777)
            else:
                os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {path}")


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write to a uniquely named temporary file beside `path`, then rename; no partial file is left
    on failure or interruption."""
    path = Path(path)
    tmp = None
    try:
        tmp = temp_beside(path)
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise OutputError(f"{path}: cannot write ({exc.strerror or exc}); check free space and permissions") from exc
        raise


def write_image(path: str | Path, image: np.ndarray, quality: int = 95) -> None:
    """Encode by the path's suffix (.png keeps alpha) and write atomically."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        raise OutputError(f"{path}: unsupported output type '{suffix}'; use {one_of(IMAGE_SUFFIXES)}")
    if suffix in {".jpg", ".jpeg"} and image.ndim == 3 and image.shape[2] == 4:
        raise OutputError(f"{path}: JPEG has no transparency; use a .png output for a transparent cut-out")
    params = [cv2.IMWRITE_JPEG_QUALITY, quality] if suffix in {".jpg", ".jpeg"} else []
    ok, encoded = cv2.imencode(suffix, image, params)
    if not ok:
        raise OutputError(f"{path}: could not encode the image")
    atomic_write_bytes(path, encoded.tobytes())

"""A side-by-side picture of one image's alpha from the segmentation model, the segmentation model with guided-
filter refinement and the matting model, each also composited onto a flat colour (for docs/matting_model.md).

    python tools/matte_figure.py IMAGE OUT.jpg --matte MODEL [--reference ALPHA.png] [--crop X,Y,W,H] [--height 320]

Columns: input, [reference alpha], then for each row of benchmarks/matting.py its alpha; a second row shows the
composites over a flat blue (with the fast foreground estimate, as `--foreground fast` does).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

from humanseg import Color, Foreground, PostProcess, Segmenter
from humanseg.errors import HumansegError, InputError, OutputError
from humanseg.io.images import check_output_path, is_same_path, one_of, read_image, write_image
from humanseg.io.suffixes import IMAGE_SUFFIXES
from humanseg.weights import DEFAULT_MODEL

BLUE = "#2050C0"


def label(tile: np.ndarray, text: str) -> np.ndarray:
    out = tile.copy()
    cv2.rectangle(out, (0, 0), (out.shape[1], 22), (0, 0, 0), -1)
    cv2.putText(out, text, (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def crop_box(text: str) -> tuple[int, int, int, int]:
    """--crop X,Y,W,H: four whole numbers, X and Y 0 or more, W and H 1 or more."""
    try:
        x, y, w, h = (int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected X,Y,W,H in pixels, e.g. 100,50,400,300") from None
    if min(x, y) < 0 or min(w, h) < 1:
        raise argparse.ArgumentTypeError(f"{text}: X and Y must be 0 or more, W and H 1 or more")
    return x, y, w, h


def _at_least(least: int):
    def parse(text: str) -> int:
        value = int(text)
        if value < least:
            raise argparse.ArgumentTypeError(f"{text}: use {least} or more")
        return value
    return parse


def check_paths(a: argparse.Namespace) -> None:
    """Before any model runs: an output that is writable by type and keeps every input."""
    if a.out.suffix.lower() not in IMAGE_SUFFIXES:
        raise OutputError(f"{a.out}: unsupported output type {a.out.suffix!r}; use {one_of(IMAGE_SUFFIXES)}")
    check_output_path(a.image, a.out)
    if a.reference is not None and is_same_path(a.reference, a.out):
        raise OutputError(f"{a.out}: is the --reference alpha; choose another output so it is kept")


def read_reference(path: Path, shape: tuple[int, ...]) -> np.ndarray:
    """The reference alpha as float32 HxW in [0, 1]; InputError unless it is an image of the photo's size."""
    reference = read_image(path)[..., 0]
    if reference.shape != shape[:2]:
        raise InputError(f"{path}: {reference.shape[1]}x{reference.shape[0]}, not the image's "
                         f"{shape[1]}x{shape[0]}; give the reference alpha of this image")
    return reference.astype(np.float32) / 255


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("image", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("--reference", type=Path, default=None, help="an 8-bit alpha PNG of the same size")
    p.add_argument("--crop", type=crop_box, default=None, help="X,Y,W,H in image pixels (default: the whole image)")
    p.add_argument("--height", type=_at_least(1), default=320, help="tile height in the picture")
    p.add_argument("--refine", type=_at_least(0), default=8)
    p.add_argument("--matte", required=True, help="the matting model: a shipped name or an .onnx file")
    a = p.parse_args(argv)
    try:
        figure(a)
    except HumansegError as error:   # a missing or unreadable input, an unknown model, an output it cannot write
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(a.out)
    return 0


def figure(a: argparse.Namespace) -> None:
    check_paths(a)
    image = read_image(a.image)
    x, y, w, h = a.crop or (0, 0, image.shape[1], image.shape[0])
    if x + w > image.shape[1] or y + h > image.shape[0]:
        raise InputError(f"--crop {x},{y},{w},{h}: reaches outside the {image.shape[1]}x{image.shape[0]} image")
    reference = read_reference(a.reference, image.shape) if a.reference else None
    rows = [("segmentation", Segmenter(DEFAULT_MODEL, canvas_pixels="still")),
            (f"+ guided filter r={a.refine}", Segmenter(DEFAULT_MODEL, canvas_pixels="still",
                                                          postprocess=PostProcess(refine=a.refine))),
            ("matting model", Segmenter(a.matte, canvas_pixels="still"))]
    alphas = [(name, seg.segment(image)) for name, seg in rows]

    def tile(img: np.ndarray) -> np.ndarray:
        img = img[y:y + h, x:x + w]
        if img.ndim == 2:
            img = cv2.cvtColor((np.clip(img, 0, 1) * 255).astype(np.uint8), cv2.COLOR_GRAY2BGR)
        return cv2.resize(img, (max(1, round(a.height * w / h)), a.height), interpolation=cv2.INTER_AREA)

    top, bottom = [label(tile(image), "input")], [label(tile(image), "input")]
    if reference is not None:
        top.append(label(tile(reference), "reference alpha"))
        bottom.append(label(tile(Foreground(Color(BLUE), "fast")(image, reference)), "reference composite"))
    for name, alpha in alphas:
        top.append(label(tile(alpha), name))
        bottom.append(label(tile(Foreground(Color(BLUE), "fast")(image, alpha)), name))
    write_image(a.out, np.vstack([np.hstack(top), np.hstack(bottom)]), quality=90)


if __name__ == "__main__":
    sys.exit(main())

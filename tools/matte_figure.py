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
from humanseg.io.images import read_image
from humanseg.weights import DEFAULT_MODEL

BLUE = "#2050C0"


def label(tile: np.ndarray, text: str) -> np.ndarray:
    out = tile.copy()
    cv2.rectangle(out, (0, 0), (out.shape[1], 22), (0, 0, 0), -1)
    cv2.putText(out, text, (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("image", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("--reference", type=Path, default=None, help="an 8-bit alpha PNG of the same size")
    p.add_argument("--crop", default=None, help="X,Y,W,H in image pixels (default: the whole image)")
    p.add_argument("--height", type=int, default=320, help="tile height in the picture")
    p.add_argument("--refine", type=int, default=8)
    p.add_argument("--matte", required=True, help="the matting model: a shipped name or an .onnx file")
    a = p.parse_args(argv)

    image = read_image(a.image)
    rows = [("segmentation", Segmenter(DEFAULT_MODEL, canvas_pixels="still")),
            (f"+ guided filter r={a.refine}", Segmenter(DEFAULT_MODEL, canvas_pixels="still",
                                                          postprocess=PostProcess(refine=a.refine))),
            ("matting model", Segmenter(a.matte, canvas_pixels="still"))]
    alphas = [(name, seg.segment(image)) for name, seg in rows]
    x, y, w, h = (int(v) for v in a.crop.split(",")) if a.crop else (0, 0, image.shape[1], image.shape[0])

    def tile(img: np.ndarray) -> np.ndarray:
        img = img[y:y + h, x:x + w]
        if img.ndim == 2:
            img = cv2.cvtColor((np.clip(img, 0, 1) * 255).astype(np.uint8), cv2.COLOR_GRAY2BGR)
        return cv2.resize(img, (round(a.height * w / h), a.height), interpolation=cv2.INTER_AREA)

    top, bottom = [label(tile(image), "input")], [label(tile(image), "input")]
    if a.reference:
        reference = cv2.imread(str(a.reference), cv2.IMREAD_GRAYSCALE)
        top.append(label(tile(reference.astype(np.float32) / 255), "reference alpha"))
        bottom.append(label(tile(Foreground(Color(BLUE), "fast")(image, reference.astype(np.float32) / 255)),
                            "reference composite"))
    for name, alpha in alphas:
        top.append(label(tile(alpha), name))
        bottom.append(label(tile(Foreground(Color(BLUE), "fast")(image, alpha)), name))
    picture = np.vstack([np.hstack(top), np.hstack(bottom)])
    if not cv2.imwrite(str(a.out), picture, [cv2.IMWRITE_JPEG_QUALITY, 90]):
        print(f"matte_figure: error: could not write {a.out}", file=sys.stderr)
        return 1
    print(a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

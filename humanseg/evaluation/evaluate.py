"""`humanseg eval`: run an exported ONNX model exactly as users do and score it."""
from __future__ import annotations

import time
import warnings
from pathlib import Path

import cv2
import numpy as np

from ..errors import HumansegWarning, InputError
from ..io.folders import Pair, find_pairs
from ..io.images import read_image, unreadable
from ..io.masks import mask_problem, read_person_mask, sizes
from ..io.suffixes import IMAGE_SUFFIXES
from ..runtime.postprocess import PostProcess
from ..runtime.segmenter import Segmenter
from .matting import MattingScores, alpha_from_uint8
from .metrics import ScoresBySource
from .rows_csv import check_csv_path, write_rows_csv


def read_label(path: Path, shape: tuple[int, int]) -> np.ndarray:
    """bool HxW person label of a mask (io/masks.py): a 0/255 (or 16-bit 0/65535) mask is person above half its
    range; a label map whose largest value is at most that (0/1, or class ids) is person wherever it is above 0,
    rather than scored as empty. InputError (naming the file) when unreadable or not of `shape`, the image's HxW."""
    mask = read_person_mask(path)
    problem = mask_problem(path, mask, shape)
    if problem:
        raise InputError(problem)
    return mask


def read_alpha(path: Path, shape: tuple[int, int]) -> np.ndarray:
    """An 8-bit alpha PNG as float64 HxW in [0, 1]; InputError when unreadable or not of `shape` (HxW)."""
    alpha = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if alpha is None:
        raise InputError(f"{path}: unreadable alpha")
    if alpha.shape != shape:
        raise InputError(f"{path}: {sizes('alpha', alpha.shape, shape)}")
    return alpha_from_uint8(alpha)


def read_pair(pair: Pair) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(uint8 HxWx3 BGR image, bool HxW label, float64 HxW alpha in [0, 1] or None where the source has none);
    InputError naming the file that cannot be used."""
    image = read_image(pair.image)
    label = read_label(pair.mask, image.shape[:2])
    alpha_path = alpha_of(pair)
    return image, label, (None if alpha_path is None else read_alpha(alpha_path, image.shape[:2]))


def alpha_of(pair: Pair) -> Path | None:
    """The GT alpha of a pair: `<source>/alpha/<stem>.png` (any image suffix) beside `images/`, if any."""
    folder = pair.image.parent.parent / "alpha"
    for suffix in sorted(IMAGE_SUFFIXES):
        if (folder / f"{pair.image.stem}{suffix}").is_file():
            return folder / f"{pair.image.stem}{suffix}"
    return None


def source_of(pair: Pair) -> str:
    """The source a validation pair belongs to: the folder that holds its images/ and masks/."""
    return pair.image.parent.parent.name


def evaluate(model: str | Path, data: str | Path, csv_path: str | Path | None = None, threads: int | None = None,
             threshold: float = 0.5, canvas_pixels: int | str | None = "still", band_radius: int = 10,
             postprocess: PostProcess | None = None, mirror_average: bool | None = None,
             photo_recipe: str = "full") -> dict:
    """Scores over all pairs under `data` (<source>/images + masks, any depth), each image segmented by
    `Segmenter.segment` as `humanseg image` does (canvas_pixels: the still-image budget by default;
    runtime/budget.py). postprocess: the segmenter's mask options (default none: the model's own map).
    mirror_average: Segmenter's option (None: its rule, on for the "still" budget, as `humanseg image`).
    photo_recipe: Segmenter's option ("full" or "fast"). csv_path: also write one row per image there
    (atomically); the path is checked before scoring (evaluation/rows_csv.py: OutputError for a folder, a
    missing folder, an input file or a file beside them, or a file that is not an earlier eval's CSV).

    A pair that cannot be scored (unreadable image, mask or alpha, or a mask or alpha of another size than its
    image) is skipped with a HumansegWarning `skipped: <file>: mask is WxH, image is WxH` (training's wording)
    and counted in "n_skipped"; InputError when no pair could be scored.

    Returns {"miou", "fg_iou", "boundary_f", "sc", "n_images", "n_skipped", "ms_per_image", "canvas_pixels",
    "mirror_average", "per_source": {source: {"miou", "fg_iou", "boundary_f", "sc", "n_images"}}}; ms_per_image is the
    median time of `Segmenter.segment` (pre-processing, model and resize back, no file I/O);
    canvas_pixels is the budget used (null for a fixed-canvas model; the main one where the model averages
    several, which are then listed in "canvas_budgets"); mirror_average whether each image was also
    segmented mirrored and the two averaged; "prior_weight" (when not 0) that each image was segmented twice,
    the second time with this weight times the first map as the previous mask (Segmenter.prior_weight);
    "refine_fraction" (when not 0) the radius of the colour-guided refinement each map got (Segmenter.refine_fraction);
    "zoom_share" (when not 0) that photos whose people fill less than this share were segmented again close up.

    Where a source has `alpha/` beside `images/` (8-bit alpha PNGs, same stem), the person probability is also
    scored as an alpha matte (evaluation/matting.py): "alpha": {"whole": {"sad", "mse", "grad", "conn"},
    "band": {...}, "band_radius", "n_images"} overall and in each such source's entry; "band" is the unknown
    band of each GT alpha (its 0 < a < 1 pixels and edge, dilated by `band_radius` px).
    """
    data = Path(data)
    if not data.is_dir():
        raise InputError(f"{data}: {'is a file' if data.exists() else 'no such folder'}; give --data the folder that "
                         "holds <source>/images and <source>/masks")
    try:
        pairs = find_pairs(data)
    except OSError as exc:   # a folder inside that cannot be listed
        raise unreadable(exc.filename or data, exc) from exc
    if not pairs:
        raise InputError(f"{data}: no image/mask pairs found (expected <source>/images and <source>/masks)")
    if csv_path:   # before scoring: a bad path is told at once and an input is never overwritten
        alphas = [alpha for alpha in map(alpha_of, pairs) if alpha is not None]
        check_csv_path(csv_path, [p.image for p in pairs] + [p.mask for p in pairs] + alphas)
    segmenter = Segmenter(model, threads=threads, canvas_pixels=canvas_pixels, postprocess=postprocess,
                          mirror_average=mirror_average, photo_recipe=photo_recipe)
    scores = ScoresBySource()
    alpha_all, alpha_by_source = MattingScores(band_radius), {}
    rows, times, skipped = [], [], 0
    for pair in pairs:
        try:
            image, label, alpha = read_pair(pair)
        except InputError as exc:   # one bad pair does not stop the others; the count is reported
            warnings.warn(f"skipped: {exc}", HumansegWarning, stacklevel=2)
            skipped += 1
            continue
        t0 = time.perf_counter()
        prob = segmenter.segment(image)
        times.append(time.perf_counter() - t0)
        row = scores.add(prob >= threshold, label, source_of(pair))
        if alpha is not None:
            alpha_row = alpha_all.add(prob, alpha)
            alpha_by_source.setdefault(source_of(pair), MattingScores(band_radius)).record(alpha_row)
            row.update(alpha_row)
        rows.append({"image": str(pair.image), "source": source_of(pair), **{k: round(v, 5) for k, v in row.items()}})
    if not rows:
        raise InputError(f"{data}: none of the {len(pairs)} image/mask pairs could be scored (see the warnings)")
    if csv_path:
        write_rows_csv(csv_path, rows)
    summary = {k: round(v, 5) for k, v in scores.all.summary().items()}
    summary.update(n_images=len(rows), n_skipped=skipped, ms_per_image=round(float(np.median(times)) * 1e3, 3),
                   canvas_pixels=segmenter.budget(), mirror_average=segmenter.mirror_average)
    if len(segmenter.budgets()) > 1:
        summary["canvas_budgets"] = segmenter.budgets()
    if segmenter.prior_weight():
        summary["prior_weight"] = segmenter.prior_weight()
    if segmenter.refine_fraction():
        summary["refine_fraction"] = segmenter.refine_fraction()
    if segmenter.zoom_share():
        summary["zoom_share"] = segmenter.zoom_share()
    summary["per_source"] = {name: {k: (round(v, 5) if isinstance(v, float) else v) for k, v in s.items()}
                             for name, s in scores.per_source().items()}
    if alpha_all.rows:
        summary["alpha"] = _rounded(alpha_all.summary())
        for name, source_scores in alpha_by_source.items():
            summary["per_source"][name]["alpha"] = _rounded(source_scores.summary())
    return summary


def _rounded(alpha_summary: dict) -> dict:
    """Matting errors to 6 significant digits (SAD/Grad/Conn are small numbers in thousands)."""
    return {k: ({m: float(f"{v:.6g}") for m, v in value.items()} if isinstance(value, dict) else value)
            for k, value in alpha_summary.items()}

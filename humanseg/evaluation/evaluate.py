"""`humanseg eval`: run an exported ONNX model exactly as users do and score it."""
from __future__ import annotations

import csv
import os
import time
from pathlib import Path

import cv2
import numpy as np

from ..errors import InputError
from ..io.folders import Pair, find_pairs
from ..io.images import read_image
from ..runtime.segmenter import Segmenter
from .metrics import ScoresBySource


def read_label(path: Path, shape: tuple[int, int]) -> np.ndarray:
    mask = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if mask is None or mask.shape != shape:
        raise InputError(f"{path}: unreadable mask or size differs from its image")
    return mask > 127


def source_of(pair: Pair) -> str:
    """The source a validation pair belongs to: the folder that holds its images/ and masks/."""
    return pair.image.parent.parent.name


def evaluate(model: str | Path, data: str | Path, csv_path: str | Path | None = None, threads: int | None = None,
             threshold: float = 0.5, canvas_pixels: int | str | None = "still") -> dict:
    """Scores over all pairs under `data` (<source>/images + masks, any depth), each image segmented by
    `Segmenter.segment` as `humanseg image` does (canvas_pixels: the still-image budget by default;
    runtime/budget.py).

    Returns {"miou", "fg_iou", "boundary_f", "sc", "n_images", "ms_per_image", "canvas_pixels",
    "per_source": {source: {"miou", "fg_iou", "boundary_f", "sc", "n_images"}}}; ms_per_image is the
    median time of `Segmenter.segment` (pre-processing, model and resize back, no file I/O);
    canvas_pixels is the budget used (null for a fixed-canvas model).
    """
    pairs = find_pairs(Path(data))
    if not pairs:
        raise InputError(f"{data}: no image/mask pairs found (expected <source>/images and <source>/masks)")
    segmenter = Segmenter(model, threads=threads, canvas_pixels=canvas_pixels)
    scores = ScoresBySource()
    rows, times = [], []
    for pair in pairs:
        image = read_image(pair.image)
        label = read_label(pair.mask, image.shape[:2])
        t0 = time.perf_counter()
        prob = segmenter.segment(image)
        times.append(time.perf_counter() - t0)
        row = scores.add(prob >= threshold, label, source_of(pair))
        rows.append({"image": str(pair.image), "source": source_of(pair), **{k: round(v, 5) for k, v in row.items()}})
    if csv_path:
        tmp = Path(csv_path).with_name(f".{Path(csv_path).name}.part")
        with tmp.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        os.replace(tmp, csv_path)
    summary = {k: round(v, 5) for k, v in scores.all.summary().items()}
    summary.update(n_images=len(pairs), ms_per_image=round(float(np.median(times)) * 1e3, 3),
                   canvas_pixels=segmenter.budget())
    summary["per_source"] = {name: {k: (round(v, 5) if isinstance(v, float) else v) for k, v in s.items()}
                             for name, s in scores.per_source().items()}
    return summary

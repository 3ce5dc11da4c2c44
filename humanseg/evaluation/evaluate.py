"""`humanseg eval`: run an exported ONNX model exactly as users do and score it."""
from __future__ import annotations

import csv
import os
import time
from pathlib import Path

import cv2
import numpy as np

from ..errors import InputError
from ..io.folders import find_pairs
from ..io.images import read_image
from ..runtime.segmenter import Segmenter
from .metrics import SegmentationScores


def read_label(path: Path, shape: tuple[int, int]) -> np.ndarray:
    mask = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if mask is None or mask.shape != shape:
        raise InputError(f"{path}: unreadable mask or size differs from its image")
    return mask > 127


def evaluate(model: str | Path, data: str | Path, csv_path: str | Path | None = None, threads: int | None = None,
             threshold: float = 0.5) -> dict:
    """Scores over all pairs under `data` (<source>/images + masks, any depth).

    Returns {"miou", "fg_iou", "boundary_f", "sc", "n_images", "ms_per_image"}; ms_per_image is the
    median time of `Segmenter.segment` (pre-processing, model and resize back, no file I/O).
    """
    pairs = find_pairs(Path(data))
    if not pairs:
        raise InputError(f"{data}: no image/mask pairs found (expected <source>/images and <source>/masks)")
    segmenter = Segmenter(model, threads=threads)
    scores = SegmentationScores()
    rows, times = [], []
    for pair in pairs:
        image = read_image(pair.image)
        label = read_label(pair.mask, image.shape[:2])
        t0 = time.perf_counter()
        prob = segmenter.segment(image)
        times.append(time.perf_counter() - t0)
        row = scores.add(prob >= threshold, label)
        rows.append({"image": str(pair.image), **{k: round(v, 5) for k, v in row.items()}})
    if csv_path:
        tmp = Path(csv_path).with_name(f".{Path(csv_path).name}.part")
        with tmp.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        os.replace(tmp, csv_path)
    summary = {k: round(v, 5) for k, v in scores.summary().items()}
    summary.update(n_images=len(pairs), ms_per_image=round(float(np.median(times)) * 1e3, 3))
    return summary

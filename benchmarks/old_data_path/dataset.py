"""Training and validation datasets over image/mask folders."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from humanseg.runtime.letterbox import letterbox, normalize_rgb
from humanseg.training.data.folders import BadSample, Pair, find_images, load_pair
from .geometric import composite_on_background, random_letterbox
from .photometric import photometric


class SegmentationDataset(Dataset):
    """Items are indexed by (pair index, orientation[, epoch]) so one batch shares one canvas shape
    and augmentation differs per epoch even in persistent worker processes.

    orientation 0 = landscape canvas (long x short), 1 = portrait (short x long).
    Returns (float32 3xHxW in [-1, 1], int64 HxW labels in {0, 1}).
    A pair that fails to load is replaced by another (and counted in `skipped`).
    """

    def __init__(self, pairs: list[Pair], size: tuple[int, int] = (256, 144), augment: bool = True,
                 backgrounds: list[Path] | None = None, synth_prob: float = 0.5, webcam_prob: float = 0.5,
                 seed: int = 0):
        self.pairs = pairs
        self.size = size
        self.augment = augment
        self.backgrounds = backgrounds or []
        self.synth_prob = synth_prob if self.backgrounds else 0.0
        self.webcam_prob = webcam_prob
        self.seed = seed
        self.epoch = 0
        self.bad: set[int] = set()

    def __len__(self) -> int:
        return len(self.pairs)

    def canvas(self, orientation: int) -> tuple[int, int]:
        long_side, short_side = max(self.size), min(self.size)
        return (long_side, short_side) if orientation == 0 else (short_side, long_side)

    def __getitem__(self, key):
        index, orientation, epoch = (tuple(key) + (self.epoch,))[:3] if isinstance(key, tuple) else (key, 1, self.epoch)
        rng = np.random.default_rng((self.seed, epoch, index, orientation))
        for _ in range(10):
            try:
                img, label = load_pair(self.pairs[index])
                break
            except BadSample as exc:
                self.bad.add(index)
                print(f"skipping bad sample: {exc}")
                index = int(rng.integers(len(self.pairs)))
        size = self.canvas(orientation)
        if not self.augment:
            canvas, _ = letterbox(img, size)
            lab, _ = letterbox(label, size, pad_value=255, interpolation=cv2.INTER_NEAREST)  # padding ignored
        else:
            if rng.random() < self.synth_prob:
                bg = cv2.imread(str(self.backgrounds[int(rng.integers(len(self.backgrounds)))]), cv2.IMREAD_COLOR)
                bg = cv2.cvtColor(bg, cv2.COLOR_BGR2RGB) if bg is not None else np.full((size[1], size[0], 3), 90, np.uint8)
                webcam = orientation == 0 and rng.random() < self.webcam_prob * 2 or rng.random() < self.webcam_prob / 2
                canvas, lab = composite_on_background(img, label, bg, size, rng, webcam_crop=webcam)
            else:
                canvas, lab = random_letterbox(img, label, size, rng)
            canvas = photometric(canvas, rng)
        x = torch.from_numpy(normalize_rgb(canvas)[0])
        return x, torch.from_numpy(lab.astype(np.int64))


class OrientationBatchSampler(Sampler):
    """Shuffled batches of (index, orientation); each batch is all-landscape or all-portrait.

    `portrait_share` of the batches are portrait.
    """

    def __init__(self, n: int, batch_size: int, portrait_share: float = 0.5, seed: int = 0, drop_last: bool = True):
        self.n, self.batch_size, self.portrait_share = n, batch_size, portrait_share
        self.seed, self.epoch, self.drop_last = seed, 0, drop_last

    def __iter__(self):
        rng = np.random.default_rng((self.seed, self.epoch))
        order = rng.permutation(self.n)
        for start in range(0, self.n, self.batch_size):
            chunk = order[start:start + self.batch_size]
            if self.drop_last and len(chunk) < self.batch_size:
                break
            orientation = int(rng.random() < self.portrait_share)
            yield [(int(i), orientation, self.epoch) for i in chunk]

    def __len__(self) -> int:
        return self.n // self.batch_size if self.drop_last else -(-self.n // self.batch_size)


def validation_items(pairs: list[Pair]) -> list[tuple[int, int]]:
    """(index, orientation) for validation: each image on the canvas matching its orientation."""
    items = []
    for i, pair in enumerate(pairs):
        img = cv2.imread(str(pair.image), cv2.IMREAD_REDUCED_GRAYSCALE_8)
        h, w = img.shape[:2] if img is not None else (1, 1)
        items.append((i, 0 if w >= h else 1))   # the orientation rule of runtime.letterbox.canvas_for
    return items


def background_files(folder: Path | None) -> list[Path]:
    return find_images(folder) if folder else []

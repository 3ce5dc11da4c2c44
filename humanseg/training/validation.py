"""Validation during training: every val image letterboxed once (the runtime's letterbox, on the
canvas the runtime would pick), kept in memory grouped by canvas, scored by mIoU without padding."""
from __future__ import annotations

from collections import defaultdict

import cv2
import numpy as np
import torch

from ..evaluation.metrics import SegmentationScores
from ..runtime.canvas import adaptive_canvas
from ..runtime.letterbox import ADAPTIVE_MAX_STRETCH, canvas_for, letterbox, normalize_rgb
from .data.folders import Pair, load_pair
from .models import input_channels


class ValidationSet:
    """groups: {(width, height): (float32 Nx3xHxW inputs, int64 NxHxW labels with 255 = padding)}."""

    def __init__(self, pairs: list[Pair], size: tuple[int, int], canvas: str = "fixed", stride: int = 16):
        long_side, short_side = max(size), min(size)
        images, labels = defaultdict(list), defaultdict(list)
        for pair in pairs:
            img, lab = load_pair(pair)
            h, w = lab.shape
            stretch = ADAPTIVE_MAX_STRETCH if canvas == "adaptive" else 0.0
            if canvas == "adaptive":
                shape = adaptive_canvas(w, h, long_side * short_side, stride)
            else:
                shape = canvas_for(lab.shape, long_side, short_side)
            boxed, _ = letterbox(img, shape, max_stretch=stretch)
            boxed_lab, _ = letterbox(lab, shape, pad_value=255, interpolation=cv2.INTER_NEAREST, max_stretch=stretch)
            images[shape].append(normalize_rgb(boxed)[0])
            labels[shape].append(boxed_lab.astype(np.int64))
        self.groups = {k: (torch.from_numpy(np.stack(images[k])), torch.from_numpy(np.stack(labels[k])))
                       for k in images}

    def __len__(self) -> int:
        return sum(len(v[1]) for v in self.groups.values())


@torch.no_grad()
def validate(model, data: ValidationSet, device, batch_size: int = 32) -> float:
    """mIoU over the set (padding excluded); 4-channel models get an empty prior, as for a still image."""
    model.eval()
    scores = SegmentationScores()
    for x_all, lab_all in data.groups.values():
        for start in range(0, len(x_all), batch_size):
            x = x_all[start:start + batch_size].to(device)
            if input_channels(model) == 4:
                x = torch.cat([x, torch.zeros_like(x[:, :1])], 1)
            pred = model(x.contiguous(memory_format=torch.channels_last)).argmax(1).cpu().numpy()
            for p, lab in zip(pred, lab_all[start:start + batch_size].numpy()):
                valid = lab != 255
                scores.add(p[valid], lab[valid] == 1, detailed=False)
    model.train()
    return scores.summary()["miou"]

"""Training batches made on the device from TensorStores: sampling, placement, compositing, photometrics.

`BatchMaker.make(step)` returns a `Batch` whose content depends only on (seed, step) and the
device type, so a run is reproducible and can resume at any step.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ...runtime.letterbox import PAD_VALUE
from .batch_geometry import cover_maps, inside, letterbox_maps, person_maps, slot_points, warp
from .batch_photometric import photometric
from .tensor_store import TensorStore

IGNORE = 255


@dataclass
class Batch:
    """x: float32 Nx3xHxW RGB in [-1, 1]; labels: int64 NxHxW in {0, 1, 255 = ignore};
    soft: float32 NxHxW teacher person probability in [0, 1]; soft_valid: bool NxHxW;
    has_gt: bool N (the sample has a human mask)."""

    x: torch.Tensor
    labels: torch.Tensor
    soft: torch.Tensor
    soft_valid: torch.Tensor
    has_gt: torch.Tensor


@dataclass
class BatchSettings:
    size: tuple[int, int] = (256, 144)   # long x short side of the canvas
    portrait_share: float = 0.5          # share of batches on a portrait canvas
    synth_prob: float = 0.5              # share of samples pasted onto a background
    webcam_prob: float = 0.5             # of those, share cut to head and shoulders (doubled on landscape canvases)
    pseudo_share: float = 0.0            # share of each batch drawn from the unlabelled (teacher-only) store
    photometric: bool = True


class BatchMaker:
    def __init__(self, labelled: TensorStore, batch_size: int, settings: BatchSettings, seed: int = 0,
                 pseudo: TensorStore | None = None, backgrounds: TensorStore | None = None):
        self.labelled, self.pseudo, self.backgrounds = labelled, pseudo, backgrounds
        self.batch_size, self.settings, self.seed = batch_size, settings, seed
        self.device = labelled.images.device
        n_pseudo = round(batch_size * settings.pseudo_share) if pseudo is not None and len(pseudo) else 0
        self.n_pseudo = min(n_pseudo, batch_size - 1)

    def generator(self, step: int) -> torch.Generator:
        gen = torch.Generator(device=self.device)
        gen.manual_seed(self.seed * 1_000_003 + step)
        return gen

    def canvas(self, gen: torch.Generator) -> tuple[int, int]:
        long_side, short_side = max(self.settings.size), min(self.settings.size)
        portrait = torch.rand(1, generator=gen, device=self.device).item() < self.settings.portrait_share
        return (short_side, long_side) if portrait else (long_side, short_side)

    def make(self, step: int) -> Batch:
        gen = self.generator(step)
        width, height = self.canvas(gen)
        parts = [_gather(self.labelled, self.batch_size - self.n_pseudo, gen)]
        if self.n_pseudo:
            parts.append(_gather(self.pseudo, self.n_pseudo, gen))
        sample = {k: torch.cat([p[k] for p in parts]) for k in parts[0]}
        return self.render(sample, width, height, gen)

    def render(self, s: dict, width: int, height: int, gen: torch.Generator) -> Batch:
        n, device, cfg = s["images"].shape[0], self.device, self.settings
        has_person = (s["person"][:, 2] > s["person"][:, 0]) & (s["person"][:, 3] > s["person"][:, 1])
        synth = (torch.rand(n, generator=gen, device=device) < cfg.synth_prob) & has_person
        if self.backgrounds is None or not len(self.backgrounds):
            synth = torch.zeros_like(synth)
        webcam_p = cfg.webcam_prob * (2 if width > height else 0.5)
        webcam = torch.rand(n, generator=gen, device=device) < webcam_p

        plain_theta = letterbox_maps(s["boxes"], width, height, gen)
        cut_off = s["person"][:, 3] >= s["boxes"][:, 1] + s["boxes"][:, 3] - 2  # the photo cuts the person off
        person_theta, cut = person_maps(s["person"], width, height, webcam, gen, cut_off)
        theta = torch.where(synth.view(n, 1, 1), person_theta, plain_theta)
        points = slot_points(theta, width, height)
        content = inside(points, s["boxes"])
        content = content & torch.where(synth.view(n, 1, 1, 1), points[..., 1:2].permute(0, 3, 1, 2) < cut.view(n, 1, 1, 1),
                                        torch.ones_like(content))
        sampled = warp(torch.cat([s["images"], s["masks"], s["soft"]], 1), points)  # one pass for all channels
        image = sampled[:, :3]
        mask = (sampled[:, 3:4] / 255.0).clamp(0, 1)
        soft_pair = (sampled[:, 4:6] / 255.0).clamp(0, 1)
        teacher = soft_pair.mean(1, keepdim=True)
        gt = s["has_gt"].view(n, 1, 1, 1)
        alpha = torch.where(gt, mask, soft_pair[:, 1:2]) * content  # the person's opacity where pasted

        s3 = synth.view(n, 1, 1, 1)
        x = torch.where(content, image, torch.full_like(image, PAD_VALUE))
        pasted = torch.nonzero(synth).flatten()
        if pasted.numel():
            bg = _gather(self.backgrounds, pasted.numel(), gen)
            bg_points = slot_points(cover_maps(bg["boxes"], width, height, gen), width, height)
            background = warp(bg["images"], bg_points)
            a = alpha[pasted]
            x[pasted] = image[pasted] * a + background * (1 - a)
        if cfg.photometric:
            x = photometric(x, gen)

        person = (torch.where(s3, alpha, mask) > 0.5)
        labels = torch.where(gt, person.long(), torch.full_like(person, IGNORE, dtype=torch.long))
        labels = torch.where(s3 | content, labels, torch.full_like(labels, IGNORE))  # padding is not scored
        soft = torch.where(s3, teacher * content, teacher)
        soft_valid = s["has_soft"].view(n, 1, 1, 1) & (s3 | content)
        return Batch(x=x / 127.5 - 1.0, labels=labels[:, 0], soft=soft[:, 0], soft_valid=soft_valid[:, 0],
                     has_gt=s["has_gt"])


def _gather(store: TensorStore, n: int, gen: torch.Generator) -> dict:
    idx = torch.randint(len(store), (n,), generator=gen, device=store.images.device)
    return {"images": store.images[idx], "masks": store.masks[idx], "soft": store.soft[idx],
            "boxes": store.boxes[idx], "person": store.person[idx], "has_gt": store.has_gt[idx],
            "has_soft": store.has_soft[idx]}

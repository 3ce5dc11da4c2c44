"""Training batches made on the device from TensorStores: sampling, placement, compositing, photometrics.

`BatchMaker.make(step)` returns a `Batch` whose content depends only on (seed, step) and the
device type, so a run is reproducible and can resume at any step.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from ...errors import OptionError
from ...runtime.canvas import adaptive_canvas
from ...runtime.letterbox import ADAPTIVE_MAX_STRETCH, PAD_VALUE
from .batch_geometry import cover_maps, inside, letterbox_maps, person_maps, slot_points, warp
from .batch_photometric import photometric
from .batch_prior import synthetic_prior
from .tensor_store import TensorStore

if TYPE_CHECKING:
    from ..hard_examples import HardExampleTracker

IGNORE = 255


@dataclass
class Batch:
    """x: float32 Nx3xHxW RGB in [-1, 1]; labels: int64 NxHxW in {0, 1, 255 = ignore};
    soft: float32 NxHxW teacher person probability in [0, 1]; soft_valid: bool NxHxW;
    has_gt: bool N (the sample has a human mask); prior: float32 Nx1xHxW previous-frame mask in
    [0, 1] when the settings ask for one, else None.
    With BatchSettings.matting (else all None): alpha: float32 NxHxW target alpha in [0, 1] (see
    `matting_target`); fg: float32 Nx3xHxW the person's image in [0, 255] before photometrics (for
    samples not pasted simply the image); bg: float32 Nx3xHxW the new background in [0, 255], zeros
    where not `pasted` (bool N); pasted samples were composited as alpha fg + (1 - alpha) bg."""

    x: torch.Tensor
    labels: torch.Tensor
    soft: torch.Tensor
    soft_valid: torch.Tensor
    has_gt: torch.Tensor
    prior: torch.Tensor | None = None
    alpha: torch.Tensor | None = None
    fg: torch.Tensor | None = None
    bg: torch.Tensor | None = None
    pasted: torch.Tensor | None = None
    index: torch.Tensor | None = None   # int64 N: the labelled store's row of each sample, -1 for other stores

    def model_input(self) -> torch.Tensor:
        """x, with the prior as a 4th channel when there is one (channels-last memory format)."""
        x = self.x if self.prior is None else torch.cat([self.x, self.prior], 1)
        return x.contiguous(memory_format=torch.channels_last)


# frame aspects (width / height) that batches are drawn for, besides a log-uniform spread
COMMON_ASPECTS = (16 / 9, 4 / 3, 9 / 16, 3 / 4, 1.0, 2 / 3)


@dataclass
class BatchSettings:
    size: tuple[int, int] = (256, 144)   # long x short side: the canvas (fixed) or its pixel budget (adaptive)
    canvas: str = "fixed"                # fixed: long x short or its transpose; adaptive: runtime.canvas per batch
    stride: int = 16                     # adaptive canvas sides are multiples of this
    portrait_share: float = 0.5          # share of batches on a portrait canvas (fixed) / portrait aspect (adaptive)
    synth_prob: float = 0.5              # share of samples pasted onto a background
    webcam_prob: float = 0.5             # of those, share cut to head and shoulders (doubled on landscape canvases)
    pseudo_share: float = 0.0            # share of each batch drawn from the unlabelled (teacher-only) store
    clip_share: float = 0.0              # share of each batch drawn from video frames (teacher-only, real prior)
    prior: bool = False                  # make a previous-frame mask for 4-channel models
    matting: bool = False                # alpha targets (+ fg, bg) for matting models; the prior from alpha
    photometric: bool = True
    quarter_turn_prob: float = 0.0       # share of the photos (not pasted people) turned 90 degrees, either way
    small_person_prob: float = 0.0       # share of whole pasted people placed small (street-scene size)
    side_cut_prob: float = 0.0           # share of the photos zoomed and pushed so a side edge cuts the person
    keep_bottom_prob: float = 0.0        # of photos that cut the person off at the bottom, share kept on the canvas bottom
    budget_scale: tuple[float, float] = (1.0, 1.0)  # adaptive: the batch's pixel budget x a factor in this range
    teacher_gate: bool = False           # with a human mask, the distillation target is the mask where they differ
    empty_prob: float = 0.0              # of pasted samples, share shown without the person (all background)
    hard_share: float = 0.0              # share of the labelled samples drawn by recent loss (hard_examples.py)
    source_weights: dict = field(default_factory=dict)  # {source folder: draw weight} for the labelled photos; others 1


class BatchMaker:
    def __init__(self, labelled: TensorStore, batch_size: int, settings: BatchSettings, seed: int = 0,
                 pseudo: TensorStore | None = None, backgrounds: TensorStore | None = None,
                 clips: TensorStore | None = None, hard: "HardExampleTracker | None" = None):
        self.labelled, self.pseudo, self.backgrounds, self.clips = labelled, pseudo, backgrounds, clips
        self.hard = hard if settings.hard_share > 0 else None
        self.batch_size, self.settings, self.seed = batch_size, settings, seed
        self.device = labelled.images.device
        n_pseudo = round(batch_size * settings.pseudo_share) if pseudo is not None and len(pseudo) else 0
        n_clips = round(batch_size * settings.clip_share) if clips is not None and len(clips) else 0
        self.n_pseudo = min(n_pseudo, batch_size - 1)
        self.n_clips = min(n_clips, batch_size - 1 - self.n_pseudo)
        self.row_weights = source_row_weights(labelled.names, settings.source_weights, self.device)

    def generator(self, step: int) -> torch.Generator:
        gen = torch.Generator(device=self.device)
        gen.manual_seed(self.seed * 1_000_003 + step)
        return gen

    def canvas(self, gen: torch.Generator) -> tuple[int, int]:
        """(width, height) of this batch's canvas."""
        cfg = self.settings
        long_side, short_side = max(cfg.size), min(cfg.size)
        draws = torch.rand(3, generator=gen, device=self.device).tolist()
        portrait = draws[0] < cfg.portrait_share
        if cfg.canvas == "fixed":
            return (short_side, long_side) if portrait else (long_side, short_side)
        if draws[1] < 0.5:
            aspect = COMMON_ASPECTS[int(draws[2] * len(COMMON_ASPECTS)) % len(COMMON_ASPECTS)]
        else:
            aspect = math.exp(draws[2] * math.log(2.0))  # 1 .. 2
            aspect = 1 / aspect if portrait else aspect
        budget = long_side * short_side
        low, high = cfg.budget_scale
        if high > low:  # drawn only when asked, so other settings keep their random streams
            budget *= low + (high - low) * torch.rand(1, generator=gen, device=self.device).item()
        elif low != 1.0:
            budget *= low
        return adaptive_canvas(round(1000 * aspect), 1000, round(budget), cfg.stride)

    def make(self, step: int) -> Batch:
        gen = self.generator(step)
        width, height = self.canvas(gen)
        n_labelled = self.batch_size - self.n_pseudo - self.n_clips
        n_hard = round(n_labelled * self.settings.hard_share) if self.hard is not None else 0
        rows = None
        if self.row_weights is not None:  # drawn only when asked, so other settings keep their random streams
            rows = torch.multinomial(self.row_weights, n_labelled - n_hard, replacement=True, generator=gen)
        parts = [_gather(self.labelled, n_labelled - n_hard, gen, rows)]
        if n_hard:  # drawn only when asked, so other settings keep their random streams
            parts.append(_gather(self.labelled, n_hard, gen, self.hard.draw(n_hard, gen)))
        index = torch.cat([p["index"] for p in parts])
        if self.n_pseudo:
            parts.append(_gather(self.pseudo, self.n_pseudo, gen))
        if self.n_clips:
            parts.append(_gather(self.clips, self.n_clips, gen))
        sample = {k: torch.cat([p[k] for p in parts]) for k in parts[0]}
        batch = self.render(sample, width, height, gen)
        batch.index = torch.cat([index, index.new_full((self.n_pseudo + self.n_clips,), -1)])
        return batch

    def render(self, s: dict, width: int, height: int, gen: torch.Generator) -> Batch:
        n, device, cfg = s["images"].shape[0], self.device, self.settings
        has_person = (s["person"][:, 2] > s["person"][:, 0]) & (s["person"][:, 3] > s["person"][:, 1])
        synth = (torch.rand(n, generator=gen, device=device) < cfg.synth_prob) & has_person
        if self.backgrounds is None or not len(self.backgrounds):
            synth = torch.zeros_like(synth)
        webcam_p = cfg.webcam_prob * (2 if width > height else 0.5)
        webcam = torch.rand(n, generator=gen, device=device) < webcam_p

        stretch = ADAPTIVE_MAX_STRETCH if cfg.canvas == "adaptive" else 0.0  # as the runtime places frames
        cut_off = s["person"][:, 3] >= s["boxes"][:, 1] + s["boxes"][:, 3] - 2  # the photo cuts the person off
        plain_theta = letterbox_maps(s["boxes"], width, height, gen, max_stretch=stretch,
                                     quarter_turn_prob=cfg.quarter_turn_prob, side_cut_prob=cfg.side_cut_prob,
                                     keep_bottom_prob=cfg.keep_bottom_prob, cut_off=cut_off)
        small = None
        if cfg.small_person_prob > 0:  # drawn only when asked, so other settings keep their random streams
            small = torch.rand(n, generator=gen, device=device) < cfg.small_person_prob
        person_theta, cut = person_maps(s["person"], width, height, webcam, gen, cut_off, small)
        theta = torch.where(synth.view(n, 1, 1), person_theta, plain_theta)
        points = slot_points(theta, width, height)
        content = inside(points, s["boxes"])
        content = content & torch.where(synth.view(n, 1, 1, 1), points[..., 1:2].permute(0, 3, 1, 2) < cut.view(n, 1, 1, 1),
                                        torch.ones_like(content))
        sampled = warp(torch.cat([s["images"], s["masks"], s["soft"], s["prev"]], 1), points)  # one pass for all
        image = sampled[:, :3]
        mask = (sampled[:, 3:4] / 255.0).clamp(0, 1)
        soft_pair = (sampled[:, 4:6] / 255.0).clamp(0, 1)
        teacher = soft_pair.mean(1, keepdim=True)
        gt = s["has_gt"].view(n, 1, 1, 1)
        alpha = torch.where(gt, mask, soft_pair[:, 1:2]) * content  # the person's opacity where pasted
        matte = None
        if cfg.matting:  # the soft target; pasted people are composited with it, so I = aF + (1 - a)B holds
            matte = matting_target(mask, soft_pair[:, 1:2], s["has_gt"], s["has_soft"]) * content
            alpha = matte

        if cfg.empty_prob > 0:  # drawn only when asked, so other settings keep their random streams
            empty = synth & (torch.rand(n, generator=gen, device=device) < cfg.empty_prob)
            alpha = alpha * ~empty.view(n, 1, 1, 1)  # the background alone, everything in it is background
            gt = gt | empty.view(n, 1, 1, 1)
            teacher = teacher * ~empty.view(n, 1, 1, 1)
            if matte is not None:
                matte = matte * ~empty.view(n, 1, 1, 1)
        else:
            empty = torch.zeros_like(synth)
        s3 = synth.view(n, 1, 1, 1)
        x = torch.where(content, image, torch.full_like(image, PAD_VALUE))
        pasted = torch.nonzero(synth).flatten()
        backgrounds = torch.zeros_like(image) if cfg.matting else None
        if pasted.numel():
            bg = _gather(self.backgrounds, pasted.numel(), gen)
            bg_points = slot_points(cover_maps(bg["boxes"], width, height, gen), width, height)
            background = warp(bg["images"], bg_points)
            a = alpha[pasted]
            x[pasted] = image[pasted] * a + background * (1 - a)
            if backgrounds is not None:
                backgrounds[pasted] = background
        if cfg.photometric:
            x = photometric(x, gen)

        person = (torch.where(s3, alpha, mask) > 0.5)
        labels = torch.where(gt, person.long(), torch.full_like(person, IGNORE, dtype=torch.long))
        labels = torch.where(s3 | content, labels, torch.full_like(labels, IGNORE))  # padding is not scored
        soft = torch.where(s3, teacher * content, teacher)
        if cfg.teacher_gate:
            soft = gated_teacher(soft, torch.where(s3, alpha, mask), (s["has_gt"] | empty) & s["has_soft"])
        soft_valid = s["has_soft"].view(n, 1, 1, 1) & (s3 | content)
        prior = None
        if cfg.prior:
            target = matte if matte is not None else torch.where(gt, torch.where(s3, alpha, mask), soft)
            real = (sampled[:, 6:7] / 255.0).clamp(0, 1) * content
            prior = synthetic_prior(target, gen, real, s["has_prev"])
        batch = Batch(x=x / 127.5 - 1.0, labels=labels[:, 0], soft=soft[:, 0], soft_valid=soft_valid[:, 0],
                      has_gt=s["has_gt"] | empty, prior=prior)
        if matte is not None:
            batch.alpha, batch.fg, batch.bg, batch.pasted = matte[:, 0], image, backgrounds, synth
        return batch


def gated_teacher(teacher: torch.Tensor, mask: torch.Tensor, gated: torch.Tensor) -> torch.Tensor:
    """The distillation target with the human mask winning where the two disagree. teacher, mask:
    Nx1xHxW in [0, 1]; gated: bool N, the samples that have both. Where |teacher - mask| >= 0.5 (a
    bystander the teacher calls person though the mask does not, a limb the teacher misses) the target is
    the mask, 0 or 1; elsewhere, and on samples that are not gated, it stays the teacher's (soft edges)."""
    n = teacher.shape[0]
    wrong = gated.view(n, 1, 1, 1) & ((teacher - mask).abs() >= 0.5)
    return torch.where(wrong, (mask > 0.5).to(teacher.dtype), teacher)


def matting_target(mask: torch.Tensor, teacher_alpha: torch.Tensor, has_gt: torch.Tensor,
                   has_soft: torch.Tensor) -> torch.Tensor:
    """The alpha target, float32 Nx1xHxW in [0, 1]. mask, teacher_alpha: Nx1xHxW in [0, 1] (the human
    mask, Robust Video Matting's alpha); has_gt, has_soft: bool N. With a human mask: the teacher's
    alpha where it agrees with the mask (|alpha - mask| < 0.5: soft edges, hair), else the mask
    (where the teacher is wrong, or there is no teacher label); without one: the teacher's alpha."""
    n = mask.shape[0]
    agrees = has_soft.view(n, 1, 1, 1) & ((teacher_alpha - mask).abs() < 0.5)
    return torch.where(has_gt.view(n, 1, 1, 1), torch.where(agrees, teacher_alpha, mask), teacher_alpha)


def source_of_row(name: str) -> str:
    """The source folder of a labelled photo (`<data>/train/<source>/images/<file>`)."""
    return Path(name).parent.parent.name


def check_source_names(weights: dict, sources, where: str = "") -> None:
    """OptionError (one line) when --source-weights names a source that is not among `sources`."""
    unknown = sorted(set(weights) - set(sources))
    if unknown:
        raise OptionError(f"--source-weights: no training source named {', '.join(unknown)} "
                          f"(sources{' in ' + where if where else ''}: {', '.join(sorted(set(sources)))})")


def source_row_weights(names: list[str], weights: dict, device: torch.device) -> torch.Tensor | None:
    """float32 per-row draw weights of the labelled store for {source: weight} (unnamed sources 1), or None
    when no weight is given (uniform draws). OptionError for a source the store does not have, or when no
    photo is left with a weight above 0."""
    if not weights:
        return None
    sources = [source_of_row(n) for n in names]
    check_source_names(weights, sources)
    rows = torch.tensor([float(weights.get(s, 1.0)) for s in sources], dtype=torch.float32, device=device)
    if not bool((rows > 0).any()):
        raise OptionError("--source-weights: every training photo has weight 0")
    return rows


def _gather(store: TensorStore, n: int, gen: torch.Generator, idx: torch.Tensor | None = None) -> dict:
    """n rows of the store: uniformly drawn, or the rows `idx`."""
    if idx is None:
        idx = torch.randint(len(store), (n,), generator=gen, device=store.images.device)
    images = store.images[idx]
    prev = store.prev[idx] if store.prev is not None else images.new_zeros((n, 1) + images.shape[2:])
    return {"index": idx, "images": images, "masks": store.masks[idx], "soft": store.soft[idx], "prev": prev,
            "boxes": store.boxes[idx], "person": store.person[idx], "has_gt": store.has_gt[idx],
            "has_soft": store.has_soft[idx],
            "has_prev": torch.full((n,), store.prev is not None, dtype=torch.bool, device=images.device)}

"""Which files a training run learns from: labelled pairs, unlabelled teacher-labelled people and
backgrounds under one data root, decoded into TensorStores on the training device."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import torch

from .clip_store import build_clip_store, find_clips
from .folders import find_images
from .tensor_store import StoreItem, TensorStore, cached, files_key, find_items, load_store


@dataclass
class TrainingStores:
    labelled: TensorStore
    pseudo: TensorStore | None
    backgrounds: TensorStore | None
    clips: TensorStore | None = None

    def describe(self) -> str:
        sizes = {k: (len(v) if v is not None else 0) for k, v in vars(self).items()}
        mb = sum(v.nbytes() for v in vars(self).values() if v is not None) / 2**20
        return ", ".join(f"{k} {n}" for k, n in sizes.items()) + f" ({mb:.0f} MiB of uint8 tensors)"


def held_out_background(path: Path, share: float) -> bool:
    """Whether a background stays out of training at this hold-out share: decided by its file name alone
    (a stable hash), so training and benchmarks/empty_scenes.py pick the same files."""
    draw = int(hashlib.sha1(Path(path).name.encode()).hexdigest()[:8], 16) / 2**32
    return draw < share


def load_training_stores(root: Path, size: int, device: torch.device, cache: Path | None = None,
                         threads: int = 2, limit: int = 0, use_pseudo: bool = True,
                         use_clips: bool = False, hold_out_clips: tuple[str, ...] = (),
                         hold_out_backgrounds: float = 0.0) -> TrainingStores:
    """`<root>/train/<source>/{images,masks,soft}`, `<root>/pseudo/**/{images,soft}` (teacher labels
    only) and `<root>/backgrounds/`; prints what it found and what it skipped. hold_out_clips: clip stems
    (e.g. "lp_d11") whose frames stay out of training, so that they can be used for evaluation;
    hold_out_backgrounds: the share of backgrounds kept out likewise (`held_out_background`)."""
    root = Path(root)
    folder = root / "train"
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: missing (expected <data>/train/<source>/images and masks)")
    items = find_items(folder, need_mask=True)
    if not items:
        raise FileNotFoundError(f"{folder}: no image with a mask (expected <data>/train/<source>/images and masks, "
                                "a mask named as its image)")
    if limit:
        items = items[:limit]
    labelled = load_store(items, size, cache, threads)
    print(f"train: {len(labelled)} pairs, {len(items) - len(labelled)} skipped; "
          f"{int(labelled.has_soft.sum())} with teacher labels")
    pseudo = None
    if use_pseudo and (root / "pseudo").is_dir():
        found = [it for it in find_items(root / "pseudo", need_mask=False) if it.soft is not None]
        if found:
            pseudo = load_store(found, size, cache, threads)
            print(f"pseudo: {len(pseudo)} unlabelled images with teacher labels")
    backgrounds = None
    if (root / "backgrounds").is_dir():
        files = find_images(root / "backgrounds")
        if hold_out_backgrounds:
            kept = [f for f in files if not held_out_background(f, hold_out_backgrounds)]
            print(f"backgrounds held out of training: {len(files) - len(kept)} of {len(files)}")
            files = kept
        if files:
            backgrounds = load_store([StoreItem(p) for p in files], size, cache, threads)
    print(f"backgrounds for synthesis: {len(backgrounds) if backgrounds is not None else 0}")
    clips = None
    if use_clips and (root / "pseudo").is_dir():
        every = find_clips(root / "pseudo")
        found = [(v, d) for v, d in every if v.stem not in hold_out_clips]
        if hold_out_clips:
            unknown = sorted(set(hold_out_clips) - {v.stem for v, _ in every})
            print(f"clips held out of training: {', '.join(sorted(hold_out_clips))}"
                  + (f" (no such clip: {', '.join(unknown)})" if unknown else ""))
        key = "clips-" + files_key([v for v, _ in found] + [p for _, d in found for p in sorted(d.iterdir())], size)
        clips = cached(cache, key, lambda: build_clip_store(found, size))
        print(f"clips: {len(clips) if clips is not None else 0} video frames with the previous frame's teacher label")
    stores = (labelled, pseudo, backgrounds, clips)
    return TrainingStores(*(s.to(device) if s is not None else None for s in stores))

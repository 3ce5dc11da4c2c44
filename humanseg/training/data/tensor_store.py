"""A training set decoded once into uint8 tensors that live on the training device.

Every image is letterboxed (the runtime's `letterbox`) into a square `size` x `size` slot, so a
batch is gathered with one `index_select` and augmented with tensor ops (see `batch_geometry`).
Per item the store keeps:

- images:  uint8 Nx3xSxS RGB (padding PAD_VALUE)
- masks:   uint8 Nx1xSxS, 255 = person (all 0 where there is no human mask)
- soft:    uint8 Nx2xSxS teacher labels (MediaPipe probability, RVM alpha), 0 where none
- boxes:   float32 Nx4 content box (x, y, w, h) in slot pixels
- person:  float32 Nx4 person bounding box (x0, y0, x1, y1) in slot pixels (from the mask, else
           the teachers); zeros when no person is found
- has_gt, has_soft: bool N
- prev:    uint8 Nx1xSxS teacher person probability of the previous labelled video frame (mean of
           both teachers), only for stores made from clips (see clip_store.py); None otherwise

Decoding uses OpenCV on the CPU (threads); the result can be cached as one .pt file.
"""
from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from pathlib import Path

import cv2
import numpy as np
import torch

from ...errors import OptionError
from ...io.suffixes import IMAGE_SUFFIXES
from ...io.folders import label_files
from ...io.masks import mask_problem, read_person_mask, read_teacher_label
from ...runtime.letterbox import PAD_VALUE, letterbox


@dataclass(frozen=True)
class StoreItem:
    """One training image with its optional human mask and optional teacher label (2-channel PNG)."""

    image: Path
    mask: Path | None = None
    soft: Path | None = None


@dataclass
class TensorStore:
    images: torch.Tensor
    masks: torch.Tensor
    soft: torch.Tensor
    boxes: torch.Tensor
    person: torch.Tensor
    has_gt: torch.Tensor
    has_soft: torch.Tensor
    names: list[str]
    prev: torch.Tensor | None = None

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def size(self) -> int:
        return self.images.shape[-1]

    def to(self, device: torch.device | str) -> "TensorStore":
        moved = {f.name: getattr(self, f.name) for f in fields(self)}
        for key, value in moved.items():
            if isinstance(value, torch.Tensor):
                moved[key] = value.to(device)
        return TensorStore(**moved)

    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in (self.images, self.masks, self.soft))


def find_items(root: Path, need_mask: bool) -> list[StoreItem]:
    """Every `images/` folder below root with its sibling `masks/` and `soft/` folders.

    need_mask: keep only images with a mask (labelled splits); else images with a mask or a soft label.
    """
    items = []
    for images_dir in sorted(p for p in Path(root).rglob("images") if p.is_dir()):
        masks, softs = label_files(images_dir.parent / "masks"), label_files(images_dir.parent / "soft")
        for image in sorted(images_dir.iterdir()):
            if image.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            mask, soft = masks.get(image.stem), softs.get(image.stem)
            if (mask if need_mask else (mask or soft)) is not None:
                items.append(StoreItem(image, mask, soft))
    return items


def _bbox(binary: np.ndarray) -> tuple[float, float, float, float]:
    ys, xs = np.nonzero(binary)
    if len(ys) == 0:
        return 0.0, 0.0, 0.0, 0.0
    return float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)


def decode_item(item: StoreItem, size: int) -> dict | None:
    """One item -> slot-sized arrays, or None (with the reason printed) when it cannot be used."""
    image = cv2.imread(str(item.image), cv2.IMREAD_COLOR)
    if image is None:
        print(f"skipped: {item.image}: unreadable image")
        return None
    h, w = image.shape[:2]
    rgb, box = letterbox(cv2.cvtColor(image, cv2.COLOR_BGR2RGB), (size, size), PAD_VALUE)
    mask = np.zeros((size, size), np.uint8)
    soft = np.zeros((size, size, 2), np.uint8)
    if item.mask is not None:
        person = read_person_mask(item.mask)   # 0/255, 0/1, 8 or 16 bits: as validation and `humanseg eval` read it
        problem = mask_problem(item.mask, person, image.shape)
        if problem:
            print(f"skipped: {problem}")
            return None
        mask, _ = letterbox(person.astype(np.uint8) * 255, (size, size), 0, cv2.INTER_LINEAR)
    if item.soft is not None:
        pair = read_teacher_label(item.soft)
        if pair is None:
            print(f"skipped: {item.soft}: not a 2-channel teacher label")
            return None
        pair = cv2.resize(pair, (w, h), interpolation=cv2.INTER_LINEAR)
        soft, _ = letterbox(pair, (size, size), 0, cv2.INTER_LINEAR)
    person = _bbox(mask > 127) if item.mask is not None else _bbox(soft.mean(2) > 127)
    return {"image": rgb, "mask": mask, "soft": soft, "box": (box.x, box.y, box.width, box.height),
            "person": person, "has_gt": item.mask is not None, "has_soft": item.soft is not None}


def build_store(items: list[StoreItem], size: int = 320, threads: int = 2) -> TensorStore:
    """Decode items (OpenCV, `threads` at a time) into a CPU TensorStore; unusable items are skipped."""
    with ThreadPoolExecutor(max(1, threads)) as pool:
        decoded = list(pool.map(lambda it: decode_item(it, size), items))
    keep = [(it, d) for it, d in zip(items, decoded) if d is not None]
    if not keep:
        raise FileNotFoundError("no usable training images")
    n = len(keep)
    images = torch.empty(n, 3, size, size, dtype=torch.uint8)
    masks = torch.empty(n, 1, size, size, dtype=torch.uint8)
    soft = torch.empty(n, 2, size, size, dtype=torch.uint8)
    for i, (_, d) in enumerate(keep):
        images[i] = torch.from_numpy(d["image"]).permute(2, 0, 1)
        masks[i, 0] = torch.from_numpy(d["mask"])
        soft[i] = torch.from_numpy(d["soft"]).permute(2, 0, 1)
    return TensorStore(
        images=images, masks=masks, soft=soft,
        boxes=torch.tensor([d["box"] for _, d in keep], dtype=torch.float32),
        person=torch.tensor([d["person"] for _, d in keep], dtype=torch.float32),
        has_gt=torch.tensor([d["has_gt"] for _, d in keep]),
        has_soft=torch.tensor([d["has_soft"] for _, d in keep]),
        names=[str(it.image) for it, _ in keep])


# bump when decoding changes what a store holds for the same files (2: masks read by io/masks.py, so 0/1 and
# 16-bit masks are person, not empty; 3: a mask drawn only in its alpha channel is person, not empty), so that
# caches written by an older humanseg are rebuilt, not reused
STORE_VERSION = 3


def files_key(paths: list[Path], size: int) -> str:
    """Changes when any file's path, size or mtime changes, or the slot size or STORE_VERSION does."""
    h = hashlib.sha1(f"{size}|v{STORE_VERSION}".encode())
    for path in paths:
        st = path.stat()
        h.update(f"{path}|{st.st_size}|{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def cached(cache_dir: Path | None, key: str, build) -> TensorStore | None:
    """build(), or the TensorStore saved as `<cache_dir>/store-<key>.pt` by an earlier call."""
    if cache_dir is None:
        return build()
    cache_dir = Path(cache_dir)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:   # a file of that name, or a folder of the path that is one
        raise OptionError(f"--cache {cache_dir}: cannot be a folder ({exc.strerror or exc}); give a folder path") \
            from None
    path = cache_dir / f"store-{key}.pt"
    if path.is_file():
        return TensorStore(**torch.load(path, weights_only=False))
    store = build()
    if store is not None:
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")   # runs started together each write their own
        torch.save({f.name: getattr(store, f.name) for f in fields(store)}, tmp)
        tmp.replace(path)
    return store


def load_store(items: list[StoreItem], size: int, cache_dir: Path | None, threads: int = 2) -> TensorStore:
    """build_store, reusing a cached copy when the same files were decoded before."""
    paths = [p for item in items for p in (item.image, item.mask, item.soft) if p is not None]
    return cached(cache_dir, files_key(paths, size), lambda: build_store(items, size, threads))

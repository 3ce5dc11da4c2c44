"""Real consecutive video frames for the temporal prior: clips with teacher labels on every k-th frame.

Layout (as in ../shared/data/pseudo/talking_heads): `videos/<clip>.mp4` and
`video_soft/<clip>/<frame index, 6 digits>.png` (2-channel teacher labels, see tensor_store.py).
A clip may also be a folder of frames, `videos/<clip>/<frame index>.jpg|png|webp` (frames named by their
index in the video; only labelled ones are needed), as `tools/shrink_dataset.py` writes it.
Every labelled frame that has a labelled predecessor becomes one store item: the frame, its own
teacher label, and the predecessor's label (mean of both teachers) as `prev`, the mask a network
would have produced a few frames earlier.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch

from ...io.suffixes import VIDEO_SUFFIXES
from ...runtime.letterbox import PAD_VALUE, letterbox
from .tensor_store import TensorStore, _bbox

FRAME_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}


def find_clips(root: Path) -> list[tuple[Path, Path]]:
    """(video file or frame folder, label folder) for every `videos/<clip>.*` or `videos/<clip>/` below
    root with a `video_soft/<clip>/` folder."""
    clips = []
    for videos in sorted(p for p in Path(root).rglob("videos") if p.is_dir()):
        for video in sorted(videos.iterdir()):
            labels = videos.parent / "video_soft" / video.stem
            if (video.is_dir() or video.suffix.lower() in VIDEO_SUFFIXES) and labels.is_dir():
                clips.append((video, labels))
    return clips


def clip_frames(video: Path):
    """(frame index, uint8 HxWx3 RGB) in order: decoded from a video file, or read from a frame folder."""
    if video.is_dir():
        for path in sorted((p for p in video.iterdir() if p.stem.isdigit() and p.suffix.lower() in FRAME_SUFFIXES),
                           key=lambda p: int(p.stem)):
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is None:
                print(f"skipped: {path}: unreadable frame")
                continue
            yield int(path.stem), cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        return
    import av

    try:
        with av.open(str(video)) as container:
            for index, frame in enumerate(container.decode(video=0)):
                yield index, frame.to_ndarray(format="rgb24")
    except av.FFmpegError as exc:
        print(f"skipped the rest of {video}: {exc.__class__.__name__}")


def _teacher_pair(path: Path, w: int, h: int) -> np.ndarray | None:
    raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if raw is None or raw.ndim != 3 or raw.shape[2] not in (2, 4):
        return None
    pair = raw if raw.shape[2] == 2 else raw[..., [0, 3]]
    return cv2.resize(np.ascontiguousarray(pair), (w, h), interpolation=cv2.INTER_LINEAR)


def decode_clip(video: Path, labels: Path, size: int) -> list[dict]:
    """Slot-sized arrays for every labelled frame with a labelled predecessor."""
    labelled = {int(p.stem): p for p in labels.glob("*.png") if p.stem.isdigit()}
    keys = sorted(labelled)
    previous = {k: keys[i - 1] for i, k in enumerate(keys) if i > 0}
    items, pairs = [], {}
    for index, image in clip_frames(video):
        if index not in labelled:
            continue
        h, w = image.shape[:2]
        pair = _teacher_pair(labelled[index], w, h)
        if pair is None:
            print(f"skipped: {labelled[index]}: not a 2-channel teacher label")
            continue
        pairs[index] = pair
        if index in previous and previous[index] in pairs:
            rgb, box = letterbox(image, (size, size), PAD_VALUE)
            soft, _ = letterbox(pair, (size, size), 0, cv2.INTER_LINEAR)
            prev, _ = letterbox(pairs[previous[index]].mean(2).astype(np.uint8), (size, size), 0,
                                cv2.INTER_LINEAR)
            items.append({"image": rgb, "soft": soft, "prev": prev, "box": (box.x, box.y, box.width, box.height),
                          "person": _bbox(soft.mean(2) > 127), "name": f"{video}#{index}"})
        pairs.pop(previous.get(index, -1), None)
    return items


def build_clip_store(clips: list[tuple[Path, Path]], size: int = 320) -> TensorStore | None:
    items = [item for video, labels in clips for item in decode_clip(video, labels, size)]
    if not items:
        return None
    n = len(items)
    return TensorStore(
        images=torch.from_numpy(np.stack([d["image"] for d in items])).permute(0, 3, 1, 2).contiguous(),
        masks=torch.zeros(n, 1, size, size, dtype=torch.uint8),
        soft=torch.from_numpy(np.stack([d["soft"] for d in items])).permute(0, 3, 1, 2).contiguous(),
        boxes=torch.tensor([d["box"] for d in items], dtype=torch.float32),
        person=torch.tensor([d["person"] for d in items], dtype=torch.float32),
        has_gt=torch.zeros(n, dtype=torch.bool), has_soft=torch.ones(n, dtype=torch.bool),
        names=[d["name"] for d in items],
        prev=torch.from_numpy(np.stack([d["prev"] for d in items]))[:, None].contiguous())

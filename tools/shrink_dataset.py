"""Copy a humanseg data tree with every image downscaled (long side <= --long-side).

Used to make a compact copy of ../shared/data that fits the 64 MiB transfer limit of a
lent GPU machine. Layout is kept: <root>/<split>/<source>/{images,masks,soft}/,
<root>/pseudo/**/{images,soft}/ and <root>/backgrounds/. Photos become WebP; masks are read as training reads them, resized
with nearest-neighbour and written as 0/255 PNGs; teacher labels (soft/, video_soft/) stay 2-channel PNGs (bilinear). A clip
`videos/<clip>.mp4` becomes the frame folder `videos/<clip>/<index>.webp` holding only the frames
that `video_soft/<clip>/` labels (the training clip store reads either form), so the copy needs no
video decoder. The training store keeps images in 320 x 320 slots, so --long-side 320 loses nothing.

    python tools/shrink_dataset.py ../shared/data .gpu_data --long-side 320 --quality 72 --label-long-side 256 \
        --drop-clips lp_d10,lp_d11,lp_d12,lp_d13
"""
from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from humanseg.errors import OutputError
from humanseg.io.images import atomic_write_bytes
from humanseg.io.masks import read_person_mask
from humanseg.io.suffixes import IMAGE_SUFFIXES, VIDEO_SUFFIXES
from humanseg.training.data.clip_store import clip_frames


def _scaled(image: np.ndarray, long_side: int, interpolation: int) -> np.ndarray:
    h, w = image.shape[:2]
    scale = min(1.0, long_side / max(h, w))
    if scale >= 1.0:
        return image
    return cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=interpolation)


def _write_teacher_label(src: Path, out: Path, long_side: int) -> bool:
    raw = cv2.imread(str(src), cv2.IMREAD_UNCHANGED)
    if raw is None or raw.ndim != 3 or raw.shape[2] not in (2, 4):
        return False
    pair = np.ascontiguousarray(raw if raw.shape[2] == 2 else raw[..., [0, 3]])
    pair = _scaled(pair, long_side, cv2.INTER_LINEAR)
    out.parent.mkdir(parents=True, exist_ok=True)
    data = io.BytesIO()
    Image.fromarray(pair).save(data, format="PNG", optimize=True)
    atomic_write_bytes(out.with_suffix(".png"), data.getvalue())
    return True


def _write_encoded(out: Path, image: np.ndarray, params: list[int] | None = None) -> bool:
    """Encode by out's suffix and write atomically (an interrupted copy leaves no truncated file)."""
    ok, encoded = cv2.imencode(out.suffix, image, params or [])
    if ok:
        atomic_write_bytes(out, encoded.tobytes())
    return bool(ok)


def _write_picture(src: Path, out: Path, rel: Path, long_side: int, quality: int) -> bool:
    is_mask = "masks" in rel.parts
    if is_mask:   # read as training reads it (0/1 and 16-bit masks too), written 0/255
        person = read_person_mask(src)
        image = None if person is None else person.astype(np.uint8) * 255
    else:
        image = cv2.imread(str(src), cv2.IMREAD_COLOR)
    if image is None:
        return False
    image = _scaled(image, long_side, cv2.INTER_NEAREST if is_mask else cv2.INTER_AREA)
    out.parent.mkdir(parents=True, exist_ok=True)
    if is_mask:
        return _write_encoded(out.with_suffix(".png"), image)
    return _write_photo(out, image, quality)


def _write_photo(out: Path, bgr: np.ndarray, quality: int) -> bool:
    """WebP: about half the bytes of a JPEG of the same look (OpenCV reads both)."""
    return _write_encoded(out.with_suffix(".webp"), bgr, [cv2.IMWRITE_WEBP_QUALITY, quality])


def _write_clip(video: Path, labels: Path, out: Path, long_side: int, quality: int) -> int:
    """The labelled frames of one clip as <out>/<index, 6 digits>.webp; returns how many."""
    wanted = {int(p.stem) for p in labels.glob("*.png") if p.stem.isdigit()}
    out.mkdir(parents=True, exist_ok=True)
    count = 0
    for index, rgb in clip_frames(video):
        if index in wanted:
            bgr = _scaled(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), long_side, cv2.INTER_AREA)
            _write_photo(out / f"{index:06d}", bgr, quality)
            count += 1
    return count


def shrink(src: Path, dst: Path, long_side: int, quality: int, drop_clips: frozenset[str] = frozenset(),
           label_long_side: int = 0) -> int:
    """Writes the compact copy; returns the number of files written. label_long_side: teacher labels'
    long side (0: as photos). Validation keeps images and masks only: training reads no teacher label there."""
    count = 0
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src)
        if rel.parts[0] == "val" and "soft" in rel.parts:
            continue
        if {"videos", "video_soft"} & set(rel.parts) and any(part in drop_clips or Path(part).stem in drop_clips for part in rel.parts):
            continue
        out = dst / rel
        if path.is_file() and path.suffix.lower() in VIDEO_SUFFIXES and path.parent.name == "videos":
            labels = path.parent.parent / "video_soft" / path.stem
            if labels.is_dir():
                count += _write_clip(path, labels, out.with_suffix(""), long_side, quality)
            continue
        if not path.is_file() or path.suffix.lower() not in IMAGE_SUFFIXES | {".md"}:
            continue
        if path.suffix.lower() == ".md":
            out.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(out, path.read_bytes())
            count += 1
        elif {"soft", "video_soft"} & set(rel.parts):
            count += _write_teacher_label(path, out, label_long_side or long_side)
        else:
            count += _write_picture(path, out, rel, long_side, quality)
    return count


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number of pixels")
    return value


def _quality(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 100:
        raise argparse.ArgumentTypeError(f"{text} is not in [1, 100]")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("src", type=Path)
    parser.add_argument("dst", type=Path, help="new folder for the copy (not the source or a folder inside it)")
    parser.add_argument("--long-side", type=_positive, default=320)
    parser.add_argument("--quality", type=_quality, default=80, help="WebP quality of photos and frames (1-100)")
    parser.add_argument("--label-long-side", type=int, default=0,
                        help="long side of teacher labels (smooth maps; 0: as --long-side)")
    parser.add_argument("--drop-clips", default="", help="comma-separated clip stems to leave out (held-out clips)")
    args = parser.parse_args(argv)
    if args.label_long_side < 0:
        parser.error(f"--label-long-side: {args.label_long_side} is negative; use 0 (as --long-side) or more")
    src, dst = args.src.resolve(), args.dst.resolve()
    if not src.is_dir():
        print(f"error: {args.src}: no such folder", file=sys.stderr)
        return 2
    if dst == src or src in dst.parents:   # would write over the source's masks, or copy the copy next time
        print(f"error: {args.dst}: is {'the source' if dst == src else 'inside the source'}; write the copy to a "
              "folder outside it", file=sys.stderr)
        return 2
    drop = frozenset(s for s in args.drop_clips.split(",") if s)
    try:
        n = shrink(args.src, args.dst, args.long_side, args.quality, drop, args.label_long_side)
    except (OutputError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {n} files to {args.dst}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

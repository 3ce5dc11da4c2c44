"""Copy a humanseg data tree with every image downscaled (long side <= --long-side).

Used to make a compact copy of ../shared/data that fits the 64 MiB transfer limit of a
lent GPU machine. Layout is kept: <root>/<split>/<source>/{images,masks}/ and
<root>/backgrounds/images/. Masks are resized with nearest-neighbour and stay 0/255.

    python tools/shrink_dataset.py ../shared/data .gpu_data --long-side 384
"""
from __future__ import annotations

import argparse
from pathlib import Path

import cv2


def shrink(src: Path, dst: Path, long_side: int, quality: int) -> int:
    count = 0
    for path in sorted(src.rglob("*")):
        if path.suffix.lower() not in {".jpg", ".jpeg", ".png"}:
            continue
        rel = path.relative_to(src)
        is_mask = "masks" in rel.parts
        image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE if is_mask else cv2.IMREAD_COLOR)
        if image is None:
            continue
        h, w = image.shape[:2]
        scale = min(1.0, long_side / max(h, w))
        if scale < 1.0:
            size = (max(1, round(w * scale)), max(1, round(h * scale)))
            interp = cv2.INTER_NEAREST if is_mask else cv2.INTER_AREA
            image = cv2.resize(image, size, interpolation=interp)
        out = dst / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        if is_mask:
            cv2.imwrite(str(out.with_suffix(".png")), image)
        else:
            cv2.imwrite(str(out.with_suffix(".jpg")), image, [cv2.IMWRITE_JPEG_QUALITY, quality])
        count += 1
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("src", type=Path)
    parser.add_argument("dst", type=Path)
    parser.add_argument("--long-side", type=int, default=384)
    parser.add_argument("--quality", type=int, default=88)
    args = parser.parse_args()
    n = shrink(args.src, args.dst, args.long_side, args.quality)
    print(f"wrote {n} files to {args.dst}")


if __name__ == "__main__":
    main()

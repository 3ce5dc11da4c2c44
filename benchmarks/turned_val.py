"""A copy of a validation set with every photo and mask turned by 90 degrees: people lying down, or a phone
shot taken sideways without an orientation tag. Score it like the upright set:

    python benchmarks/turned_val.py --data ../shared/data/val --out /tmp/val_turned
    python benchmarks/compare_models.py --data /tmp/val_turned --model portrait --threads 2

Images are read as stored (no EXIF orientation applied, as OpenCV's IMREAD_UNCHANGED does) and written
without tags, so what the models see is the turned pixels. --out must not exist or be inside --data.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import cv2

TURNS = {"clockwise": cv2.ROTATE_90_CLOCKWISE, "anticlockwise": cv2.ROTATE_90_COUNTERCLOCKWISE}


def turn_dataset(data: Path, out: Path, turn: str = "clockwise") -> int:
    """Write data/<source>/{images,masks}/* turned into out (atomically: a temporary folder renamed
    at the end). Returns the number of files written."""
    if out.exists():
        raise FileExistsError(f"{out} exists; choose a new folder")
    if out.resolve().is_relative_to(data.resolve()):
        raise ValueError(f"{out} is inside {data}")
    files = sorted(p for p in data.glob("*/*/*") if p.parent.name in ("images", "masks") and p.is_file())
    if not files:
        raise FileNotFoundError(f"{data}: no <source>/images or <source>/masks files")
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        for path in files:
            pixels = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
            if pixels is None:
                raise ValueError(f"{path}: not an image OpenCV can read")
            target = work / path.relative_to(data)
            target.parent.mkdir(parents=True, exist_ok=True)
            if not cv2.imwrite(str(target), cv2.rotate(pixels, TURNS[turn])):
                raise OSError(f"{target}: could not be written")
        work.rename(out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return len(files)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, required=True, help="validation folder: <source>/{images,masks}")
    p.add_argument("--out", type=Path, required=True, help="new folder for the turned copy")
    p.add_argument("--turn", choices=sorted(TURNS), default="clockwise")
    a = p.parse_args()
    try:
        n = turn_dataset(a.data, a.out, a.turn)
    except (OSError, ValueError) as exc:
        sys.exit(f"turned_val: error: {exc}")
    print(f"{n} files turned {a.turn} into {a.out}")


if __name__ == "__main__":
    main()

"""List the labelled photos whose human mask the two teachers dispute: both teacher labels agree with each other,
but not with the mask. These are where a training mask is most likely wrong (a shadow or a background wall drawn
in, hair or skin left out) or follows its source's own rule (a bag counted as the person, a bystander left out).

    python tools/label_disputes.py ../shared/data [--split train] [--agree 0.93] [--below 0.85] [--montage m.png]

For every `<split>/<source>/{images,masks,soft}` photo: the IoU of the mask with the teachers' mean (person
where the mean of MediaPipe's probability and RVM's alpha is above one half), and of the two teachers with each
other, on the teacher label's grid. Listed: teachers agree >= --agree, mask IoU < --below, lowest first, with
the per-source median of the mask IoU. `--montage` writes photo | mask | teachers' mean for the listed photos
(the first --show) to one PNG to look at. It reads the data and writes only the montage; a decision to fix or
drop a mask is left to whoever keeps the data.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

from humanseg.errors import OutputError
from humanseg.io.folders import find_pairs, label_files
from humanseg.io.images import atomic_write_bytes
from humanseg.io.masks import read_person_mask, read_teacher_label


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def disputes(root: Path) -> list[dict]:
    """One row per photo with a mask and a teacher label: source, stem, mask_iou, teachers_iou."""
    rows = []
    for pair in find_pairs(root):
        soft = label_files(pair.image.parent.parent / "soft").get(pair.image.stem)
        person = read_person_mask(pair.mask)
        pair_of = read_teacher_label(soft) if soft is not None else None
        if person is None or pair_of is None:
            continue
        h, w = pair_of.shape[:2]
        mask = cv2.resize(person.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST) > 0
        mean = pair_of.astype(np.int32).sum(2) > 255
        rows.append({"source": pair.image.parent.parent.name, "stem": pair.image.stem, "image": pair.image,
                     "mask": pair.mask, "soft": soft, "mask_iou": iou(mask, mean),
                     "teachers_iou": iou(pair_of[..., 0] > 127, pair_of[..., 1] > 127)})
    return rows


def montage(rows: list[dict], height: int = 200) -> np.ndarray:
    """photo | mask | teachers' mean, one row a photo, the stem written on the photo."""
    strips = []
    for row in rows:
        image = cv2.imread(str(row["image"]))
        width = max(1, round(image.shape[1] * height / image.shape[0]))
        image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
        mask = cv2.resize(read_person_mask(row["mask"]).astype(np.uint8) * 255, (width, height))
        mean = (read_teacher_label(row["soft"]).astype(np.uint16).sum(2) // 2).astype(np.uint8)
        mean = cv2.resize(mean, (width, height))
        strip = np.concatenate([image, cv2.cvtColor(mask, cv2.COLOR_GRAY2BGR), cv2.cvtColor(mean, cv2.COLOR_GRAY2BGR)], 1)
        cv2.putText(strip, row["stem"], (4, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 255), 2)
        strips.append(strip)
    wide = max(s.shape[1] for s in strips)
    return np.concatenate([np.pad(s, ((0, 0), (0, wide - s.shape[1]), (0, 0))) for s in strips], 0)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number of photos")
    return value


def montage_problem(montage: Path, data: Path) -> str | None:
    """Why the montage cannot be written there, or None; checked before the (slow) scan of the data."""
    if montage.suffix.lower() != ".png":
        return f"{montage}: the montage is a .png"
    if montage.is_dir() or not montage.parent.is_dir():
        return f"{montage}: {'is a folder' if montage.is_dir() else 'its folder does not exist'}; give a .png file path"
    if data.resolve() in montage.resolve().parents:   # it could replace a photo or a mask
        return f"{montage}: is inside the data folder {data}; write the montage outside it, so no photo or mask " \
               "is replaced"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="folder holding <split>/<source>/{images,masks,soft}")
    parser.add_argument("--split", default="train")
    parser.add_argument("--agree", type=float, default=0.93, help="teachers' IoU with each other at least this")
    parser.add_argument("--below", type=float, default=0.85, help="mask's IoU with the teachers' mean under this")
    parser.add_argument("--montage", type=Path, help="write photo | mask | teachers for the listed photos here (.png)")
    parser.add_argument("--show", type=_positive, default=12, help="photos in the montage (the lowest first)")
    args = parser.parse_args(argv)
    folder = args.data / args.split
    if not folder.is_dir():
        print(f"error: {folder}: no such folder", file=sys.stderr)
        return 2
    problem = montage_problem(args.montage, args.data) if args.montage is not None else None
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    rows = disputes(folder)
    if not rows:
        print(f"error: {folder}: no photo has both a mask and a teacher label (<source>/masks and <source>/soft)",
              file=sys.stderr)
        return 2
    for source in sorted({r["source"] for r in rows}):
        ious = [r["mask_iou"] for r in rows if r["source"] == source]
        print(f"{source}: {len(ious)} photos, median mask IoU with the teachers {np.median(ious):.3f}")
    listed = sorted((r for r in rows if r["teachers_iou"] >= args.agree and r["mask_iou"] < args.below),
                    key=lambda r: r["mask_iou"])
    print(f"{len(listed)} disputed (teachers agree >= {args.agree}, mask IoU < {args.below}):")
    for r in listed:
        print(f"  {r['source']}/{r['stem']}: mask IoU {r['mask_iou']:.3f}, teachers {r['teachers_iou']:.3f}")
    if args.montage is not None and listed:
        ok, data = cv2.imencode(".png", montage(listed[:args.show]))
        try:
            atomic_write_bytes(args.montage, data.tobytes())
        except OutputError as error:   # e.g. the disk filled up during the scan
            print(f"error: {error}", file=sys.stderr)
            return 2
        print(f"{args.montage}: {min(len(listed), args.show)} photos")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""How good the stored teacher labels are on a labelled split: the ceiling distillation aims at.

Every labelled photo in ../shared/data has `soft/<name>.png`: MediaPipe general's probability and RVM's alpha
(its README). The trainer distils towards their mean. This scores each channel and the mean, cut at 0.5, against
the human (or remove.bg) masks with the same counts as `humanseg eval` (mIoU over the whole split, per source),
so a student's val score can be read against what it is taught.

    python benchmarks/teacher_labels.py --data ../shared/data/val [--json out.json]

The labels were made at long side 384 and are resized to the photo bilinearly, as the trainer does.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from humanseg.evaluation.metrics import ScoresBySource  # noqa: E402
from humanseg.io.folders import find_pairs  # noqa: E402
from humanseg.io.masks import read_person_mask, read_teacher_label  # noqa: E402

CHANNELS = {"mediapipe_general": lambda s: s[..., 0], "rvm_alpha": lambda s: s[..., 1],
            "mean_of_both": lambda s: s.mean(-1)}


def score(root: Path) -> dict:
    scores = {name: ScoresBySource() for name in CHANNELS}
    missing = 0
    for pair in find_pairs(root):
        soft_path = pair.mask.parent.parent / "soft" / f"{pair.mask.stem}.png"
        gt, soft = read_person_mask(pair.mask), read_teacher_label(soft_path)   # as the trainer reads them
        if gt is None or soft is None:
            missing += 1
            continue
        soft = cv2.resize(soft.astype(np.float32) / 255, gt.shape[::-1], interpolation=cv2.INTER_LINEAR)
        source = pair.image.parent.parent.name
        for name, pick in CHANNELS.items():
            scores[name].add(pick(soft) >= 0.5, gt, source)
    return {"missing_or_unreadable": missing,
            **{name: {"all": s.all.summary(), **s.per_source()} for name, s in scores.items()}}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=Path("../shared/data/val"))
    p.add_argument("--json", type=Path, help="also write the figures here")
    a = p.parse_args()
    if not a.data.is_dir():
        sys.exit(f"teacher_labels: {a.data}: no such folder")
    result = score(a.data)
    sources = [k for k in result["mean_of_both"] if k != "all"]
    print(f"| teacher label (cut at 0.5) | mIoU | {' | '.join(sources)} | boundary F |")
    print("|---|---|" + "---|" * len(sources) + "---|")
    for name in CHANNELS:
        r = result[name]
        print(f"| {name} | {r['all']['miou']:.4f} | " + " | ".join(f"{r[s]['miou']:.4f}" for s in sources)
              + f" | {r['all']['boundary_f']:.4f} |")
    if result["missing_or_unreadable"]:
        print(f"({result['missing_or_unreadable']} photos without a readable mask and teacher label left out)")
    if a.json:
        a.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()

"""Where our model loses to a peer: the validation photos with the largest IoU gap, and how much of the
dataset-wide mIoU gap they carry.

Each photo is segmented by our model exactly as `humanseg eval` does (`Segmenter.segment`, the still recipe)
and by the peer through its own pre-processing (benchmarks/peer_models.py). Per photo it prints the person
IoU of both and the share of the photo each gets wrong (false person, missed person); then the dataset mIoU
(summed intersections and unions, as eval) with our map swapped for the peer's on the k worst photos, for a
few k: if a handful of photos carry most of the gap, the gap is a few failure modes, not the edges.

    python benchmarks/worst_images.py --data ../shared/data/val [--model portrait] [--peer mediapipe-general]
        [--top 15] [--json benchmarks/results/worst_images.json]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peer_models import PeerModel  # noqa: E402

from humanseg import Segmenter  # noqa: E402
from humanseg.evaluation.evaluate import read_label, source_of  # noqa: E402
from humanseg.evaluation.metrics import ScoresBySource  # noqa: E402
from humanseg.io.folders import find_pairs  # noqa: E402
from humanseg.io.images import read_image  # noqa: E402


def errors(mask: np.ndarray, label: np.ndarray) -> dict:
    """Person IoU and the shares of the photo called person wrongly / missed."""
    union = (mask | label).sum()
    return {"iou": float((mask & label).sum() / union) if union else 1.0,
            "false_person": float((mask & ~label).mean()), "missed": float((~mask & label).mean())}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--model", default="portrait")
    p.add_argument("--peer", default="mediapipe-general")
    p.add_argument("--top", type=int, default=15)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", type=Path, default=None)
    a = p.parse_args()
    ours, peer = Segmenter(a.model, threads=a.threads, canvas_pixels="still"), PeerModel(a.peer, a.threads)
    pairs = find_pairs(a.data)
    rows, masks = [], []
    for pair in pairs:
        image = read_image(pair.image)
        label = read_label(pair.mask, image.shape[:2])
        mine, theirs = ours.segment(image) >= 0.5, peer.segment(image) >= 0.5
        masks.append((mine, theirs, label, source_of(pair)))
        rows.append({"image": pair.image.name, "source": source_of(pair), "ours": errors(mine, label),
                     "peer": errors(theirs, label)})
    order = sorted(range(len(rows)), key=lambda i: rows[i]["ours"]["iou"] - rows[i]["peer"]["iou"])
    gaps = np.array([rows[i]["ours"]["iou"] - rows[i]["peer"]["iou"] for i in range(len(rows))])
    print(f"{a.model} vs {a.peer} on {len(rows)} photos of {a.data}: per-photo person IoU gap mean {gaps.mean():+.4f}, "
          f"median {np.median(gaps):+.4f}; ours better on {(gaps > 0).sum()}, the peer on {(gaps < 0).sum()}\n")
    print("| photo | source | IoU ours | IoU peer | false person ours / peer | missed ours / peer |")
    print("|---|---|---|---|---|---|")
    for i in order[:a.top]:
        r, o, q = rows[i], rows[i]["ours"], rows[i]["peer"]
        print(f"| {r['image']} | {r['source']} | {o['iou']:.3f} | {q['iou']:.3f} | "
              f"{o['false_person']:.3f} / {q['false_person']:.3f} | {o['missed']:.3f} / {q['missed']:.3f} |")
    swapped = []
    print("\n| our maps swapped for the peer's on the k worst photos | mIoU | " +
          " | ".join(sorted({m[3] for m in masks})) + " |")
    print("|---|---|" + "---|" * len({m[3] for m in masks}))
    for k in sorted({0, 1, 3, 5, 10, 20, len(rows)}):
        worst, scores = set(order[:k]), ScoresBySource()
        for i, (mine, theirs, label, source) in enumerate(masks):
            scores.add(theirs if i in worst else mine, label, source)
        per = {s: v["miou"] for s, v in scores.per_source().items()}
        swapped.append({"k": k, "miou": scores.all.summary()["miou"], "per_source": per})
        print(f"| {k} | {swapped[-1]['miou']:.4f} | " + " | ".join(f"{per[s]:.4f}" for s in sorted(per)) + " |")
    if a.json:
        a.json.write_text(json.dumps({"model": a.model, "peer": a.peer, "photos": rows, "worst_first": order,
                                      "swapped": swapped}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

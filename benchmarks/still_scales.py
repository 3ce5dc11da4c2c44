"""Which still-image budgets to store in a model's export (`humanseg export --still-scale S[,S...]`).

Segments every validation photo once per budget scale (the model's own budget times S, mirror-averaged as
stills are), then scores every combination of 1 to --max-combo scales, the maps averaged as
`Segmenter.budgets` does, with `humanseg eval`'s metrics:

    python benchmarks/still_scales.py --model runs/x.onnx --data ../shared/data/val --scales 0.75,1,1.25,1.5,2

Picking the best combination on the set it is scored on flatters it, so a split-half check is printed too:
the best combination and the best single scale are each picked on one half of the photos (even / odd
positions) and scored on the other; "held-out gain" is what the combination adds there over the single scale.
"""
from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from humanseg.evaluation.evaluate import read_label, source_of  # noqa: E402
from humanseg.evaluation.metrics import ScoresBySource  # noqa: E402
from humanseg.io.folders import find_pairs  # noqa: E402
from humanseg.io.images import read_image  # noqa: E402
from humanseg.runtime.preprocess import to_frame  # noqa: E402
from humanseg.runtime.segmenter import Segmenter  # noqa: E402


def maps_per_scale(model: str, data: Path, scales: list[float], threads: int):
    """({scale: [float16 HxW person map per photo]}, [bool HxW label], [source])."""
    seg = Segmenter(model, threads=threads, mirror_average=True)
    if not seg.session.adaptive:
        raise SystemExit(f"{model}: a fixed-canvas model has no budget to choose")
    maps: dict[float, list[np.ndarray]] = {s: [] for s in scales}
    labels, sources = [], []
    for pair in find_pairs(data):
        image = read_image(pair.image)
        labels.append(read_label(pair.mask, image.shape[:2]))
        sources.append(source_of(pair))
        for s in scales:
            prob, box, _ = seg.canvas_probability(image, canvas_pixels=max(1, round(seg.session.budget * s)))
            maps[s].append(to_frame(prob, box, image.shape).astype(np.float16))
    return maps, labels, sources


def score(combo, maps, labels, sources, images) -> dict:
    scores = ScoresBySource()
    for i in images:
        prob = sum(maps[s][i].astype(np.float32) for s in combo) / len(combo)
        scores.add(prob >= 0.5, labels[i], sources[i])
    out = {"miou": scores.all.summary()["miou"], "boundary_f": scores.all.summary()["boundary_f"]}
    out["per_source"] = {k: v["miou"] for k, v in scores.per_source().items()}
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="portrait")
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--scales", default="0.75,1,1.25,1.5,2")
    p.add_argument("--max-combo", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", type=Path, default=None)
    a = p.parse_args()
    scales = [float(v) for v in a.scales.split(",")]
    maps, labels, sources = maps_per_scale(a.model, a.data, scales, a.threads)
    every = range(len(labels))
    combos = [c for r in range(1, a.max_combo + 1) for c in itertools.combinations(scales, r)]
    rows = [{"scales": list(c), **score(c, maps, labels, sources, every)} for c in combos]
    rows.sort(key=lambda r: -r["miou"])
    print(f"{a.model}: {len(labels)} photos, mirror-averaged at each scale")
    for r in rows:
        per = " ".join(f"{k} {v:.4f}" for k, v in r["per_source"].items())
        print(f"{','.join(f'{s:g}' for s in r['scales']):>16}  mIoU {r['miou']:.4f}  BF {r['boundary_f']:.4f}  {per}")
    halves = [range(0, len(labels), 2), range(1, len(labels), 2)]
    split = []
    for pick, held in (halves, halves[::-1]):
        on_pick = {c: score(c, maps, labels, sources, pick)["miou"] for c in combos}
        best = max(combos, key=on_pick.get)
        single = max((c for c in combos if len(c) == 1), key=on_pick.get)
        gain = score(best, maps, labels, sources, held)["miou"] - score(single, maps, labels, sources, held)["miou"]
        split.append({"picked": list(best), "single": list(single), "held_out_gain": gain})
        print(f"picked on one half: {best} (single {single}); held-out gain {gain * 100:+.2f} points")
    if a.json:
        a.json.write_text(json.dumps({"model": a.model, "photos": len(labels), "rows": rows, "split_half": split},
                                     indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Which still-image recipe to store in a model's export (`humanseg export --still-scale S[,S...] --still-prior W
--still-refine F`).

Segments every validation photo once per budget scale (the model's own budget times S, mirror-averaged as
stills are) and, for 4-channel models, once more per self-prior weight W (a second pass with W times the
first map as the previous mask, as `Segmenter` does with a stored still_prior_weight; W = 0: one pass).
Then scores every combination of 1 to --max-combo scales at each W, the maps averaged as
`Segmenter.budgets` does, and each with every colour-guided refinement radius F of --refine (a fraction of the
photo's long side, as `Segmenter` does with a stored still_refine; F = 0: none), with `humanseg eval`'s metrics:

    python benchmarks/still_scales.py --model runs/x.onnx --data ../shared/data/val --scales 1,1.25,2 --prior-weights 0,0.5 \
        --refine 0,0.01 --empty ../shared/data/backgrounds/images

Picking the best combination on the set it is scored on flatters it, so a split-half check is printed too:
the best combination and the best single scale in one pass are each picked on one half of the photos (even /
odd positions) and scored on the other; "held-out gain" is what the combination adds there over that.
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
from humanseg.io.folders import IMAGE_SUFFIXES, find_pairs  # noqa: E402
from humanseg.io.images import read_image  # noqa: E402
from humanseg.runtime.postprocess import color_guided_refine  # noqa: E402
from humanseg.runtime.preprocess import move_to_canvas, to_frame  # noqa: E402
from humanseg.runtime.segmenter import Segmenter  # noqa: E402


def recipe_maps(seg: Segmenter, image: np.ndarray, scales: list[float], weights: list[float]) -> dict:
    """{(scale, weight): float16 HxW person map} of one image."""
    out = {}
    for s in scales:
        canvas, box = seg.canvas_input(image, canvas_pixels=max(1, round(seg.session.budget * s)))
        first = seg.infer(canvas)
        clear = move_to_canvas(first, box, (canvas.shape[1], canvas.shape[0]), box)   # 0 in the padding
        for w in weights:
            prob = seg.infer(canvas, clear * np.float32(w)) if w else first
            out[s, w] = to_frame(prob, box, image.shape).astype(np.float16)
    return out


def maps_per_scale(seg: Segmenter, data: Path, scales: list[float], weights: list[float]):
    """({(scale, weight): [float16 HxW person map per photo]}, [bool HxW label], [source], [uint8 BGR photo])."""
    maps: dict[tuple[float, float], list[np.ndarray]] = {(s, w): [] for s in scales for w in weights}
    labels, sources, images = [], [], []
    for pair in find_pairs(data):
        image = read_image(pair.image)
        images.append(image)
        labels.append(read_label(pair.mask, image.shape[:2]))
        sources.append(source_of(pair))
        for key, prob in recipe_maps(seg, image, scales, weights).items():
            maps[key].append(prob)
    return maps, labels, sources, images


def recipe_map(maps_of_image, combo, refine: float, image: np.ndarray) -> np.ndarray:
    """The map a recipe gives one photo: its budgets' maps averaged, then refined (refine: 0, none)."""
    prob = sum(maps_of_image(k).astype(np.float32) for k in combo) / np.float32(len(combo))
    return color_guided_refine(image, prob, refine) if refine else prob


def person_fraction(seg: Segmenter, folder: Path, limit: int, scales: list[float], weights: list[float], recipes):
    """{(combo, refine): mean share of pixels called person} over the first `limit` images of a folder of
    people-free photos: what each recipe invents where there is nobody."""
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)[:limit]
    shares: dict = {r: [] for r in recipes}
    for f in files:
        image = read_image(f)
        maps = recipe_maps(seg, image, scales, weights)
        for combo, refine in recipes:
            shares[combo, refine].append(float((recipe_map(maps.get, combo, refine, image) >= 0.5).mean()))
    return {r: float(np.mean(v)) for r, v in shares.items()}, len(files)


def score(recipe, maps, labels, sources, images, which) -> dict:
    combo, refine = recipe
    scores = ScoresBySource()
    for i in which:
        prob = recipe_map(lambda k: maps[k][i], combo, refine, images[i])
        scores.add(prob >= 0.5, labels[i], sources[i])
    out = {"miou": scores.all.summary()["miou"], "boundary_f": scores.all.summary()["boundary_f"]}
    out["per_source"] = {k: v["miou"] for k, v in scores.per_source().items()}
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="portrait")
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--scales", default="1,1.25,2")
    p.add_argument("--prior-weights", default="0", help="self-prior weights to try, 0: one pass (4-channel models)")
    p.add_argument("--refine", default="0", help="colour-guided refinement radii to try, as fractions of the long "
                   "side, 0: none")
    p.add_argument("--max-combo", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", type=Path, default=None)
    p.add_argument("--empty", type=Path, default=None,
                   help="also a folder of photos without people (e.g. ../shared/data/backgrounds/images)")
    p.add_argument("--empty-limit", type=int, default=150)
    a = p.parse_args()
    scales = [float(v) for v in a.scales.split(",")]
    weights = sorted({0.0, *(float(v) for v in a.prior_weights.split(","))})   # one pass is the baseline
    refines = sorted({0.0, *(float(v) for v in a.refine.split(","))})          # and no refinement
    seg = Segmenter(a.model, threads=a.threads, mirror_average=True)
    if not seg.session.adaptive:
        raise SystemExit(f"{a.model}: a fixed-canvas model has no budget to choose")
    if any(weights) and seg.input_channels != 4:
        raise SystemExit(f"{a.model}: a self-prior weight needs a model with the previous mask as input")
    maps, labels, sources, images = maps_per_scale(seg, a.data, scales, weights)
    every = range(len(labels))
    combos = [tuple((s, w) for s in c) for w in weights
              for r in range(1, a.max_combo + 1) for c in itertools.combinations(scales, r)]
    recipes = [(c, f) for c in combos for f in refines]
    empty, n_empty = person_fraction(seg, a.empty, a.empty_limit, scales, weights, recipes) if a.empty else ({}, 0)
    rows = [{"scales": [s for s, _ in c], "prior_weight": c[0][1], "refine": f,
             **score((c, f), maps, labels, sources, images, every),
             **({"empty_person_share": empty[c, f]} if empty else {})} for c, f in recipes]
    rows.sort(key=lambda r: -r["miou"])
    print(f"{a.model}: {len(labels)} photos, mirror-averaged at each scale"
          + (f"; 'empty': share of pixels called person on {n_empty} people-free images of {a.empty}" if empty else ""))
    for r in rows:
        per = " ".join(f"{k} {v:.4f}" for k, v in r["per_source"].items())
        print(f"{','.join(f'{s:g}' for s in r['scales']):>16}  prior {r['prior_weight']:g}  refine {r['refine']:g}  "
              f"mIoU {r['miou']:.4f}  "
              f"BF {r['boundary_f']:.4f}  {per}" + (f"  empty {r['empty_person_share']:.4f}" if empty else ""))
    halves = [range(0, len(labels), 2), range(1, len(labels), 2)]
    split = []
    for pick, held in (halves, halves[::-1]):
        on_pick = {r: score(r, maps, labels, sources, images, pick)["miou"] for r in recipes}
        best = max(recipes, key=on_pick.get)
        single = max((r for r in recipes if len(r[0]) == 1 and not r[0][0][1] and not r[1]), key=on_pick.get)
        gain = (score(best, maps, labels, sources, images, held)["miou"]
                - score(single, maps, labels, sources, images, held)["miou"])
        split.append({"picked": {"budgets": list(best[0]), "refine": best[1]},
                      "single": {"budgets": list(single[0]), "refine": 0.0}, "held_out_gain": gain})
        print(f"picked on one half: {best} (single {single}); held-out gain {gain * 100:+.2f} points")
    if a.json:
        a.json.write_text(json.dumps({"model": a.model, "photos": len(labels), "rows": rows, "split_half": split,
                                      "empty_folder": str(a.empty) if a.empty else None, "empty_images": n_empty},
                                     indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

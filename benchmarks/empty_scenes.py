"""False positives on people-free photos: the share of pixels each model calls person (>= 0.5).

A scene with nobody in it should come out all background; what a model calls person there shows up as
a floating cut-out in a virtual background. Ours run with the photo recipe (`Segmenter(canvas_pixels=
"still")`, as `humanseg image`), the peers in ../shared/peers through their own pre-processing.

    python benchmarks/empty_scenes.py --data ../shared/data/backgrounds --model portrait --held-out 0.5

--held-out S scores only the backgrounds that `humanseg train --hold-out-backgrounds S` keeps out of
training (chosen by file name), so a model trained with that option is measured on scenes it never saw.
Models trained without it saw every background behind pasted people, which favours them.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peer_models import PeerModel, available_peers  # noqa: E402

from humanseg import Segmenter  # noqa: E402
from humanseg.io.folders import find_images  # noqa: E402
from humanseg.io.images import read_image  # noqa: E402
from humanseg.training.data.sources import held_out_background  # noqa: E402


def person_shares(segment, files: list[Path]) -> list[float]:
    """Per file, the share of its pixels called person."""
    return [float((segment(read_image(f)) >= 0.5).mean()) for f in files]


def summary(shares: list[float], files: list[Path], worst: int = 3) -> dict:
    order = np.argsort(shares)[::-1][:worst]
    return {"person_pixels_pct": round(100 * float(np.mean(shares)), 2),
            "photos_over_5pct": int(sum(s > 0.05 for s in shares)),
            "worst": [[files[i].name, round(100 * shares[i], 1)] for i in order]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True, help="a folder of people-free photos")
    ap.add_argument("--model", action="append", default=[], help="ours: a registry name or .onnx (repeatable)")
    ap.add_argument("--held-out", type=float, default=0.0, metavar="S",
                    help="score only the photos a --hold-out-backgrounds S training run left out (0: all)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    files = find_images(a.data)
    if a.held_out:
        files = [f for f in files if held_out_background(f, a.held_out)]
    if not files:
        sys.exit(f"empty_scenes: error: no photos in {a.data}" + (" held out at that share" if a.held_out else ""))
    models = {m: Segmenter(m, threads=a.threads, canvas_pixels="still").segment for m in a.model or ["portrait"]}
    if not a.no_peers:
        models.update({name: PeerModel(name, a.threads).segment for name in available_peers()})
    results = {"photos": len(files), "held_out_share": a.held_out, "models": {}}
    print(f"{len(files)} people-free photos from {a.data}" + (f" (held out at {a.held_out:g})" if a.held_out else ""))
    print("| model | pixels called person | photos over 5 % | worst photos (% person) |\n|---|---|---|---|")
    for name, segment in models.items():
        row = summary(person_shares(segment, files), files)
        results["models"][name] = row
        worst = ", ".join(f"{n} {p:g}" for n, p in row["worst"])
        print(f"| {name} | {row['person_pixels_pct']:.2f} % | {row['photos_over_5pct']} | {worst} |", flush=True)
    if a.json:
        a.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()

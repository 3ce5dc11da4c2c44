"""Ours vs the peer models on the same validation images, in one run.

Accuracy: each model segments every validation image at full resolution: ours through
`Segmenter.segment` exactly as `humanseg image` and `humanseg eval` run it (adaptive models on their
aspect-adaptive canvas at the still-image budget, runtime/budget.py; --canvas-pixels overrides it;
averaged with the mirror image's output, Segmenter's mirror_average, unless --mirror-average says otherwise),
the peers through their own pre-processing. Masks are thresholded at 0.5 and scored with humanseg's
metrics (mIoU from summed intersections/unions, foreground IoU, boundary F, semantic connectivity),
overall and per source. Speed: whole-frame latency on a 1280x720 frame (frame -> mask, our models at
the video budget, as the video and webcam commands run them), models interleaved round-robin so
machine noise hits all alike; median of --rounds. Photo time: the first validation image at its own size
through each model's accuracy path (ours: still budget(s) and mirror averaging as above), median of
max(20, rounds / 4) interleaved rounds. --peer-refine F adds each peer once more with its map refined by the
colour-guided filter our still recipe uses (runtime/postprocess.color_guided_refine, radius F x the long
side), so the recipe's gain can be told apart from the network's.

    python benchmarks/compare_models.py --data ../shared/data/val [--model portrait] [--model new.onnx ...]
        [--canvas-pixels N] [--threads 2] [--reuse-buffers] [--peer-refine 0.01]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peer_models import PeerModel, available_peers  # noqa: E402

from humanseg import Segmenter  # noqa: E402
from humanseg.evaluation.evaluate import read_label, source_of  # noqa: E402
from humanseg.evaluation.metrics import ScoresBySource  # noqa: E402
from humanseg.io.folders import find_pairs  # noqa: E402
from humanseg.io.images import read_image  # noqa: E402
from humanseg.runtime.postprocess import color_guided_refine  # noqa: E402

REF = "mediapipe-landscape"


class RefinedPeer:
    """A peer whose full-size map is refined as our still recipe refines ours."""

    def __init__(self, peer: PeerModel, fraction: float):
        self.peer, self.fraction, self.spec = peer, fraction, peer.spec

    def segment(self, frame: np.ndarray) -> np.ndarray:
        return color_guided_refine(frame, self.peer.segment(frame), self.fraction)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--model", action="append", default=None,
                    help="shipped name or .onnx path; repeat to compare several (default: portrait)")
    ap.add_argument("--canvas-pixels", type=int, default=None,
                    help="canvas budget of adaptive models for the accuracy run (default: the still-image budget)")
    ap.add_argument("--mirror-average", choices=("auto", "on", "off", "both"), default="auto",
                    help="Segmenter's mirror averaging for the accuracy run (auto: on at the still budget, as "
                         "`humanseg image`); both: each model twice, with and without (the 720p frame time is "
                         "always the video path's, without)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    ap.add_argument("--reuse-buffers", action=argparse.BooleanOptionalAction, default=False,
                    help="Segmenter(reuse_buffers=...): glibc buffer reuse, as the humanseg command's loops use it "
                         "(default: off, Segmenter()'s default; it applies to the whole process, so to the peers too)")
    ap.add_argument("--peer-refine", type=float, default=0.0, metavar="F",
                    help="also score each peer with its map refined by our colour-guided filter of radius F x the "
                         "long side (0: not)")
    a = ap.parse_args()

    choices = {"auto": [None], "on": [True], "off": [False], "both": [True, False]}[a.mirror_average]
    models = {f"humanseg {m}" + ("" if mirror is None else " mirror-averaged" if mirror else " single pass"):
              Segmenter(m, threads=a.threads, reuse_buffers=a.reuse_buffers, canvas_pixels=a.canvas_pixels or "still",
                        mirror_average=mirror) for m in (a.model or ["portrait"]) for mirror in choices}
    models.update({name: PeerModel(name, a.threads) for name in available_peers()})
    if a.peer_refine:
        models.update({f"{name} + refine {a.peer_refine:g}": RefinedPeer(models[name], a.peer_refine)
                       for name in available_peers()})
    pairs = find_pairs(a.data)
    sources = sorted({source_of(p) for p in pairs})
    scores = {m: ScoresBySource() for m in models}
    for pair in pairs:
        image = read_image(pair.image)
        label = read_label(pair.mask, image.shape[:2])
        for name, model in models.items():
            scores[name].add(model.segment(image) >= 0.5, label, source_of(pair))

    frame = cv2.resize(read_image(pairs[0].image), (1280, 720))
    live = {name: (lambda m=model: m.segment(frame, canvas_pixels="video", mirror_average=False))
            if isinstance(model, Segmenter)
            else (lambda m=model: m.segment(frame)) for name, model in models.items()}
    photo = read_image(pairs[0].image)
    still = {name: (lambda m=model: m.segment(photo)) for name, model in models.items()}
    times, photo_times = {m: [] for m in models}, {m: [] for m in models}
    for _ in range(10):
        for run in live.values():
            run()
    for rounds, runs, record in ((a.rounds, live, times), (max(20, a.rounds // 4), still, photo_times)):
        for _ in range(rounds):
            for name, run in runs.items():
                t0 = time.perf_counter()
                run()
                record[name].append(time.perf_counter() - t0)

    ref = REF if REF in models else None
    results = {}
    print(f"{len(pairs)} validation images; sources: {', '.join(sources)}; ONNX Runtime CPU, {a.threads} threads; "
          f"Segmenter(reuse_buffers={a.reuse_buffers})\n")
    header = ("| model | canvas (still, 720p frame) | mIoU | person IoU | boundary F | SC | "
              + " | ".join(f"mIoU {s} | BF {s}" for s in sources)
              + " | 720p frame ms (median) | vs MediaPipe landscape | photo ms (median) |")
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for name, model in models.items():
        s = scores[name].all.summary()
        per = scores[name].per_source()
        ms = float(np.median(times[name])) * 1e3
        ratio = ms / (float(np.median(times[ref])) * 1e3) if ref else float("nan")
        photo_ms = float(np.median(photo_times[name])) * 1e3
        if isinstance(model, Segmenter):
            budget = "+".join(str(b) for b in model.budgets()) if model.budget() else None
            live = "%dx%d" % model.canvas_size(1280, 720, "video")
            canvas = ((f"{budget} px adaptive" if budget else "fixed") + (" mirror-averaged" if model.mirror_average
                                                                          else "") + f", {live}")
        else:
            canvas = "stretch to %dx%d" % model.spec.size + (f", colour-guided refine {model.fraction:g}"
                                                             if isinstance(model, RefinedPeer) else "")
        results[name] = {**{k: round(v, 4) for k, v in s.items()}, "canvas": canvas,
                         "per_source": {src: {k: round(v, 4) for k, v in per[src].items()} for src in sources},
                         "per_source_miou": {src: round(per[src]["miou"], 4) for src in sources},
                         "ms_720p": round(ms, 2), "ratio_to_mediapipe_landscape": round(ratio, 2),
                         "ms_photo": round(photo_ms, 2)}
        print(f"| {name} | {canvas} | {s['miou']:.4f} | {s['fg_iou']:.4f} | {s['boundary_f']:.4f} | {s['sc']:.4f} | "
              + " | ".join(f"{per[src]['miou']:.4f} | {per[src]['boundary_f']:.4f}" for src in sources)
              + f" | {ms:.2f} | {ratio:.2f}x | {photo_ms:.2f} |")
    if a.json:
        a.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

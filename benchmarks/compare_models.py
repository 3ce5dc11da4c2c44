"""Ours vs the peer models on the same validation images, in one run.

Accuracy: each model segments every validation image at full resolution through its own
pre-processing; masks are thresholded at 0.5 and scored with humanseg's metrics (mIoU from
summed intersections/unions, foreground IoU, boundary F, semantic connectivity), overall and per
source. Speed: whole-frame latency on a 1280x720 frame (resize in, model, mask back to 720p),
models interleaved round-robin so machine noise hits all alike; median of --rounds.

    python benchmarks/compare_models.py --data ../shared/data/val [--model portrait] [--threads 2] [--no-reuse-buffers]
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
from humanseg.evaluation.evaluate import read_label  # noqa: E402
from humanseg.evaluation.metrics import SegmentationScores  # noqa: E402
from humanseg.io.folders import find_pairs  # noqa: E402
from humanseg.io.images import read_image  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--model", default="portrait")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    ap.add_argument("--reuse-buffers", action=argparse.BooleanOptionalAction, default=True,
                    help="Segmenter(reuse_buffers=...): glibc buffer reuse, as the humanseg command's loops use it "
                         "(default: on; it applies to the whole process, so to the peers too)")
    a = ap.parse_args()

    models = {"humanseg " + str(a.model): Segmenter(a.model, threads=a.threads, reuse_buffers=a.reuse_buffers)}
    models.update({name: PeerModel(name, a.threads) for name in available_peers()})
    pairs = find_pairs(a.data)
    sources = sorted({p.image.parent.parent.name for p in pairs})
    scores = {m: {s: SegmentationScores() for s in ["all"] + sources} for m in models}
    for pair in pairs:
        image = read_image(pair.image)
        label = read_label(pair.mask, image.shape[:2])
        source = pair.image.parent.parent.name
        for name, model in models.items():
            pred = model.segment(image) >= 0.5
            row = scores[name]["all"].add(pred, label)
            scores[name][source].add(pred, label, detailed=False)

    frame = cv2.resize(read_image(pairs[0].image), (1280, 720))
    times = {m: [] for m in models}
    for _ in range(10):
        for model in models.values():
            model.segment(frame)
    for _ in range(a.rounds):
        for name, model in models.items():
            t0 = time.perf_counter()
            model.segment(frame)
            times[name].append(time.perf_counter() - t0)

    ref = "mediapipe-landscape" if "mediapipe-landscape" in models else None
    results = {}
    print(f"{len(pairs)} validation images; sources: {', '.join(sources)}; ONNX Runtime CPU, {a.threads} threads; "
          f"Segmenter(reuse_buffers={a.reuse_buffers})\n")
    header = "| model | mIoU | person IoU | boundary F | SC | " + " | ".join(f"mIoU {s}" for s in sources) + \
             " | 720p frame ms (median) | vs MediaPipe landscape |"
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for name in models:
        s = scores[name]["all"].summary()
        ms = float(np.median(times[name])) * 1e3
        ratio = ms / (float(np.median(times[ref])) * 1e3) if ref else float("nan")
        per = [scores[name][src].summary()["miou"] for src in sources]
        results[name] = {**{k: round(v, 4) for k, v in s.items()}, "per_source_miou": dict(zip(sources, per)),
                         "ms_720p": round(ms, 2), "ratio_to_mediapipe_landscape": round(ratio, 2)}
        print(f"| {name} | {s['miou']:.4f} | {s['fg_iou']:.4f} | {s['boundary_f']:.4f} | {s['sc']:.4f} | "
              + " | ".join(f"{v:.4f}" for v in per) + f" | {ms:.2f} | {ratio:.2f}x |")
    if a.json:
        a.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

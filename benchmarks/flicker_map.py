"""Where a model's masks flicker: a per-pixel map of pipeline.py's flicker measure on one clip, ours beside
MediaPipe landscape's, and how much of the flicker lies near the person's edge or away from it.

The flicker of a pixel is its mean frame-to-frame mask change over the frames where its image did not change
(`pipeline.static_pixels`). Near the edge means within --band px of either frame's 0.5 contour: change there
is the edge moving or going soft; change away from it is the model wavering on whole regions (background
objects taken for a person now and then, parts of the person lost), an accuracy problem more than a temporal one.

    python benchmarks/flicker_map.py --clip examples/astronaut.mp4 [--model portrait] [--temporal auto]
        [--frames 100] [--band 8] [--out flicker_map.png]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peer_models import PeerModel, available_peers  # noqa: E402
from pipeline import MP, decode, static_pixels  # noqa: E402

from humanseg import Segmenter  # noqa: E402
from humanseg.io.images import atomic_write_bytes  # noqa: E402


def edge_band(mask: np.ndarray, radius: int) -> np.ndarray:
    """Bool HxW: within `radius` px of the mask's 0.5 contour."""
    person = (mask >= 0.5).astype(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return cv2.dilate(person, kernel) != cv2.erode(person, kernel)


def flicker_map(masks: list[np.ndarray], frames: list[np.ndarray], radius: int) -> tuple[np.ndarray, float, float]:
    """(HxW mean mask change per pixel over its static frames, the clip's flicker as pipeline.flicker, the
    share of the summed change on static pixels that lies within `radius` px of either frame's contour)."""
    total, count, per_frame = np.zeros(masks[0].shape), np.zeros(masks[0].shape), []
    near = away = 0.0
    for i in range(1, len(frames)):
        static = static_pixels(frames[i - 1], frames[i])
        change = np.abs(masks[i] - masks[i - 1]) * static
        total += change
        count += static
        if static.any():
            per_frame.append(float(change[static].mean()))
        band = edge_band(masks[i], radius) | edge_band(masks[i - 1], radius)
        near, away = near + float(change[band].sum()), away + float(change[~band].sum())
    return total / np.maximum(count, 1), float(np.mean(per_frame)), near / max(near + away, 1e-12)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clip", type=Path, required=True)
    ap.add_argument("--model", default="portrait")
    ap.add_argument("--temporal", default="auto", help="our stream's temporal mode (default: auto, as `video`)")
    ap.add_argument("--frames", type=int, default=100)
    ap.add_argument("--band", type=int, default=8, help="'near the edge': within this many px of the 0.5 contour")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=None, help="PNG: middle frame | our map | MediaPipe's | our mask")
    a = ap.parse_args()

    frames = decode(a.clip, a.frames)
    stream = Segmenter(a.model, threads=a.threads).stream(a.temporal)
    runs = {f"humanseg {a.model} ({a.temporal})": [stream.segment(f) for f in frames]}
    if MP in available_peers():
        peer = PeerModel(MP, a.threads)
        runs[f"{MP} (raw)"] = [peer.segment(f) for f in frames]
    print(f"{a.clip} ({len(frames)} frames); near the edge: within {a.band} px of either frame's 0.5 contour\n")
    print("| model | flicker | share of it near the edge | share away from the edge |")
    print("|---|---|---|---|")
    heats = []
    for name, masks in runs.items():
        heat, value, near = flicker_map(masks, frames, a.band)
        print(f"| {name} | {value:.5f} | {near:.2f} | {1 - near:.2f} |")
        heats.append(heat)
    if a.out:
        top = max(h.max() for h in heats) or 1.0
        panels = [frames[len(frames) // 2]]
        panels += [cv2.applyColorMap(np.clip(h / top * 255, 0, 255).astype(np.uint8), cv2.COLORMAP_JET) for h in heats]
        mask = next(iter(runs.values()))[len(frames) // 2]
        panels.append(cv2.cvtColor((mask * 255).astype(np.uint8), cv2.COLOR_GRAY2BGR))
        ok, png = cv2.imencode(".png", np.hstack(panels))
        atomic_write_bytes(a.out, png.tobytes())
        print(f"\nwrote {a.out} (colour scale shared, red = {top:.3f} mean change)")


if __name__ == "__main__":
    main()

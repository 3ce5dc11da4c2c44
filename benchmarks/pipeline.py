"""Whole-frame pipeline speed, ours vs MediaPipe's landscape model, and temporal flicker.

1. Segment only and segment + blur composite, at 1280x720 and 1920x1080, ours and MediaPipe
   landscape (through the same resize-back and the same Blur effect), interleaved round-robin;
   medians and the ratio ours / MediaPipe.
   Then our 720p segment + blur loop alone in the process.
2. A whole video file end to end (decode + segment + blur + H.264 encode) in frames per second,
   on a 720p clip made from examples/astronaut.jpg.
3. Flicker per temporal mode: mean frame-to-frame change of the mask over pixels whose image did
   not change (|gray difference| < 6), on a still shot with sensor noise and on the example clip.

    python benchmarks/pipeline.py [--threads 2] [--rounds 200] [--no-reuse-buffers]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peer_models import PeerModel, available_peers  # noqa: E402

from humanseg import Blur, Segmenter, convert_video  # noqa: E402
from humanseg.effects.backgrounds import cover_fit  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def median_ms(samples: list[float]) -> float:
    return float(np.median(samples)) * 1e3


def frame_speed(models: dict, rounds: int) -> None:
    photo = cv2.imread(str(REPO / "examples" / "astronaut.jpg"))
    blur = Blur()
    print("| frame | model | segment ms | segment + blur ms | frames/s (segment + blur) |")
    print("|---|---|---|---|---|")
    for w, h in ((1280, 720), (1920, 1080)):
        frame = cover_fit(photo, w, h)
        seg = {m: [] for m in models}
        full = {m: [] for m in models}
        for i in range(rounds + 10):
            for name, model in models.items():
                t0 = time.perf_counter()
                mask = model.segment(frame)
                t1 = time.perf_counter()
                blur(frame, mask)
                t2 = time.perf_counter()
                if i >= 10:
                    seg[name].append(t1 - t0)
                    full[name].append(t2 - t0)
        for name in models:
            print(f"| {w}x{h} | {name} | {median_ms(seg[name]):.2f} | {median_ms(full[name]):.2f} | "
                  f"{1000 / median_ms(full[name]):.0f} |")
        if len(models) == 2:
            ours, peer = list(models)
            print(f"| {w}x{h} | ratio {ours} / {peer} | {median_ms(seg[ours]) / median_ms(seg[peer]):.2f} | "
                  f"{median_ms(full[ours]) / median_ms(full[peer]):.2f} | |")


def alone_speed(segmenter: Segmenter, rounds: int) -> None:
    """Our 720p segment + blur loop with no other model in the process (ONNX Runtime's spinning
    worker threads of an interleaved peer slow down everything that runs after them)."""
    frame = cover_fit(cv2.imread(str(REPO / "examples" / "astronaut.jpg")), 1280, 720)
    blur = Blur()
    times = []
    for i in range(rounds + 20):
        t0 = time.perf_counter()
        blur(frame, segmenter.segment(frame))
        if i >= 20:
            times.append(time.perf_counter() - t0)
    print(f"\nours alone, 1280x720 segment + blur: {median_ms(times):.2f} ms median, "
          f"{1000 / median_ms(times):.0f} frames/s ({rounds} frames)")


def make_clip(path: Path, frames: int, size: tuple[int, int], still: bool, fps: int = 30) -> None:
    photo = cv2.imread(str(REPO / "examples" / "astronaut.jpg"))
    rng = np.random.default_rng(0)
    w, h = size
    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264", rate=fps, options={"crf": "12", "preset": "veryfast"})
        v.width, v.height, v.pix_fmt = w, h, "yuv420p"
        for i in range(frames):
            if still:
                img = cover_fit(photo, w, h).astype(np.int16) + rng.normal(0, 2.0, (h, w, 3)).astype(np.int16)
                img = np.clip(img, 0, 255).astype(np.uint8)
            else:
                zoom = 1.0 + 0.15 * np.sin(2 * np.pi * i / frames)
                big = cover_fit(photo, int(w * zoom), int(h * zoom))
                y0, x0 = (big.shape[0] - h) // 2, (big.shape[1] - w) // 2
                img = big[y0:y0 + h, x0:x0 + w]
            for p in v.encode(av.VideoFrame.from_ndarray(img, format="bgr24")):
                out.mux(p)
        for p in v.encode():
            out.mux(p)


def video_speed(segmenter: Segmenter, tmp: Path) -> None:
    clip = tmp / "clip720.mp4"
    make_clip(clip, 150, (1280, 720), still=False)
    print("\n| video (150 frames, 1280x720, H.264 in and out) | temporal | wall s | frames/s |")
    print("|---|---|---|---|")
    for temporal in ("flow", "none"):
        t0 = time.perf_counter()
        result = convert_video(clip, tmp / f"out_{temporal}.mp4", Blur(), segmenter, temporal=temporal, progress=False)
        wall = time.perf_counter() - t0
        print(f"| decode + segment + blur + encode | {temporal} | {wall:.2f} | {result['frames'] / wall:.1f} |")


def decode(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="bgr24") for f in c.decode(video=0)]


def flicker(segmenter: Segmenter, frames: list[np.ndarray], mode: str) -> tuple[float, float]:
    stream = segmenter.stream(mode)
    masks, t = [], []
    for f in frames:
        t0 = time.perf_counter()
        masks.append(stream.segment(f))
        t.append(time.perf_counter() - t0)
    changes = []
    for i in range(1, len(frames)):
        g0 = cv2.cvtColor(frames[i - 1], cv2.COLOR_BGR2GRAY).astype(np.int16)
        g1 = cv2.cvtColor(frames[i], cv2.COLOR_BGR2GRAY).astype(np.int16)
        static = np.abs(cv2.blur(g1, (5, 5)) - cv2.blur(g0, (5, 5))) < 6
        if static.any():
            changes.append(float(np.abs(masks[i] - masks[i - 1])[static].mean()))
    return float(np.mean(changes)), median_ms(t)


def temporal_figures(segmenter: Segmenter, tmp: Path) -> None:
    still = tmp / "still.mp4"
    make_clip(still, 60, (640, 360), still=True)
    clips = {"still shot + sensor noise (60 frames, 640x360)": decode(still),
             "examples/astronaut.mp4 (pan/zoom, 100 frames)": decode(REPO / "examples" / "astronaut.mp4")}
    print("\n| clip | temporal mode | flicker (mean mask change on unchanged pixels) | segment ms/frame |")
    print("|---|---|---|---|")
    for label, frames in clips.items():
        for mode in ("none", "ema", "flow"):
            value, ms = flicker(segmenter, frames, mode)
            print(f"| {label} | {mode} | {value:.5f} | {ms:.2f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="portrait")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--reuse-buffers", action=argparse.BooleanOptionalAction, default=True,
                    help="Segmenter(reuse_buffers=...): glibc buffer reuse, as the humanseg command's loops use it "
                         "(default: on; off is what a library user gets from Segmenter())")
    a = ap.parse_args()
    ours = Segmenter(a.model, threads=a.threads, reuse_buffers=a.reuse_buffers)
    print(f"Segmenter(reuse_buffers={a.reuse_buffers}), {a.threads} threads")
    models = {"humanseg " + a.model: ours}
    if "mediapipe-landscape" in available_peers():
        models["mediapipe-landscape"] = PeerModel("mediapipe-landscape", a.threads)
    frame_speed(models, a.rounds)
    del models
    alone_speed(ours, 3 * a.rounds)
    with tempfile.TemporaryDirectory() as tmp:
        video_speed(ours, Path(tmp))
        temporal_figures(ours, Path(tmp))


if __name__ == "__main__":
    main()

"""VP9 encoding speed, size and quality for the transparent (.webm, yuva420p) output: libvpx's
defaults against the realtime options process_video uses, on synthetic 720p BGRA frames.

    python benchmarks/vp9_encoding.py [--frames 60] [--size 1280x720] [--crf 30]

Each configuration encodes the same frames once (wall time of encode + mux, single process) and is
decoded again with libvpx (which keeps alpha) for PSNR of the colour and alpha planes.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import av
import cv2
import numpy as np

from humanseg.io.video import vp9_options


def frames(n: int, w: int, h: int) -> list[np.ndarray]:
    """A 'person' (two soft ellipses, alpha = person) walking over a textured background that pans
    3 px a frame (coarse + fine texture, light noise): motion and detail for the encoder to work on."""
    rng = np.random.default_rng(0)
    pad = 3 * n
    coarse = cv2.resize(rng.integers(0, 255, (18, 32 + pad // 40 + 1, 3), dtype=np.uint8), (w + pad, h),
                        interpolation=cv2.INTER_CUBIC).astype(np.int16)
    fine = cv2.resize(rng.integers(-40, 40, (h // 4, (w + pad) // 4, 1), dtype=np.int16).astype(np.float32),
                      (w + pad, h), interpolation=cv2.INTER_LINEAR)[..., None].astype(np.int16)
    scene = np.clip(coarse + fine, 0, 255)
    out = []
    for i in range(n):
        img = np.clip(scene[:, 3 * i:3 * i + w] + rng.normal(0, 2, (h, w, 3)), 0, 255).astype(np.uint8)
        alpha = np.zeros((h, w), np.uint8)
        cx = int(w * (0.3 + 0.4 * i / max(1, n - 1)))
        cv2.ellipse(alpha, (cx, int(h * 0.3)), (w // 16, h // 8), 0, 0, 360, 255, -1)
        cv2.ellipse(alpha, (cx, int(h * 0.85)), (w // 7, h // 3), 0, 0, 360, 255, -1)
        alpha = cv2.GaussianBlur(alpha, (0, 0), 2)
        img[alpha > 0] = (60, 90, 200)
        out.append(np.dstack([img, alpha]))
    return out


def encode(images: list[np.ndarray], path: Path, options: dict[str, str]) -> float:
    h, w = images[0].shape[:2]
    start = time.perf_counter()
    with av.open(str(path), "w", format="webm") as c:
        s = c.add_stream("libvpx-vp9", rate=30, options=options)
        s.width, s.height, s.pix_fmt = w, h, "yuva420p"
        for i, image in enumerate(images):
            frame = av.VideoFrame.from_ndarray(image, format="bgra")
            frame.pts = i
            for p in s.encode(frame):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return time.perf_counter() - start


def psnr(images: list[np.ndarray], path: Path) -> tuple[float, float]:
    decoder = av.CodecContext.create("libvpx-vp9", "r")
    with av.open(str(path)) as c:
        decoded = [f.to_ndarray(format="bgra") for p in c.demux(video=0) for f in decoder.decode(p)]
    assert len(decoded) == len(images), (len(decoded), len(images))
    a, b = np.stack(images).astype(np.float64), np.stack(decoded).astype(np.float64)
    db = [10 * np.log10(255 ** 2 / max(1e-9, np.mean((a[..., sl] - b[..., sl]) ** 2))) for sl in (slice(0, 3), 3)]
    return db[0], db[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--crf", type=int, default=18, help="process_video's crf (x264 scale; VP9 gets +12)")
    a = ap.parse_args()
    w, h = map(int, a.size.split("x"))
    images = frames(a.frames, w, h)
    tuned = vp9_options(True, a.crf)
    configs = {
        "libvpx defaults (before)": {"auto-alt-ref": "0"},
        "realtime, cpu-used 5": {**tuned, "cpu-used": "5"},
        "realtime, cpu-used 6 (process_video)": tuned,
        "realtime, cpu-used 8": {**tuned, "cpu-used": "8"},
    }
    print(f"{a.frames} frames {w}x{h} BGRA -> VP9 yuva420p WebM (PyAV {av.__version__}, "
          f"FFmpeg {getattr(av, 'ffmpeg_version_info', '?')})")
    print("| options | encode s | frames/s | speed-up | size KiB | PSNR colour dB | PSNR alpha dB |")
    print("|---|---|---|---|---|---|---|")
    first = None
    with tempfile.TemporaryDirectory() as tmp:
        for name, options in configs.items():
            path = Path(tmp) / "out.webm"
            seconds = encode(images, path, options)
            first = first or seconds
            colour, alpha = psnr(images, path)
            shown = ", ".join(f"{k}={v}" for k, v in options.items())
            print(f"| {name}: {shown} | {seconds:.1f} | {a.frames / seconds:.1f} | {first / seconds:.1f}x | "
                  f"{path.stat().st_size / 1024:.0f} | {colour:.1f} | {alpha:.1f} |", flush=True)


if __name__ == "__main__":
    main()

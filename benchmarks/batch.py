"""`humanseg batch` throughput: images/s and video frames/s for the local engine with 1 and 2 worker
processes and for Ray (a local Ray on this machine) with 1 and 2 actors, and Ray's overhead against local
at the same number of workers.

Inputs are made in a temporary folder from examples/astronaut.jpg: --images photos of --image-size, and
--videos clips of --frames frames at --video-size (the photo drifting across the frame, H.264). Every
worker runs one ONNX Runtime thread (--threads 1), so 1 and 2 workers compare processes, not threads.
Each figure is a whole `run_batch` call, wall clock, as a user sees it: starting the workers (processes
or actors) and loading the model included, the Ray instance's own start-up not (it is timed apart).
Default blur effect, portrait model, fresh output folder each run.

    python benchmarks/batch.py [--images 200] [--frames 300] [--videos 2] [--workers 1,2] [--no-ray]
        [--out benchmarks/results/batch.md]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from humanseg.batch import BatchSettings, make_engine, run_batch  # noqa: E402


def size(text: str) -> tuple[int, int]:
    w, h = text.lower().split("x")
    return int(w), int(h)


def make_images(folder: Path, n: int, wh: tuple[int, int]) -> None:
    folder.mkdir(parents=True)
    photo = cv2.resize(cv2.imread(str(REPO / "examples" / "astronaut.jpg")), wh)
    rng = np.random.default_rng(0)
    for i in range(n):   # distinct files: a little noise each
        noisy = np.clip(photo.astype(np.int16) + rng.integers(-4, 5, photo.shape), 0, 255).astype(np.uint8)
        cv2.imwrite(str(folder / f"photo{i:04d}.jpg"), noisy)


def make_videos(folder: Path, n: int, frames: int, wh: tuple[int, int]) -> None:
    import av

    folder.mkdir(parents=True)
    w, h = wh
    photo = cv2.resize(cv2.imread(str(REPO / "examples" / "astronaut.jpg")), (w + w // 4, h))
    for v in range(n):
        with av.open(str(folder / f"clip{v}.mp4"), "w") as out:
            stream = out.add_stream("libx264", rate=25)
            stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
            for i in range(frames):
                x = int((w // 4) * (0.5 + 0.5 * np.sin(i / 20 + v)))
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(photo[:, x:x + w]), format="bgr24")
                frame.pts = i
                for packet in stream.encode(frame):
                    out.mux(packet)
            for packet in stream.encode():
                out.mux(packet)


def timed_run(src: Path, out: Path, engine) -> tuple[float, dict]:
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    summary = run_batch(src, out, BatchSettings(threads=1), engine, progress=False)
    seconds = time.perf_counter() - start
    if summary["failed"] or not summary["done"]:
        raise SystemExit(f"benchmark run failed: {summary}")
    return seconds, summary


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--images", type=int, default=200)
    p.add_argument("--image-size", type=size, default=(1280, 720))
    p.add_argument("--videos", type=int, default=2)
    p.add_argument("--frames", type=int, default=300, help="frames per video")
    p.add_argument("--video-size", type=size, default=(1280, 720))
    p.add_argument("--workers", default="1,2", help="worker processes / actors to try, comma-separated")
    p.add_argument("--no-ray", action="store_true", help="local engine only")
    p.add_argument("--out", type=Path, default=None, help="also write the table (markdown) here")
    a = p.parse_args()
    counts = [int(x) for x in a.workers.split(",")]

    tmp = Path(tempfile.mkdtemp(prefix="humanseg-batch-bench-"))
    try:
        make_images(tmp / "images", a.images, a.image_size)
        make_videos(tmp / "videos", a.videos, a.frames, a.video_size)
        rows, ray_start = [], None
        engines = [("local", n) for n in counts] + ([] if a.no_ray else [("ray", n) for n in counts])
        for name, n in engines:
            if name == "ray" and ray_start is None:
                import ray

                os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")   # as the engine does: notes stay in Ray's logs
                t = time.perf_counter()
                ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False,
                         logging_level="ERROR")
                ray_start = time.perf_counter() - t
            engine = make_engine(name, workers=n)
            img_s, _ = timed_run(tmp / "images", tmp / "out", engine)
            vid_s, summary = timed_run(tmp / "videos", tmp / "out", engine)
            rows.append({"engine": name, "workers": n, "images_per_s": a.images / img_s,
                         "frames_per_s": summary["frames"] / vid_s, "image_run_s": img_s, "video_run_s": vid_s})
            print(json.dumps(rows[-1]), flush=True)
        local = {r["workers"]: r for r in rows if r["engine"] == "local"}
        for r in rows:
            if r["engine"] == "ray" and r["workers"] in local:
                base = local[r["workers"]]
                r["ray_overhead_images"] = base["images_per_s"] / r["images_per_s"] - 1
                r["ray_overhead_video"] = base["frames_per_s"] / r["frames_per_s"] - 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    lines = [f"`python benchmarks/batch.py --images {a.images} --image-size {a.image_size[0]}x{a.image_size[1]} "
             f"--videos {a.videos} --frames {a.frames} --video-size {a.video_size[0]}x{a.video_size[1]} "
             f"--workers {a.workers}{' --no-ray' if a.no_ray else ''}` on {os.cpu_count()} CPUs "
             f"({platform.processor() or platform.machine()}), one model thread per worker, blur effect."
             + (f" Ray's own start-up (not in the figures): {ray_start:.1f} s." if ray_start else ""),
             "",
             "| engine | workers | images/s | video frames/s | Ray's extra time vs local, images | same, video |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        over = [f"{r[k] * 100:+.0f}%" if k in r else "" for k in ("ray_overhead_images", "ray_overhead_video")]
        lines.append(f"| {r['engine']} | {r['workers']} | {r['images_per_s']:.1f} | {r['frames_per_s']:.1f} | "
                     f"{over[0]} | {over[1]} |")
    table = "\n".join(lines)
    print(table)
    if a.out:
        a.out.write_text(table + "\n")


if __name__ == "__main__":
    main()

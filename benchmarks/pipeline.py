"""Whole-frame pipeline speed, ours vs MediaPipe's landscape model, and temporal flicker.

1. speed: `Segmenter.segment` (frame -> mask, default settings) and segment + blur composite at
   1280x720 and 1920x1080, for each --model, interleaved round-robin with MediaPipe landscape's
   minimal path (resize to 256x144, x/255, run, resize the 144x256 probability back; the same Blur
   on top); the network alone on the frame's canvas is timed in the same rounds. Medians, and the
   ratio of each model to MediaPipe: network, segment, segment + blur.
2. alone: the first model's 720p segment + blur loop alone in the process.
3. video: a whole video file end to end (decode + segment + blur + H.264 encode) in frames per
   second, on a 720p clip made from examples/astronaut.jpg, temporal "auto" and "none".
4. flicker: per temporal mode (those the model supports), the mean frame-to-frame change of the mask
   over pixels whose image did not change (|gray difference| < 6) on a still shot with sensor noise,
   the bundled clip examples/astronaut.mp4 and the talking-head clips (../shared/data/pseudo/
   talking_heads/videos, with agreement to their teacher labels, every 4th frame, so a mode cannot win
   by freezing its mask); MediaPipe landscape's raw output as the reference. The mode with the least
   flicker on the real clips (geometric mean over clips) that keeps the teacher agreement is printed as
   the measured default.

    python benchmarks/pipeline.py [--model portrait] [--model runs/x/model.onnx ...] [--threads 2]
        [--rounds 200] [--sections speed,alone,video,flicker] [--clip-frames 120] [--no-reuse-buffers]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import av
import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peer_models import PeerModel, available_peers  # noqa: E402

from humanseg import Blur, Segmenter, convert_video  # noqa: E402
from humanseg.effects.backgrounds import cover_fit  # noqa: E402
from humanseg.evaluation.metrics import SegmentationScores  # noqa: E402
from humanseg.runtime.preprocess import model_input  # noqa: E402
from humanseg.runtime.temporal import AUTO, FUSION_MODES, TEMPORAL_MODES, resolve_temporal  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TALKING_HEADS = REPO.parent / "shared" / "data" / "pseudo" / "talking_heads"
MP = "mediapipe-landscape"
SECTIONS = ("speed", "alone", "video", "flicker")


def median_ms(samples: list[float]) -> float:
    return float(np.median(samples)) * 1e3


class MediaPipeMinimal:
    """MediaPipe landscape's minimal path (peer_models.PeerModel.segment: resize to 256x144 with INTER_AREA,
    BGR -> RGB and x/255 on the small image, run, INTER_LINEAR back to the frame) and its network alone."""

    def __init__(self, threads: int):
        self.peer = PeerModel(MP, threads)

    def segment(self, frame: np.ndarray) -> np.ndarray:
        return self.peer.segment(frame)

    def network(self, frame: np.ndarray):
        small = cv2.resize(frame, self.peer.spec.size, interpolation=cv2.INTER_AREA)
        x = self.peer.spec.prepare(small)
        return lambda: self.peer.session.run(None, {self.peer.input_name: x})


def our_network(segmenter: Segmenter, frame: np.ndarray):
    canvas, _ = segmenter.canvas_input(frame)
    x = model_input(canvas, segmenter.input_channels)
    return lambda: segmenter.session.run(x)


def frame_speed(models: dict, rounds: int) -> None:
    photo = cv2.imread(str(REPO / "examples" / "astronaut.jpg"))
    blur = Blur()
    print("| frame | model | canvas | network ms | segment ms | segment + blur ms | frames/s (segment + blur) |")
    print("|---|---|---|---|---|---|---|")
    for w, h in ((1280, 720), (1920, 1080)):
        frame = cover_fit(photo, w, h)
        nets = {m: (our_network(model, frame) if isinstance(model, Segmenter) else model.network(frame))
                for m, model in models.items()}
        net, seg, full = ({m: [] for m in models} for _ in range(3))
        for i in range(rounds + 10):
            for name, model in models.items():
                t0 = time.perf_counter()
                nets[name]()
                t1 = time.perf_counter()
                mask = model.segment(frame)
                t2 = time.perf_counter()
                blur(frame, mask)
                t3 = time.perf_counter()
                if i >= 10:
                    net[name].append(t1 - t0)
                    seg[name].append(t2 - t1)
                    full[name].append(t3 - t1)
        for name, model in models.items():
            canvas = "%dx%d" % (model.canvas_size(w, h) if isinstance(model, Segmenter) else model.peer.spec.size)
            print(f"| {w}x{h} | {name} | {canvas} | {median_ms(net[name]):.2f} | {median_ms(seg[name]):.2f} | "
                  f"{median_ms(full[name]):.2f} | {1000 / median_ms(full[name]):.0f} |")
        if MP in models:
            for name in models:
                if name != MP:
                    r = [median_ms(d[name]) / median_ms(d[MP]) for d in (net, seg, full)]
                    print(f"| {w}x{h} | ratio {name} / {MP} minimal path | | {r[0]:.2f} | {r[1]:.2f} | {r[2]:.2f} | |")


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
    for temporal in (AUTO, "none"):
        t0 = time.perf_counter()
        result = convert_video(clip, tmp / "out.mp4", Blur(), segmenter, temporal=temporal, progress=False)
        wall = time.perf_counter() - t0
        label = f"{AUTO} ({resolve_temporal(AUTO, segmenter.input_channels)})" if temporal == AUTO else temporal
        print(f"| decode + segment + blur + encode | {label} | {wall:.2f} | {result['frames'] / wall:.1f} |")


def decode(path: Path, limit: int = 0) -> list[np.ndarray]:
    frames = []
    with av.open(str(path)) as c:
        for f in c.decode(video=0):
            frames.append(f.to_ndarray(format="bgr24"))
            if limit and len(frames) >= limit:
                break
    return frames


def teacher_labels(clip: str, frames: list[np.ndarray]) -> dict[int, np.ndarray]:
    """{frame index: bool HxW} from video_soft/<clip>/<index>.png (mean of the two teachers >= 0.5)."""
    labels = {}
    for path in sorted((TALKING_HEADS / "video_soft" / clip).glob("*.png")):
        i = int(path.stem)
        if i < len(frames):
            soft = cv2.imread(str(path), cv2.IMREAD_UNCHANGED).astype(np.float32)
            mean = (soft[..., 0] + soft[..., 3]) / 510.0
            h, w = frames[i].shape[:2]
            labels[i] = cv2.resize(mean, (w, h), interpolation=cv2.INTER_LINEAR) >= 0.5
    return labels


def static_pixels(previous: np.ndarray, frame: np.ndarray) -> np.ndarray:
    """Bool HxW: pixels whose image did not change between two BGR frames (|5x5-blurred gray difference| < 6)."""
    g0 = cv2.cvtColor(previous, cv2.COLOR_BGR2GRAY).astype(np.int16)
    g1 = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY).astype(np.int16)
    return np.abs(cv2.blur(g1, (5, 5)) - cv2.blur(g0, (5, 5))) < 6


def flicker(masks: list[np.ndarray], frames: list[np.ndarray]) -> float:
    changes = []
    for i in range(1, len(frames)):
        static = static_pixels(frames[i - 1], frames[i])
        if static.any():
            changes.append(float(np.abs(masks[i] - masks[i - 1])[static].mean()))
    return float(np.mean(changes))


def run_mode(model, frames: list[np.ndarray], mode: str | None, labels: dict) -> tuple[float, float | None, float]:
    """(flicker, teacher mIoU or None, ms per frame) of a temporal mode (None: a peer, frame by frame)."""
    segment = model.stream(mode).segment if mode else model.segment
    masks, times = [], []
    for f in frames:
        t0 = time.perf_counter()
        masks.append(segment(f))
        times.append(time.perf_counter() - t0)
    agreement = None
    if labels:
        scores = SegmentationScores()
        for i, label in labels.items():
            scores.add(masks[i] >= 0.5, label, detailed=False)
        agreement = scores.summary()["miou"]
    return flicker(masks, frames), agreement, median_ms(times)


def temporal_figures(models: dict, peer, tmp: Path, clip_frames: int, max_clips: int) -> None:
    still = tmp / "still.mp4"
    make_clip(still, 60, (640, 360), still=True)
    clips = [("still shot + sensor noise (60 frames, 640x360)", lambda: decode(still), None),
             ("examples/astronaut.mp4", lambda: decode(REPO / "examples" / "astronaut.mp4"), None)]
    heads = sorted((TALKING_HEADS / "videos").glob("*.mp4"))[:max_clips or None]
    if not heads:
        print(f"\ntalking-head clips skipped: none in {TALKING_HEADS / 'videos'}")
    for path in heads:
        clips.append((f"talking_heads/{path.stem}", lambda p=path: decode(p, clip_frames), path.stem))
    rows = []  # (clip, model, mode, flicker, teacher mIoU)
    print("\n| clip | model | temporal mode | flicker (mean mask change on unchanged pixels) | teacher mIoU | "
          "segment ms/frame |")
    print("|---|---|---|---|---|---|")
    for label, load, stem in clips:
        frames = load()
        truth = teacher_labels(stem, frames) if stem else {}
        runs = [(MP, peer, None)] if peer else []
        for name, seg in models.items():
            runs += [(name, seg, mode) for mode in modes_for(seg)]
        for name, model, mode in runs:
            value, agreement, ms = run_mode(model, frames, mode, truth)
            rows.append((label, name, mode or "raw", value, agreement))
            shown = f"{agreement:.4f}" if agreement is not None else ""
            print(f"| {label} ({len(frames)} frames) | {name} | {mode or 'raw'} | {value:.5f} | {shown} | {ms:.2f} |",
                  flush=True)
        del frames
    summarise(rows, models)


def modes_for(segmenter: Segmenter) -> list[str]:
    return list(TEMPORAL_MODES if segmenter.input_channels == 4 else FUSION_MODES)


def summarise(rows: list, models: dict) -> None:
    """Flicker per model and mode over the real clips (bundled + talking heads): the mean, and the geometric
    mean, in which every clip counts alike whatever its own level of flicker; ratios (of geometric means) to
    MediaPipe's raw output and to flow; and the measured default: the least geometric-mean flicker among
    modes whose mean teacher agreement on the talking heads is within 0.005 of the model's best mode."""
    real = [r for r in rows if not r[0].startswith("still shot")]
    heads = [r for r in real if r[0].startswith("talking_heads/")]

    def values(subset, name, mode, k=3):
        return [r[k] for r in subset if r[1] == name and r[2] == mode and r[k] is not None]

    def mean(subset, name, mode, k=3):
        v = values(subset, name, mode, k)
        return float(np.mean(v)) if v else float("nan")

    def geomean(subset, name, mode):
        v = values(subset, name, mode)
        return float(np.exp(np.mean(np.log(np.maximum(v, 1e-9))))) if v else float("nan")

    print(f"\n| model | temporal mode | mean flicker, bundled + talking heads | geometric mean | mean, talking heads | "
          f"vs {MP} raw (geometric) | vs flow (geometric) | mean teacher mIoU, talking heads |")
    print("|---|---|---|---|---|---|---|---|")
    mp = geomean(real, MP, "raw")
    if not np.isnan(mp):
        print(f"| {MP} | raw | {mean(real, MP, 'raw'):.5f} | {mp:.5f} | {mean(heads, MP, 'raw'):.5f} | 1.00 | | "
              f"{mean(heads, MP, 'raw', 4):.4f} |")
    verdicts = []
    for name, seg in models.items():
        modes = modes_for(seg)
        flow = geomean(real, name, "flow")
        for mode in modes:
            g = geomean(real, name, mode)
            print(f"| {name} | {mode} | {mean(real, name, mode):.5f} | {g:.5f} | {mean(heads, name, mode):.5f} | "
                  f"{g / mp:.2f} | {g / flow:.2f} | {mean(heads, name, mode, 4):.4f} |")
        agreement = {m: mean(heads, name, m, 4) for m in modes}
        best = max((a for a in agreement.values() if not np.isnan(a)), default=float("nan"))
        keep = [m for m in modes if np.isnan(best) or agreement[m] >= best - 0.005]
        chosen = min(keep, key=lambda m: geomean(real, name, m))
        verdicts.append(f"{name}: least flicker that keeps the teacher agreement: {chosen} (`auto` is "
                        f"{resolve_temporal(AUTO, seg.input_channels)} for a {seg.input_channels}-channel model; "
                        f"runtime/temporal.py)")
    print("\n" + "\n".join(verdicts))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", action="append", default=None,
                    help="shipped name or .onnx path; repeat to compare (default: portrait)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--sections", default=",".join(SECTIONS), help=f"comma-separated, of {', '.join(SECTIONS)}")
    ap.add_argument("--clip-frames", type=int, default=120, help="first N frames of each talking-head clip (0: all)")
    ap.add_argument("--clips", type=int, default=0, help="first N talking-head clips (0: all)")
    ap.add_argument("--reuse-buffers", action=argparse.BooleanOptionalAction, default=False,
                    help="Segmenter(reuse_buffers=...): glibc buffer reuse, as the humanseg command's loops use it "
                         "(default: off, the default settings of Segmenter())")
    a = ap.parse_args()
    sections = set(a.sections.split(","))
    names = a.model or ["portrait"]
    ours = {f"humanseg {n}": Segmenter(n, threads=a.threads, reuse_buffers=a.reuse_buffers) for n in names}
    peer = MediaPipeMinimal(a.threads) if MP in available_peers() else None
    print(f"Segmenter(reuse_buffers={a.reuse_buffers}), {a.threads} threads; models: "
          + "; ".join(f"{n}: {s.input_channels} channels, "
                      + (f"adaptive canvas {s.budget()} px" if s.budget() else "fixed canvas")
                      for n, s in ours.items()))
    if "speed" in sections:
        frame_speed({**ours, **({MP: peer} if peer else {})}, a.rounds)
    first = next(iter(ours.values()))
    if "alone" in sections:
        alone_speed(first, 3 * a.rounds)
    with tempfile.TemporaryDirectory() as tmp:
        if "video" in sections:
            video_speed(first, Path(tmp))
        if "flicker" in sections:
            temporal_figures(ours, peer, Path(tmp), a.clip_frames, a.clips)


if __name__ == "__main__":
    main()

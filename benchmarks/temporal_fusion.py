"""Flow fusion's blend weight and consistency threshold: flicker, teacher agreement and lag, per setting.

For each temporal mode and (flow weight, consistency px) setting, with one model:
- flicker (benchmarks/pipeline.py's measure: mean mask change on pixels whose image did not change) on the
  bundled clip examples/astronaut.mp4 and on the talking-head clips of ../shared/data/pseudo/talking_heads
  (geometric mean over clips), with the mean agreement (mIoU) to their teacher labels;
- lag: mIoU against the ground truth on fast synthetic pans of validation photos (every 12th pair of
  ../shared/data/val, scaled to a 640 px long side, panned sideways by a sine of 60 px amplitude and a
  24-frame period, up to 16 px a frame; the first 4 frames not scored), where a blend that trusts the warped
  past too much would trail the person;
- after a hard cut: 12 frames of one pan, then 12 of the next photo's (each consecutive pair of the pans), mIoU
  of the first 8 frames after the cut, with the stream's scene-cut detection (the runtime's default) and
  without it, where the old shot's mask lingering in the new one shows.
A setting that flickers less but agrees less with the teachers or trails the pans is a trade, not a win.

    python benchmarks/temporal_fusion.py [--model portrait] [--threads 2] [--clip-frames 120]
        [--setting prior+flow:0.4:1 --setting prior+flow:0.2:2 ...]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pipeline import REPO, TALKING_HEADS, decode, flicker, teacher_labels  # noqa: E402

from humanseg.evaluation.evaluate import read_pair  # noqa: E402
from humanseg.evaluation.metrics import SegmentationScores  # noqa: E402
from humanseg.io.folders import find_pairs  # noqa: E402
from humanseg.runtime.segmenter import Segmenter, SegmentStream  # noqa: E402
from humanseg.runtime.temporal import CONSISTENCY_PX, FLOW_WEIGHT, TemporalFilter  # noqa: E402

VAL = REPO.parent / "shared" / "data" / "val"
PAN_AMPLITUDE, PAN_PERIOD, PAN_FRAMES, PAN_SKIP = 60, 24, 48, 4
CUT_BEFORE, CUT_SCORED = 12, 8


def parse_setting(text: str) -> tuple[str, float, float]:
    mode, weight, consistency = text.split(":")
    return mode, float(weight), float(consistency)


def pan_clip(image: np.ndarray, label: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """A photo and its mask panned sideways (edges replicated), frame by frame."""
    scale = 640 / max(image.shape[:2])
    image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    label = cv2.resize(label.astype(np.uint8), (image.shape[1], image.shape[0]), interpolation=cv2.INTER_NEAREST)
    pad, width = PAN_AMPLITUDE + 4, image.shape[1]
    wide = cv2.copyMakeBorder(image, 0, 0, pad, pad, cv2.BORDER_REPLICATE)
    wide_label = cv2.copyMakeBorder(label, 0, 0, pad, pad, cv2.BORDER_REPLICATE)
    frames, labels = [], []
    for t in range(PAN_FRAMES):
        x = int(round(pad + PAN_AMPLITUDE * np.sin(2 * np.pi * t / PAN_PERIOD)))
        frames.append(np.ascontiguousarray(wide[:, x:x + width]))
        labels.append(wide_label[:, x:x + width] > 0)
    return frames, labels


def stream_masks(segmenter: Segmenter, frames: list[np.ndarray], setting, scene_cuts: bool = True
                 ) -> list[np.ndarray]:
    mode, weight, consistency = setting
    stream = SegmentStream(segmenter, TemporalFilter(mode, flow_weight=weight, consistency_px=consistency),
                           scene_cuts)
    return [stream.segment(f) for f in frames]


def cut_clips(pans) -> list[tuple[list[np.ndarray], list[np.ndarray]]]:
    """(frames, labels of the frames after the cut): each pan's first frames, then the next pan's, resized."""
    clips = []
    for (frames_a, _), (frames_b, labels_b) in zip(pans, pans[1:]):
        h, w = frames_a[0].shape[:2]
        after = [cv2.resize(f, (w, h), interpolation=cv2.INTER_AREA) for f in frames_b[:CUT_SCORED]]
        labels = [cv2.resize(lab.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST) > 0
                  for lab in labels_b[:CUT_SCORED]]
        clips.append((frames_a[:CUT_BEFORE] + after, labels))
    return clips


def after_cut_miou(segmenter: Segmenter, clips, setting, scene_cuts: bool) -> float:
    scores = SegmentationScores()
    for frames, labels in clips:
        masks = stream_masks(segmenter, frames, setting, scene_cuts)[CUT_BEFORE:]
        for mask, label in zip(masks, labels):
            scores.add(mask >= 0.5, label, detailed=False)
    return scores.summary()["miou"] if clips else float("nan")


def agreement(masks: list[np.ndarray], labels: dict[int, np.ndarray]) -> float:
    scores = SegmentationScores()
    for i, label in labels.items():
        scores.add(masks[i] >= 0.5, label, detailed=False)
    return scores.summary()["miou"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="portrait")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--clip-frames", type=int, default=120, help="first N frames of each talking-head clip")
    ap.add_argument("--setting", action="append", type=parse_setting, default=None, metavar="MODE:WEIGHT:PX",
                    help="repeat; default: prior+flow and flow at 0.4:1 and at the runtime's defaults")
    a = ap.parse_args()
    settings = a.setting or [(m, w, c) for m in ("prior+flow", "flow") for w, c in ((0.4, 1.0),
                                                                                    (FLOW_WEIGHT, CONSISTENCY_PX))]
    segmenter = Segmenter(a.model, threads=a.threads)
    heads = []
    for path in sorted((TALKING_HEADS / "videos").glob("*.mp4")):
        frames = decode(path, a.clip_frames)
        heads.append((frames, teacher_labels(path.stem, frames)))
    astronaut = decode(REPO / "examples" / "astronaut.mp4")
    pans = [pan_clip(*read_pair(p)[:2]) for p in find_pairs(VAL)[::12]] if VAL.is_dir() else []
    print(f"model {a.model}; {len(heads)} talking-head clips ({a.clip_frames} frames), astronaut.mp4 "
          f"({len(astronaut)} frames), {len(pans)} pans of val photos ({PAN_FRAMES} frames, +-{PAN_AMPLITUDE} px)\n")
    cuts = cut_clips(pans)
    print("| mode | flow weight | consistency px | astronaut flicker | talking heads flicker (geo. mean) | "
          "teacher agreement | pans mIoU (GT) | after a cut, mIoU (GT): detected / not |")
    print("|---|---|---|---|---|---|---|---|")
    for setting in settings:
        flickers, agreements = [], []
        for frames, labels in heads:
            masks = stream_masks(segmenter, frames, setting)
            flickers.append(flicker(masks, frames))
            agreements.append(agreement(masks, labels))
        pan_scores = SegmentationScores()
        for frames, labels in pans:
            for i, mask in enumerate(stream_masks(segmenter, frames, setting)):
                if i >= PAN_SKIP:
                    pan_scores.add(mask >= 0.5, labels[i], detailed=False)
        head_flicker = float(np.exp(np.mean(np.log(flickers)))) if flickers else float("nan")
        head_agree = float(np.mean(agreements)) if agreements else float("nan")
        pan_miou = pan_scores.summary()["miou"] if pans else float("nan")
        print(f"| {setting[0]} | {setting[1]:g} | {setting[2]:g} | "
              f"{flicker(stream_masks(segmenter, astronaut, setting), astronaut):.5f} | {head_flicker:.5f} | "
              f"{head_agree:.4f} | {pan_miou:.4f} | {after_cut_miou(segmenter, cuts, setting, True):.4f} / "
              f"{after_cut_miou(segmenter, cuts, setting, False):.4f} |", flush=True)


if __name__ == "__main__":
    main()

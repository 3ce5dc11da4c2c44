"""`Segmenter`: one ONNX session, `segment(frame)` per image, `stream()` for video."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import InputError
from .allocator import reuse_large_buffers
from .postprocess import PostProcess
from .preprocess import person_probability, prepare, to_frame
from .session import ModelSession
from .temporal import TemporalFilter


def _as_bgr(frame: np.ndarray, order: str) -> np.ndarray:
    if not isinstance(frame, np.ndarray) or frame.ndim not in (2, 3) or frame.size == 0:
        raise InputError("frame must be a non-empty HxW or HxWxC numpy array")
    from ..io.images import to_bgr8

    if frame.ndim == 3 and frame.shape[2] >= 3 and order == "rgb":
        frame = frame[..., [2, 1, 0] + ([3] if frame.shape[2] == 4 else [])]
    return to_bgr8(np.ascontiguousarray(frame))


class Segmenter:
    """Person segmentation with a humanseg ONNX model.

    model: a shipped name ("portrait") or a path to an .onnx file.
    providers: ONNX Runtime providers; default picks CUDA/CoreML/DirectML when present, else CPU.
    threads: CPU threads for the model (default: all cores, at most 4).
    reuse_buffers: keep frame-sized buffers in the heap between frames (glibc; see runtime/allocator.py).
        Off by default: it changes the allocator of the whole process. The CLI's video, webcam and
        folder loops turn it on.
    """

    def __init__(self, model: str | Path = "portrait", providers: list[str] | None = None, threads: int | None = None,
                 postprocess: PostProcess | None = None, reuse_buffers: bool = False):
        if reuse_buffers:
            reuse_large_buffers()
        self.session = ModelSession(model, providers, threads)
        self.postprocess = postprocess or PostProcess()

    def canvas_probability(self, frame_bgr: np.ndarray):
        """(float32 hxw person probability on the model canvas, box, letterboxed BGR canvas)."""
        x, box, boxed = prepare(frame_bgr, None, self.session.long_side, self.session.short_side)
        prob = person_probability(self.session.run(x))
        return prob, box, boxed

    def segment(self, frame: np.ndarray, order: str = "bgr") -> np.ndarray:
        """uint8 frame (HxW, HxWx3 or HxWx4; BGR unless order="rgb") -> float32 HxW person map in [0, 1]."""
        frame = _as_bgr(frame, order)
        prob, box, _ = self.canvas_probability(frame)
        mask = to_frame(prob, box, frame.shape)
        return self.postprocess(mask, frame) if self.postprocess.active else mask

    def stream(self, temporal: str = "flow") -> "SegmentStream":
        """A per-video object that carries temporal state from frame to frame."""
        return SegmentStream(self, TemporalFilter(temporal))


class SegmentStream:
    """Segments consecutive frames of one video; call `segment(frame)` in order."""

    def __init__(self, segmenter: Segmenter, temporal: TemporalFilter):
        self.segmenter = segmenter
        self.temporal = temporal

    def segment(self, frame: np.ndarray, order: str = "bgr") -> np.ndarray:
        frame = _as_bgr(frame, order)
        prob, box, canvas_bgr = self.segmenter.canvas_probability(frame)
        prob = self.temporal(prob, canvas_bgr)
        mask = to_frame(prob, box, frame.shape)
        post = self.segmenter.postprocess
        return post(mask, frame) if post.active else mask

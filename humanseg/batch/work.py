"""The per-file function every engine runs: one input file -> one output file and its manifest record.
A bad file gives a "failed" record with a one-line reason; it never raises (Ctrl-C and SIGTERM do)."""
from __future__ import annotations

import copy
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import HumansegError, HumansegWarning
from ..runtime.postprocess import PostProcess
from ..runtime.temporal import AUTO
from ..weights import DEFAULT_MODEL
from .jobs import Job
from .manifest import make_record, one_line


def _default_effect():
    from ..effects import Blur

    return Blur()


@dataclass(frozen=True)
class BatchSettings:
    """What every file is made with: the options of `humanseg image` and `humanseg video`, same names.

    effect: an effect object (Blur(), Color(...), a CommentsBehind or finishing wrapper...), used as a
    template: each process copies it for its images and each video gets a fresh copy (comments scroll and
    a background video plays from the start). canvas_pixels: the canvas budget of adaptive models; None
    gives images the "still" budget and videos the model's own ("video"), as `humanseg image` and
    `humanseg video` do. temporal and keep_partial apply to videos only."""
    model: str = DEFAULT_MODEL
    threads: int | None = None
    effect: object = field(default_factory=_default_effect)
    postprocess: PostProcess = field(default_factory=PostProcess)
    canvas_pixels: int | None = None
    mirror_average: bool | None = None   # None: on for images, off for videos (as `image` and `video`)
    photo_recipe: str = "full"           # images: the model's whole still recipe, or "fast" (Segmenter's option)
    temporal: str = AUTO
    keep_partial: bool = False

    def mirror_for(self, kind: str) -> bool:
        """Whether files of this kind ("image" or "video") are segmented with mirror averaging."""
        return kind == "image" if self.mirror_average is None else self.mirror_average

    def new_effect(self):
        return copy.deepcopy(self.effect)

    def cut_out(self) -> bool:
        """Whether outputs carry no background (Transparent, MaskOnly), under any wrappers."""
        from ..effects import MaskOnly, Transparent

        inner = self.effect
        while hasattr(inner, "under"):   # CommentsBehind and the finishing wrappers hold the effect they wrap
            inner = inner.under
        return isinstance(inner, (Transparent, MaskOnly))

    def transparent(self) -> bool:
        from ..effects import Transparent

        inner = self.effect
        while hasattr(inner, "under"):
            inner = inner.under
        return isinstance(inner, Transparent)

    def describe(self, kind: str) -> str:
        """What an output of this kind ("image" or "video") depends on, the same in every process: the
        model file, the effect (a background file with its size and time), mask options, canvas budget
        and, for video, the temporal mode and keep_partial. Raises HumansegError for bad settings."""
        from ..runtime.postprocess import check_postprocess
        from ..effects import describe
        from ..weights import resolve_model

        check_postprocess(self.postprocess)
        parts = {"model": resolve_model(self.model), "effect": self.effect, "postprocess": self.postprocess,
                 "canvas_pixels": self.canvas_pixels or ("still" if kind == "image" else "video"),
                 "mirror_average": self.mirror_for(kind)}
        if kind == "image" and self.photo_recipe != "full":   # "full" leaves earlier resume keys as they were
            parts["photo_recipe"] = self.photo_recipe
        if kind == "video":
            parts.update(temporal=self.temporal, keep_partial=self.keep_partial)
        return describe(parts)


class FileWorker:
    """What one process (a pool worker, a Ray actor or task) needs to convert files: one Segmenter per
    canvas use ("still" for images, "video"), made on first use, and the image effect, made once.
    threads: ONNX Runtime threads per session (settings.threads wins when set)."""

    def __init__(self, settings: BatchSettings, threads: int | None = None):
        self.settings = settings
        self.threads = settings.threads or threads
        self._segmenters: dict[str, object] = {}
        self._image_effect = None

    def segmenter(self, use: str):
        if use not in self._segmenters:
            from ..runtime.segmenter import Segmenter

            s = self.settings
            self._segmenters[use] = Segmenter(s.model, threads=self.threads, postprocess=s.postprocess,
                                              reuse_buffers=True, canvas_pixels=s.canvas_pixels or use,
                                              mirror_average=s.mirror_for("image" if use == "still" else "video"),
                                              photo_recipe=s.photo_recipe)
        return self._segmenters[use]

    def __call__(self, job: Job) -> dict:
        """Make job.output from job.input; the record says done or failed (one-line reason), frames, seconds."""
        start = time.perf_counter()
        status, reason, frames = "done", None, 0
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", HumansegWarning)
            try:
                frames, reason = self._convert(job)
                status = "failed" if reason else "done"
            except HumansegError as exc:
                status, reason = "failed", one_line(str(exc))
            except OSError as exc:
                status, reason = "failed", one_line(f"{job.output}: cannot write ({exc.strerror or exc})")
            except Exception as exc:  # a bad file must not stop the job; say what it was
                status, reason = "failed", one_line(f"{job.input}: {type(exc).__name__}: {exc}")
        notes = [one_line(str(w.message)) for w in caught if issubclass(w.category, HumansegWarning)]
        return make_record(job.input, job.output, job.kind, status, reason, frames,
                           time.perf_counter() - start, notes)

    def _convert(self, job: Job) -> tuple[int, str | None]:
        """(frames written, None) or (frames, reason) for a video kept shortened (--keep-partial)."""
        from ..api import convert_image, convert_video

        Path(job.output).parent.mkdir(parents=True, exist_ok=True)
        if job.kind == "image":
            if self._image_effect is None:
                self._image_effect = self.settings.new_effect()
            convert_image(job.input, job.output, self._image_effect, self.segmenter("still"))
            return 1, None
        s = self.settings
        result = convert_video(job.input, job.output, s.new_effect(), self.segmenter("video"), temporal=s.temporal,
                               progress=False, keep_partial=s.keep_partial)
        if result.get("incomplete"):
            return result["frames"], (f"{job.input}: only {result['frames']} of {result['frames_expected']} frames "
                                      "could be decoded; the shortened output was kept (--keep-partial)")
        return result["frames"], None


_CACHED: tuple[str, FileWorker] | None = None


def worker_for(settings: BatchSettings, threads: int | None = None) -> FileWorker:
    """The process's FileWorker for these settings (made once per process: a Ray worker process that runs
    several video tasks loads the model once). Settings arrive as new copies: they are compared by what
    they describe."""
    global _CACHED
    key = f"{settings.describe('video')} threads={threads}"
    if _CACHED is None or _CACHED[0] != key:
        _CACHED = (key, FileWorker(settings, threads))
    return _CACHED[1]

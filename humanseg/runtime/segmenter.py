"""`Segmenter`: one ONNX session, `segment(frame)` per image, `stream()` for video."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import InputError
from .allocator import reuse_large_buffers
from .budget import BUDGET_SCALE, check_canvas_pixels
from .letterbox import ADAPTIVE_MAX_STRETCH, LetterboxBox
from .postprocess import PostProcess, check_postprocess, color_guided_refine
from .preprocess import canvas_image, check_frame, model_input, move_to_canvas, person_probability, to_frame
from .session import ModelSession
from .temporal import AUTO, TemporalFilter, is_scene_cut, resolve_temporal, thumbnail
from .zoom import zoom_box

PHOTO_RECIPES = ("full", "fast")


def _frame_bgr8(frame: np.ndarray, order: str) -> np.ndarray:
    """Full-resolution uint8 HxWx3 BGR, only for post-processing that needs the frame (guided refinement)."""
    from ..io.images import to_bgr8

    if frame.ndim == 3 and frame.shape[2] >= 3 and order == "rgb":
        frame = frame[..., [2, 1, 0, 3][:frame.shape[2]]]
    return to_bgr8(np.ascontiguousarray(frame))


class Segmenter:
    """Person segmentation with a humanseg ONNX model.

    model: a shipped name ("portrait") or a path to an .onnx file.
    providers: ONNX Runtime providers; default picks CUDA/CoreML/DirectML when present, else CPU.
    threads: CPU threads for the model, 1 or more (default, or 0: all cores, at most 4); OptionError otherwise.
    reuse_buffers: keep frame-sized buffers in the heap between frames (glibc; see runtime/allocator.py).
        Off by default: it changes the allocator of the whole process. The CLI's video, webcam and
        folder loops turn it on.
    canvas_pixels: the canvas budget of adaptive models (each frame gets a canvas of its own shape at
        about this many pixels, runtime/canvas.py): a number of pixels, "video" or None (the model's own
        budget) or "still" (the model's still_budget_scale, else BUDGET_SCALE["still"], times it: what
        convert_image and the image, eval and serve commands use; a model that lists several still scales
        is run at each and the maps averaged; a 4-channel model that stores a still_prior_weight is run
        twice per budget, the second time with that weight times its first output as the previous
        mask; a model that stores a still_zoom segments small people again close up, `zoom_share`; one that
        stores a still_refine has each still map refined with a colour-guided filter, `refine_fraction`).
        Legacy fixed-canvas models (no humanseg.canvas_pixels metadata) ignore it.
    mirror_average: also run the network on the mirror image of each canvas and average the two outputs
        (logits): more symmetric masks, about +0.35 mIoU points on the validation set (benchmarks/RESULTS.md), for
        twice the network's time. None (default): on when canvas_pixels is "still" (photos), off otherwise
        (live video keeps its frame rate). A call of `segment` may override it.
    photo_recipe: "full" (default): the "still" budget runs the model's whole still recipe; "fast": only its
        main still budget, one pass (no further budgets, no self-prior pass), still mirror-averaged and refined
        as the model says: a quarter of the network runs for the shipped model, for a busy service.
    """

    def __init__(self, model: str | Path = "portrait", providers: list[str] | None = None, threads: int | None = None,
                 postprocess: PostProcess | None = None, reuse_buffers: bool = False,
                 canvas_pixels: int | str | None = None, mirror_average: bool | None = None,
                 photo_recipe: str = "full"):
        check_canvas_pixels(canvas_pixels)
        if photo_recipe not in PHOTO_RECIPES:
            raise InputError(f"photo_recipe {photo_recipe!r}: use one of {', '.join(PHOTO_RECIPES)}")
        if reuse_buffers:
            reuse_large_buffers()
        self.session = ModelSession(model, providers, threads)
        self.postprocess = postprocess or PostProcess()
        self.canvas_pixels = canvas_pixels
        self.mirror_average = canvas_pixels == "still" if mirror_average is None else bool(mirror_average)
        self.photo_recipe = photo_recipe

    @property
    def input_channels(self) -> int:
        """3 (RGB) or 4 (RGB + the previous frame's mask)."""
        return self.session.input_channels

    def budget(self, canvas_pixels: int | str | None = None) -> int | None:
        """Canvas pixels for adaptive models (`canvas_pixels`, else the segmenter's own setting); None for
        legacy fixed-canvas models."""
        value = self.canvas_pixels if canvas_pixels is None else canvas_pixels
        if not self.session.adaptive:
            return None
        if value is None or isinstance(value, str):
            scale = BUDGET_SCALE[value or "video"]
            if value == "still" and self.session.still_scale is not None:
                scale = self.session.still_scale        # what the model's export measured best for photos
            return max(1, round(self.session.budget * scale))
        return int(value)

    def budgets(self, canvas_pixels: int | str | None = None) -> list[int | None]:
        """Every canvas budget one image is segmented at: the model's still scales for "still" (multi-scale
        averaging, when its export stored several), else just `budget()`."""
        value = self.canvas_pixels if canvas_pixels is None else canvas_pixels
        scales = self.session.still_scales
        if (value != "still" or not self.session.adaptive or not scales or len(scales) < 2
                or self.photo_recipe == "fast"):
            return [self.budget(canvas_pixels)]
        return [max(1, round(self.session.budget * s)) for s in scales]

    def prior_weight(self, canvas_pixels: int | str | None = None) -> float:
        """The weight of the second, self-prior pass for the "still" budget (0: one pass)."""
        value = self.canvas_pixels if canvas_pixels is None else canvas_pixels
        return self.session.still_prior_weight if value == "still" and self.photo_recipe == "full" else 0.0

    def refine_fraction(self, canvas_pixels: int | str | None = None) -> float:
        """The radius, as a fraction of the photo's long side, of the colour-guided refinement `segment` gives
        a "still" map (the model's humanseg.still_refine); 0: none, for other budgets and when the
        post-processing has a `refine` radius of its own (the --refine option), which replaces it."""
        value = self.canvas_pixels if canvas_pixels is None else canvas_pixels
        return self.session.still_refine if value == "still" and not self.postprocess.refine else 0.0

    def zoom_share(self, canvas_pixels: int | str | None = None) -> float:
        """For the "still" budget of the full photo recipe, the model's humanseg.still_zoom: when everything
        called person fits in a box (plus a margin) under this share of the photo, that box is segmented again
        and its map replaces the first one there (runtime/zoom.py); 0: never."""
        value = self.canvas_pixels if canvas_pixels is None else canvas_pixels
        return self.session.still_zoom if value == "still" and self.photo_recipe == "full" else 0.0

    def canvas_size(self, frame_w: int, frame_h: int, canvas_pixels: int | str | None = None) -> tuple[int, int]:
        """(width, height) of the model canvas for a frame_w x frame_h frame."""
        return self.session.canvas(frame_w, frame_h, self.budget(canvas_pixels))

    def canvas_input(self, frame: np.ndarray, order: str = "bgr", canvas_pixels: int | str | None = None
                     ) -> tuple[np.ndarray, LetterboxBox]:
        """(uint8 hxwx3 BGR letterboxed canvas, content box) of a frame, at the canvas this segmenter uses."""
        check_frame(frame, order)
        if canvas_pixels is not None:
            check_canvas_pixels(canvas_pixels)
        size = self.canvas_size(frame.shape[1], frame.shape[0], canvas_pixels)
        return canvas_image(frame, size, order, ADAPTIVE_MAX_STRETCH if self.session.adaptive else 0.0)

    def infer(self, canvas_bgr: np.ndarray, prior: np.ndarray | None = None,
              mirror_average: bool | None = None) -> np.ndarray:
        """Canvas -> float32 hxw person probability. prior: float32 hxw in [0, 1], the 4th input channel
        of 4-channel models (None: all zeros); 3-channel models ignore it. mirror_average: average with the
        output for the mirrored canvas (None: the segmenter's own setting)."""
        x = model_input(canvas_bgr, self.session.input_channels, prior)
        logits = self.session.run(x)
        if self.mirror_average if mirror_average is None else mirror_average:
            mirrored = self.session.run(np.ascontiguousarray(x[..., ::-1]))
            logits = (logits + mirrored[..., ::-1]) * np.float32(0.5)
        return person_probability(logits)

    def canvas_probability(self, frame: np.ndarray, order: str = "bgr", canvas_pixels: int | str | None = None,
                           mirror_average: bool | None = None):
        """(float32 hxw person probability on the model canvas, box, letterboxed BGR canvas); no prior.
        With several budgets (`budgets`) the image is segmented at each and the maps are averaged on the
        largest canvas; with a `prior_weight` each budget's map is that of a second pass whose previous
        mask is the first pass's map times the weight."""
        check_frame(frame, order)
        weight = self.prior_weight(canvas_pixels)
        runs = []
        for pixels in sorted(self.budgets(canvas_pixels), key=lambda b: b or 0, reverse=True):
            canvas, box = self.canvas_input(frame, order, pixels)
            prob = self.infer(canvas, mirror_average=mirror_average)
            if weight:
                prior = move_to_canvas(prob, box, (canvas.shape[1], canvas.shape[0]), box)  # 0 in the padding
                prob = self.infer(canvas, prior * np.float32(weight), mirror_average=mirror_average)
            runs.append((prob, box, canvas))
        prob, box, canvas = runs[0]
        if len(runs) > 1:
            size = (canvas.shape[1], canvas.shape[0])
            prob = (prob + sum(move_to_canvas(p, b, size, box) for p, b, _ in runs[1:])) / np.float32(len(runs))
        return prob, box, canvas

    def segment(self, frame: np.ndarray, order: str = "bgr", canvas_pixels: int | str | None = None,
                mirror_average: bool | None = None, still_refine: bool | None = None) -> np.ndarray:
        """uint8 frame (HxW, HxWx3 or HxWx4; BGR unless order="rgb") -> float32 HxW person map in [0, 1].
        A single image: 4-channel models get an all-zero previous mask. canvas_pixels and mirror_average:
        this call's budget (adaptive models) and mirror averaging instead of the segmenter's own. A "still"
        map of small people is segmented again closer up (`zoom_share`) and refined at frame size when the
        model's recipe says so (`refine_fraction`); still_refine=False skips the refinement for this call (a
        caller that applies its own --refine afterwards). Post-processing options out of range: InputError."""
        check_postprocess(self.postprocess)   # before the network runs, not after
        prob, box, _ = self.canvas_probability(frame, order, canvas_pixels, mirror_average)
        mask = to_frame(prob, box, frame.shape)
        share = self.zoom_share(canvas_pixels)
        crop = zoom_box(mask, share) if share else None
        if crop is not None:
            y0, y1, x0, x1 = crop
            part = np.ascontiguousarray(frame[y0:y1, x0:x1])
            prob, box, _ = self.canvas_probability(part, order, canvas_pixels, mirror_average)
            mask[y0:y1, x0:x1] = to_frame(prob, box, part.shape)
        fraction = self.refine_fraction(canvas_pixels) if still_refine is not False else 0.0
        if fraction:
            mask = color_guided_refine(_frame_bgr8(frame, order), mask, fraction)
        return self.finish(mask, frame, order)

    def finish(self, mask: np.ndarray, frame: np.ndarray, order: str = "bgr") -> np.ndarray:
        """Apply the post-processing (threshold, gate, refine...) to a frame-size mask; InputError for options out
        of range (`check_postprocess`)."""
        post = self.postprocess
        check_postprocess(post)
        if not post.active:
            return mask
        return post(mask, _frame_bgr8(frame, order) if post.refine else None)

    def stream(self, temporal: str = AUTO, scene_cuts: bool = True) -> "SegmentStream":
        """A per-video object that carries temporal state from frame to frame. temporal: "auto" (the
        default: AUTO_FOR_PRIOR_MODELS for 4-channel models, "flow" otherwise) or one of TEMPORAL_MODES.
        scene_cuts: start again as at a first frame after a hard cut (runtime/temporal.is_scene_cut)."""
        return SegmentStream(self, TemporalFilter(resolve_temporal(temporal, self.input_channels)), scene_cuts)


class SegmentStream:
    """Segments consecutive frames of one video; call `segment(frame)` in order.

    With a prior mode the canvas map this stream made for the previous frame (after fusion, before
    post-processing) is the 4th input channel of the next one: zeros at the first frame, moved onto
    the new canvas when the canvas changes, 0 in the letterbox padding. With scene_cuts, a frame that differs
    from the one before as two different shots do (temporal.is_scene_cut) is segmented as a first frame:
    neither the previous mask nor the fusion carries the old shot into the new one. `cuts` counts them.
    """

    def __init__(self, segmenter: Segmenter, temporal: TemporalFilter, scene_cuts: bool = True):
        self.segmenter = segmenter
        self.temporal = temporal
        self.scene_cuts = scene_cuts
        self.cuts = 0
        self._previous: tuple[np.ndarray, LetterboxBox] | None = None
        self._thumbnail: tuple[tuple, np.ndarray] | None = None   # (canvas shape, its thumbnail)

    def reset(self) -> None:
        """Forget the previous frames (a scene cut, another video): the next frame is segmented as a first one.
        Both the fused map and the previous mask fed to the model; `temporal.reset()` alone keeps the latter."""
        self.temporal.reset()
        self._previous = self._thumbnail = None

    def _prior(self, size: tuple[int, int], box: LetterboxBox) -> np.ndarray | None:
        if self._previous is None:
            return None
        prev, prev_box = self._previous
        if prev.shape == (size[1], size[0]) and prev_box == box and (box.width, box.height) == size:
            return prev  # same canvas, no padding: the map as it is
        return move_to_canvas(prev, prev_box, size, box)

    def segment(self, frame: np.ndarray, order: str = "bgr") -> np.ndarray:
        seg = self.segmenter
        check_postprocess(seg.postprocess)   # before the stream's state moves on
        canvas, box = seg.canvas_input(frame, order)
        if self.scene_cuts and (self.temporal.prior or self.temporal.fusion != "none"):
            now = thumbnail(canvas)
            before = self._thumbnail
            if before is not None and before[0] == canvas.shape and is_scene_cut(before[1], now):
                self.reset()    # another canvas shape is not judged: the previous mask is moved onto it
                self.cuts += 1
            self._thumbnail = (canvas.shape, now)
        prior = self._prior((canvas.shape[1], canvas.shape[0]), box) if self.temporal.prior else None
        prob = self.temporal(seg.infer(canvas, prior), canvas)
        if self.temporal.prior:
            self._previous = (prob, box)
        return seg.finish(to_frame(prob, box, frame.shape), frame, order)


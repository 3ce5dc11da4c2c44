"""The public Python API. The CLI calls exactly these, with the same names and defaults."""
from __future__ import annotations

import hashlib
import json
import time
import warnings
from pathlib import Path

from .effects import (Blur, Color, CommentsBehind, Image, MaskOnly, Overlay, Transparent, VideoBackground,
                      background_file, describe, effect_from_spec)
from .effects.finishing import (Foreground, Harmonize, LightWrap, PoissonBlend, base_effect, has_finishing,
                                with_finishing)
from .errors import HumansegError, HumansegWarning, InputError, OutputError
from .io.folder_inputs import folder_images, left_out_lines, left_out_summary
from .io.images import (IMAGE_SUFFIXES, atomic_write_bytes, check_background_kept, check_output_path, is_same_path,
                        one_of, read_image, unreadable, write_image)
from .io.suffixes import GIF_SUFFIXES
from .runtime.postprocess import PostProcess, check_postprocess
from .runtime.segmenter import Segmenter, SegmentStream
from .weights import DEFAULT_MODEL

__all__ = ["Segmenter", "SegmentStream", "PostProcess", "Blur", "Color", "Image", "VideoBackground", "Transparent",
           "MaskOnly", "Overlay", "CommentsBehind", "Foreground", "Harmonize", "PoissonBlend", "LightWrap",
           "with_finishing", "effect_from_spec", "convert_image", "convert_folder", "convert_video", "HumansegError",
           "DEFAULT_MODEL"]


RESUME_MANIFEST = ".humanseg-resume.json"


def _check_segmenter(segmenter) -> None:
    if isinstance(getattr(segmenter, "postprocess", None), PostProcess):
        check_postprocess(segmenter.postprocess)


def effect_of(effect):
    """The effect to apply: Blur() for None, effect_from_spec for a string (what the CLI's --bg takes: "blur",
    "color:#00FF00", "transparent", a file...), the effect itself for anything callable; InputError otherwise."""
    if effect is None:
        return Blur()
    if isinstance(effect, str):
        return effect_from_spec(effect)
    if not callable(effect):
        raise InputError(f"effect {effect!r} is not an effect: give one such as Blur() or a --bg spec such as 'blur'")
    return effect


def convert_image(inp: str | Path, out: str | Path, effect=None, segmenter: Segmenter | None = None) -> Path:
    """Segment one image file and write `effect(image, mask)` to `out` (atomically). Default effect: Blur();
    a string is a --bg spec (`effect_of`).
    CommentsBehind is laid out on-screen (still=True) rather than scrolling in. Default segmenter:
    Segmenter(canvas_pixels="still"), the larger canvas budget for photos (runtime/budget.py)."""
    inp, out = Path(inp), Path(out)
    check_output_path(inp, out)
    if out.is_dir():
        raise OutputError(f"{out}: is a folder; for a single input give an output file path (e.g. {out / inp.name}), "
                          "or give a folder as input for folder mode")
    effect = effect_of(effect)
    check_background_kept(background_file(effect), out)
    if isinstance(base_effect(effect), CommentsBehind) and callable(getattr(effect, "as_still", None)):
        effect = effect.as_still()   # also under finishing wrappers (Foreground, LightWrap, ...)
    if isinstance(base_effect(effect), Transparent) and out.suffix.lower() in {".jpg", ".jpeg"}:
        raise OutputError(f"{out}: JPEG has no transparency; use a .png output for a transparent cut-out")
    segmenter = segmenter or Segmenter(canvas_pixels="still")
    _check_segmenter(segmenter)
    image = read_image(inp)
    write_image(out, effect(image, segmenter.segment(image)))
    return out


def convert_folder(inp: str | Path, out: str | Path, effect=None, segmenter: Segmenter | None = None,
                   suffix: str | None = None, progress: bool = True) -> dict:
    """Every image in `inp` (not recursive) -> `out/<stem><suffix>`; suffix: the input's own, or .png
    for Transparent and MaskOnly; one of IMAGE_SUFFIXES when given (OutputError before anything is written
    otherwise). effect: as convert_image's.

    Resume: `out/.humanseg-resume.json` keeps, per output name, a hash of what made it: the input
    (path, size, modification time) and the settings (model file, effect, mask options). An output
    is skipped only when it exists and its hash matches; otherwise it is made again, so a re-run
    with another --bg or an edited input redoes that file. A file already in `out` under an output's
    name that no earlier run into this folder wrote (not in the manifest: the user's own file, or an
    output whose manifest was deleted) is never overwritten: it is kept and listed in "failed" and
    "kept_existing". Inputs that would write the same output
    (x.jpg and x.png when the suffix is .png) are collisions: the first in name order is processed,
    the others are not and are listed in "failed" and "collisions". Unreadable files are listed in
    "failed", not fatal; a folder with no image at all gives a HumansegWarning (the CLI prints it and exits 0).
    Default segmenter: Segmenter(canvas_pixels="still"), as convert_image.
    A one-frame GIF is read as an image (written as .png unless `suffix` is given). Entries that are not
    still images (an animated GIF, a video, a sub-folder: folder mode is not recursive, any other file) are
    left out, named in one HumansegWarning with why and listed in "left_out"; hidden files are left out
    without a word. They do not count as failed.

    Returns {"written": int, "skipped_existing": int, "failed": [one line each], "collisions": [one line each],
    "kept_existing": [one line each], "left_out": [one line each]}.
    """
    from tqdm import tqdm

    inp, out = Path(inp), Path(out)
    if not inp.is_dir():
        raise InputError(f"{inp}: not a folder")
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: output must be a folder when the input is a folder")
    if is_same_path(inp, out):   # also under another name (a bind mount, a case-insensitive file system)
        raise OutputError(f"{out}: output folder is the input folder; choose another so the inputs are kept")
    effect = effect_of(effect)
    if suffix is not None and suffix.lower() not in IMAGE_SUFFIXES:
        raise OutputError(f"suffix '{suffix}': not an image type; use {one_of(IMAGE_SUFFIXES)}")
    if suffix and suffix.lower() in {".jpg", ".jpeg"} and isinstance(base_effect(effect), Transparent):
        raise OutputError(f"suffix '{suffix}': JPEG has no transparency; use .png for a transparent cut-out")
    segmenter = segmenter or Segmenter(canvas_pixels="still")
    _check_segmenter(segmenter)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{out}: cannot create the output folder ({exc.strerror or exc})") from exc
    suffix = suffix or (".png" if isinstance(base_effect(effect), (Transparent, MaskOnly)) else None)
    files, left_out = folder_images(inp, out)
    if left_out:
        warnings.warn(left_out_summary(inp, left_out), HumansegWarning, stacklevel=2)
    if not files:
        warnings.warn(f"no images found in {inp} (looked for {', '.join(sorted(IMAGE_SUFFIXES | GIF_SUFFIXES))})",
                      HumansegWarning, stacklevel=2)
    jobs: dict[str, Path] = {}
    collisions: list[str] = []
    for path in files:   # a one-frame GIF is made into .png: GIF is not a type we write
        name = path.stem + (suffix or (path.suffix if path.suffix.lower() in IMAGE_SUFFIXES else ".png"))
        if name in jobs:
            collisions.append(f"{path.name}: not processed, it would write the same {name} as {jobs[name].name}; "
                              "rename one of them")
        else:
            jobs[name] = path
    for name in jobs:   # before anything is written
        check_background_kept(background_file(effect), out / name)
    model = getattr(getattr(segmenter, "session", None), "path", None) or type(segmenter).__qualname__
    budget = segmenter.budget() if callable(getattr(segmenter, "budget", None)) else None
    budgets = segmenter.budgets() if callable(getattr(segmenter, "budgets", None)) else [budget]
    settings = describe({"model": model, "effect": effect, "postprocess": getattr(segmenter, "postprocess", None),
                         "canvas_pixels": budget, "mirror_average": getattr(segmenter, "mirror_average", None),
                         **({"canvas_budgets": budgets} if len(budgets) > 1 else {}),
                         **({"prior_weight": weight} if (weight := _prior_weight(segmenter)) else {}),
                         **({"refine_fraction": fraction} if (fraction := _refine_fraction(segmenter)) else {}),
                         **({"zoom_share": share} if (share := _zoom_share(segmenter)) else {})})
    manifest = _ResumeManifest(out / RESUME_MANIFEST)
    done = skipped = 0
    failed: list[str] = []
    kept: list[str] = []
    try:
        for name, path in tqdm(jobs.items(), unit="image", disable=not progress):
            target = out / name
            try:
                key = _resume_key(path, settings)
                present = target.exists()
            except OSError as exc:   # the input or an existing output cannot be looked at: report it, go on
                failed.append(str(unreadable(exc.filename or path, exc)))
                continue
            if present and manifest.get(name) == key:
                skipped += 1
                continue
            if present and manifest.get(name) is None:
                kept.append(f"{target}: already exists and no earlier humanseg run into this folder wrote it; kept, "
                            f"{path.name} not processed (move the file away or choose another output folder)")
                continue
            manifest.forget(name)
            try:
                convert_image(path, target, effect, segmenter)
            except InputError as exc:
                failed.append(str(exc))
                continue
            manifest.record(name, key)
            done += 1
    finally:
        manifest.save()
    return {"written": done, "skipped_existing": skipped, "failed": failed + collisions + kept,
            "collisions": collisions, "kept_existing": kept, "left_out": left_out_lines(left_out)}


def _prior_weight(segmenter) -> float:
    """Segmenter.prior_weight() (0 for segmenter stand-ins without one)."""
    return segmenter.prior_weight() if callable(getattr(segmenter, "prior_weight", None)) else 0.0


def _refine_fraction(segmenter) -> float:
    """Segmenter.refine_fraction() (0 for segmenter stand-ins without one)."""
    return segmenter.refine_fraction() if callable(getattr(segmenter, "refine_fraction", None)) else 0.0


def _zoom_share(segmenter) -> float:
    """Segmenter.zoom_share() (0 for segmenter stand-ins without one)."""
    return segmenter.zoom_share() if callable(getattr(segmenter, "zoom_share", None)) else 0.0


def _resume_key(path: Path, settings: str) -> str:
    """Hash of an input file's identity (path, size, mtime_ns) and a settings description."""
    st = path.stat()
    text = json.dumps([str(path.resolve()), st.st_size, st.st_mtime_ns, settings])
    return hashlib.sha256(text.encode()).hexdigest()


class _ResumeManifest:
    """`{"version": 1, "outputs": {output name: resume key}}` in the output folder, written
    atomically at most once a second and at the end. Missing or unreadable: empty (all redone)."""

    def __init__(self, path: Path):
        self.path = path
        self.outputs: dict[str, str] = {}
        self._dirty, self._saved_at = False, time.monotonic()
        try:
            data = json.loads(path.read_text())
            if data.get("version") == 1 and isinstance(data.get("outputs"), dict):
                self.outputs = {str(k): str(v) for k, v in data["outputs"].items()}
        except (OSError, ValueError, AttributeError):
            pass

    def get(self, name: str) -> str | None:
        return self.outputs.get(name)

    def forget(self, name: str) -> None:
        if self.outputs.pop(name, None) is not None:
            self._dirty = True

    def record(self, name: str, key: str) -> None:
        self.outputs[name] = key
        self._dirty = True
        if time.monotonic() - self._saved_at > 1.0:
            self.save()

    def save(self) -> None:
        if self._dirty:
            data = json.dumps({"version": 1, "outputs": self.outputs}, indent=0, sort_keys=True)
            atomic_write_bytes(self.path, data.encode())
            self._dirty, self._saved_at = False, time.monotonic()


def convert_video(inp: str | Path, out: str | Path, effect=None, segmenter: Segmenter | None = None,
                  temporal: str = "auto", progress: bool = True, keep_partial: bool = False) -> dict:
    """Segment every frame of a video with temporal smoothing and encode `effect(frame, mask)`.

    temporal: "auto" (the model's default: the previous mask fed back and flow fusion for models with a
    4th input channel, flow fusion otherwise; runtime/temporal.py) or a mode of TEMPORAL_MODES.
    Default segmenter: Segmenter(), the model's own canvas budget (live video).

    Output keeps the frame count, timestamps, frame rate, size and audio of the input. A VideoBackground
    (also under wrappers) plays at its own speed and comments scroll at their pace in seconds: each is told
    the input's frame rate (`play_at`).
    Transparent() writes .webm (VP9 alpha), .mov (ProRes 4444) or a folder of PNGs. effect: as convert_image's.
    A still image (by its suffix; a one-frame GIF too) is refused with InputError: use convert_image. Mask
    options out of range are an InputError, as for convert_image.
    Returns io/video.process_video's summary plus "scene_cuts": the hard cuts after which the stream started
    again (SegmentStream.cuts).
    """
    from .io.animation import kind_of
    from .io.video import process_video

    if kind_of(Path(inp)) == "image" and Path(inp).is_file():   # a one-frame video of a photo helps no one
        raise InputError(f"{inp}: is a still image, not a video; use `humanseg image` (or convert_image)")
    effect = effect_of(effect)
    check_background_kept(background_file(effect), out)
    if has_finishing(effect, PoissonBlend):
        raise InputError("Poisson blending is for still images (it recolours the person differently from frame to "
                         "frame); use harmonize or light wrap on video")
    segmenter = segmenter or Segmenter()
    _check_segmenter(segmenter)
    stream = segmenter.stream(temporal)
    layer, rate = effect, None
    while layer is not None:   # a video background and scrolling comments keep their pace in seconds
        if hasattr(layer, "play_at"):
            if rate is None:
                from .io.video import VideoReader

                rate = VideoReader(inp).info.fps
            layer.play_at(rate)
        layer = getattr(layer, "under", None)   # under finishing wrappers and CommentsBehind
    result = process_video(inp, out, lambda frame: effect(frame, stream.segment(frame)),
                           transparent=isinstance(base_effect(effect), Transparent), progress=progress,
                           keep_partial=keep_partial)
    return {**result, "scene_cuts": stream.cuts}

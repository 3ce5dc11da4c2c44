"""The public Python API. The CLI calls exactly these, with the same names and defaults."""
from __future__ import annotations

from pathlib import Path

from .effects import Blur, Color, CommentsBehind, Image, MaskOnly, Overlay, Transparent, VideoBackground, effect_from_spec
from .errors import HumansegError, InputError, OutputError
from .io.images import IMAGE_SUFFIXES, check_output_path, read_image, write_image
from .runtime.postprocess import PostProcess
from .runtime.segmenter import Segmenter, SegmentStream
from .weights import DEFAULT_MODEL

__all__ = ["Segmenter", "SegmentStream", "PostProcess", "Blur", "Color", "Image", "VideoBackground", "Transparent",
           "MaskOnly", "Overlay", "CommentsBehind", "effect_from_spec", "convert_image", "convert_folder",
           "convert_video", "HumansegError", "DEFAULT_MODEL"]


def convert_image(inp: str | Path, out: str | Path, effect=None, segmenter: Segmenter | None = None) -> Path:
    """Segment one image file and write `effect(image, mask)` to `out` (atomically). Default effect: Blur()."""
    inp, out = Path(inp), Path(out)
    check_output_path(inp, out)
    effect = effect or Blur()
    if isinstance(effect, Transparent) and out.suffix.lower() in {".jpg", ".jpeg"}:
        raise OutputError(f"{out}: JPEG has no transparency; use a .png output for a transparent cut-out")
    segmenter = segmenter or Segmenter()
    image = read_image(inp)
    write_image(out, effect(image, segmenter.segment(image)))
    return out


def convert_folder(inp: str | Path, out: str | Path, effect=None, segmenter: Segmenter | None = None,
                   suffix: str | None = None, progress: bool = True) -> dict:
    """Every image in `inp` (not recursive) -> `out/<name><suffix>`. Files whose output already
    exists are skipped, so an interrupted run resumes. Unreadable files are listed, not fatal."""
    from tqdm import tqdm

    inp, out = Path(inp), Path(out)
    if not inp.is_dir():
        raise InputError(f"{inp}: not a folder")
    if inp.resolve() == out.resolve():
        raise OutputError(f"{out}: output folder is the input folder; choose another so the inputs are kept")
    out.mkdir(parents=True, exist_ok=True)
    effect = effect or Blur()
    suffix = suffix or (".png" if isinstance(effect, (Transparent, MaskOnly)) else None)
    files = sorted(p for p in inp.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    segmenter = segmenter or Segmenter()
    done = skipped = 0
    failed: list[str] = []
    for path in tqdm(files, unit="image", disable=not progress):
        target = out / (path.stem + (suffix or path.suffix))
        if target.exists():
            skipped += 1
            continue
        try:
            convert_image(path, target, effect, segmenter)
            done += 1
        except InputError as exc:
            failed.append(str(exc))
    return {"written": done, "skipped_existing": skipped, "failed": failed}


def convert_video(inp: str | Path, out: str | Path, effect=None, segmenter: Segmenter | None = None,
                  temporal: str = "flow", progress: bool = True, keep_partial: bool = False) -> dict:
    """Segment every frame of a video with temporal smoothing and encode `effect(frame, mask)`.

    Output keeps the frame count, timestamps, frame rate, size and audio of the input.
    Transparent() writes .webm (VP9 alpha), .mov (ProRes 4444) or a folder of PNGs.
    """
    from .io.video import process_video

    effect = effect or Blur()
    segmenter = segmenter or Segmenter()
    stream = segmenter.stream(temporal)
    return process_video(inp, out, lambda frame: effect(frame, stream.segment(frame)),
                         transparent=isinstance(effect, Transparent), progress=progress, keep_partial=keep_partial)

"""Composable effects: `effect(frame_bgr, mask) -> output frame`, each an `Effect` (effect.py checks both inputs)."""
from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..io.suffixes import VIDEO_SUFFIXES
from .backgrounds import Blur, Color, Image, MaskOnly, Overlay, Transparent, VideoBackground
from .effect import parse_hex_color
from .comments import CommentsBehind

__all__ = ["Blur", "Color", "Image", "VideoBackground", "Transparent", "MaskOnly", "Overlay", "CommentsBehind",
           "effect_from_spec", "describe", "background_file"]

BACKGROUND_VIDEO_SUFFIXES = VIDEO_SUFFIXES | {".gif"}   # an animated GIF plays behind the person, as a video


def effect_from_spec(spec: str, blur_strength: float = 3.0, comments: list[str] | None = None):
    """CLI --bg value -> effect: blur | color:#RRGGBB | transparent | mask | overlay | PATH (image or video).
    With `comments`, the effect is wrapped in CommentsBehind (scrolling; convert_image lays them out on a still)."""
    spec = spec.strip()
    if spec == "blur":
        effect = Blur(blur_strength)
    elif spec.startswith("color:"):
        effect = Color(parse_hex_color(spec[len("color:"):]))
    elif spec == "transparent":
        effect = Transparent()
    elif spec == "mask":
        effect = MaskOnly()
    elif spec == "overlay":
        effect = Overlay()
    else:
        path = Path(spec)
        try:
            is_file = path.is_file()
        except OSError as exc:   # e.g. a folder on the way that cannot be searched
            from ..io.images import unreadable

            raise unreadable(path, exc) from exc
        if not is_file:
            raise InputError(f"--bg '{spec}': not blur, color:#RRGGBB, transparent, mask, overlay or an existing file")
        from ..io.animation import is_animated

        plays = path.suffix.lower() in BACKGROUND_VIDEO_SUFFIXES or is_animated(path)   # an APNG plays too
        effect = VideoBackground(path) if plays else Image(path)
    if comments:
        if not hasattr(effect, "background"):
            raise InputError("--comments needs a background effect (blur, color, image or video)")
        effect = CommentsBehind(comments, under=effect)
    return effect


def background_file(effect) -> Path | None:
    """The file an effect draws behind the person (Image, VideoBackground), under any wrappers (finishing,
    CommentsBehind); None for effects without one."""
    while hasattr(effect, "under"):
        effect = effect.under
    return effect.path if isinstance(effect, (Image, VideoBackground)) else None


def describe(value) -> str:
    """A deterministic one-line description of an effect (or PostProcess, path, number...) and its
    settings, the same in every process: what folder resume keys on. Public attributes only
    (state such as caches and frame counters is private); a file path includes its size and
    modification time, so a changed background image counts as a changed setting. An object of a
    type this does not know is described by its repr, which may differ between runs: then a
    resume redoes the work rather than trusting an output made with other settings."""
    if hasattr(value, "describe") and callable(value.describe):
        return value.describe()
    if value is None or isinstance(value, (bool, int, float, str)):
        return repr(value)
    if isinstance(value, Path):
        try:
            st = value.stat()
            return f"Path({str(value.resolve())!r}, size={st.st_size}, mtime_ns={st.st_mtime_ns})"
        except OSError:
            return f"Path({str(value.resolve())!r})"
    if isinstance(value, np.generic):
        return repr(value.item())
    if isinstance(value, np.ndarray):
        if value.size <= 16:
            return repr(value.tolist())
        digest = hashlib.blake2b(np.ascontiguousarray(value).tobytes(), digest_size=16).hexdigest()
        return f"array({value.shape}, {value.dtype}, {digest})"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(describe(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{describe(k)}: {describe(v)}" for k, v in sorted(value.items(), key=repr)) + "}"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = ((f.name, getattr(value, f.name)) for f in dataclasses.fields(value))
    elif hasattr(value, "__dict__") and type(value).__repr__ is object.__repr__:
        fields = sorted((k, v) for k, v in vars(value).items() if not k.startswith("_"))
    else:
        return repr(value)
    kind = type(value)
    return f"{kind.__module__}.{kind.__qualname__}(" + ", ".join(f"{k}={describe(v)}" for k, v in fields) + ")"

"""Composable effects: `effect(frame_bgr, mask) -> output frame`."""
from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from .backgrounds import Blur, Color, Image, MaskOnly, Overlay, Transparent, VideoBackground, parse_hex_color
from .comments import CommentsBehind

__all__ = ["Blur", "Color", "Image", "VideoBackground", "Transparent", "MaskOnly", "Overlay", "CommentsBehind",
           "effect_from_spec"]

VIDEO_SUFFIXES = {".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v"}


def effect_from_spec(spec: str, blur_strength: float = 3.0, comments: list[str] | None = None):
    """CLI --bg value -> effect: blur | color:#RRGGBB | transparent | mask | overlay | PATH (image or video)."""
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
        if not path.is_file():
            raise InputError(f"--bg '{spec}': not blur, color:#RRGGBB, transparent, mask, overlay or an existing file")
        effect = VideoBackground(path) if path.suffix.lower() in VIDEO_SUFFIXES else Image(path)
    if comments:
        if not hasattr(effect, "background"):
            raise InputError("--comments needs a background effect (blur, color, image or video)")
        effect = CommentsBehind(comments, under=effect)
    return effect

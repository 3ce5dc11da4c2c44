"""Value checks for command-line arguments: each turns text into a checked value or raises
argparse.ArgumentTypeError, which argparse prints as a one-line usage error (exit 2)."""
from __future__ import annotations

import argparse
import math

LIGHT_WRAP_WIDTH, MAX_LIGHT_WRAP_WIDTH = 1.5, 20.0


def _number(text: str, kind):
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not {'an integer' if kind is int else 'a number'}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"'{text}' is not a finite number")
    return value


def _checked(text: str, kind, ok, problem: str):
    """`text` as a `kind` number for which ok(value) holds; otherwise the one-line error "<text> <problem>"."""
    value = _number(text, kind)
    if not ok(value):
        raise argparse.ArgumentTypeError(f"{text} {problem}")
    return value


def probability(text: str) -> float:
    return _checked(text, float, lambda v: 0 <= v <= 1, "is not in [0, 1]")


def refine_fraction(text: str) -> float:
    """--still-refine: a radius as a fraction of the photo's long side (runtime/postprocess.py)."""
    from .runtime.postprocess import MAX_REFINE_FRACTION

    return _checked(text, float, lambda v: 0 < v <= MAX_REFINE_FRACTION, f"is not in (0, {MAX_REFINE_FRACTION}]")


def zoom_share(text: str) -> float:
    """--still-zoom: a share of the photo (runtime/zoom.py)."""
    from .runtime.zoom import MAX_ZOOM_SHARE, MIN_ZOOM_SHARE

    return _checked(text, float, lambda v: MIN_ZOOM_SHARE < v <= MAX_ZOOM_SHARE,
                    f"is not in ({MIN_ZOOM_SHARE}, {MAX_ZOOM_SHARE}]")


def non_negative_int(text: str) -> int:
    return _checked(text, int, lambda v: v >= 0, "is negative; use 0 or more")


def non_negative_float(text: str) -> float:
    return _checked(text, float, lambda v: v >= 0, "is negative; use 0 or more")


def positive_int(text: str) -> int:
    return _checked(text, int, lambda v: v >= 1, "is not a positive integer; use 1 or more")


def positive_float(text: str) -> float:
    return _checked(text, float, lambda v: v > 0, "is not positive")


def _up_to(text: str, limit: float, unit: str) -> float:
    value = non_negative_float(text)
    if value > limit:
        raise argparse.ArgumentTypeError(f"{text} is more than {limit:g} ({unit}); use 0 to {limit:g}")
    return value


def gate_radius(text: str) -> int:
    """--gate: an integer radius up to runtime/postprocess.py's MAX_GATE_PX, as the service."""
    from .runtime.postprocess import MAX_GATE_PX

    value = non_negative_int(text)
    if value > MAX_GATE_PX:
        raise argparse.ArgumentTypeError(f"{text} is more than {MAX_GATE_PX} (px); use 0 to {MAX_GATE_PX}")
    return value


def blur_strength(text: str) -> float:
    """--blur-strength: at most effects/backgrounds.py's MAX_BLUR_STRENGTH, as the service."""
    from .effects.backgrounds import MAX_BLUR_STRENGTH

    return _up_to(text, MAX_BLUR_STRENGTH, "% of the short side")


def feather_sigma(text: str) -> float:
    """--feather: at most runtime/postprocess.py's MAX_FEATHER, as the service."""
    from .runtime.postprocess import MAX_FEATHER

    return _up_to(text, MAX_FEATHER, "px")


def still_scales(text: str) -> list[float]:
    """--still-scale: comma-separated multiples of the model's budget (runtime/budget.still_scales_problem)."""
    from .runtime.budget import still_scales_problem

    values = [_number(v, float) for v in text.split(",")]
    problem = still_scales_problem(values)
    if problem:
        raise argparse.ArgumentTypeError(f"{text}: {problem}, comma-separated")
    return values


def port_number(text: str) -> int:
    return _checked(text, int, lambda v: 1 <= v <= 65535, "is not a port number (1-65535)")


def port_or_any(text: str) -> int:
    """A port number, or 0 for any free port."""
    return _checked(text, int, lambda v: 0 <= v <= 65535, "is not a port number (1-65535, or 0 for any free port)")


def light_wrap_width(text: str) -> float:
    return _checked(text, float, lambda v: 0 < v <= MAX_LIGHT_WRAP_WIDTH,
                    f"is not in (0, {MAX_LIGHT_WRAP_WIDTH:g}] (% of the short side)")


def canvas_pixels(text: str) -> int:
    from .runtime.budget import MAX_CANVAS_PIXELS

    value = positive_int(text)
    if value > MAX_CANVAS_PIXELS:
        raise argparse.ArgumentTypeError(f"{text} is more than {MAX_CANVAS_PIXELS} pixels")
    return value


def camera_index(text: str) -> int:
    from .io.webcam import MAX_CAMERA_INDEX

    return _checked(text, int, lambda v: 0 <= v <= MAX_CAMERA_INDEX, f"is not a camera index (0 to {MAX_CAMERA_INDEX})")

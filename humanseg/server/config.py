"""Settings of the HTTP service (importable without FastAPI, for the CLI's defaults)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ServerConfig:
    model: str = "portrait"             # default model: a shipped name or an .onnx path (served under its stem)
    workers: int = 2
    queue: int = 8
    max_upload_bytes: int = 20 * 1024 * 1024
    max_pixels: int = 40_000_000
    threads_per_worker: int = 1
    canvas_pixels: int | None = None     # canvas budget of adaptive models; None: "still" (runtime/budget.py)
    mirror_average: bool | None = None   # Segmenter's option; None: on (the service segments photos)
    photo_recipe: str = "full"           # Segmenter's option: "full" still recipe, or "fast" (one budget, one pass)
    max_canvas_pixels: int = 1024 * 1024  # the most a request's canvas_pixels may ask for

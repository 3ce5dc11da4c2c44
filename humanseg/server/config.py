"""Settings of the HTTP service (importable without FastAPI, for the CLI's defaults)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ServerConfig:
    model: str = "portrait"
    workers: int = 2
    queue: int = 8
    max_upload_bytes: int = 20 * 1024 * 1024
    max_pixels: int = 40_000_000
    threads_per_worker: int = 1

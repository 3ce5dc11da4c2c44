"""Shipped models: a name resolves to an ONNX file inside the package."""
from __future__ import annotations

from pathlib import Path

from ..errors import ModelError

WEIGHTS_DIR = Path(__file__).resolve().parent
SHIPPED = {"portrait": WEIGHTS_DIR / "portrait.onnx"}
DEFAULT_MODEL = "portrait"


def resolve_model(model: str | Path) -> Path:
    """A shipped model name or a path to an .onnx file -> existing path."""
    if str(model) in SHIPPED:
        path = SHIPPED[str(model)]
        if not path.is_file():
            raise ModelError(f"shipped model '{model}' is missing from the installation ({path}); reinstall humanseg")
        return path
    path = Path(model)
    if path.is_file():
        return path
    raise ModelError(f"unknown model '{model}': not one of {sorted(SHIPPED)} and not an existing .onnx file")

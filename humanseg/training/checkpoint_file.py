"""Reading a training checkpoint (.pt) that a user names: one loader for export, --init, --resume and averaging.

It loads with `weights_only=True` (tensors, numbers, strings, lists and dicts only), so a file from
elsewhere cannot run code on load, and turns every way such a file can be wrong into one-line errors."""
from __future__ import annotations

from pathlib import Path

import torch

from ..errors import InputError, ModelError


def read_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    """The checkpoint dict ("model", "state_dict", ...). InputError when there is no such file;
    ModelError when the file is not a humanseg checkpoint (not a torch file, truncated, or other content)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: checkpoint not found")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch.load fails in many ways (pickle, zip, EOF, disallowed globals): all mean the same
        raise ModelError(f"{path}: not a humanseg checkpoint (torch cannot read it: {exc.__class__.__name__})") \
            from None
    if not isinstance(state, dict) or not isinstance(state.get("state_dict"), dict) or "model" not in state:
        raise ModelError(f"{path}: not a humanseg checkpoint (no model name and weights in it)")
    return state

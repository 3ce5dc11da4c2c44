"""Grow a gate-free (faster) fast-portrait-prior-lean checkpoint from a trained fast-portrait-prior checkpoint.

    python tools/fold_gates.py runs/comb_a1/last.pt runs/lean0.pt --images ../shared/data/train [--keep-context-gate]
    humanseg train --model fast-portrait-prior-lean [--model-kwargs '{"context_gate": true}'] --init runs/lean0.pt ...

Each squeeze-excite / context gate becomes its calibration average, folded into the next layer (see
humanseg/training/fold_gates.py). Calibration: `--count` images spread evenly over the photos under `--images`
(searched recursively; a folder named `masks` or `soft` is skipped), each on the runtime's adaptive canvas, once
with an empty prior and once with the model's own mask as the prior (as a video frame sees it). The tool prints how
far the lean model's masks are from the original's on those inputs and keeps the checkpoint's training history.
"""
from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path

import numpy as np
import torch

from humanseg.errors import HumansegError
from humanseg.io.images import atomic_write_bytes, read_image
from humanseg.runtime.canvas import adaptive_canvas
from humanseg.runtime.preprocess import canvas_image, model_input
from humanseg.training.checkpoint_file import read_checkpoint
from humanseg.training.fold_gates import folded_state_dict, gate_constants
from humanseg.training.models import create_model

SOURCE_MODEL, LEAN_MODEL = "fast-portrait-prior", "fast-portrait-prior-lean"
PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}
LABEL_FOLDERS = {"masks", "soft"}


class FoldError(ValueError):
    """Input the tool cannot use; printed as one line."""


def calibration_photos(root: Path, count: int) -> list[Path]:
    photos = sorted(p for p in root.rglob("*") if p.suffix.lower() in PHOTO_SUFFIXES
                    and not LABEL_FOLDERS & set(p.relative_to(root).parts[:-1]))
    if not photos:
        raise FoldError(f"{root}: no photos found for calibration")
    picks = np.linspace(0, len(photos) - 1, min(count, len(photos))).round().astype(int)
    return [photos[i] for i in sorted(set(picks))]


def calibration_inputs(model: torch.nn.Module, photos: list[Path], budget: int) -> tuple[list[torch.Tensor], int]:
    """(each readable photo twice: with an empty prior and with the model's own mask as the prior; how many
    photos could not be read and were skipped). FoldError when none can be read."""
    inputs, skipped = [], 0
    model.eval()
    for path in photos:
        try:
            frame = read_image(path)
        except HumansegError:   # one bad file does not stop the calibration; the count is printed
            skipped += 1
            continue
        size = adaptive_canvas(frame.shape[1], frame.shape[0], budget)
        canvas, _ = canvas_image(frame, size)
        empty = torch.from_numpy(model_input(canvas, 4))
        with torch.no_grad():
            own = model(empty).softmax(1)[0, 1].numpy()
        inputs += [empty, torch.from_numpy(model_input(canvas, 4, own))]
    if not inputs:
        raise FoldError(f"none of the {len(photos)} calibration photos could be read")
    return inputs, skipped


def agreement(a: torch.nn.Module, b: torch.nn.Module, inputs: list[torch.Tensor]) -> tuple[float, float]:
    """(mean |probability difference|, IoU of the two person masks at 0.5) over `inputs`."""
    diff, inter, union = 0.0, 0, 0
    with torch.no_grad():
        for x in inputs:
            pa, pb = a(x).softmax(1)[0, 1], b(x).softmax(1)[0, 1]
            diff += (pa - pb).abs().mean().item()
            ma, mb = pa > 0.5, pb > 0.5
            inter += int((ma & mb).sum())
            union += int((ma | mb).sum())
    return diff / len(inputs), inter / max(union, 1)


def fold_checkpoint(src: Path, photos: list[Path], budget: int, keep_context_gate: bool = False
                    ) -> tuple[dict, float, float, int]:
    """(the lean checkpoint, mean probability difference, mask IoU with the original, unreadable photos skipped)."""
    state = read_checkpoint(src)
    if state.get("model") != SOURCE_MODEL:
        raise FoldError(f"{src}: holds {state.get('model')}, not {SOURCE_MODEL}")
    kwargs = state.get("model_kwargs", {})
    if kwargs.get("wide_context"):
        raise FoldError(f"{src}: the wide context is not supported")
    try:
        gated = create_model(SOURCE_MODEL, **kwargs)
        gated.load_state_dict(state["state_dict"])
    except (RuntimeError, TypeError):   # tensors of another model, or kwargs this model does not take
        raise FoldError(f"{src}: its weights do not fit the {SOURCE_MODEL} {kwargs} it names; it is not a "
                        "checkpoint humanseg train wrote") from None
    inputs, skipped = calibration_inputs(gated, photos, budget)
    lean_kwargs = {**kwargs, "context_gate": True} if keep_context_gate else dict(kwargs)
    lean = create_model(LEAN_MODEL, **lean_kwargs).eval()
    constants = gate_constants(gated, inputs)
    if keep_context_gate:
        constants.pop("context")
    lean.load_state_dict(folded_state_dict(gated, constants))
    diff, iou = agreement(gated, lean, inputs)
    result = {k: v for k, v in state.items() if k not in ("optimizer", "state_dict")}
    history = list(state.get("training_runs", []))
    result.update(model=LEAN_MODEL, model_kwargs=lean_kwargs, state_dict=lean.state_dict(), training_runs=history + [
        {"gates_folded_from": str(src), "calibration_photos": len(photos) - skipped, "samples": 0}])
    return result, diff, iou, skipped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("src", type=Path, help=f"{SOURCE_MODEL} training checkpoint (.pt)")
    parser.add_argument("out", type=Path, help=f"{LEAN_MODEL} checkpoint to write (.pt)")
    parser.add_argument("--images", type=Path, required=True, help="folder of photos to calibrate the gates on")
    parser.add_argument("--count", type=int, default=240, help="photos to use (default 240)")
    parser.add_argument("--keep-context-gate", action="store_true",
                        help='fold only the encoder\'s squeeze-excite; the context gate stays (model kwargs '
                             '{"context_gate": true})')
    parser.add_argument("--pixels", type=int, default=256 * 144, help="canvas pixel budget (default 256x144)")
    args = parser.parse_args(argv)
    try:
        if args.count < 1 or args.pixels < 256:
            raise FoldError("--count must be at least 1 and --pixels at least 256")
        if not args.images.is_dir():
            raise FoldError(f"{args.images}: not a folder")
        if args.out.resolve() == args.src.resolve():
            raise FoldError(f"{args.out}: is the input; write the lean checkpoint to a new file")
        photos = calibration_photos(args.images, args.count)
        state, diff, iou, skipped = fold_checkpoint(args.src, photos, args.pixels, args.keep_context_gate)
        buffer = io.BytesIO()
        torch.save(state, buffer)
        atomic_write_bytes(args.out, buffer.getvalue())
    except (HumansegError, FoldError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    unread = f", {skipped} unreadable photos skipped" if skipped else ""
    print(f"{args.out}: {LEAN_MODEL} {json.dumps(state['model_kwargs'])}, gates of {args.src} folded at their "
          f"averages over {len(photos) - skipped} photos (x2 priors{unread}); mean probability difference "
          f"{diff:.4f}, mask IoU with the original {iou:.4f}; {state.get('training_samples', 0)} cumulative samples")
    return 0


if __name__ == "__main__":
    sys.exit(main())

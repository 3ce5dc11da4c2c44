"""Average the weights of training checkpoints (or of exported ONNX models) of one architecture into a new file.

    python tools/average_checkpoints.py OUT.pt runs/a/best.pt runs/b/best.pt [...]
    humanseg export OUT.pt --onnx model.onnx
    python tools/average_checkpoints.py OUT.onnx humanseg/weights/portrait.onnx candidate.onnx [...]

All inputs are checkpoints (.pt) or all are exported models (.onnx, averaged as exported, batch normalisation
folded: humanseg/training/onnx_average.py); the output has their suffix.

A file given several times counts that many times in the mean (a way to weight it); the line printed says so.

See humanseg/training/checkpoint_average.py for what is averaged and what history the result carries (the same
history for ONNX models, in their metadata).
"""
from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import torch

from humanseg.errors import OutputError
from humanseg.io.images import atomic_write_bytes
from humanseg.training.checkpoint_average import AverageError, average_checkpoints
from humanseg.training.onnx_average import average_onnx


def repeated(paths: list[Path]) -> str:
    """' (a.pt twice, b.pt 3 times)' for the files given more than once (the same file under any name), or ''."""
    counts: dict[Path, list] = {}
    for path in paths:
        counts.setdefault(path.resolve(), [path, 0])[1] += 1
    notes = [f"{path} {'twice' if n == 2 else f'{n} times'}" for path, n in counts.values() if n > 1]
    return f" ({', '.join(notes)})" if notes else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="file to write (.pt, or .onnx for ONNX inputs)")
    parser.add_argument("checkpoints", type=Path, nargs="+",
                        help="two or more checkpoints (or exported .onnx models) of one architecture")
    args = parser.parse_args(argv)
    try:
        if any(args.out.resolve() == p.resolve() for p in args.checkpoints):
            raise AverageError(f"{args.out}: is one of the inputs; write the average to a new file")
        onnx_inputs = [p.suffix.lower() == ".onnx" for p in args.checkpoints]
        if any(onnx_inputs) and not all(onnx_inputs):
            raise AverageError("give only checkpoints (.pt) or only exported models (.onnx), not both")
        if all(onnx_inputs):
            if args.out.suffix.lower() != ".onnx":
                raise AverageError(f"{args.out}: the average of ONNX models is an ONNX model; name it .onnx")
            model = average_onnx(args.checkpoints)
            atomic_write_bytes(args.out, model.SerializeToString())
            meta = {p.key: p.value for p in model.metadata_props}
            what, architecture, samples = "models", meta["humanseg.architecture"], meta["humanseg.training_samples"]
        else:
            if args.out.suffix.lower() == ".onnx":
                raise AverageError(f"{args.out}: the average of checkpoints is a checkpoint; name it .pt and "
                                   "make the .onnx from it with humanseg export")
            state = average_checkpoints(args.checkpoints)
            buffer = io.BytesIO()
            torch.save(state, buffer)
            atomic_write_bytes(args.out, buffer.getvalue())
            what, architecture, samples = "checkpoints", state["model"], state["training_samples"]
    except (AverageError, OutputError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"{args.out}: mean of {len(args.checkpoints)} {what}{repeated(args.checkpoints)} ({architecture}, "
          f"{samples} cumulative samples)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

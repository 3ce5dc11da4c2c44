"""Grow a training checkpoint into a wider model of the same architecture, with the same output.

    python tools/widen_checkpoint.py runs/narrow.pt runs/wide.pt --model-kwargs '{"hidden_scales": [1, 1, 2]}'
    humanseg train --model fast-portrait-prior --model-kwargs '{"hidden_scales": [1, 1, 2]}' --init runs/wide.pt ...

See humanseg/training/widen.py for how. The new checkpoint keeps the old one's training history; the tool
checks that both models give the same logits on a random input before it writes anything.
"""
from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path

import torch

from humanseg.errors import HumansegError
from humanseg.io.images import atomic_write_bytes
from humanseg.training.checkpoint_file import read_checkpoint
from humanseg.training.models import create_model, input_channels
from humanseg.training.widen import WidenError, widen_state_dict


def widen_checkpoint(src: Path, model_kwargs: dict, seed: int = 0) -> tuple[dict, float]:
    """(the wide checkpoint, the largest logit difference between the two models on a random input)."""
    state = read_checkpoint(src)
    narrow = create_model(state["model"], **state.get("model_kwargs", {}))
    try:
        narrow.load_state_dict(state["state_dict"])
    except RuntimeError:   # tensors of another model or of other kwargs than the ones it names
        raise WidenError(f"{src}: its weights do not fit the {state['model']} {state.get('model_kwargs', {})} it "
                         "names; it is not a checkpoint humanseg train wrote") from None
    torch.manual_seed(seed)   # the new channels' fresh initialisation
    wide = create_model(state["model"], **model_kwargs)
    wide.load_state_dict(widen_state_dict(state["state_dict"], wide))
    x = torch.randn(2, input_channels(narrow), 144, 256, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        diff = (narrow.eval()(x) - wide.eval()(x)).abs().max().item()
    result = {k: v for k, v in state.items() if k not in ("optimizer", "state_dict", "model_kwargs")}
    result.update(state_dict=wide.state_dict(), model_kwargs=model_kwargs,
                  training_runs=list(state.get("training_runs", [])) + [
                      {"widened_from": str(src), "model_kwargs": model_kwargs, "samples": 0}])
    return result, diff


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("src", type=Path, help="training checkpoint (.pt) to grow")
    parser.add_argument("out", type=Path, help="checkpoint to write (.pt)")
    parser.add_argument("--model-kwargs", required=True, help="JSON keyword arguments of the wider model")
    parser.add_argument("--seed", type=int, default=0, help="seed of the new channels' initialisation")
    args = parser.parse_args(argv)
    try:
        kwargs = json.loads(args.model_kwargs)
        if not isinstance(kwargs, dict):
            raise ValueError("not a JSON object")
    except ValueError as exc:
        print(f"error: --model-kwargs: {exc}", file=sys.stderr)
        return 2
    try:
        if args.out.resolve() == args.src.resolve():
            raise WidenError(f"{args.out}: is the input; write the wider checkpoint to a new file")
        state, diff = widen_checkpoint(args.src, kwargs, args.seed)
        if diff > 1e-4:
            raise WidenError(f"the wider model's output differs by {diff:.2g}; not written")
        buffer = io.BytesIO()
        torch.save(state, buffer)
        atomic_write_bytes(args.out, buffer.getvalue())
    except (HumansegError, WidenError, TypeError) as error:   # TypeError: kwargs the model does not take
        print(f"error: {error}", file=sys.stderr)
        return 2
    params = sum(v.numel() for k, v in state["state_dict"].items() if "running" not in k and "num_batches" not in k)
    print(f"{args.out}: {state['model']} {json.dumps(kwargs)}, {params:,} weights, same logits as {args.src} "
          f"(largest difference {diff:.1e}), {state.get('training_samples', 0)} cumulative samples")
    return 0


if __name__ == "__main__":
    sys.exit(main())

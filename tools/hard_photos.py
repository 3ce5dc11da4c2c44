"""List the training photos a `--hard-share` run found hardest: its per-photo loss averages, highest first.

    python tools/hard_photos.py runs/x/last.pt [--top 30]

The photos at the top are the ones the network still gets wrong, and often ones whose mask is wrong (hair
left out, background drawn in): a place to start a label audit.
"""
from __future__ import annotations

import argparse
import math
import sys
from collections import defaultdict
from pathlib import Path

from humanseg.errors import HumansegError
from humanseg.training.checkpoint_file import read_checkpoint


def hardest(state: dict, top: int) -> tuple[list[tuple[float, str]], dict[str, tuple[int, float]]]:
    """([(loss, photo)] highest first, {source: (photos seen, mean loss)}) of a checkpoint's hard_examples."""
    hard = state.get("hard_examples")
    if not hard or "names" not in hard:
        raise ValueError("holds no per-photo losses with names: it was not written by a --hard-share run "
                         "(or by one from before the names were saved)")
    losses = hard["losses"].tolist()
    seen = [(loss, name) for loss, name in zip(losses, hard["names"]) if not math.isnan(loss)]
    by_source: dict[str, list[float]] = defaultdict(list)
    for loss, name in seen:
        by_source[Path(name).parent.parent.name].append(loss)
    sources = {s: (len(v), sum(v) / len(v)) for s, v in sorted(by_source.items())}
    return sorted(seen, reverse=True)[:top], sources


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path, help="last.pt or best.pt of a --hard-share run")
    parser.add_argument("--top", type=int, default=30, help="how many photos to list (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        if args.top < 1:
            raise ValueError(f"--top {args.top}: give 1 or more")
        rows, sources = hardest(read_checkpoint(args.checkpoint), args.top)
    except HumansegError as error:  # no such file, not a checkpoint
        print(f"error: {error}", file=sys.stderr)
        return 2
    except ValueError as error:
        print(f"error: {args.checkpoint}: {error}", file=sys.stderr)
        return 2
    for source, (count, mean) in sources.items():
        print(f"# {source}: {count} photos seen, mean loss {mean:.4f}")
    for loss, name in rows:
        print(f"{loss:.4f}\t{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

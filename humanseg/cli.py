"""`humanseg` command line: one command, sub-commands mirroring the Python API."""
from __future__ import annotations

import argparse
import sys

from .errors import HumansegError

COMMANDS = {}


def command(name: str, help: str):
    def register(fn):
        COMMANDS[name] = (fn, help)
        return fn
    return register


def _train_parser(p):
    from .training.cli_train import add_train_arguments
    add_train_arguments(p)


@command("train", "train a model on image/mask folders (needs humanseg[train])")
def cmd_train(a):
    from .training.cli_train import config_from_args
    from .training.trainer import train
    train(config_from_args(a), resume=a.resume)


PARSERS = {"train": _train_parser}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="humanseg", description="Human segmentation: cut out, blur or replace backgrounds.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (fn, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        PARSERS[name](p)
        p.set_defaults(func=fn)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except HumansegError as exc:
        print(f"humanseg: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("humanseg: interrupted", file=sys.stderr)
        return 130
    return 0

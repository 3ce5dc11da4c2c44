"""How `humanseg` reports what goes wrong before a command runs: usage errors in one line with the closest
option, warnings as `humanseg: warning:` lines, and what to install when a module is missing."""
from __future__ import annotations

import argparse
import sys
import warnings

from .errors import HumansegWarning

# a missing module -> what installs it (None: the base package)
INSTALL_FOR_MODULE = {
    "onnxruntime": None, "cv2": None, "av": None, "numpy": None, "tqdm": None,
    "torch": "train", "torchvision": "train", "onnx": "train", "onnxslim": "train", "matplotlib": "train",
    "fastapi": "serve", "uvicorn": "serve", "multipart": "serve", "python_multipart": "serve", "starlette": "serve",
    "pyvirtualcam": "webcam", "pymatting": "matte", "numba": "matte", "ray": "batch",
}
EXTRA_FOR_COMMAND = {"train": "train", "export": "train", "serve": "serve", "webcam": "webcam"}


def install_hint(module: str | None, command: str) -> str:
    """What to install when `module` is missing while running `command`."""
    top = (module or "").split(".")[0]
    extra = INSTALL_FOR_MODULE[top] if top in INSTALL_FOR_MODULE else EXTRA_FOR_COMMAND.get(command)
    return f"pip install 'humanseg[{extra}]'" if extra else "pip install humanseg"


class OneLineParser(argparse.ArgumentParser):
    """Usage errors in one line, like every other error of the command; an unknown option names the
    command's closest options and points at that command's help."""

    def error(self, message: str):
        self.exit(2, f"humanseg: error: {message} (see `{self.prog} --help`)\n")

    def parse_args(self, args=None, namespace=None):
        namespace, extras = self.parse_known_args(args, namespace)
        if extras:
            command = getattr(self, "commands", {}).get(getattr(namespace, "command", None), self)
            command.error(f"unrecognized arguments: {' '.join(extras)}{closest_options(command, extras)}")
        return namespace


def closest_options(parser: argparse.ArgumentParser, extras: list[str]) -> str:
    """"; did you mean --bg?" for unknown options that look like one of the parser's, else ""."""
    import difflib

    known = [o for action in parser._actions for o in action.option_strings if o.startswith("--")]
    guesses = []
    for extra in extras:
        if extra.startswith("--"):
            guesses += difflib.get_close_matches(extra.split("=")[0], known, n=1, cutoff=0.6)
    return f"; did you mean {' or '.join(dict.fromkeys(guesses))}?" if guesses else ""


def show_warning(message, category, filename, lineno, file=None, line=None, _default=warnings.showwarning):
    if issubclass(category, HumansegWarning):
        print(f"humanseg: warning: {message}", file=sys.stderr)
    else:
        _default(message, category, filename, lineno, file, line)

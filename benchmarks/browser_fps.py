"""In-browser frames per second of the page (`humanseg serve` at /) in Debian's headless Chromium,
with a fake camera playing a still of examples/astronaut.jpg at 640x360 and at 1280x720.
Needs chromium, node, `npm ci --prefix web` and `node web/build.mjs`.

    python benchmarks/browser_fps.py [--seconds 15] [--model portrait --model other.onnx]

With several --model, each setting runs every model in turn (one server per model, all started first), so
a slow spell of the machine hits them alike.
"""
from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
from pathlib import Path

import cv2

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from tests.browser.fake_camera import Server, missing_browser_tools, run_page, write_y4m  # noqa: E402

from humanseg.effects.backgrounds import cover_fit  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--model", action="append", default=None,
                    help="a shipped name or an .onnx path the page runs; repeat to compare (default: the shipped one)")
    a = ap.parse_args()
    why = missing_browser_tools()
    if why:
        raise SystemExit(f"cannot run: {why}")
    photo = cv2.imread(str(REPO / "examples" / "astronaut.jpg"))
    models = a.model or [None]
    print("| camera | effect | model | backend | frames/s (frames counted over the run) | page fps readout |")
    print("|---|---|---|---|---|---|")
    with contextlib.ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        servers = [stack.enter_context(Server(model)) for model in models]
        for w, h in ((640, 360), (1280, 720)):
            clip = write_y4m([cover_fit(photo, w, h)] * 30, Path(tmp) / f"cam{w}.y4m")
            for effect in ("blur", "color"):
                for i, (model, server) in enumerate(zip(models, servers)):
                    out = Path(tmp) / f"{w}{effect}{i}"
                    out.mkdir()
                    r = run_page(f"{server.url}/?effect={effect}", clip, out, seconds=a.seconds)
                    print(f"| {w}x{h} | {effect} | {model or 'default'} | {r['backend']} | {r['measured_fps']:.1f} | "
                          f"{r['fps_text']} |", flush=True)


if __name__ == "__main__":
    main()

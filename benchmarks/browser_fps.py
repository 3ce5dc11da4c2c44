"""In-browser frames per second of the page (`humanseg serve` at /) in Debian's headless Chromium,
with a fake camera playing a still of examples/astronaut.jpg at 640x360 and at 1280x720.
Needs chromium, node, `npm ci --prefix web` and `node web/build.mjs`.

    python benchmarks/browser_fps.py [--seconds 15]
"""
from __future__ import annotations

import argparse
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
    a = ap.parse_args()
    why = missing_browser_tools()
    if why:
        raise SystemExit(f"cannot run: {why}")
    photo = cv2.imread(str(REPO / "examples" / "astronaut.jpg"))
    print("| camera | effect | backend | frames/s (frames counted over the run) | page fps readout |")
    print("|---|---|---|---|---|")
    with Server() as server, tempfile.TemporaryDirectory() as tmp:
        for w, h in ((640, 360), (1280, 720)):
            clip = write_y4m([cover_fit(photo, w, h)] * 30, Path(tmp) / f"cam{w}.y4m")
            for effect in ("blur", "color"):
                out = Path(tmp) / f"{w}{effect}"
                out.mkdir()
                r = run_page(f"{server.url}/?effect={effect}", clip, out, seconds=a.seconds)
                print(f"| {w}x{h} | {effect} | {r['backend']} | {r['measured_fps']:.1f} | {r['fps_text']} |")


if __name__ == "__main__":
    main()

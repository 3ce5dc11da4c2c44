"""Key a green-screen clip into (image, alpha, foreground) triples composited onto new backgrounds.

Writes <out>/<clip stem>/{images/*.jpg, alpha/*.png, fg/*.png, masks/*.png} (humanseg/matting/keying.py), a
layout `humanseg eval --data <out>` scores, alpha included.

    python tools/key_green_screen.py clip.mp4 runs/keyed_val --backgrounds ../shared/data/backgrounds/images \
        --every 4 --max-frames 60
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from humanseg.errors import HumansegError
from humanseg.matting.keying import SPILL_MODES, KeyerSettings, key_clip


def main(argv: list[str] | None = None) -> int:
    defaults = KeyerSettings()
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("video", type=Path, help="green-screen clip")
    p.add_argument("out", type=Path, help="output root; the clip's triples go to <out>/<clip stem>/")
    p.add_argument("--backgrounds", type=Path, required=True, help="folder of background images")
    p.add_argument("--every", type=int, default=4, help="key every Nth frame (default 4)")
    p.add_argument("--max-frames", type=int, default=60, help="at most this many frames (default 60)")
    p.add_argument("--seed", type=int, default=0, help="seed of the background draw (default 0)")
    p.add_argument("--low", type=float, default=defaults.low,
                   help=f"key fraction at or below which alpha is 1 (default {defaults.low})")
    p.add_argument("--high", type=float, default=defaults.high,
                   help=f"key fraction at or above which alpha is 0 (default {defaults.high})")
    p.add_argument("--despill", choices=SPILL_MODES, default=defaults.despill)
    p.add_argument("--clean", type=int, default=defaults.clean_radius, help="alpha opening+closing radius, px")
    p.add_argument("--blur", type=float, default=defaults.blur_sigma, help="alpha Gaussian blur sigma, px")
    a = p.parse_args(argv)
    try:
        settings = KeyerSettings(a.low, a.high, a.despill, a.clean, a.blur)
        written = key_clip(a.video, a.out, a.backgrounds, a.every, a.max_frames, a.seed, settings)
    except HumansegError as exc:
        print(f"key_green_screen: error: {exc}", file=sys.stderr)
        return 1
    print(f"{len(written)} frames keyed into {a.out / a.video.stem}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

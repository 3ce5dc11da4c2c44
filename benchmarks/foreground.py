"""Cost of foreground colour estimation and of the composite finishing effects on a 720p frame.

The frame is examples/astronaut.jpg cover-fitted to 1280x720 and its mask is what `Segmenter()` gives for it
(a real soft edge; made once, not timed). Each row is the median over --rounds calls, after one warm-up call
(for "ml" the warm-up also pays numba's compile when pymatting's cache is cold; that first-call time is printed
separately). Rows:

- foreground fast / ml: `estimate_foreground(frame, mask, method)` alone;
- composite: the plain `composite` of the frame over a flat colour, the baseline the finishing steps add to;
- Foreground(fast), Harmonize(0.5), LightWrap(0.5), PoissonBlend: each wrapper over a flat colour, whole effect.

    python benchmarks/foreground.py [--rounds 20] [--threads 2] [--methods fast,ml] [--no-effects]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np

from humanseg import Color, Foreground, Harmonize, LightWrap, PoissonBlend, Segmenter
from humanseg.effects.backgrounds import cover_fit
from humanseg.effects.composite import composite
from humanseg.matting.foreground import estimate_foreground

REPO = Path(__file__).resolve().parents[1]


def median_ms(fn, rounds: int) -> tuple[float, float]:
    """(first call in ms, median of the next `rounds` calls in ms)."""
    start = time.perf_counter()
    fn()
    first = time.perf_counter() - start
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return first * 1e3, float(np.median(samples)) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2, help="OpenCV threads (numba: set NUMBA_NUM_THREADS)")
    parser.add_argument("--methods", default="fast,ml", help="foreground methods to time, comma-separated")
    parser.add_argument("--no-effects", action="store_true", help="time the foreground estimates only")
    a = parser.parse_args()
    cv2.setNumThreads(a.threads)

    frame = cover_fit(cv2.imread(str(REPO / "examples" / "astronaut.jpg")), 1280, 720)
    mask = Segmenter(threads=a.threads).segment(frame)
    soft = float(((mask > 0.02) & (mask < 0.98)).mean())
    print(f"720p frame, {100 * soft:.1f}% of its pixels at a soft edge; {a.rounds} rounds, OpenCV threads {a.threads}")
    print(f"{'what':<24}{'ms per frame':>14}{'first call ms':>16}")

    rows = [(f"foreground {m}", lambda m=m: estimate_foreground(frame, mask, m)) for m in a.methods.split(",") if m]
    if not a.no_effects:
        flat = Color("#3060C0")
        bg = flat.background(frame, mask)
        rows += [("composite (baseline)", lambda: composite(frame, bg, mask)),
                 ("Foreground(fast)", lambda: Foreground(flat, "fast")(frame, mask)),
                 ("Harmonize(0.5)", lambda: Harmonize(flat, 0.5)(frame, mask)),
                 ("LightWrap(0.5)", lambda: LightWrap(flat, 0.5)(frame, mask)),
                 ("PoissonBlend (stills)", lambda: PoissonBlend(flat)(frame, mask))]
    for name, fn in rows:
        rounds = a.rounds if "ml" not in name and "Poisson" not in name else max(1, a.rounds // 5)
        first, med = median_ms(fn, rounds)
        print(f"{name:<24}{med:>14.1f}{first:>16.1f}", flush=True)


if __name__ == "__main__":
    main()

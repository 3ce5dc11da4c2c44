"""Alpha quality and 720p cost of the matting options, against two alpha references.

Rows (each a model + mask options, scored by `humanseg.evaluation.evaluate`, single images, empty prior):
  (a) the segmentation model's probability as it is (today's output);
  (b) the same plus guided-filter refinement (`--refine R`, one row per radius given);
  (c) the matting model's alpha;
  and any --extra models (their raw map).

References:
  keyed:  the green-screen clip keyed by `humanseg.matting.keying.key_clip` (lp_d11, every 4th frame, the person
          composited onto seeded backgrounds); built into --work unless it is there already.
  rvm:    Robust Video Matting's alpha (channel 1 of `val/<source>/soft/`) on the validation photos; a teacher,
          not ground truth, but every photo has one and no model here trained on them.

Metrics: SAD/MSE/Grad/Conn (Rhemann et al. 2009; conventions in humanseg/evaluation/matting.py) over the whole
image and over the unknown band of the reference. Lower is better. Then the 720p frame -> alpha time of each
row (`Segmenter.segment` on the bundled astronaut photo cover-fitted to 1280x720, rounds interleaved, median).

    python benchmarks/matting.py --seg portrait --matte MATTE.onnx --refine 4,8,16 [--references keyed,rvm]
        [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import cv2
import numpy as np

from humanseg import PostProcess, Segmenter
from humanseg.effects.backgrounds import cover_fit
from humanseg.evaluation.evaluate import evaluate
from humanseg.matting.keying import key_clip

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
METRICS = ("sad", "mse", "grad", "conn")


def keyed_reference(work: Path, clip: Path, backgrounds: Path) -> Path:
    root = work / "keyed"
    if not (root / clip.stem / "alpha").is_dir():
        key_clip(clip, root, backgrounds, every=4, max_frames=60, seed=0)
    return root


def rvm_reference(work: Path, val: Path) -> Path:
    """<work>/rvm/<source>/{images,masks} (links) + alpha/ (RVM's alpha at the photo's size)."""
    root = work / "rvm"
    for source in sorted(p for p in val.iterdir() if (p / "soft").is_dir()):
        out = root / source.name
        for sub in ("images", "masks", "alpha"):
            (out / sub).mkdir(parents=True, exist_ok=True)
        for image in sorted((source / "images").iterdir()):
            soft, mask = source / "soft" / f"{image.stem}.png", source / "masks" / f"{image.stem}.png"
            if not (soft.is_file() and mask.is_file()):
                continue
            for sub, src in (("images", image), ("masks", mask)):
                link = out / sub / src.name
                if not link.exists():
                    os.symlink(src.resolve(), link)
            alpha_path = out / "alpha" / f"{image.stem}.png"
            if not alpha_path.exists():
                h, w = cv2.imread(str(image)).shape[:2]
                alpha = cv2.imread(str(soft), cv2.IMREAD_UNCHANGED)[..., -1]
                cv2.imwrite(str(alpha_path), cv2.resize(alpha, (w, h), interpolation=cv2.INTER_LINEAR))
    return root


def rows_of(a) -> list[tuple[str, str, PostProcess]]:
    rows = [("(a) segmentation probability", a.seg, PostProcess())]
    rows += [(f"(b) + guided filter r={r}", a.seg, PostProcess(refine=r)) for r in a.refine]
    rows += [("(c) matting model", a.matte, PostProcess())]
    rows += [(f"extra {m}", m, PostProcess()) for m in a.extra]
    return rows


def time_rows(rows, threads: int, rounds: int) -> dict[str, float]:
    frame = cover_fit(cv2.imread(str(REPO / "examples" / "astronaut.jpg")), 1280, 720)
    segmenters = {label: Segmenter(model, threads=threads, postprocess=post) for label, model, post in rows}
    for seg in segmenters.values():
        seg.segment(frame)
    samples = {label: [] for label in segmenters}
    for _ in range(rounds):
        for label, seg in segmenters.items():
            start = time.perf_counter()
            seg.segment(frame)
            samples[label].append(time.perf_counter() - start)
    return {label: float(np.median(s)) * 1e3 for label, s in samples.items()}


def table(title: str, results: dict[str, dict], times: dict[str, float]) -> str:
    lines = [f"### {title}", "",
             "| row | " + " | ".join(f"{m} whole" for m in METRICS) + " | " + " | ".join(f"{m} band" for m in METRICS)
             + " | mIoU | 720p ms |", "|---" * (2 * len(METRICS) + 3) + "|"]
    for label, summary in results.items():
        alpha = summary["alpha"]
        cells = [f"{alpha['whole'][m]:.4g}" for m in METRICS] + [f"{alpha['band'][m]:.4g}" for m in METRICS]
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {summary['miou']:.4f} | {times[label]:.2f} |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seg", default="portrait", help="segmentation model for rows (a) and (b)")
    p.add_argument("--matte", required=True, help="matting model for row (c): shipped name or .onnx")
    p.add_argument("--refine", default="4,8,16", help="guided-filter radii for rows (b), comma-separated")
    p.add_argument("--extra", action="append", default=[], help="more models to score as they are")
    p.add_argument("--clip", type=Path, default=SHARED / "pseudo" / "talking_heads" / "videos" / "lp_d11.mp4")
    p.add_argument("--backgrounds", type=Path, default=SHARED / "backgrounds" / "images")
    p.add_argument("--val", type=Path, default=SHARED / "val")
    p.add_argument("--work", type=Path, default=REPO / "runs" / "matting_bench", help="references are built here")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=30)
    p.add_argument("--references", default="keyed,rvm", help="which references to score on, comma-separated")
    p.add_argument("--json", type=Path, default=None)
    a = p.parse_args()
    a.refine = [int(r) for r in a.refine.split(",") if r]
    cv2.setNumThreads(a.threads)

    rows = rows_of(a)
    wanted = set(a.references.split(","))
    references = {}
    if "keyed" in wanted:
        references["keyed lp_d11 composites (keyed alpha)"] = keyed_reference(a.work, a.clip, a.backgrounds)
    if "rvm" in wanted:
        references["validation photos (RVM teacher alpha)"] = rvm_reference(a.work, a.val)
    results = {title: {label: evaluate(model, root, threads=a.threads, postprocess=post)
                       for label, model, post in rows} for title, root in references.items()}
    times = time_rows(rows, a.threads, a.rounds)
    for title, by_row in results.items():
        print(table(title, by_row, times), end="\n\n")
    if a.json:
        a.json.write_text(json.dumps({"rows": [(label, str(m), vars(post)) for label, m, post in rows],
                                      "results": results, "ms_720p": times}, indent=1, default=str))


if __name__ == "__main__":
    main()

"""Make examples/astronaut.mp4: a 4 s, 640x360, 25 fps pan/zoom inside the public-domain NASA
portrait of Eileen Collins (scikit-image's `data.astronaut()`), with a 440 Hz tone as audio.

    pip install scikit-image av && python tools/make_example_clip.py
"""
from __future__ import annotations

import argparse
import os
import sys
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
from skimage import data

from humanseg.io.images import temp_beside, write_image

OUT = Path(__file__).resolve().parents[1] / "examples"
W, H, FPS, SECONDS, RATE = 640, 360, 25, 4, 48000


def frames():
    photo = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)  # 512x512
    canvas = photo
    n = FPS * SECONDS
    for i in range(n):
        t = i / (n - 1)
        zoom = 1.0 + 0.3 * np.sin(np.pi * t)          # a 16:9 window inside the photo, zooming in and out
        cw, ch = int(512 / zoom), int(288 / zoom)
        cx = int(256 + 40 * np.sin(2 * np.pi * t))
        cy = int(200 + 40 * np.sin(np.pi * t))
        x0 = int(np.clip(cx - cw // 2, 0, canvas.shape[1] - cw))
        y0 = int(np.clip(cy - ch // 2, 0, canvas.shape[0] - ch))
        yield cv2.resize(canvas[y0:y0 + ch, x0:x0 + cw], (W, H), interpolation=cv2.INTER_AREA)


def write_clip(path: Path) -> None:
    with av.open(str(path), "w", format="mp4") as out:
        video = out.add_stream("libx264", rate=FPS, options={"crf": "23", "preset": "slow"})
        video.width, video.height, video.pix_fmt = W, H, "yuv420p"
        audio = out.add_stream("aac", rate=RATE)
        for img in frames():
            for p in video.encode(av.VideoFrame.from_ndarray(img, format="bgr24")):
                out.mux(p)
        for p in video.encode():
            out.mux(p)
        t = np.arange(RATE * SECONDS) / RATE
        tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
        for start in range(0, len(tone), 1024):
            chunk = tone[start:start + 1024][None]
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = RATE, start, Fraction(1, RATE)
            for p in audio.encode(frame):
                out.mux(p)
        for p in audio.encode():
            out.mux(p)


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args(argv)   # --help writes nothing
    OUT.mkdir(exist_ok=True)
    video = OUT / "astronaut.mp4"
    tmp = temp_beside(video)
    try:   # encoded beside it, then renamed: an interrupted run keeps the earlier clip whole
        write_clip(tmp)
        os.replace(tmp, video)
    finally:
        tmp.unlink(missing_ok=True)
    write_image(OUT / "astronaut.jpg", next(iter(frames())), quality=90)
    print(f"{video}, {OUT / 'astronaut.jpg'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

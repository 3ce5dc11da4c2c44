"""Shared fixtures: every test makes its own small data; nothing from ../shared is used."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_IMAGE = REPO / "examples" / "astronaut.jpg"
EXAMPLE_VIDEO = REPO / "examples" / "astronaut.mp4"


def person_like(h: int, w: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A BGR image with a 'person' (head + torso ellipses) over a textured background, and its 0/255 mask."""
    bg = rng.integers(0, 255, (max(1, h // 8), max(1, w // 8), 3), dtype=np.uint8)
    img = cv2.resize(bg, (w, h), interpolation=cv2.INTER_LINEAR)
    mask = np.zeros((h, w), np.uint8)
    cx = int(w * rng.uniform(0.35, 0.65))
    cv2.ellipse(mask, (cx, int(h * 0.3)), (max(2, w // 10), max(2, h // 8)), 0, 0, 360, 255, -1)
    cv2.ellipse(mask, (cx, int(h * 0.85)), (max(3, w // 4), max(3, h // 3)), 0, 0, 360, 255, -1)
    color = rng.integers(0, 255, 3).tolist()
    img[mask > 0] = color
    return img, mask


def moving_person(h: int, w: int, t: float, rng: np.random.Generator) -> np.ndarray:
    """One frame of a continuous shot: person_like's picture with its person moved sideways by t (0..1) of a
    quarter of the width over the same background. Seed rng the same for every frame of a shot."""
    img, mask = person_like(h, w, rng)
    person = img[mask > 0][0]
    bg = cv2.resize(np.random.default_rng(2).integers(0, 255, (max(1, h // 8), max(1, w // 8), 3), dtype=np.uint8),
                    (w, h), interpolation=cv2.INTER_LINEAR)
    shift = np.float32([[1, 0, round(t * w / 4) - w // 8], [0, 1, 0]])
    bg[cv2.warpAffine(mask, shift, (w, h), flags=cv2.INTER_NEAREST) > 0] = person
    return bg


def write_teacher_label(path: Path, mask: np.ndarray) -> None:
    """A 2-teacher soft label as the shared data stores it (BGRA for OpenCV: B=G=R = probability,
    A = alpha), at a reduced size like the real ones: a blurred copy of the mask for both."""
    path.parent.mkdir(parents=True, exist_ok=True)
    h, w = mask.shape
    small = cv2.resize(cv2.GaussianBlur(mask, (5, 5), 0), (max(1, w * 3 // 4), max(1, h * 3 // 4)))
    cv2.imwrite(str(path), np.dstack([small, small, small, small]))


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory) -> Path:
    """<root>/{train,val}/toy/{images,masks[,soft]} with a few person-like images, pseudo/clips/{images,soft}
    (teacher labels only), plus backgrounds/."""
    root = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    for split, n in (("train", 8), ("val", 4)):
        for sub in ("images", "masks"):
            (root / split / "toy" / sub).mkdir(parents=True)
        for i in range(n):
            h, w = (120, 90) if i % 2 else (90, 120)
            img, mask = person_like(h, w, rng)
            cv2.imwrite(str(root / split / "toy" / "images" / f"{i:03d}.jpg"), img)
            cv2.imwrite(str(root / split / "toy" / "masks" / f"{i:03d}.png"), mask)
            if split == "train" and i % 4 != 3:  # teacher labels for most, not all, training images
                write_teacher_label(root / split / "toy" / "soft" / f"{i:03d}.png", mask)
    for i in range(3):  # unlabelled people with teacher labels only
        img, mask = person_like(100, 80, rng)
        (root / "pseudo" / "clips" / "images").mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(root / "pseudo" / "clips" / "images" / f"p{i}.jpg"), img)
        write_teacher_label(root / "pseudo" / "clips" / "soft" / f"p{i}.png", mask)
    clip = root / "pseudo" / "clips" / "videos" / "c0.mp4"  # a clip with teacher labels on every 4th frame
    clip.parent.mkdir(parents=True)
    make_video(clip, n=12, size=(64, 48), audio=False)
    for i in (0, 4, 8):
        mask = np.zeros((48, 64), np.uint8)
        cv2.ellipse(mask, (32 + i, 30), (12, 20), 0, 0, 360, 255, -1)
        write_teacher_label(root / "pseudo" / "clips" / "video_soft" / "c0" / f"{i:06d}.png", mask)
    (root / "backgrounds").mkdir()
    for i in range(3):
        cv2.imwrite(str(root / "backgrounds" / f"bg{i}.jpg"), rng.integers(0, 255, (80, 100, 3), dtype=np.uint8))
    return root


@pytest.fixture(scope="session")
def example_image() -> np.ndarray:
    return cv2.imread(str(EXAMPLE_IMAGE))


@pytest.fixture(scope="session")
def segmenter():
    from humanseg import Segmenter

    return Segmenter("portrait", threads=2)


def make_video(path: Path, n: int = 12, size: tuple[int, int] = (96, 64), fps: int = 10, audio: bool = True,
               pts: list[int] | None = None, codec: str = "libx264", rotation: int = 0) -> Path:
    """A small test clip, one continuous shot: a person-like blob moving sideways over a fixed background
    (moving_person); optional AAC tone; optional explicit pts (VFR)."""
    import av

    w, h = size
    with av.open(str(path), "w") as out:
        v = out.add_stream(codec, rate=fps)
        v.width, v.height = w, h
        v.pix_fmt = "yuv420p" if w % 2 == 0 and h % 2 == 0 else "yuv444p"
        if rotation:
            v.set_display_rotation(rotation)
        if pts is not None:
            v.codec_context.time_base = Fraction(1, 1000)
            v.time_base = Fraction(1, 1000)
        a = out.add_stream("aac", rate=16000) if audio else None
        for i in range(n):
            img = moving_person(h, w, i / max(1, n - 1), np.random.default_rng(1))
            frame = av.VideoFrame.from_ndarray(img, format="bgr24")
            if pts is not None:
                frame.pts, frame.time_base = pts[i], Fraction(1, 1000)
            else:
                frame.pts = i
            for p in v.encode(frame):
                out.mux(p)
        for p in v.encode():
            out.mux(p)
        if a is not None:
            encode_tone(out, a, int(16000 * n / fps), 16000, 440)
    return path


def encode_frames(container, stream, images) -> None:
    """Encode BGR images into a video stream at pts 0, 1, 2, ... (its time base), then flush it."""
    import av

    for i, image in enumerate(images):
        frame = av.VideoFrame.from_ndarray(image, format="bgr24")
        frame.pts = i
        for p in stream.encode(frame):
            container.mux(p)
    for p in stream.encode():
        container.mux(p)


def encode_tone(container, stream, samples: int, rate: int, pitch: float) -> None:
    """A mono sine tone (`samples` samples at `rate` Hz, `pitch` Hz) into an audio stream in its codec's sample
    format, then flush it."""
    import av

    fmt, size = stream.codec_context.format.name, stream.codec_context.frame_size or 1024
    tone = 0.1 * np.sin(np.arange(samples) / rate * 2 * np.pi * pitch)
    for s in range(0, samples, size):
        chunk = tone[None, s:s + size]
        data = (chunk * 32767).astype(np.int16) if fmt == "s16" else chunk.astype(np.float32)
        af = av.AudioFrame.from_ndarray(data, format=fmt, layout="mono")
        af.sample_rate, af.pts, af.time_base = rate, s, Fraction(1, rate)
        for p in stream.encode(af):
            container.mux(p)
    for p in stream.encode():
        container.mux(p)


def probe(path: Path) -> dict:
    import av

    with av.open(str(path)) as c:
        v = c.streams.video[0]
        frames = list(c.decode(video=0))
        info = {"frames": len(frames), "rotation": frames[0].rotation if frames else 0, "pts": [f.pts for f in frames], "width": v.codec_context.width,
                "height": v.codec_context.height, "rate": v.average_rate, "audio": len(c.streams.audio)}
    if info["audio"]:
        with av.open(str(path)) as c:
            info["audio_packets"] = sum(1 for p in c.demux(audio=0) if p.size)
    return info

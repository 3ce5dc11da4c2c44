"""Green-screen keying on a synthetic frame whose alpha and foreground are known."""
from fractions import Fraction

import cv2
import numpy as np
import pytest

from humanseg.errors import InputError, OutputError
from humanseg.matting.keying import KeyerSettings, key_clip, key_frame

GREEN = np.array([0.0, 1.0, 0.0])                      # BGR, pure green screen
SKIN = np.array([0.55, 0.65, 0.85])                     # BGR, G < R
DENIM = np.array([0.7, 0.5, 0.4])                       # BGR, G < B


def green_screen_frame(size: int = 96, spill: float = 0.15):
    """A soft disc (opaque core of radius 22, linear ramp to 0 at radius 30) over pure green; left half skin,
    right half denim, with green spill (up to +`spill` on G) on the outer part of the disc.
    Returns (uint8 BGR frame, true alpha float HxW, true foreground float HxWx3 without spill)."""
    yy, xx = np.mgrid[:size, :size]
    r = np.hypot(xx - size / 2, yy - size / 2)
    alpha = np.clip((30 - r) / 8, 0, 1)
    fg = np.where((xx < size / 2)[..., None], SKIN, DENIM)
    spilled = fg.copy()
    spilled[..., 1] = np.minimum(1, spilled[..., 1] + spill * np.clip((r - 14) / 8, 0, 1))
    a = alpha[..., None]
    frame = np.round((a * spilled + (1 - a) * GREEN) * 255).astype(np.uint8)
    return frame, alpha, fg, r


def test_keying_recovers_a_known_soft_alpha():
    frame, alpha, _, _ = green_screen_frame()
    ring = (alpha > 0) & (alpha < 1)
    # default thresholds (tuned for a dull real screen): within 0.03 on average over the frame
    keyed, _ = key_frame(frame)
    assert np.abs(keyed - alpha).mean() < 0.03
    assert keyed[alpha == 1].min() == 1.0 and keyed[alpha == 0].max() == 0.0
    # the plain colour-difference ramp (low 0, high 1): also close on the soft ring itself
    keyed, _ = key_frame(frame, KeyerSettings(low=0.0, high=1.0))
    assert np.abs(keyed - alpha).mean() < 0.01
    assert np.abs(keyed - alpha)[ring].mean() < 0.04


def test_despill_leaves_no_green_cast_and_keeps_the_core_colour():
    frame, alpha, fg, r = green_screen_frame()
    person = alpha > 0.5
    for mode in ("max", "mean"):
        keyed, fg_out = key_frame(frame, KeyerSettings(despill=mode))
        cast = fg_out[..., 1] - np.maximum(fg_out[..., 0], fg_out[..., 2])
        assert cast[person].max() <= 1 / 255
    _, fg_out = key_frame(frame)                              # "max" keeps colours that have G <= max(R, B)
    assert np.abs(fg_out - fg)[r < 12].max() <= 2 / 255
    _, spilled = key_frame(frame, KeyerSettings(despill="none"))
    assert (spilled[..., 1] - np.maximum(spilled[..., 0], spilled[..., 2]))[person].max() > 0.05


def test_keyer_settings_reject_bad_values():
    for kwargs in ({"low": 0.6, "high": 0.5}, {"low": -0.1}, {"despill": "blue"}, {"clean_radius": -1},
                   {"blur_sigma": -2.0},
                   # not finite, or so large that OpenCV asks for gigabytes (--blur inf was killed for memory)
                   {"high": float("inf")}, {"low": float("nan")}, {"blur_sigma": float("nan")},
                   {"blur_sigma": float("inf")}, {"blur_sigma": 1e9}, {"clean_radius": 100_000},
                   {"clean_radius": 2.5}):
        with pytest.raises(InputError):
            KeyerSettings(**kwargs)
    with pytest.raises(InputError, match="no green screen"):
        key_frame(np.full((32, 32, 3), 128, np.uint8))


def _green_clip(path, n: int = 7, grey_from: int | None = None):
    """A clip of green_screen_frame() moving 1 px a frame; from frame `grey_from` on (if given), plain grey."""
    import av

    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264", rate=10)
        v.width, v.height, v.pix_fmt = 96, 96, "yuv444p"
        for i in range(n):
            frame, _, _, _ = green_screen_frame()
            if grey_from is not None and i >= grey_from:
                frame = np.full_like(frame, 128)
            frame = av.VideoFrame.from_ndarray(np.roll(frame, i, axis=1), format="bgr24")
            frame.pts, frame.time_base = i, Fraction(1, 10)
            for p in v.encode(frame):
                out.mux(p)
        for p in v.encode():
            out.mux(p)
    return path


def test_key_clip_writes_triples_that_eval_reads(tmp_path):
    from humanseg.io.folders import find_pairs

    clip = _green_clip(tmp_path / "shoot.mp4")
    (tmp_path / "bg").mkdir()
    rng = np.random.default_rng(0)
    for i in range(2):
        cv2.imwrite(str(tmp_path / "bg" / f"b{i}.jpg"), rng.integers(0, 255, (50, 70, 3), dtype=np.uint8))
    written = key_clip(clip, tmp_path / "out", tmp_path / "bg", every=2, max_frames=3, seed=1)
    root = tmp_path / "out" / "shoot"
    assert [p.name for p in written] == ["000000.jpg", "000002.jpg", "000004.jpg"]
    for sub, suffix in (("images", ".jpg"), ("alpha", ".png"), ("fg", ".png"), ("masks", ".png")):
        assert sorted(p.name for p in (root / sub).iterdir()) == [f"{i:06d}{suffix}" for i in (0, 2, 4)]
    alpha = cv2.imread(str(root / "alpha" / "000002.png"), cv2.IMREAD_GRAYSCALE)
    mask = cv2.imread(str(root / "masks" / "000002.png"), cv2.IMREAD_GRAYSCALE)
    image = cv2.imread(str(root / "images" / "000002.jpg"))
    assert image.shape == (96, 96, 3) and set(np.unique(mask)) <= {0, 255}
    assert np.array_equal(mask == 255, alpha > 127)
    _, true_alpha, _, _ = green_screen_frame()
    assert np.abs(alpha / 255 - np.roll(true_alpha, 2, axis=1)).mean() < 0.03
    assert len(find_pairs(tmp_path / "out")) == 3
    with pytest.raises(InputError, match="no background images"):
        key_clip(clip, tmp_path / "out2", tmp_path / "nothing")


def _backgrounds(folder):
    folder.mkdir()
    cv2.imwrite(str(folder / "b.jpg"), np.random.default_rng(0).integers(0, 255, (50, 70, 3), dtype=np.uint8))
    return folder


def test_a_second_run_replaces_the_clip_folder_and_a_failed_one_writes_nothing(tmp_path):
    clip, bg, out = _green_clip(tmp_path / "shoot.mp4"), _backgrounds(tmp_path / "bg"), tmp_path / "out"
    key_clip(clip, out, bg, every=2, max_frames=10)
    key_clip(clip, out, bg, every=3, max_frames=10)   # other settings: no frame of the first run stays mixed in
    for sub in ("images", "alpha", "fg", "masks"):
        assert sorted(p.stem for p in (out / "shoot" / sub).iterdir()) == ["000000", "000003", "000006"]
    assert sorted(p.name for p in out.iterdir()) == ["shoot"]   # no temporary left beside it

    # a frame without a green screen midway: an error naming it, and nothing of the clip written
    broken = _green_clip(tmp_path / "broken.mp4", grey_from=4)
    with pytest.raises(InputError, match="frame 4: no green screen"):
        key_clip(broken, out, bg, every=2, max_frames=10)
    assert sorted(p.name for p in out.iterdir()) == ["shoot"]


def test_output_that_is_a_file_or_holds_other_files_is_refused(tmp_path):
    clip, bg = _green_clip(tmp_path / "shoot.mp4", n=2), _backgrounds(tmp_path / "bg")
    (tmp_path / "afile").write_text("mine")
    with pytest.raises(OutputError, match="is a file"):
        key_clip(clip, tmp_path / "afile", bg)
    (tmp_path / "out" / "shoot").mkdir(parents=True)
    (tmp_path / "out" / "shoot" / "notes.txt").write_text("mine")
    with pytest.raises(OutputError, match="notes.txt"):
        key_clip(clip, tmp_path / "out", bg)
    assert (tmp_path / "out" / "shoot" / "notes.txt").read_text() == "mine"

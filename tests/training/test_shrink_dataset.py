"""The compact data copy for a lent GPU machine: same items, smaller files, clips as frame folders."""
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

torch = pytest.importorskip("torch")

from humanseg.training.data.sources import load_training_stores  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


def _shrink(src, dst, *extra):
    subprocess.run([sys.executable, str(REPO / "tools" / "shrink_dataset.py"), str(src), str(dst), "--long-side", "60",
                    *extra], check=True, capture_output=True, text=True, cwd=REPO)


def test_the_compact_copy_trains_on_the_same_items_without_a_video_decoder(tiny_dataset, tmp_path):
    dst = tmp_path / "small"
    _shrink(tiny_dataset, dst, "--label-long-side", "40")
    assert (dst / "pseudo" / "clips" / "videos" / "c0").is_dir()          # the clip became a frame folder
    assert sorted(p.name for p in (dst / "pseudo" / "clips" / "videos" / "c0").iterdir()) == \
        ["000000.webp", "000004.webp", "000008.webp"]                      # only the labelled frames
    image = cv2.imread(str(dst / "train" / "toy" / "images" / "001.webp"))
    mask = cv2.imread(str(dst / "train" / "toy" / "masks" / "001.png"), cv2.IMREAD_GRAYSCALE)
    label = cv2.imread(str(dst / "train" / "toy" / "soft" / "001.png"), cv2.IMREAD_UNCHANGED)
    assert max(image.shape[:2]) == 60 and mask.shape == image.shape[:2]
    assert set(mask.ravel().tolist()) <= {0, 255}
    assert label.shape[2] in (2, 4) and max(label.shape[:2]) == 40      # still a 2-channel teacher label
    assert not (dst / "val" / "toy" / "soft").exists()                   # validation reads masks only

    sys.modules["av"] = None  # the GPU machine has no PyAV: the copy must not need it
    try:
        small = load_training_stores(dst, 64, torch.device("cpu"), threads=1, use_clips=True)
    finally:
        del sys.modules["av"]
    full = load_training_stores(tiny_dataset, 64, torch.device("cpu"), threads=1, use_clips=True)
    for name in ("labelled", "pseudo", "backgrounds", "clips"):
        assert len(getattr(small, name)) == len(getattr(full, name)), name
    assert torch.equal(small.labelled.has_soft, full.labelled.has_soft)
    # the same content at a lower resolution: masks and teacher labels agree closely
    assert float((small.labelled.masks.float() - full.labelled.masks.float()).abs().mean()) < 12
    assert float((small.clips.prev.float() - full.clips.prev.float()).abs().mean()) < 12


def test_held_out_clips_can_be_left_out_of_the_copy(tiny_dataset, tmp_path):
    dst = tmp_path / "small"
    _shrink(tiny_dataset, dst, "--drop-clips", "c0")
    assert not (dst / "pseudo" / "clips" / "videos").exists() or not any((dst / "pseudo" / "clips" / "videos").iterdir())
    assert not (dst / "pseudo" / "clips" / "video_soft" / "c0").exists()
    assert (dst / "pseudo" / "clips" / "images" / "p0.webp").is_file()


def _shrink_run(*args):
    return subprocess.run([sys.executable, str(REPO / "tools" / "shrink_dataset.py"), *map(str, args)],
                          capture_output=True, text=True, cwd=REPO)


def test_the_copy_never_goes_over_or_inside_its_source_and_bad_options_are_refused(tiny_dataset, tmp_path):
    import shutil

    src = tmp_path / "data"
    shutil.copytree(tiny_dataset / "val", src / "val")
    before = {p: p.read_bytes() for p in src.rglob("*") if p.is_file()}
    for dst, extra in ((src, []), (src / "small", []), (tmp_path / "out", ["--long-side", "0"]),
                       (tmp_path / "out", ["--quality", "500"])):
        r = _shrink_run(src, dst, *extra)
        assert r.returncode == 2 and "error" in r.stderr and "Traceback" not in r.stderr, (dst, extra, r.stderr)
    assert {p: p.read_bytes() for p in src.rglob("*") if p.is_file()} == before and not (tmp_path / "out").exists()
    r = _shrink_run(tmp_path / "nowhere", tmp_path / "out")
    assert r.returncode == 2 and "no such folder" in r.stderr and not (tmp_path / "out").exists()


def test_masks_of_other_formats_are_copied_as_the_0_255_masks_training_reads(tmp_path):
    import numpy as np

    person = np.zeros((40, 60), bool)
    person[5:35, 20:40] = True
    for name, stored in (("a", person.astype(np.uint8)), ("b", person.astype(np.uint16)),
                         ("c", person.astype(np.uint16) * 65535)):
        (tmp_path / "src" / "val" / "toy" / "images").mkdir(parents=True, exist_ok=True)
        (tmp_path / "src" / "val" / "toy" / "masks").mkdir(exist_ok=True)
        cv2.imwrite(str(tmp_path / "src" / "val" / "toy" / "images" / f"{name}.jpg"), np.zeros((40, 60, 3), np.uint8))
        cv2.imwrite(str(tmp_path / "src" / "val" / "toy" / "masks" / f"{name}.png"), stored)
    assert _shrink_run(tmp_path / "src", tmp_path / "dst").returncode == 0
    for name in "abc":
        copied = cv2.imread(str(tmp_path / "dst" / "val" / "toy" / "masks" / f"{name}.png"), cv2.IMREAD_UNCHANGED)
        assert copied.dtype == np.uint8 and copied.tolist() == (person.astype(np.uint8) * 255).tolist(), name

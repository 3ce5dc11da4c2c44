"""The command line as a user runs it: exit codes, one-line errors, no tracebacks, nothing lost."""
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.conftest import EXAMPLE_IMAGE, make_video, probe


def humanseg(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "humanseg", *map(str, args)], capture_output=True, text=True, cwd=cwd)


def assert_one_line_error(result):
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [l for l in result.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("humanseg: error:")


def test_image_command_and_bg_options(tmp_path):
    for bg, name in (("blur", "a.jpg"), ("color:#00FF00", "b.png"), ("transparent", "c.png"), ("mask", "d.png")):
        r = humanseg("image", EXAMPLE_IMAGE, tmp_path / name, "--bg", bg)
        assert r.returncode == 0, r.stderr
        assert (tmp_path / name).exists()
    assert cv2.imread(str(tmp_path / "c.png"), cv2.IMREAD_UNCHANGED).shape[2] == 4


@pytest.mark.parametrize("case", ["missing", "empty", "not_image", "same_as_input", "bad_color", "no_folder",
                                  "transparent_jpg"])
def test_bad_input_gives_one_line_error(tmp_path, case):
    src = tmp_path / "in.jpg"
    out = tmp_path / "out.jpg"
    args = []
    if case == "missing":
        src = tmp_path / "nope.jpg"
    elif case == "empty":
        src.write_bytes(b"")
    elif case == "not_image":
        src.write_text("hello")
    else:
        src.write_bytes(EXAMPLE_IMAGE.read_bytes())
        if case == "same_as_input":
            out = src
        elif case == "bad_color":
            args = ["--bg", "color:red"]
        elif case == "no_folder":
            out = tmp_path / "missing" / "out.jpg"
        elif case == "transparent_jpg":
            args = ["--bg", "transparent"]
    before = src.read_bytes() if src.exists() else None
    r = humanseg("image", src, out, *args)
    assert_one_line_error(r)
    if before is not None:
        assert src.read_bytes() == before
    if out != src:
        assert not out.exists()
    assert not [p for p in tmp_path.rglob("*.part")]


def test_folder_mode_resumes_and_reports_bad_files(tmp_path):
    src, dst = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    img = cv2.imread(str(EXAMPLE_IMAGE))
    for i in range(3):
        cv2.imwrite(str(src / f"p{i}.jpg"), cv2.resize(img, (160, 90)))
    (src / "broken.jpg").write_bytes(b"garbage")
    r = humanseg("image", src, dst)
    assert r.returncode == 1 and "broken.jpg" in r.stderr
    assert json.loads(r.stdout.strip().splitlines()[-1]) == {"written": 3, "skipped_existing": 0, "failed": 1}
    r = humanseg("image", src, dst)
    assert json.loads(r.stdout.strip().splitlines()[-1])["skipped_existing"] == 3


def test_video_command_keeps_frames_and_audio(tmp_path):
    src = make_video(tmp_path / "in.mp4", n=10)
    r = humanseg("video", src, tmp_path / "out.mp4", "--bg", "color:#000000", "--temporal", "flow")
    assert r.returncode == 0, r.stderr
    assert probe(tmp_path / "out.mp4")["frames"] == 10 and probe(tmp_path / "out.mp4")["audio"] == 1


def test_video_with_no_video_stream_and_missing_camera(tmp_path):
    (tmp_path / "x.mp4").write_bytes(b"\x00" * 100)
    assert_one_line_error(humanseg("video", tmp_path / "x.mp4", tmp_path / "y.mp4"))
    assert not (tmp_path / "y.mp4").exists()
    assert_one_line_error(humanseg("webcam", "--camera", "57", "--max-frames", "1"))


def test_models_lists_the_shipped_model():
    r = humanseg("models")
    assert r.returncode == 0 and r.stdout.startswith("portrait") and "144" in r.stdout


def test_eval_prints_one_json_line(tiny_dataset, tmp_path):
    r = humanseg("eval", "--data", tiny_dataset / "val", "--csv", tmp_path / "rows.csv")
    assert r.returncode == 0, r.stderr
    scores = json.loads(r.stdout)
    assert set(scores) == {"miou", "fg_iou", "boundary_f", "sc", "n_images", "ms_per_image"}
    assert scores["n_images"] == 4 and 0 <= scores["miou"] <= 1
    assert len((tmp_path / "rows.csv").read_text().splitlines()) == 5
    assert_one_line_error(humanseg("eval", "--data", tmp_path))

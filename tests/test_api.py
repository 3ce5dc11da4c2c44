"""The Python API as a host application uses it: no process-wide side effects by default, checked
options, folder resume keyed on what made each output."""
import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

import humanseg.runtime.segmenter as segmenter_module
from humanseg import Color, PostProcess, Segmenter, convert_folder, convert_image, convert_video
from humanseg.api import RESUME_MANIFEST
from humanseg.errors import InputError, OutputError
from tests.conftest import EXAMPLE_IMAGE, EXAMPLE_VIDEO


def test_default_segmenter_leaves_the_process_allocator_alone(monkeypatch):
    calls = []
    monkeypatch.setattr(segmenter_module, "reuse_large_buffers", lambda *a, **k: calls.append(1) or True)
    Segmenter(threads=1)
    assert calls == []
    Segmenter(threads=1, reuse_buffers=True)                 # opt-in, as the CLI's loops do
    assert calls == [1]


def test_default_segmenter_in_a_fresh_process_does_not_call_mallopt():
    code = ("from humanseg import Segmenter; from humanseg.runtime import allocator; "
            "Segmenter(threads=1).segment(__import__('numpy').zeros((90, 160, 3), 'uint8')); "
            "print(allocator.is_tuned())")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "False"


@pytest.mark.parametrize("post", [PostProcess(threshold=5), PostProcess(threshold=-0.1), PostProcess(feather=-2),
                                  PostProcess(feather=1e6),
                                  PostProcess(gate=(-1, 3)), PostProcess(refine=-1), PostProcess(min_blob_fraction=2)])
def test_convert_functions_check_mask_options(tmp_path, post):
    seg = Segmenter(threads=1, postprocess=post)
    with pytest.raises(InputError):
        convert_image(EXAMPLE_IMAGE, tmp_path / "o.jpg", segmenter=seg)
    (tmp_path / "in").mkdir()
    with pytest.raises(InputError):
        convert_folder(tmp_path / "in", tmp_path / "out", segmenter=seg, progress=False)
    assert not (tmp_path / "o.jpg").exists()


@pytest.mark.parametrize("post", [PostProcess(threshold=5), PostProcess(gate=(-1, 3)), PostProcess(refine=-1)])
def test_convert_video_checks_mask_options(tmp_path, post):
    """As convert_image (cheap cases only: unchecked, a huge feather would run out of memory)."""
    with pytest.raises(InputError):   # unchecked, a threshold of 5 made every frame all background
        convert_video(EXAMPLE_VIDEO, tmp_path / "o.mp4", segmenter=Segmenter(threads=1, postprocess=post),
                      progress=False)
    assert not (tmp_path / "o.mp4").exists()


def test_convert_folder_refuses_a_file_as_output(tmp_path, segmenter):
    (tmp_path / "in").mkdir()
    (tmp_path / "out.jpg").write_bytes(b"x")
    with pytest.raises(OutputError, match="output must be a folder when the input is a folder"):
        convert_folder(tmp_path / "in", tmp_path / "out.jpg", segmenter=segmenter, progress=False)


def test_convert_folder_resume_keys_on_input_and_settings(tmp_path, segmenter):
    src, dst = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    img = cv2.resize(cv2.imread(str(EXAMPLE_IMAGE)), (160, 90))
    cv2.imwrite(str(src / "a.png"), img)
    cv2.imwrite(str(src / "b.png"), img)
    run = lambda effect: convert_folder(src, dst, effect, segmenter, progress=False)  # noqa: E731
    assert run(Color("#000000"))["written"] == 2
    manifest = json.loads((dst / RESUME_MANIFEST).read_text())
    assert sorted(manifest["outputs"]) == ["a.png", "b.png"]
    assert run(Color("#000000")) == {"written": 0, "skipped_existing": 2, "failed": [], "collisions": [],
                                     "kept_existing": [], "left_out": []}
    # a file under an output's name that no run into this folder wrote (the user's own) is kept, not overwritten
    (dst / "a.png").unlink()
    cv2.imwrite(str(dst / "a.png"), np.zeros((5, 5, 3), np.uint8))
    manifest["outputs"].pop("a.png")
    (dst / RESUME_MANIFEST).write_text(json.dumps(manifest))
    result = run(Color("#000000"))
    assert result["written"] == 0 and len(result["kept_existing"]) == 1 and result["failed"] == result["kept_existing"]
    assert "a.png" in result["kept_existing"][0] and "kept" in result["kept_existing"][0]
    assert cv2.imread(str(dst / "a.png")).shape == (5, 5, 3)
    (dst / "a.png").unlink()                                    # moved away: now it is made
    assert run(Color("#000000"))["written"] == 1
    assert cv2.imread(str(dst / "a.png")).shape == (90, 160, 3)
    # a new input under an old name is redone
    cv2.imwrite(str(src / "b.png"), cv2.flip(img, 1))
    assert run(Color("#000000"))["written"] == 1
    # a damaged manifest cannot tell our outputs from other files: nothing is overwritten, nothing crashes
    (dst / RESUME_MANIFEST).write_text("{not json")
    result = run(Color("#000000"))
    assert result["written"] == 0 and len(result["kept_existing"]) == 2
    (dst / "a.png").unlink()
    assert run(Color("#000000"))["written"] == 1


def test_convert_folder_warns_about_what_it_leaves_out_and_lists_it(tmp_path, segmenter):
    from PIL import Image

    from humanseg.errors import HumansegWarning

    src = tmp_path / "in"
    src.mkdir()
    cv2.imwrite(str(src / "a.jpg"), np.zeros((24, 32, 3), np.uint8))
    frames = [Image.fromarray(np.full((24, 32, 3), v, np.uint8)) for v in (0, 120)]
    frames[0].save(src / "anim.gif", save_all=True, append_images=frames[1:], duration=100)
    (src / "notes.txt").write_text("x")
    with pytest.warns(HumansegWarning) as caught:
        result = convert_folder(src, tmp_path / "out", "mask", segmenter, progress=False)
    assert len(caught) == 1 and "anim.gif" in str(caught[0].message) and "notes.txt" in str(caught[0].message)
    assert result["written"] == 1 and result["failed"] == []
    assert [line.split(":")[0] for line in result["left_out"]] == ["anim.gif", "notes.txt"]
    assert "humanseg video" in result["left_out"][0]


def test_convert_folder_checks_the_suffix_before_writing_anything(tmp_path, segmenter):
    from humanseg import Transparent

    src = tmp_path / "in"
    src.mkdir()
    cv2.imwrite(str(src / "a.jpg"), np.zeros((20, 30, 3), np.uint8))
    for effect, suffix, why in ((None, "png", "not an image type"), (None, ".txt", "not an image type"),
                                (Transparent(), ".jpg", "JPEG has no transparency")):
        with pytest.raises(OutputError, match=why):
            convert_folder(src, tmp_path / "out", effect, segmenter, suffix=suffix, progress=False)
        assert not (tmp_path / "out").exists()
    assert convert_folder(src, tmp_path / "out", None, segmenter, suffix=".PNG", progress=False)["written"] == 1


def test_convert_folder_refuses_its_input_folder_under_another_name(tmp_path, segmenter, monkeypatch):
    import os

    src = tmp_path / "Photos"
    src.mkdir()
    cv2.imwrite(str(src / "a.png"), np.zeros((20, 30, 3), np.uint8))
    (tmp_path / "photos").mkdir()   # as a case-insensitive file system or a bind mount shows one folder twice
    real = os.path.samefile
    monkeypatch.setattr(os.path, "samefile", lambda a, b: {str(a), str(b)} == {str(src), str(tmp_path / "photos")}
                        or real(a, b))
    with pytest.raises(OutputError, match="output folder is the input folder"):
        convert_folder(src, tmp_path / "photos", None, segmenter, progress=False)
    assert not list((tmp_path / "photos").iterdir())


def test_an_effect_may_be_given_as_the_clis_bg_spec(tmp_path, segmenter):
    from humanseg import convert_video

    image = cv2.resize(cv2.imread(str(EXAMPLE_IMAGE)), (160, 90))
    cv2.imwrite(str(tmp_path / "in.png"), image)
    convert_image(tmp_path / "in.png", tmp_path / "spec.png", "color:#00FF00", segmenter)
    convert_image(tmp_path / "in.png", tmp_path / "object.png", Color("#00FF00"), segmenter)
    assert np.array_equal(cv2.imread(str(tmp_path / "spec.png")), cv2.imread(str(tmp_path / "object.png")))
    for bad in (5, "sepia"):
        with pytest.raises(InputError, match="not an effect|not blur"):
            convert_image(tmp_path / "in.png", tmp_path / "bad.png", bad, segmenter)
        with pytest.raises(InputError, match="not an effect|not blur"):
            convert_video(tmp_path / "in.mp4", tmp_path / "bad.mp4", bad, segmenter)
    assert not (tmp_path / "bad.png").exists()


def test_bad_threads_and_temporal_modes_are_one_line_errors(segmenter, tmp_path):
    from humanseg import convert_video
    from humanseg.errors import HumansegError, OptionError

    for threads in (-1, 2.5, "4", True):
        with pytest.raises(OptionError, match="threads"):
            Segmenter(threads=threads)
    assert Segmenter(threads=0).session.session.get_session_options().intra_op_num_threads >= 1
    with pytest.raises(HumansegError, match="temporal mode"):
        convert_video(tmp_path / "in.mp4", tmp_path / "out.mp4", segmenter=segmenter, temporal="smooth")

"""Inputs the command line cannot use: one-line errors (exit 2) for a single file, skipped and reported (exit 1)
in folder mode, never a traceback. Runs main() in-process on tiny images."""
import json
import pathlib

import cv2
import numpy as np
import pytest

from tests.test_cli import run_main


def error_lines(err: str) -> list[str]:
    assert "Traceback" not in err, err
    return [line for line in err.splitlines() if line.startswith("humanseg: error:")]


def tiny_image(path: pathlib.Path, h: int = 24, w: int = 32) -> pathlib.Path:
    image = np.zeros((h, w, 3), np.uint8)
    image[h // 4:, w // 3:2 * w // 3] = 220
    cv2.imwrite(str(path), image)
    return path


def deny_reading(monkeypatch, *names: str) -> None:
    """np.fromfile raises PermissionError for files of these names, as for a user who may not read them."""
    real = np.fromfile

    def fromfile(file, *args, **kwargs):
        if pathlib.Path(str(file)).name in names:
            raise PermissionError(13, "Permission denied", str(file))
        return real(file, *args, **kwargs)

    monkeypatch.setattr(np, "fromfile", fromfile)


# ---- unreadable (permission-denied) inputs ------------------------------------------------------

def test_an_unreadable_image_is_a_one_line_error(tmp_path, capsys, monkeypatch):
    src = tiny_image(tmp_path / "unread.jpg")
    deny_reading(monkeypatch, "unread.jpg")
    code, out, err = run_main(capsys, "image", src, tmp_path / "o.jpg", "--bg", "color:#000000")
    assert code == 2 and out == ""
    assert error_lines(err) == [f"humanseg: error: {src}: permission denied; check that you can read it"]
    assert not (tmp_path / "o.jpg").exists()


def test_an_unreadable_background_is_a_one_line_error(tmp_path, capsys, monkeypatch):
    src, bg = tiny_image(tmp_path / "in.jpg"), tiny_image(tmp_path / "unread.jpg")
    deny_reading(monkeypatch, "unread.jpg")
    code, _, err = run_main(capsys, "image", src, tmp_path / "o.jpg", "--bg", bg)
    assert code == 2 and len(error_lines(err)) == 1 and f"{bg}: permission denied" in err


def test_folder_mode_reports_an_unreadable_image_and_goes_on(tmp_path, capsys, monkeypatch):
    src, dst = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    for name in ("a.png", "b.png", "c.png"):
        tiny_image(src / name)
    deny_reading(monkeypatch, "b.png")
    code, out, err = run_main(capsys, "image", src, dst, "--bg", "mask", "--mirror-average", "off")
    assert code == 1
    assert json.loads(out.strip().splitlines()[-1])["written"] == 2
    skipped = [line for line in err.splitlines() if line.startswith("humanseg: skipped:")]
    assert skipped == [f"humanseg: skipped: {src / 'b.png'}: permission denied; check that you can read it"]
    assert sorted(p.name for p in dst.iterdir() if not p.name.startswith(".")) == ["a.png", "c.png"]


def test_folder_mode_reports_an_existing_output_it_cannot_look_at(tmp_path, capsys, monkeypatch):
    src, dst = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    dst.mkdir()
    for name in ("a.png", "b.png"):
        tiny_image(src / name)
    (dst / "a.png").write_bytes(b"someone else's")
    real_stat = pathlib.Path.stat

    def stat(self, *args, **kwargs):
        if self == dst / "a.png":
            raise PermissionError(13, "Permission denied", str(self))
        return real_stat(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "stat", stat)
    code, out, err = run_main(capsys, "image", src, dst, "--bg", "mask", "--mirror-average", "off")
    assert code == 1 and json.loads(out.strip().splitlines()[-1])["written"] == 1
    assert f"humanseg: skipped: {dst / 'a.png'}: permission denied" in err and "Traceback" not in err
    assert (dst / "a.png").read_bytes() == b"someone else's"


# ---- option limits shared with the service -----------------------------------------------------

@pytest.mark.parametrize("command, option, value", [
    ("image", "--blur-strength", "1e9"), ("image", "--blur-strength", "20.5"), ("video", "--blur-strength", "1e6"),
    ("image", "--feather", "1e6"), ("video", "--feather", "21"), ("batch", "--feather", "1e6"),
])
def test_blur_strength_and_feather_have_the_services_upper_limit(capsys, command, option, value):
    code, out, err = run_main(capsys, command, "in.jpg", "out.jpg", option, value)
    assert code == 2 and out == ""
    assert error_lines(err) == [line for line in err.splitlines() if line.strip()]
    assert len(error_lines(err)) == 1 and f"{option}: {value} is more than 20" in err


@pytest.mark.parametrize("command", ["image", "video", "batch", "webcam"])
def test_gate_radii_have_the_services_upper_limit(capsys, command):
    """An uncapped --gate 400 400 ran 11 s per 720p frame (an ellipse kernel of radius 400)."""
    code, out, err = run_main(capsys, command, *(["in.jpg", "out.jpg"] if command != "webcam" else []),
                              "--gate", "3", "400")
    assert code == 2 and out == ""
    assert len(error_lines(err)) == 1 and "--gate: 400 is more than 25 (px)" in err


def test_the_api_refuses_a_gate_over_the_limit():
    from humanseg.errors import InputError
    from humanseg.runtime.postprocess import PostProcess, check_postprocess

    check_postprocess(PostProcess(gate=(25, 25)))
    with pytest.raises(InputError, match=r"radii are at most 25 px"):
        check_postprocess(PostProcess(gate=(2, 26)))


def test_the_limits_are_the_services():
    from humanseg.effects.backgrounds import MAX_BLUR_STRENGTH
    from humanseg.runtime.postprocess import MAX_FEATHER, MAX_GATE_PX
    from humanseg.server.app import create_app
    from humanseg.server.config import ServerConfig

    schema = create_app(ServerConfig()).openapi()["components"]["schemas"]
    form = next(s for name, s in schema.items() if name.startswith("Body_segment"))["properties"]
    assert form["feather"]["maximum"] == MAX_FEATHER and form["blur_strength"]["maximum"] == MAX_BLUR_STRENGTH
    assert all(form[f"gate_{r}"]["anyOf"][0]["maximum"] == MAX_GATE_PX for r in ("erode", "dilate"))
    assert form["blur_strength"]["minimum"] == 0   # 0 (no blur) is accepted everywhere, as Blur(0) and the CLI do


def test_the_largest_blur_strength_and_feather_run(tmp_path, capsys):
    src = tiny_image(tmp_path / "in.png")
    code, _, err = run_main(capsys, "image", src, tmp_path / "o.png", "--blur-strength", "20", "--feather", "20",
                            "--mirror-average", "off")
    assert code == 0, err


# ---- tiny images -------------------------------------------------------------------------------

def test_ml_foreground_on_a_one_pixel_image(tmp_path, capsys):
    pytest.importorskip("pymatting")
    src = tmp_path / "one.png"
    cv2.imwrite(str(src), np.full((1, 1, 3), 120, np.uint8))
    code, _, err = run_main(capsys, "image", src, tmp_path / "p.png", "--foreground", "ml", "--bg", "color:#00B140")
    assert code == 0, err
    assert cv2.imread(str(tmp_path / "p.png")).shape == (1, 1, 3)


# ---- messages that say what is wrong and what is accepted --------------------------------------

def test_a_folder_as_the_output_of_one_image_says_so(tmp_path, capsys):
    src, folder = tiny_image(tmp_path / "in.jpg"), tmp_path / "existing_folder"
    folder.mkdir()
    code, _, err = run_main(capsys, "image", src, folder)
    assert code == 2 and len(error_lines(err)) == 1
    assert f"{folder}: is a folder; for a single input give an output file path" in err and "folder mode" in err
    assert list(folder.iterdir()) == []


def test_unsupported_output_types_list_what_is_accepted(tmp_path, capsys):
    from humanseg.io.images import IMAGE_SUFFIXES
    from humanseg.io.video import OPAQUE_SUFFIXES

    src = tiny_image(tmp_path / "in.jpg")
    code, _, err = run_main(capsys, "image", src, tmp_path / "o.gif")
    assert code == 2 and len(error_lines(err)) == 1
    assert {".tif", ".bmp"} <= IMAGE_SUFFIXES and all(suffix in err for suffix in IMAGE_SUFFIXES)
    from tests.conftest import EXAMPLE_VIDEO

    code, _, err = run_main(capsys, "video", EXAMPLE_VIDEO, tmp_path / "o.flv")   # a photo is refused as input
    assert code == 2 and len(error_lines(err)) == 1
    assert ".avi" in OPAQUE_SUFFIXES and all(suffix in err for suffix in OPAQUE_SUFFIXES)


def test_an_empty_input_folder_says_no_images_were_found(tmp_path, capsys):
    (tmp_path / "emptydir").mkdir()
    code, out, err = run_main(capsys, "image", tmp_path / "emptydir", tmp_path / "out")
    assert code == 0 and json.loads(out.strip().splitlines()[-1])["written"] == 0
    notices = [line for line in err.splitlines() if line.startswith("humanseg: ")]
    assert len(notices) == 1 and notices[0].startswith(f"humanseg: warning: no images found in {tmp_path / 'emptydir'}")


@pytest.mark.parametrize("command, options, message", [
    ("image", ["--bg", "color:#00FF00", "--blur-strength", "5"], "--blur-strength is for --bg blur"),
    ("video", ["--bg", "transparent", "--blur-strength", "0"], "--blur-strength is for --bg blur"),
    ("image", ["--light-wrap-width", "3"], "--light-wrap-width sets how far --light-wrap reaches"),
])
def test_an_option_that_would_do_nothing_is_refused(tmp_path, capsys, command, options, message):
    src = tiny_image(tmp_path / "in.png")
    out = tmp_path / ("o.png" if command == "image" else "o.webm")
    code, _, err = run_main(capsys, command, src, out, *options)
    assert code == 2 and len(error_lines(err)) == 1 and message in err
    assert not out.exists()


def test_blur_strength_and_light_wrap_width_work_where_they_apply(tmp_path, capsys):
    src = tiny_image(tmp_path / "in.png")
    code, _, err = run_main(capsys, "image", src, tmp_path / "o.png", "--bg", "blur", "--blur-strength", "5",
                            "--light-wrap", "0.5", "--light-wrap-width", "3", "--mirror-average", "off")
    assert code == 0, err


# ---- folder mode: what is not a still image is left out, never silently --------------------------

def gif(path: pathlib.Path, frames: int) -> pathlib.Path:
    from PIL import Image

    pictures = [Image.fromarray(np.full((24, 32, 3), 40 * i, np.uint8)) for i in range(frames)]
    pictures[0].save(path, save_all=frames > 1, append_images=pictures[1:], duration=100)
    return path


def test_folder_mode_names_what_it_leaves_out_and_reads_a_one_frame_gif(tmp_path, capsys):
    src, dst = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    tiny_image(src / "a.png")
    gif(src / "still.gif", 1)
    gif(src / "moving.gif", 3)
    (src / "notes.txt").write_text("not a photo")
    (src / "phone.heic").write_bytes(b"\x00" * 64)
    (src / "clip.mp4").write_bytes(b"\x00" * 64)
    (src / "sub").mkdir()
    (src / ".hidden.txt").write_text("kept quiet")
    code, out, err = run_main(capsys, "image", src, dst, "--bg", "mask", "--mirror-average", "off")
    assert code == 0 and "Traceback" not in err
    assert json.loads(out.strip().splitlines()[-1]) == {"written": 2, "skipped_existing": 0, "failed": 0,
                                                        "collisions": 0, "kept_existing": 0, "left_out": 5}
    warned = [line for line in err.splitlines() if line.startswith("humanseg: warning:")]
    assert len(warned) == 1 and "left out 5 entries" in warned[0], err
    for name in ("moving.gif", "notes.txt", "phone.heic", "clip.mp4", "sub"):
        assert name in warned[0]
    assert "animated GIF" in warned[0] and "humanseg video" in warned[0] and "humanseg batch" in warned[0]
    assert ".hidden" not in err and "still.gif" not in err and "a.png" not in err
    assert sorted(p.name for p in dst.iterdir() if not p.name.startswith(".")) == ["a.png", "still.png"]


def test_folder_mode_names_the_first_ten_left_out_and_counts_the_rest(tmp_path, capsys):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(13):
        (src / f"n{i:02d}.txt").write_text("x")
    code, _, err = run_main(capsys, "image", src, tmp_path / "out")
    warned = [line for line in err.splitlines() if line.startswith("humanseg: warning: left out")]
    assert code == 0 and len(warned) == 1 and "n09.txt" in warned[0] and "n10.txt" not in warned[0]
    assert "left out 13 entries" in warned[0] and "and 3 more" in warned[0]
    (src / "n00.txt").unlink()   # the output folder, when it lies inside the input, is not one of them
    tiny_image(src / "photo.png")
    for _ in range(2):
        code, _, err = run_main(capsys, "image", src, src / "out", "--bg", "mask", "--mirror-average", "off")
        assert code == 0 and (src / "out" / "photo.png").is_file()
        assert "left out 12 entries" in err and "out (a folder" not in err


def test_an_animated_gif_as_one_image_says_to_use_video(tmp_path, capsys):
    code, _, err = run_main(capsys, "image", gif(tmp_path / "moving.gif", 3), tmp_path / "o.png")
    assert code == 2 and len(error_lines(err)) == 1
    assert "animated GIF (3 frames)" in err and "humanseg video" in err
    assert not (tmp_path / "o.png").exists()
    code, _, err = run_main(capsys, "image", gif(tmp_path / "still.gif", 1), tmp_path / "o.png", "--mirror-average",
                            "off")
    assert code == 0, err
    assert cv2.imread(str(tmp_path / "o.png")).shape == (24, 32, 3)


def test_models_with_a_missing_shipped_file_prints_its_table_and_exits_non_zero(tmp_path, capsys, monkeypatch):
    import dataclasses

    from humanseg import weights

    gone = tmp_path / "gone.onnx"
    monkeypatch.setitem(weights.CATALOGUE, "lost", dataclasses.replace(weights.CATALOGUE["portrait"], name="lost",
                                                                       file=gone))
    monkeypatch.setitem(weights.SHIPPED, "lost", gone)
    code, out, err = run_main(capsys, "models")
    assert out.startswith("portrait\t") and f"lost\tmissing ({gone})" in out        # the whole table first
    assert code == 2 and len(error_lines(err)) == 1 and "lost" in err and str(gone) in err and "reinstall" in err


def test_a_still_image_given_to_video_says_to_use_image(tmp_path, capsys):
    for still in (tiny_image(tmp_path / "photo.jpg"), gif(tmp_path / "still.gif", 1)):
        code, _, err = run_main(capsys, "video", still, tmp_path / "o.mp4")
        assert code == 2 and len(error_lines(err)) == 1 and "is a still image" in err and "humanseg image" in err
        assert not (tmp_path / "o.mp4").exists()


def test_blank_comments_are_refused_rather_than_drawing_nothing(tmp_path, capsys):
    code, _, err = run_main(capsys, "image", tiny_image(tmp_path / "in.png"), tmp_path / "o.png", "--comments", " ")
    assert code == 2 and len(error_lines(err)) == 1 and "blank" in err and not (tmp_path / "o.png").exists()


@pytest.mark.parametrize("suffix, name", [(".png", "animated PNG (APNG) (3 frames)"), (".webp", "animated WebP (3 frames)")])
def test_an_animated_png_or_webp_is_not_read_as_its_first_frame(tmp_path, capsys, suffix, name):
    """OpenCV reads an APNG's or an animated WebP's first frame only: `image` used to write that frame's mask as
    if the file were a photo. It is refused now, and a one-frame PNG/WebP is still an image."""
    code, _, err = run_main(capsys, "image", gif(tmp_path / f"moving{suffix}", 3), tmp_path / "o.png")
    assert code == 2 and len(error_lines(err)) == 1 and name in err and "humanseg video" in err
    assert not (tmp_path / "o.png").exists()
    code, _, err = run_main(capsys, "image", gif(tmp_path / f"still{suffix}", 1), tmp_path / "o.png",
                            "--mirror-average", "off")
    assert code == 0, err
    folder = tmp_path / "folder"
    folder.mkdir()
    gif(folder / f"moving{suffix}", 3)
    gif(folder / f"still{suffix}", 1)
    code, out, err = run_main(capsys, "image", folder, tmp_path / "out", "--bg", "mask", "--mirror-average", "off")
    assert code == 0 and json.loads(out.strip().splitlines()[-1])["left_out"] == 1
    assert f"moving{suffix}: left out" not in err and f"moving{suffix}" in err and "animated GIF, PNG or WebP" in err


def test_an_apng_is_a_video_and_an_animated_webp_a_clear_refusal(tmp_path, capsys):
    from tests.conftest import probe

    code, _, err = run_main(capsys, "video", gif(tmp_path / "moving.png", 3), tmp_path / "o.mp4")
    assert code == 0, err
    assert probe(tmp_path / "o.mp4")["frames"] == 3
    code, _, err = run_main(capsys, "video", gif(tmp_path / "moving.webp", 3), tmp_path / "o2.mp4")
    assert code == 2 and len(error_lines(err)) == 1 and "animated WebP" in err and "GIF or MP4" in err
    assert not (tmp_path / "o2.mp4").exists()
    code, _, err = run_main(capsys, "video", gif(tmp_path / "still.png", 1), tmp_path / "o3.mp4")
    assert code == 2 and "still image" in err


def test_ml_foreground_on_a_video_says_how_long_it_may_take(tmp_path):
    """--foreground ml on a video was accepted without a word although it takes about a second a 720p frame."""
    from humanseg.cli import _warn_slow_foreground
    from humanseg.errors import HumansegWarning
    from tests.conftest import make_video

    make_video(tmp_path / "talk.mp4", n=12, size=(96, 64), audio=False)
    with pytest.warns(HumansegWarning, match=r"12 frames of 96x64 may take ~\d+ minute"):
        _warn_slow_foreground(tmp_path / "talk.mp4")
    (tmp_path / "broken.mp4").write_bytes(b"nope")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _warn_slow_foreground(tmp_path / "broken.mp4")   # convert_video says what is wrong with it, not this


def test_ctrl_c_says_finished_outputs_are_kept_not_that_nothing_was_kept(tmp_path, capsys, monkeypatch):
    """It said 'no partial output was kept', which read as if nothing was kept (a folder run keeps the images it
    finished; export --int8 keeps the finished FP32 file)."""
    import humanseg.api

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(humanseg.api, "convert_image", interrupted)
    code, _, err = run_main(capsys, "image", tiny_image(tmp_path / "a.png"), tmp_path / "o.png")
    assert code == 130 and "nothing half-written was left" in err and "finished before it are kept" in err

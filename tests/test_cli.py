"""The command line as a user runs it: exit codes, one-line errors, no tracebacks, nothing lost."""
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from humanseg.cli import install_hint, main
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
    assert json.loads(r.stdout.strip().splitlines()[-1]) == {"written": 3, "skipped_existing": 0, "failed": 1,
                                                             "collisions": 0, "kept_existing": 0, "left_out": 0}
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
    from humanseg.weights import CATALOGUE

    for entry in CATALOGUE.values():        # every shipped model states the licences of what it learned from
        assert f"learned from: {entry.data_licences}" in r.stdout and str(entry.card) in r.stdout
        assert entry.card.is_file() and "licen" in entry.data_licences.lower()
    from humanseg import Segmenter

    budgets = Segmenter("portrait", threads=1, canvas_pixels="still").budgets()
    assert f"photos: canvas of {' and '.join(map(str, budgets))} pixels" in r.stdout


def test_a_reader_that_stops_early_gets_no_traceback():
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "humanseg", "models"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdout.close()                      # as `humanseg models | head -0` would, before anything is written
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141 and "Traceback" not in err and err == ""


def test_eval_prints_one_json_line(tiny_dataset, tmp_path):
    r = humanseg("eval", "--data", tiny_dataset / "val", "--csv", tmp_path / "rows.csv")
    assert r.returncode == 0, r.stderr
    scores = json.loads(r.stdout)
    from humanseg import Segmenter

    still = Segmenter("portrait", threads=1, canvas_pixels="still")       # the shipped model's still recipe
    recipe = ({"canvas_budgets"} if len(still.budgets()) > 1 else set()) | ({"prior_weight"} if still.prior_weight() else set()) \
        | ({"refine_fraction"} if still.refine_fraction() else set()) | ({"zoom_share"} if still.zoom_share() else set())
    assert set(scores) == {"miou", "fg_iou", "boundary_f", "sc", "n_images", "n_skipped", "ms_per_image",
                           "canvas_pixels", "mirror_average", "per_source"} | recipe
    assert scores.get("canvas_budgets", [46080]) == still.budgets() and scores.get("prior_weight", 0) == still.prior_weight()
    assert scores.get("refine_fraction", 0) == still.refine_fraction() and scores.get("zoom_share", 0) == still.zoom_share()
    assert scores["n_images"] == 4 and scores["n_skipped"] == 0 and 0 <= scores["miou"] <= 1
    assert scores["canvas_pixels"] == 46080           # the shipped model's still budget: 1.25 x 256 x 144
    assert scores["mirror_average"] is True           # as `humanseg image` segments a photo
    r = humanseg("eval", "--data", tiny_dataset / "val", "--photo-recipe", "fast")
    assert r.returncode == 0, r.stderr
    fast = json.loads(r.stdout)
    assert "canvas_budgets" not in fast and "prior_weight" not in fast and "zoom_share" not in fast
    assert fast["canvas_pixels"] == 46080
    assert fast.get("refine_fraction", 0) == still.refine_fraction()
    r = humanseg("eval", "--data", tiny_dataset / "val", "--photo-recipe", "quick")
    assert r.returncode == 2 and "--photo-recipe" in r.stderr and "Traceback" not in r.stderr
    single = json.loads(humanseg("eval", "--data", tiny_dataset / "val", "--mirror-average", "off").stdout)
    assert single["mirror_average"] is False
    assert set(scores["per_source"]) == {"toy"} and scores["per_source"]["toy"]["n_images"] == 4
    assert scores["per_source"]["toy"]["miou"] == scores["miou"] and "boundary_f" in scores["per_source"]["toy"]
    assert len((tmp_path / "rows.csv").read_text().splitlines()) == 5
    assert_one_line_error(humanseg("eval", "--data", tmp_path))


def test_eval_refine_scores_the_refined_map(tmp_path, capsys, monkeypatch):
    """`eval --refine R` scores what `image --refine R` writes: the segmenter gets the same mask options."""
    import humanseg.evaluation.evaluate
    from humanseg.runtime.postprocess import PostProcess

    seen = []
    real = humanseg.evaluation.evaluate.Segmenter
    monkeypatch.setattr(humanseg.evaluation.evaluate, "Segmenter",
                        lambda *args, **kwargs: seen.append(kwargs["postprocess"]) or real(*args, **kwargs))
    val = tmp_path / "val" / "photo"  # a real person: refinement has edges to move (the toy shapes may be no one)
    for sub in ("images", "masks"):
        (val / sub).mkdir(parents=True)
    photo = cv2.resize(cv2.imread(str(EXAMPLE_IMAGE)), (320, 180))
    mask = np.zeros(photo.shape[:2], np.uint8)
    cv2.ellipse(mask, (160, 110), (50, 80), 0, 0, 360, 255, -1)
    cv2.imwrite(str(val / "images" / "a.jpg"), photo)
    cv2.imwrite(str(val / "masks" / "a.png"), mask)
    scores = []
    for extra in ([], ["--refine", "8"]):
        assert main(["eval", "--data", str(tmp_path / "val"), *extra]) == 0
        scores.append(json.loads(capsys.readouterr().out))
    assert seen == [PostProcess(), PostProcess(refine=8)]
    assert scores[0]["boundary_f"] != scores[1]["boundary_f"] or scores[0]["miou"] != scores[1]["miou"]
    code, out, err = run_main(capsys, "eval", "--data", ".", "--refine", "-1")
    assert code == 2 and out == "" and "--refine" in err


# ---- in-process runs of main(): argument checks, resume, comments, install hints, serve ---------

def run_main(capsys, *args):
    """(exit code, stdout, stderr) of humanseg.cli.main; argparse errors exit via SystemExit."""
    try:
        code = main([str(a) for a in args])
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line(err: str, *phrases: str):
    lines = [l for l in err.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("humanseg: error:") and "Traceback" not in err, err
    for phrase in phrases:
        assert phrase in lines[0], err


@pytest.mark.parametrize("args, phrase", [
    (["image", "a.jpg", "b.jpg", "--threshold", "5"], "--threshold: 5 is not in [0, 1]"),
    (["image", "a.jpg", "b.jpg", "--threshold", "nan"], "--threshold"),
    (["image", "a.jpg", "b.jpg", "--feather", "-2"], "--feather: -2 is negative"),
    (["image", "a.jpg", "b.jpg", "--gate", "-1", "3"], "--gate: -1 is negative"),
    (["image", "a.jpg", "b.jpg", "--refine", "-4"], "--refine: -4 is negative"),
    (["image", "a.jpg", "b.jpg", "--threads", "0"], "--threads: 0 is not a positive integer"),
    (["video", "a.mp4", "b.mp4", "--blur-strength", "-1"], "--blur-strength"),
    (["serve", "--workers", "0"], "--workers: 0 is not a positive integer"),
    (["serve", "--port", "70000"], "--port"),
    (["webcam", "--preview-port", "70000"], "--preview-port: 70000 is not a port number"),
    (["webcam", "--preview-port", "-1"], "--preview-port: -1 is not a port number"),
    (["image", "a.jpg"], "required"),
])
def test_out_of_range_options_are_one_line_usage_errors(capsys, args, phrase):
    code, out, err = run_main(capsys, *args)
    assert code == 2 and out == ""
    assert_one_line(err, phrase)


@pytest.mark.parametrize("args, phrases", [
    (["video", "a.mp4", "b.mp4", "--temporl", "flow"],
     ["unrecognized arguments: --temporl flow", "did you mean --temporal?", "`humanseg video --help`"]),
    (["image", "a.jpg", "b.jpg", "--bg-strength=3"], ["did you mean --blur-strength?", "`humanseg image --help`"]),
    (["image", "a.jpg", "b.jpg", "--zzzz"], ["unrecognized arguments: --zzzz (see `humanseg image --help`)"]),
])
def test_an_unknown_option_names_the_closest_and_the_commands_help(capsys, args, phrases):
    code, out, err = run_main(capsys, *args)
    assert code == 2 and out == ""
    assert_one_line(err, *phrases)
    assert "did you mean" not in err or "--zzzz" not in err


def test_background_is_another_name_for_bg(tmp_path, capsys):
    from humanseg.cli import build_parser
    a = build_parser().parse_args(["image", "in.jpg", "out.png", "--background", "color:#00ff00"])
    assert a.bg == "color:#00ff00"


def test_folder_input_with_a_file_as_output_is_a_one_line_error(tmp_path, capsys):
    (tmp_path / "in").mkdir()
    cv2.imwrite(str(tmp_path / "in" / "a.jpg"), np.zeros((20, 30, 3), np.uint8))
    (tmp_path / "existing.jpg").write_bytes(b"keep me")
    code, _, err = run_main(capsys, "image", tmp_path / "in", tmp_path / "existing.jpg")
    assert code == 2
    assert_one_line(err, "output must be a folder when the input is a folder")
    assert (tmp_path / "existing.jpg").read_bytes() == b"keep me"


def _small_folder(root: Path, names: list[str]) -> Path:
    root.mkdir()
    img = cv2.resize(cv2.imread(str(EXAMPLE_IMAGE)), (160, 90))
    for name in names:
        cv2.imwrite(str(root / name), img)
    return root


def test_folder_resume_redoes_outputs_made_with_other_settings_or_inputs(tmp_path, capsys):
    src, dst = _small_folder(tmp_path / "in", ["a.png"]), tmp_path / "out"
    summary = lambda out: json.loads(out.strip().splitlines()[-1])  # noqa: E731
    code, out, _ = run_main(capsys, "image", src, dst, "--bg", "color:#000000")
    assert code == 0 and summary(out)["written"] == 1
    black = cv2.imread(str(dst / "a.png"))
    assert (dst / ".humanseg-resume.json").is_file()
    code, out, _ = run_main(capsys, "image", src, dst, "--bg", "color:#000000")
    assert summary(out) == {"written": 0, "skipped_existing": 1, "failed": 0, "collisions": 0, "kept_existing": 0, "left_out": 0}
    code, out, _ = run_main(capsys, "image", src, dst, "--bg", "color:#FFFFFF")      # other --bg: redone
    assert summary(out)["written"] == 1
    assert cv2.imread(str(dst / "a.png")).mean() > black.mean() + 50
    code, out, _ = run_main(capsys, "image", src, dst, "--bg", "color:#FFFFFF", "--threshold", "0.5")
    assert summary(out)["written"] == 1                                                # other mask option
    st = (src / "a.png").stat()
    os.utime(src / "a.png", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))               # input edited
    code, out, _ = run_main(capsys, "image", src, dst, "--bg", "color:#FFFFFF", "--threshold", "0.5")
    assert summary(out)["written"] == 1
    code, out, _ = run_main(capsys, "image", src, dst, "--bg", "color:#FFFFFF", "--threshold", "0.5",
                            "--mirror-average", "off")                                 # one pass instead of two
    assert summary(out)["written"] == 1
    assert not list(dst.glob("*.part")) and not list(dst.glob(".*.part"))


def test_folder_mode_never_overwrites_a_file_it_did_not_write(tmp_path, capsys):
    src, dst = _small_folder(tmp_path / "in", ["phone.png", "b.png"]), tmp_path / "out"
    dst.mkdir()
    (dst / "phone.png").write_bytes(b"the user's own photo")
    code, out, err = run_main(capsys, "image", src, dst, "--bg", "color:#000000")
    assert code == 1
    assert json.loads(out.strip().splitlines()[-1]) == {"written": 1, "skipped_existing": 0, "failed": 1,
                                                         "collisions": 0, "kept_existing": 1, "left_out": 0}
    assert (dst / "phone.png").read_bytes() == b"the user's own photo"
    skipped = [line for line in err.splitlines() if line.startswith("humanseg: skipped:")]  # not the progress bar
    assert len(skipped) == 1 and "phone.png" in skipped[0] and "kept" in skipped[0]
    assert cv2.imread(str(dst / "b.png")) is not None


def test_an_output_that_is_the_bg_file_is_refused_and_the_background_kept(tmp_path, capsys):
    small = cv2.resize(cv2.imread(str(EXAMPLE_IMAGE)), (80, 60))
    photo, bg = tmp_path / "small.jpg", tmp_path / "bg.png"
    cv2.imwrite(str(photo), small)
    cv2.imwrite(str(bg), small[::-1])
    os.link(bg, tmp_path / "hard.png")
    (tmp_path / "soft.png").symlink_to(bg)
    clip, bgv = make_video(tmp_path / "clip.mp4", n=4, audio=False), make_video(tmp_path / "bgv.mp4", n=4, audio=False)
    src, dst = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    cv2.imwrite(str(src / "a.jpg"), small)
    assert run_main(capsys, "image", src, dst, "--bg", "color:#000000")[0] == 0   # out/a.jpg: made by humanseg
    kept = {p: p.read_bytes() for p in (bg, bgv, dst / "a.jpg")}
    for args in (("image", photo, bg, "--bg", bg), ("image", photo, tmp_path / "hard.png", "--bg", bg),
                 ("image", photo, bg, "--bg", tmp_path / "soft.png"), ("video", clip, bgv, "--bg", bgv),
                 ("image", src, dst, "--bg", dst / "a.jpg")):
        code, _, err = run_main(capsys, *args)
        assert code == 2 and err.count("\n") == 1 and "is the --bg background file" in err, (args, err)
    assert {p: p.read_bytes() for p in kept} == kept
    assert not [p for p in tmp_path.rglob("*.part")]


def test_folder_inputs_writing_the_same_output_are_reported(tmp_path, capsys):
    src, dst = _small_folder(tmp_path / "in", ["x.jpg", "x.png", "y.jpg"]), tmp_path / "out"
    code, out, err = run_main(capsys, "image", src, dst, "--bg", "mask")              # mask writes .png
    assert code == 1
    assert json.loads(out.strip().splitlines()[-1]) == {"written": 2, "skipped_existing": 0, "failed": 1,
                                                         "collisions": 1, "kept_existing": 0, "left_out": 0}
    assert "x.png" in err and "x.jpg" in err and "same" in err
    assert sorted(p.name for p in dst.iterdir() if not p.name.startswith(".")) == ["x.png", "y.png"]


def test_comments_are_drawn_on_a_single_image(tmp_path, capsys):
    plain, with_text = tmp_path / "plain.png", tmp_path / "comments.png"
    assert run_main(capsys, "image", EXAMPLE_IMAGE, plain, "--bg", "color:#000000")[0] == 0
    code, _, err = run_main(capsys, "image", EXAMPLE_IMAGE, with_text, "--bg", "color:#000000",
                            "--comments", "HELLO THERE")
    assert code == 0, err
    a, b = cv2.imread(str(plain)), cv2.imread(str(with_text))
    background = a.max(axis=2) < 30                       # (nearly) black in the plain output: the background
    assert background.mean() > 0.2
    assert (b[background].min(axis=1) > 150).sum() > 40     # white text there (0 when it starts off-screen)
    assert np.array_equal(a[~background & (a.min(axis=2) > 200)], b[~background & (a.min(axis=2) > 200)])


def test_comments_with_emoji_warn_in_one_line_and_draw_the_rest(tmp_path, capsys):
    code, _, err = run_main(capsys, "image", EXAMPLE_IMAGE, tmp_path / "o.png", "--bg", "color:#000000",
                            "--comments", "nice \U0001F44D")
    assert code == 0
    lines = [l for l in err.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("humanseg: warning:") and "\U0001F44D" in lines[0]


@pytest.mark.parametrize("module, command, hint", [
    ("onnxruntime", "image", "pip install humanseg"), ("cv2", "video", "pip install humanseg"),
    ("av", "video", "pip install humanseg"), ("numpy", "serve", "pip install humanseg"),
    ("torch", "export", "humanseg[train]"), ("onnx", "export", "humanseg[train]"),
    ("onnxslim", "export", "humanseg[train]"), ("fastapi", "serve", "humanseg[serve]"),
    ("uvicorn", "serve", "humanseg[serve]"), ("pyvirtualcam", "webcam", "humanseg[webcam]"),
    ("torch.nn", "train", "humanseg[train]"),
])
def test_missing_module_names_what_installs_it(module, command, hint):
    assert hint in install_hint(module, command)
    if hint == "pip install humanseg":
        assert "[" not in install_hint(module, command)


def test_missing_onnxruntime_asks_for_the_base_install(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)          # `import onnxruntime` now fails
    code, _, err = run_main(capsys, "image", EXAMPLE_IMAGE, tmp_path / "o.jpg")
    assert code == 2
    assert_one_line(err, "onnxruntime is not installed", "pip install humanseg")
    assert "[train]" not in err


def test_serve_on_a_busy_port_says_so_before_announcing(capsys):
    pytest.importorskip("uvicorn")
    pytest.importorskip("fastapi")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, out, err = run_main(capsys, "serve", "--port", port)
    assert code == 2 and "serving on" not in out
    assert_one_line(err, f"port {port} is in use; pick another with --port")


def test_train_help_names_the_registered_architectures(capsys):
    code, out, _ = run_main(capsys, "train", "--help")
    assert code == 0 and "--arch" not in out
    text = "".join(out.split())                                    # argparse may wrap at hyphens
    for name in ("pphumanseg-lite", "pphumanseg-v2", "deeplabv3p-mbv2"):
        assert name in text
    models = pytest.importorskip("humanseg.training.models")
    assert all(name in text for name in models.MODELS)


# ---- canvas budgets of adaptive models -------------------------------------------------------------

@pytest.mark.parametrize("value, phrase", [("0", "0 is not a positive integer"), ("-3", "-3 is not a positive integer"),
                                           ("1.5", "'1.5' is not an integer"), ("lots", "'lots' is not an integer"),
                                           ("99999999999", "is more than")])
@pytest.mark.parametrize("command", [["image", "a.jpg", "b.jpg"], ["video", "a.mp4", "b.mp4"], ["webcam"],
                                     ["eval", "--data", "."], ["serve"]])
def test_canvas_pixels_must_be_a_positive_integer(capsys, command, value, phrase):
    code, out, err = run_main(capsys, *command, "--canvas-pixels", value)
    assert code == 2 and out == ""
    assert_one_line(err, "--canvas-pixels", phrase)


class _Stop(Exception):
    pass


@pytest.mark.parametrize("command, given, expected", [
    (["image", EXAMPLE_IMAGE, "out.jpg"], None, "still"),
    (["video", "in.mp4", "out.mp4"], None, "video"),
    (["webcam", "--max-frames", "1"], None, "video"),
    (["eval", "--data", "."], None, "still"),
    (["image", EXAMPLE_IMAGE, "out.jpg"], "50000", 50000),
    (["video", "in.mp4", "out.mp4"], "50000", 50000),
    (["eval", "--data", "."], "50000", 50000),
])
def test_canvas_pixels_defaults_per_command(capsys, monkeypatch, command, given, expected):
    """Stills (image, eval, serve) get the larger "still" budget, video and webcam the model's own
    (runtime/budget.py); --canvas-pixels overrides both."""
    import humanseg.api
    import humanseg.evaluation.evaluate

    seen = []

    def fake_segmenter(*args, canvas_pixels=None, **kwargs):
        seen.append(canvas_pixels)
        raise _Stop

    monkeypatch.setattr(humanseg.api, "Segmenter", fake_segmenter)
    monkeypatch.setattr(humanseg.evaluation.evaluate, "Segmenter", fake_segmenter)
    monkeypatch.setattr(humanseg.evaluation.evaluate, "find_pairs", lambda root: ["a pair"])
    with pytest.raises(_Stop):
        main([str(a) for a in command] + (["--canvas-pixels", given] if given else []))
    assert seen == [expected]


def test_serve_passes_its_canvas_budget_to_the_app(capsys, monkeypatch):
    pytest.importorskip("fastapi")
    import humanseg.server.app
    from humanseg.errors import HumansegError

    configs = []

    def fake_create_app(config):
        configs.append(config)
        raise HumansegError("stopped before serving")

    monkeypatch.setattr(humanseg.server.app, "create_app", fake_create_app)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert run_main(capsys, "serve", "--port", port)[0] == 2
    assert run_main(capsys, "serve", "--port", port, "--canvas-pixels", "90000")[0] == 2
    assert [c.canvas_pixels for c in configs] == [None, 90000]   # None: the "still" budget


def test_canvas_pixels_help_says_legacy_models_ignore_it(capsys):
    from humanseg.runtime.session import ModelSession

    shipped = ModelSession("portrait").still_scale
    still = (f"the model's still budget: its own budget times the still_budget_scale stored at export "
             f"({shipped:g} for the shipped portrait model), or 2x its own budget where a model stores none")
    for command, default in (("image", still), ("video", "the model's own budget"),
                             ("webcam", "the model's own budget"), ("eval", still), ("serve", still)):
        code, out, _ = run_main(capsys, command, "--help")
        text = " ".join(out.split())
        assert code == 0 and "--canvas-pixels N" in text and f"default: {default}" in text
        assert "legacy fixed-canvas models ignore it" in text


def test_a_legacy_model_ignores_canvas_pixels(tmp_path, capsys):
    from tests.runtime.tiny_models import write_tiny_model

    legacy = write_tiny_model(tmp_path / "legacy.onnx", adaptive=False)
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    assert run_main(capsys, "image", EXAMPLE_IMAGE, a, "--bg", "mask", "--model", legacy)[0] == 0
    assert run_main(capsys, "image", EXAMPLE_IMAGE, b, "--bg", "mask", "--model", legacy,
                    "--canvas-pixels", "200000")[0] == 0
    assert np.array_equal(cv2.imread(str(a)), cv2.imread(str(b)))


def test_temporal_modes_in_the_cli(capsys, tmp_path):
    code, out, _ = run_main(capsys, "video", "--help")
    text = "".join(out.split())
    assert code == 0 and "prior+flow" in text and "auto" in text
    from tests.runtime.tiny_models import write_tiny_model

    three_channels = write_tiny_model(tmp_path / "rgb-only.onnx", channels=3)
    src = make_video(tmp_path / "in.mp4", n=3, audio=False)
    code, _, err = run_main(capsys, "video", src, tmp_path / "out.mp4", "--temporal", "prior",
                            "--model", three_channels)
    assert code == 2
    assert_one_line(err, "4th input channel", "use flow, ema or none")
    assert not (tmp_path / "out.mp4").exists()

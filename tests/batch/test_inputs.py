"""What `humanseg batch` takes and refuses: list files, output names, one-line errors, Ray missing."""
import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from humanseg.batch.manifest import read_manifest
from humanseg.cli import main
from tests.conftest import EXAMPLE_IMAGE

FAST = ["--workers", "1", "--threads", "1"]


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("humanseg: error:") and "Traceback" not in err, err
    return lines[0]


def test_list_file_mirrors_from_the_common_folder(tmp_path, capsys):
    img = cv2.resize(cv2.imread(str(EXAMPLE_IMAGE)), (80, 60))
    (tmp_path / "data" / "x").mkdir(parents=True)
    (tmp_path / "data" / "y").mkdir()
    cv2.imwrite(str(tmp_path / "data" / "x" / "one.jpg"), img)
    cv2.imwrite(str(tmp_path / "data" / "y" / "two.jpg"), img)
    listing = tmp_path / "todo.txt"
    listing.write_text("# my photos\ndata/x/one.jpg\n\n" + str(tmp_path / "data" / "y" / "two.jpg") +
                       "\ndata/x/one.jpg\ndata/missing.jpg\ndata/x\ndata/notes.doc\n")
    out = tmp_path / "out"
    assert main(["batch", str(listing), str(out), *FAST, "--bg", "color:#00FF00"]) == 1
    records = read_manifest(out / "manifest.jsonl")
    statuses = sorted((Path(r["input"]).name, r["status"]) for r in records)
    assert statuses == [("missing.jpg", "failed"), ("notes.doc", "failed"), ("one.jpg", "done"),
                        ("one.jpg", "failed"), ("two.jpg", "done"), ("x", "failed")]
    assert any("listed more than once" in (r["reason"] or "") for r in records)
    assert (out / "x" / "one.jpg").is_file() and (out / "y" / "two.jpg").is_file()
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["done"] == 2


def test_transparent_outputs_are_png_and_webm(tmp_path):
    from humanseg.batch.jobs import output_name
    from pathlib import PurePosixPath as P

    assert output_name(P("a/b.jpg"), "image", cut_out=True, transparent=True) == P("a/b.png")
    assert output_name(P("a/b.jpg"), "image", cut_out=False, transparent=False) == P("a/b.jpg")
    assert output_name(P("v.mp4"), "video", cut_out=True, transparent=True) == P("v.webm")
    assert output_name(P("v.MOV"), "video", cut_out=True, transparent=True) == P("v.MOV")
    assert output_name(P("v.mp4"), "video", cut_out=True, transparent=False) == P("v.mp4")


def test_bad_arguments_are_one_line_errors(tmp_path, capsys):
    src = tmp_path / "in"
    src.mkdir()
    cv2.imwrite(str(src / "a.jpg"), cv2.resize(cv2.imread(str(EXAMPLE_IMAGE)), (80, 60)))
    assert main(["batch", str(tmp_path / "nope"), str(tmp_path / "out")]) == 2
    assert "no such folder or list file" in one_line_error(capsys)
    assert main(["batch", str(src / "a.jpg"), str(tmp_path / "out")]) == 2
    assert "humanseg image" in one_line_error(capsys)
    assert main(["batch", str(src), str(src)]) == 2
    assert "is the input folder" in one_line_error(capsys)
    assert main(["batch", str(src), str(tmp_path / "out"), "--address", "auto"]) == 2
    assert "--engine ray only" in one_line_error(capsys)
    assert main(["batch", str(src), str(tmp_path / "out2"), "--bg", "no-such-file.jpg"]) == 2
    one_line_error(capsys)
    assert not (tmp_path / "out2").exists()


def test_output_folder_inside_the_input_is_not_an_input(tmp_path, capsys):
    src = tmp_path / "in"
    src.mkdir()
    cv2.imwrite(str(src / "a.jpg"), cv2.resize(cv2.imread(str(EXAMPLE_IMAGE)), (80, 60)))
    assert main(["batch", str(src), str(src / "out"), *FAST]) == 0
    assert main(["batch", str(src), str(src / "out"), *FAST]) == 0
    assert [r["status"] for r in read_manifest(src / "out" / "manifest.jsonl")] == ["skipped"]


def test_without_ray_the_cli_runs_and_the_ray_engine_says_what_to_install(tmp_path):
    code = ("import sys\nsys.modules['ray'] = None\nfrom humanseg.cli import main\n"
            f"assert main(['batch', {str(tmp_path)!r}, {str(tmp_path / 'out')!r}]) == 0\n"
            f"sys.exit(main(['batch', {str(tmp_path)!r}, {str(tmp_path / 'out2')!r}, '--engine', 'ray']))\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 2 and "pip install 'humanseg[batch]'" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "out2").exists()


def test_manifest_never_replaces_an_input_an_output_the_journal_or_a_users_file(tmp_path, capsys):
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    cv2.imwrite(str(src / "a.jpg"), cv2.resize(cv2.imread(str(EXAMPLE_IMAGE)), (80, 60)))
    listing = tmp_path / "todo.txt"
    listing.write_text("in/a.jpg\n")
    notes = tmp_path / "notes.txt"
    notes.write_text("mine\n")
    os.link(src / "a.jpg", tmp_path / "linked.jpg")
    refused = {str(src / "a.jpg"): "an input", str(tmp_path / "linked.jpg"): "an input",
               str(out / "a.png"): "an output", str(out / "sub" / ".." / "a.png"): "an output",
               str(out / ".humanseg-batch-resume.jsonl"): "resume journal", str(out / ".humanseg-batch.lock"): "lock",
               str(notes): "not a manifest", str(src): "is a folder", str(tmp_path / "nope" / "m.jsonl"): "not exist"}
    before = (src / "a.jpg").read_bytes()
    for path, why in refused.items():
        assert main(["batch", str(src), str(out), *FAST, "--bg", "mask", "--manifest", path]) == 2, path
        assert why in one_line_error(capsys)
    assert main(["batch", str(listing), str(out), *FAST, "--manifest", str(listing)]) == 2
    assert "input list" in one_line_error(capsys)
    assert not out.exists() and (src / "a.jpg").read_bytes() == before and notes.read_text() == "mine\n"

    manifest = tmp_path / "m.jsonl"
    assert main(["batch", str(src), str(out), *FAST, "--bg", "mask", "--manifest", str(manifest)]) == 0
    for path in (out / "a.png", out / ".humanseg-batch-resume.jsonl"):
        made = path.read_bytes()
        assert main(["batch", str(src), str(out), *FAST, "--bg", "mask", "--manifest", str(path)]) == 2
        assert path.read_bytes() == made
    capsys.readouterr()
    assert main(["batch", str(src), str(out), *FAST, "--bg", "mask", "--manifest", str(manifest)]) == 0   # ours
    assert [r["status"] for r in read_manifest(manifest)] == ["skipped"]   # the journal still knows a.png


def test_an_output_that_is_the_bg_file_is_refused_and_the_background_kept(tmp_path, capsys):
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    cv2.imwrite(str(src / "a.jpg"), cv2.resize(cv2.imread(str(EXAMPLE_IMAGE)), (80, 60)))
    assert main(["batch", str(src), str(out), *FAST, "--bg", "color:#000000"]) == 0   # out/a.jpg: made by batch
    made = (out / "a.jpg").read_bytes()
    os.link(out / "a.jpg", tmp_path / "hard.jpg")
    capsys.readouterr()
    for bg in (out / "a.jpg", tmp_path / "hard.jpg"):
        assert main(["batch", str(src), str(out), *FAST, "--bg", str(bg)]) == 2
        assert "is the --bg background file" in one_line_error(capsys)
    assert (out / "a.jpg").read_bytes() == made


def save_gif(path: Path, frames: int) -> None:
    from PIL import Image

    rgb = cv2.resize(cv2.imread(str(EXAMPLE_IMAGE)), (80, 60))[..., ::-1]
    pictures = [Image.fromarray(np.ascontiguousarray(np.roll(rgb, 4 * i, axis=1))) for i in range(frames)]
    pictures[0].save(path, save_all=frames > 1, append_images=pictures[1:], duration=100, loop=0)


def test_gifs_are_made_and_files_left_out_are_named(tmp_path, capsys):
    """An animated GIF is a video (.mp4, .webm when transparent), a one-frame GIF an image (.png); other files
    and links to folders are named in a warning and in the manifest as ignored, never left out silently."""
    from tests.conftest import probe

    src, out = tmp_path / "in", tmp_path / "out"
    (src / "elsewhere").mkdir(parents=True)
    save_gif(src / "wave.gif", 5)
    save_gif(src / "logo.GIF", 1)
    (src / "notes.txt").write_text("mine")
    (src / "scan.heic").write_bytes(b"\0" * 16)
    os.symlink(src / "elsewhere", src / "linked")
    assert main(["batch", str(src), str(out), *FAST]) == 0   # nothing failed: left-out files are not failures
    captured = capsys.readouterr()
    summary = json.loads(captured.out.strip().splitlines()[-1])
    assert summary["done"] == 2 and summary["ignored"] == 3 and summary["failed"] == 0
    warning = [line for line in captured.err.splitlines() if "left out 3" in line]
    assert len(warning) == 1 and all(name in warning[0] for name in ("notes.txt", "scan.heic", "linked"))
    records = {Path(r["input"]).name: r for r in read_manifest(out / "manifest.jsonl")}
    assert {name: r["status"] for name, r in records.items()} == {
        "wave.gif": "done", "logo.GIF": "done", "notes.txt": "ignored", "scan.heic": "ignored", "linked": "ignored"}
    assert records["wave.gif"]["kind"] == "video" and records["wave.gif"]["frames"] == 5
    assert probe(out / "wave.mp4")["frames"] == 5
    assert records["logo.GIF"]["kind"] == "image" and cv2.imread(str(out / "logo.png")).shape[:2] == (60, 80)
    assert all(records[name]["reason"] for name in ("notes.txt", "scan.heic", "linked"))

    assert main(["batch", str(src), str(tmp_path / "cut"), *FAST, "--bg", "transparent"]) == 0
    assert probe(tmp_path / "cut" / "wave.webm")["frames"] == 5 and (tmp_path / "cut" / "logo.png").is_file()


def test_a_folder_that_cannot_be_listed_is_a_failure_not_a_silent_gap(tmp_path, capsys, monkeypatch):
    src = tmp_path / "in"
    (src / "locked").mkdir(parents=True)
    cv2.imwrite(str(src / "a.jpg"), cv2.resize(cv2.imread(str(EXAMPLE_IMAGE)), (80, 60)))
    scandir = os.scandir

    def refuse_locked(path="."):
        if Path(path).name == "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", refuse_locked)
    assert main(["batch", str(src), str(tmp_path / "out"), *FAST]) == 1
    err = capsys.readouterr().err
    assert "locked: cannot list this folder (Permission denied)" in err and "Traceback" not in err
    records = read_manifest(tmp_path / "out" / "manifest.jsonl")
    assert sorted((Path(r["input"]).name, r["status"]) for r in records) == [("a.jpg", "done"), ("locked", "failed")]


def test_a_listed_name_the_filesystem_refuses_is_a_failed_record(tmp_path, capsys):
    cv2.imwrite(str(tmp_path / "a.jpg"), cv2.resize(cv2.imread(str(EXAMPLE_IMAGE)), (80, 60)))
    listing = tmp_path / "todo.txt"
    listing.write_text("a.jpg\n" + "x" * 300 + ".jpg\n")   # longer than a file name may be (ENAMETOOLONG)
    assert main(["batch", str(listing), str(tmp_path / "out"), *FAST]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "cannot read (File name too long)" in err
    statuses = sorted(r["status"] for r in read_manifest(tmp_path / "out" / "manifest.jsonl"))
    assert statuses == ["done", "failed"]


def test_an_output_that_is_another_input_is_never_written(tmp_path, capsys):
    """A list that holds an earlier output of the folder it writes into: another input's output lands on that
    path, which the journal says batch wrote. The input is kept, not replaced while it is being read."""
    img = cv2.resize(cv2.imread(str(EXAMPLE_IMAGE)), (80, 60))
    src, top = tmp_path / "src", tmp_path / "top"
    src.mkdir()
    (top / "out").mkdir(parents=True)
    cv2.imwrite(str(src / "x.jpg"), img)
    assert main(["batch", str(src), str(top / "out"), *FAST, "--bg", "mask"]) == 0   # top/out/x.png, journalled
    earlier = top / "out" / "x.png"
    before = (earlier.read_bytes(), earlier.stat().st_ino)
    cv2.imwrite(str(top / "x.jpg"), img[:, ::-1])
    (top / "redo.txt").write_text("x.jpg\nout/x.png\n")   # mirrored from top/: x.jpg -> out/x.png
    capsys.readouterr()
    assert main(["batch", str(top / "redo.txt"), str(top / "out"), *FAST, "--bg", "mask"]) == 1
    assert "another input of this run" in capsys.readouterr().err
    assert (earlier.read_bytes(), earlier.stat().st_ino) == before
    records = {Path(r["input"]).relative_to(top).as_posix(): r for r in read_manifest(top / "out" / "manifest.jsonl")}
    assert records["x.jpg"]["status"] == "failed" and "another input of this run" in records["x.jpg"]["reason"]
    assert records["out/x.png"]["status"] == "done"   # made into top/out/out/x.png


def test_a_folder_or_list_with_nothing_to_do_says_so(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty.txt").write_text("# nothing yet\n")
    assert main(["batch", str(tmp_path / "empty"), str(tmp_path / "out"), *FAST]) == 0
    assert "nothing to do: found no images or videos in" in capsys.readouterr().err
    assert main(["batch", str(tmp_path / "empty.txt"), str(tmp_path / "out2"), *FAST]) == 0
    assert "empty.txt lists no paths" in capsys.readouterr().err


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("full", ["manifest.jsonl", ".humanseg-batch-resume.jsonl"])
def test_a_full_disk_under_the_manifest_or_journal_is_a_one_line_error(tmp_path, capsys, monkeypatch, full):
    """The manifest and the resume journal are written as the run goes: when the disk fills up under them
    (here: /dev/full in their place) the run stops with one line naming the file, not a traceback, and no
    output is left half-written."""
    from humanseg.batch import manifest

    src = tmp_path / "in"
    src.mkdir()
    for name in ("a.jpg", "b.jpg"):
        cv2.imwrite(str(src / name), cv2.resize(cv2.imread(str(EXAMPLE_IMAGE)), (80, 60)))
    opened = manifest._open
    monkeypatch.setattr(manifest, "_open", lambda path, mode: opened(
        Path("/dev/full") if Path(path).name == full else path, mode))
    assert main(["batch", str(src), str(tmp_path / "out"), *FAST]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and f"{full}: cannot write (No space left on device)" in err, err
    assert not list((tmp_path / "out").rglob("*.part"))


def test_an_apng_is_a_video_and_an_animated_webp_a_failed_record_not_its_first_frame(tmp_path, capsys):
    """Both used to be processed as images (their first frame, written as if it were the whole file)."""
    from tests.conftest import probe

    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    save_gif(src / "wave.png", 4)
    save_gif(src / "loop.webp", 4)
    save_gif(src / "still.webp", 1)
    assert main(["batch", str(src), str(out), *FAST]) == 1   # the animated WebP failed
    records = {Path(r["input"]).name: r for r in read_manifest(out / "manifest.jsonl")}
    assert records["wave.png"]["kind"] == "video" and records["wave.png"]["status"] == "done"
    assert probe(out / "wave.mp4")["frames"] == 4
    assert records["loop.webp"]["status"] == "failed" and "animated WebP" in records["loop.webp"]["reason"]
    assert records["still.webp"]["kind"] == "image" and (out / "still.webp").is_file()
    assert not (out / "loop.png").exists() and not (out / "loop.mp4").exists()

"""`humanseg batch` as a user runs it, on both engines: outputs, manifest records and exit status on a tree
with images, a video, a corrupt file and a duplicate output name; a second run skips everything; a run
killed midway and restarted finishes with every output made once and whole."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import pytest

from humanseg.batch.manifest import read_manifest
from humanseg.batch.ray_engine import _restore_signal_handlers, _signal_handlers
from humanseg.cli import main
from tests.conftest import EXAMPLE_IMAGE, REPO, make_video, probe

ENGINES = ["local", pytest.param("ray", marks=pytest.mark.slow)]
FAST = ["--workers", "1", "--threads", "1", "--bg", "mask"]   # mask: images -> .png, so a.jpg and a.png collide


@pytest.fixture(scope="module")
def ray_address():
    """A local Ray with 2 CPUs for this module; in-process runs use it, subprocesses join it by address."""
    ray = pytest.importorskip("ray")
    started = not ray.is_initialized()
    handlers = _signal_handlers()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    yield ray.get_runtime_context().gcs_address
    if started:
        ray.shutdown()
        _restore_signal_handlers(handlers)   # ray.init installs a SIGTERM handler that shutdown leaves


@pytest.fixture(params=ENGINES)
def engine(request) -> list[str]:
    """Command-line options of the engine; for Ray, the module's Ray (joined by address in subprocesses)."""
    if request.param == "ray":
        return ["--engine", "ray", "--address", request.getfixturevalue("ray_address")]
    return ["--engine", "local"]


def in_process(args: list[str]) -> list[str]:
    """The same options for a run inside this process, where Ray is already initialised (no --address)."""
    return [a for i, a in enumerate(args) if a != "--address" and (i == 0 or args[i - 1] != "--address")]


def make_tree(root: Path, extra_images: int = 0) -> dict[str, str]:
    """photos/{a.jpg,a.png (same output as a.jpg),b.jpg,broken.jpg,nested/c.png}, clips/talk.mp4, notes.txt
    (not media: an ignored record) and photos/more/m*.jpg. Returns {input relative path: expected status}."""
    img = cv2.resize(cv2.imread(str(EXAMPLE_IMAGE)), (160, 120))
    (root / "photos" / "nested").mkdir(parents=True)
    (root / "clips").mkdir()
    for rel in ("photos/a.jpg", "photos/a.png", "photos/b.jpg", "photos/nested/c.png"):
        cv2.imwrite(str(root / rel), img)
    (root / "photos" / "broken.jpg").write_bytes(b"not an image")
    (root / "notes.txt").write_text("ignored")
    make_video(root / "clips" / "talk.mp4", n=10, size=(96, 64), audio=False)
    expected = {"photos/a.jpg": "done", "photos/a.png": "failed", "photos/b.jpg": "done",
                "photos/broken.jpg": "failed", "photos/nested/c.png": "done", "clips/talk.mp4": "done",
                "notes.txt": "ignored"}
    if extra_images:
        (root / "photos" / "more").mkdir()
        for i in range(extra_images):
            cv2.imwrite(str(root / "photos" / "more" / f"m{i:02d}.jpg"), img)
            expected[f"photos/more/m{i:02d}.jpg"] = "done"
    return expected


def output_of(rel: str) -> str:
    return rel if rel.endswith(".mp4") else str(Path(rel).with_suffix(".png"))


def by_input(records: list[dict], root: Path) -> dict[str, dict]:
    out = {}
    for r in records:
        rel = Path(r["input"]).relative_to(root)
        assert rel.as_posix() not in out, f"two records for {rel}"
        out[rel.as_posix()] = r
    return out


def check_outputs(out: Path, expected: dict[str, str]) -> None:
    """Every done input's output is there and whole, nothing else is (no temporaries, no duplicates)."""
    wanted = {output_of(rel) for rel, status in expected.items() if status == "done"}
    media = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file() and not p.name.startswith(".")
             and p.name != "manifest.jsonl"}
    assert media == wanted
    assert not [p for p in out.rglob("*.part")]
    for rel in wanted:
        if rel.endswith(".mp4"):
            assert probe(out / rel)["frames"] == 10
        else:
            assert cv2.imread(str(out / rel)).shape == (120, 160, 3)


def test_batch_outputs_manifest_exit_status_and_resume(tmp_path, engine, capsys):
    src, out = tmp_path / "in", tmp_path / "out"
    expected = make_tree(src)
    assert main(["batch", str(src), str(out), *FAST, *in_process(engine)]) == 1   # a corrupt file and a duplicate
    captured = capsys.readouterr()
    assert json.loads(captured.out.strip().splitlines()[-1])["done"] == 4
    assert "broken.jpg" in captured.err and "a.png" in captured.err and "Traceback" not in captured.err
    records = by_input(read_manifest(out / "manifest.jsonl"), src)
    assert {rel: r["status"] for rel, r in records.items()} == expected
    assert "same photos/a.png as" in records["photos/a.png"]["reason"]
    assert "not a readable image" in records["photos/broken.jpg"]["reason"]
    assert records["clips/talk.mp4"]["frames"] == 10 and records["photos/b.jpg"]["frames"] == 1
    assert records["clips/talk.mp4"]["output"] == str(out / "clips" / "talk.mp4")
    assert all(r["seconds"] >= 0 and (r["reason"] is None) == (r["status"] == "done") for r in records.values())
    check_outputs(out, expected)
    made = {p: p.stat().st_mtime_ns for p in out.rglob("*.png")}

    assert main(["batch", str(src), str(out), *FAST, *in_process(engine)]) == 1
    again = by_input(read_manifest(out / "manifest.jsonl"), src)
    assert {rel: r["status"] for rel, r in again.items()} == {
        rel: "skipped" if status == "done" else status for rel, status in expected.items()}
    assert again["clips/talk.mp4"]["frames"] == 10
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.png")} == made
    capsys.readouterr()

    # other settings redo everything (the resume key holds the settings)
    assert main(["batch", str(src), str(out), *FAST, "--threshold", "0.5", *in_process(engine)]) == 1
    redo = by_input(read_manifest(out / "manifest.jsonl"), src)
    assert [r["status"] for r in redo.values()].count("done") == 4


def test_killed_run_restarts_without_duplicate_or_partial_outputs(tmp_path, engine):
    src, out = tmp_path / "in", tmp_path / "out"
    expected = make_tree(src, extra_images=10)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "humanseg", "batch", str(src), str(out), *FAST, *engine],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    manifest = out / "manifest.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if any(r["status"] == "done" for r in read_manifest(manifest)):
            break
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)   # no cleanup of its own: a crash, a kill -9, a lost node
    proc.wait()
    first = by_input(read_manifest(manifest), src)
    done_first = {rel for rel, r in first.items() if r["status"] == "done"}
    assert done_first and len(done_first) < list(expected.values()).count("done"), "the kill was not midway"

    assert main(["batch", str(src), str(out), *FAST, *in_process(engine)]) == 1
    second = by_input(read_manifest(out / "manifest.jsonl"), src)
    assert set(second) == set(expected)
    for rel, status in expected.items():
        assert second[rel]["status"] == ("skipped" if rel in done_first else status), rel
    check_outputs(out, expected)


def test_ctrl_c_stops_cleanly_with_whole_records(tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    make_tree(src, extra_images=10)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    # preexec_fn: SIGINT as in a terminal. A test run started in the background (`cmd &` in a script) passes
    # SIGINT on as ignored, and Python then keeps ignoring it, as it should for such a program.
    proc = subprocess.Popen([sys.executable, "-m", "humanseg", "batch", str(src), str(out), *FAST],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if any(r["status"] == "done" for r in read_manifest(out / "manifest.jsonl")):
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the batch ended before it could be interrupted; give it more work"
    os.killpg(proc.pid, signal.SIGINT)   # what Ctrl-C in a terminal does: the whole process group
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "interrupted" in err and "Traceback" not in err, err[-3000:]
    assert "leaked" not in err, err[-3000:]   # no resource-tracker warning after our one line
    lines = (out / "manifest.jsonl").read_text().splitlines()
    assert lines and all(json.loads(line)["status"] in ("done", "failed", "ignored") for line in lines)
    for record in map(json.loads, lines):
        if record["status"] == "done":
            assert cv2.imread(record["output"]) is not None or record["kind"] == "video"
    assert not [p for p in out.rglob("*.part")]


def test_the_fast_photo_recipe_is_part_of_an_image_s_resume_key_only():
    from humanseg.batch import BatchSettings

    full, fast = BatchSettings(), BatchSettings(photo_recipe="fast")
    assert full.describe("image") != fast.describe("image")
    assert full.describe("video") == fast.describe("video")
    assert "photo_recipe" not in full.describe("image")     # keys written before the option existed still match


def test_a_users_file_at_an_output_path_is_kept_and_an_unrecorded_output_of_ours_is_remade(tmp_path, capsys):
    src, out = tmp_path / "in", tmp_path / "out"
    make_tree(src)
    (out / "photos").mkdir(parents=True)
    (out / "photos" / "b.png").write_bytes(b"the user's own file")
    assert main(["batch", str(src), str(out), *FAST]) == 1
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["kept_existing"] == 1 and summary["done"] == 3
    assert (out / "photos" / "b.png").read_bytes() == b"the user's own file"
    records = by_input(read_manifest(out / "manifest.jsonl"), src)
    assert records["photos/b.jpg"]["status"] == "failed" and "kept" in records["photos/b.jpg"]["reason"]

    # a run killed after an output was renamed into place but before its done line: the journal still says
    # that run set out to make it, so the next run makes it again instead of keeping it as the user's
    journal = out / ".humanseg-batch-resume.jsonl"
    lines = [json.loads(line) for line in journal.read_text().splitlines()]
    assert {"name": "photos/nested/c.png", "key": "", "frames": 0} in lines   # written before the output
    journal.write_text("".join(json.dumps(e) + "\n" for e in lines
                               if not (e["name"] == "photos/nested/c.png" and e["key"])))
    (out / "photos" / "b.png").unlink()   # the user moved their file away
    assert main(["batch", str(src), str(out), *FAST]) == 1   # the corrupt file and the duplicate remain
    again = by_input(read_manifest(out / "manifest.jsonl"), src)
    assert again["photos/nested/c.png"]["status"] == "done" and again["photos/b.jpg"]["status"] == "done"
    assert again["photos/a.jpg"]["status"] == "skipped"
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["kept_existing"] == 0


def test_poisson_with_videos_among_the_inputs_is_refused_before_anything_is_made(tmp_path, capsys):
    """--poisson used to make the images and then fail every video one by one; the run is refused up front now,
    naming the video, and a folder of stills alone still works with it."""
    make_tree(tmp_path / "in")
    out = tmp_path / "out"
    assert main(["batch", str(tmp_path / "in"), str(out), "--workers", "1", "--threads", "1", "--poisson"]) == 2
    err = capsys.readouterr().err
    assert "--poisson is for still images" in err and "talk.mp4" in err and "Traceback" not in err
    assert not out.exists()
    (tmp_path / "in" / "clips" / "talk.mp4").unlink()
    (tmp_path / "in" / "photos" / "a.png").unlink()
    (tmp_path / "in" / "photos" / "broken.jpg").unlink()
    assert main(["batch", str(tmp_path / "in"), str(out), "--workers", "1", "--threads", "1", "--poisson"]) == 0
    assert (out / "photos" / "b.jpg").is_file()

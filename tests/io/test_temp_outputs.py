"""Temporary outputs: unique names beside the output, and nothing left behind on SIGTERM."""
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import REPO, make_video


def test_temporary_names_are_unique_hidden_and_beside_the_output(tmp_path):
    from humanseg.io.images import atomic_write_bytes, temp_beside

    out = tmp_path / "out.png"
    a, b = temp_beside(out), temp_beside(out)
    d = temp_beside(tmp_path / "frames", directory=True)
    assert a != b and a.is_file() and b.is_file() and d.is_dir()
    assert all(p.parent == tmp_path and p.name.endswith(".part") for p in (a, b, d))
    assert a.name.startswith(".out.png.") and d.name.startswith(".frames.")
    for p in (a, b):
        p.unlink()
    d.rmdir()
    atomic_write_bytes(out, b"one")
    atomic_write_bytes(out, b"two")
    assert out.read_bytes() == b"two" and sorted(p.name for p in tmp_path.iterdir()) == ["out.png"]


def test_sigterm_handler_is_installed_only_during_a_conversion_and_restored(tmp_path):
    from humanseg.io.video import process_video

    # Start from the default action whatever an earlier test left installed; put that back afterwards.
    previous = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        seen = []

        def process(frame):
            seen.append(signal.getsignal(signal.SIGTERM))
            return frame

        process_video(make_video(tmp_path / "in.mp4", n=2, audio=False), tmp_path / "out.mp4", process,
                      progress=False)
        assert seen and seen[0] not in (signal.SIG_DFL, signal.SIG_IGN)
        assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_an_applications_own_sigterm_handler_is_left_in_place(tmp_path):
    from humanseg.io.video import process_video

    def own(signum, frame):
        pass

    previous = signal.signal(signal.SIGTERM, own)
    try:
        seen = []

        def process(frame):
            seen.append(signal.getsignal(signal.SIGTERM))
            return frame

        process_video(make_video(tmp_path / "in.mp4", n=2, audio=False), tmp_path / "out.mp4", process, progress=False)
        assert seen and all(h is own for h in seen)
        assert signal.getsignal(signal.SIGTERM) is own
    finally:
        signal.signal(signal.SIGTERM, previous)


SLOW_CONVERSION = textwrap.dedent("""
    import sys, time
    import numpy as np
    from humanseg.io.video import process_video

    transparent = sys.argv[3] == "transparent"
    def slow(frame):
        if not slow.started:
            slow.started = True
            print("started", flush=True)
        time.sleep(0.05)
        return np.dstack([frame, np.full(frame.shape[:2], 255, np.uint8)]) if transparent else frame
    slow.started = False
    process_video(sys.argv[1], sys.argv[2], slow, transparent=transparent, progress=False)
""")


@pytest.mark.skipif(not hasattr(signal, "SIGTERM") or os.name == "nt", reason="POSIX signals")
@pytest.mark.parametrize("name,mode", [("out.mp4", "opaque"), ("frames", "transparent")])
def test_sigterm_leaves_no_partial_output(tmp_path, name, mode):
    src = make_video(tmp_path / "in.mp4", n=200, audio=False)   # 200 frames x 50 ms: far longer than the test
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", SLOW_CONVERSION, str(src), str(tmp_path / name), mode],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "started", proc.stderr.read()
        assert any(p.name.endswith(".part") for p in tmp_path.iterdir())   # it is writing its temporary
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 128 + signal.SIGTERM
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4"]

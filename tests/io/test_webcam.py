"""`humanseg webcam` with a fake camera: previews that work with opencv-python-headless, one-line errors."""
import re
import threading
import urllib.request
import webbrowser

import cv2
import numpy as np
import pytest

from humanseg.cli import main
from humanseg.io.preview import BrowserPreview
from tests.browser.fake_camera import free_port
from tests.conftest import person_like


class FakeCapture:
    """Stands in for cv2.VideoCapture: synthetic 96x64 frames until `stop` is set (or `limit` frames)."""

    stop = threading.Event()
    limit = 0

    def __init__(self, index):
        self.index, self.n = index, 0
        self.frame, _ = person_like(64, 96, np.random.default_rng(0))

    def isOpened(self):  # noqa: N802 - OpenCV's name
        return True

    def read(self):
        self.n += 1
        if self.stop.is_set() or (self.limit and self.n > self.limit):
            return False, None
        self.stop.wait(0.005)
        return True, self.frame.copy()

    def release(self):
        pass


@pytest.fixture
def camera(monkeypatch):
    FakeCapture.stop = threading.Event()
    monkeypatch.setattr(cv2, "VideoCapture", FakeCapture)
    opened = []
    monkeypatch.setattr(webbrowser, "open", lambda url, *a, **k: opened.append(url) or True)
    return opened


@pytest.fixture
def headless_opencv(monkeypatch):
    def no_window(*args):
        raise cv2.error("The function is not implemented. Rebuild the library with Windows, GTK+ 2.x or Cocoa support")

    monkeypatch.setattr(cv2, "imshow", no_window)


def test_headless_opencv_with_a_display_shows_the_browser_preview(camera, headless_opencv, monkeypatch, capsys):
    monkeypatch.setenv("DISPLAY", ":0")
    assert main(["webcam", "--max-frames", "3", "--temporal", "none"]) == 0
    err = capsys.readouterr().err
    assert "Traceback" not in err and re.search(r"preview at http://127\.0\.0\.1:\d+/", err), err
    assert camera and camera[0].startswith("http://127.0.0.1:")   # opened in the user's browser


def test_asking_for_a_window_without_window_support_is_a_one_line_error(camera, headless_opencv, monkeypatch,
                                                                        capsys):
    monkeypatch.setenv("DISPLAY", ":0")
    assert main(["webcam", "--preview", "window", "--max-frames", "2"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("humanseg: error:") and "--preview browser" in err


def test_nothing_that_could_show_the_frames_is_a_one_line_error(camera, monkeypatch, capsys):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert main(["webcam", "--max-frames", "2"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--virtual-cam" in err and "--preview browser" in err, err
    assert main(["webcam", "--preview", "none", "--max-frames", "2"]) == 2
    assert "--virtual-cam" in capsys.readouterr().err


def test_browser_preview_of_the_command_serves_processed_frames(camera, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)   # no display: the URL is printed, no browser is opened
    port = free_port()
    result = []
    run = threading.Thread(target=lambda: result.append(
        main(["webcam", "--preview", "browser", "--preview-port", str(port), "--bg", "color:#00FF00"])))
    run.start()
    try:
        for _ in range(100):
            try:
                jpeg = urllib.request.urlopen(f"http://127.0.0.1:{port}/frame.jpg", timeout=10).read()
                break
            except OSError:
                FakeCapture.stop.wait(0.1)
        frame = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
        assert frame.shape == (64, 96, 3)
        assert np.abs(frame[-5, 2].astype(int) - (0, 255, 0)).max() < 40   # the green background, composited
    finally:
        FakeCapture.stop.set()
        run.join(30)
    assert result == [0] and camera == []


def test_mjpeg_stream_sends_jpeg_frames():
    preview = BrowserPreview(port=0)
    stop = threading.Event()
    frame = np.zeros((48, 64, 3), np.uint8)
    frame[:, 32:] = 255

    def publish():
        while not stop.is_set():
            preview.show(frame)
            stop.wait(0.02)

    threading.Thread(target=publish, daemon=True).start()
    try:
        page = urllib.request.urlopen(preview.url, timeout=10).read().decode()
        assert 'src="stream.mjpg"' in page
        with urllib.request.urlopen(preview.url + "stream.mjpg", timeout=10) as r:
            assert r.headers["Content-Type"] == "multipart/x-mixed-replace; boundary=frame"
            buf = b""
            while buf.count(b"--frame") < 3:
                buf += r.read1(65536)
        part = buf.split(b"--frame")[1]
        head, body = part.split(b"\r\n\r\n", 1)
        length = int(re.search(rb"Content-Length: (\d+)", head)[1])
        shown = cv2.imdecode(np.frombuffer(body[:length], np.uint8), cv2.IMREAD_COLOR)
        assert shown.shape == frame.shape and shown[:, :30].mean() < 20 and shown[:, 34:].mean() > 235
    finally:
        stop.set()
        preview.close()

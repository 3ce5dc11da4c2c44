"""`humanseg webcam` with a fake camera: previews that work with opencv-python-headless, one-line errors."""
import re
import socket
import sys
import types
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
    """Stands in for cv2.VideoCapture: synthetic 96x64 frames until `stop` is set (the camera stops giving
    frames, as when unplugged) or `limit` frames; once `ctrl_c` is set, read() raises KeyboardInterrupt as
    Ctrl-C would. `released` counts release() calls."""

    stop = threading.Event()
    ctrl_c = threading.Event()
    limit = 0
    released = 0

    def __init__(self, index):
        self.index, self.n = index, 0
        self.frame, _ = person_like(64, 96, np.random.default_rng(0))

    def isOpened(self):  # noqa: N802 - OpenCV's name
        return True

    def read(self):
        self.n += 1
        if self.ctrl_c.is_set():
            raise KeyboardInterrupt
        if self.stop.is_set() or (self.limit and self.n > self.limit):
            return False, None
        self.stop.wait(0.005)
        return True, self.frame.copy()

    def release(self):
        FakeCapture.released += 1


@pytest.fixture
def camera(monkeypatch):
    FakeCapture.stop, FakeCapture.ctrl_c = threading.Event(), threading.Event()
    FakeCapture.limit = FakeCapture.released = 0
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
        FakeCapture.ctrl_c.set()   # Ctrl-C: the way to stop the browser preview
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


def one_line_error(err: str) -> str:
    err = err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("humanseg: error:") and "Traceback" not in err, err
    return err


def port_is_free(port: int) -> bool:
    """Nothing listens on the port any more (as the next run binds it: with SO_REUSEADDR, past TIME_WAIT)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def test_ctrl_c_stops_the_webcam_cleanly_and_closes_what_it_opened(camera, monkeypatch, capsys):
    """Ctrl-C is how the browser preview is stopped: exit 0 with one line, camera released, port given back."""
    monkeypatch.delenv("DISPLAY", raising=False)
    port = free_port()
    result = []
    run = threading.Thread(target=lambda: result.append(
        main(["webcam", "--preview", "browser", "--preview-port", str(port), "--temporal", "none"])))
    run.start()
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/frame.jpg", timeout=10).read()
                break
            except OSError:
                FakeCapture.stop.wait(0.1)
    finally:
        FakeCapture.ctrl_c.set()
        run.join(30)
    err = capsys.readouterr().err
    assert result == [0], err
    assert "stopped (Ctrl-C)" in err and "interrupted" not in err and "Traceback" not in err, err
    assert FakeCapture.released == 1 and port_is_free(port)


def test_a_camera_that_stops_giving_frames_is_said_not_a_silent_exit_0(camera, monkeypatch, capsys):
    monkeypatch.delenv("DISPLAY", raising=False)
    FakeCapture.limit = 4
    assert main(["webcam", "--preview", "browser", "--temporal", "none"]) == 2
    err = one_line_error(capsys.readouterr().err.splitlines()[-1])
    assert "camera 0 stopped giving frames after 4" in err and "unplugged" in err
    assert FakeCapture.released == 1


class ClosedCapture(FakeCapture):
    """A camera index with no camera, or one that another program holds."""

    def isOpened(self):  # noqa: N802 - OpenCV's name
        return False


def test_a_missing_or_busy_camera_is_one_line_naming_both_causes(monkeypatch, capsys):
    monkeypatch.setattr(cv2, "VideoCapture", ClosedCapture)
    assert main(["webcam", "--camera", "3", "--preview", "browser"]) == 2
    err = one_line_error(capsys.readouterr().err)
    assert "camera 3" in err and "another program" in err and "--camera N" in err


def test_a_camera_index_opencv_cannot_take_is_refused_in_one_line(capsys):
    """OpenCV takes a C int: a larger index was a cv2.error traceback."""
    with pytest.raises(SystemExit) as exit_:
        main(["webcam", "--camera", "99999999999"])
    assert exit_.value.code == 2
    err = one_line_error(capsys.readouterr().err)
    assert "--camera" in err and "camera index" in err
    from humanseg.errors import DeviceError
    from humanseg.io.webcam import open_camera

    with pytest.raises(DeviceError, match="cannot open camera"):
        open_camera(2**40)


def test_browser_preview_port_in_use_is_one_line(camera, monkeypatch, capsys):
    monkeypatch.delenv("DISPLAY", raising=False)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["webcam", "--preview", "browser", "--preview-port", str(port), "--max-frames", "2"]) == 2
    err = one_line_error(capsys.readouterr().err)
    assert f":{port}" in err and "--preview-port" in err
    assert FakeCapture.released == 1


@pytest.mark.parametrize("preview", ["window", "none"])
def test_preview_port_without_a_browser_page_is_refused(camera, preview, capsys):
    """It was accepted and ignored."""
    assert main(["webcam", "--preview", preview, "--virtual-cam", "--preview-port", "8123"]) == 2
    err = one_line_error(capsys.readouterr().err)
    assert "--preview-port" in err and "--preview browser" in err
    assert FakeCapture.released == 0   # said before the camera was opened


def test_preview_port_with_auto_serves_the_page_there(camera, monkeypatch, capsys):
    """--preview-port asks for the page even where auto would have opened a window."""
    monkeypatch.setenv("DISPLAY", ":0")
    windows = []
    monkeypatch.setattr(cv2, "imshow", lambda *a: windows.append(a))
    monkeypatch.setattr(cv2, "waitKey", lambda *a: -1)
    port = free_port()
    assert main(["webcam", "--preview-port", str(port), "--max-frames", "2", "--temporal", "none"]) == 0
    assert f"preview at http://127.0.0.1:{port}/" in capsys.readouterr().err and windows == []


def test_transparent_background_on_the_webcam_is_refused(camera, capsys):
    """The alpha was dropped, so the camera's frame was shown unchanged as if it had worked."""
    assert main(["webcam", "--bg", "transparent", "--preview", "browser", "--max-frames", "2"]) == 2
    err = one_line_error(capsys.readouterr().err)
    assert "--bg transparent" in err and "color:" in err
    assert FakeCapture.released == 0


def test_closing_the_preview_window_stops_the_webcam(camera, monkeypatch, capsys):
    monkeypatch.setenv("DISPLAY", ":0")
    shown = []
    monkeypatch.setattr(cv2, "imshow", lambda title, frame: shown.append(frame.shape))
    monkeypatch.setattr(cv2, "waitKey", lambda *a: -1)
    monkeypatch.setattr(cv2, "destroyAllWindows", lambda: None)
    # visible for the first 3 frames; the user closes it while the 4th is shown
    monkeypatch.setattr(cv2, "getWindowProperty", lambda *a: 1.0 if len(shown) <= 1 + 3 else 0.0)
    assert main(["webcam", "--preview", "window", "--max-frames", "50", "--temporal", "none"]) == 0
    assert len(shown) == 1 + 4   # the window probe, then 4 frames


def test_a_window_backend_that_cannot_tell_visibility_never_stops_on_it(camera, monkeypatch):
    monkeypatch.setenv("DISPLAY", ":0")
    shown = []
    monkeypatch.setattr(cv2, "imshow", lambda title, frame: shown.append(frame.shape))
    monkeypatch.setattr(cv2, "waitKey", lambda *a: -1)
    monkeypatch.setattr(cv2, "destroyAllWindows", lambda: None)
    monkeypatch.setattr(cv2, "getWindowProperty", lambda *a: -1.0)
    assert main(["webcam", "--preview", "window", "--max-frames", "6", "--temporal", "none"]) == 0
    assert len(shown) == 1 + 6


class FakeVirtualCamera:
    """pyvirtualcam.Camera stand-in: records the frames sent and whether it was closed."""

    made: list = []

    def __init__(self, width, height, fps):
        self.width, self.height, self.sent, self.closed = width, height, [], False
        self.device = "/dev/video9"
        FakeVirtualCamera.made.append(self)

    def send(self, frame):
        assert frame.shape == (self.height, self.width, 3) and frame.dtype == np.uint8
        self.sent.append(frame)

    def close(self):
        self.closed = True


@pytest.fixture
def virtual_cam(monkeypatch):
    FakeVirtualCamera.made = []
    module = types.SimpleNamespace(Camera=FakeVirtualCamera)
    monkeypatch.setitem(sys.modules, "pyvirtualcam", module)
    return module


def test_virtual_camera_gets_every_frame_and_is_closed(camera, virtual_cam, capsys):
    assert main(["webcam", "--virtual-cam", "--preview", "none", "--max-frames", "3", "--temporal", "none"]) == 0
    (vcam,) = FakeVirtualCamera.made
    assert len(vcam.sent) == 3 and vcam.closed
    assert "/dev/video9" in capsys.readouterr().err   # where the frames go is said


def test_ctrl_c_closes_the_virtual_camera(camera, virtual_cam, monkeypatch):
    sent = FakeVirtualCamera.send

    def send_then_ctrl_c(self, frame):
        sent(self, frame)
        if len(self.sent) == 2:
            FakeCapture.ctrl_c.set()

    monkeypatch.setattr(FakeVirtualCamera, "send", send_then_ctrl_c)
    assert main(["webcam", "--virtual-cam", "--preview", "none", "--temporal", "none"]) == 0
    assert FakeVirtualCamera.made[0].closed and FakeCapture.released == 1


def test_virtual_camera_without_a_backend_is_one_line(camera, virtual_cam, monkeypatch, capsys):
    """pyvirtualcam joins its backends' errors with newlines (Windows tries two)."""
    def no_backend(**kwargs):
        raise RuntimeError("'obs' backend: OBS Virtual Camera is not installed\n'unitycapture' backend: not found")

    monkeypatch.setattr(virtual_cam, "Camera", no_backend)
    assert main(["webcam", "--virtual-cam", "--preview", "none", "--max-frames", "2"]) == 2
    err = one_line_error(capsys.readouterr().err)
    assert "virtual camera" in err and "unitycapture" in err and "OBS" in err
    assert FakeCapture.released == 1


def test_missing_pyvirtualcam_is_said_before_the_camera_is_opened(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "pyvirtualcam", None)   # import fails
    monkeypatch.setattr(cv2, "VideoCapture", ClosedCapture)   # and there is no camera either
    assert main(["webcam", "--virtual-cam", "--preview", "none"]) == 2
    err = one_line_error(capsys.readouterr().err)
    assert "pip install 'humanseg[webcam]'" in err

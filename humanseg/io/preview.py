"""Where the webcam's processed frames are shown: an OpenCV window, or a local browser page (MJPEG).

The package installs opencv-python-headless, whose `imshow` is not implemented, so a window works
only where a GUI build of OpenCV and a display exist. The browser preview needs neither OpenCV's GUI
nor anything beyond the standard library: it serves the frames as an MJPEG stream on a loopback port
with a tiny HTML page, and opens that page with `webbrowser`.
"""
from __future__ import annotations

import os
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2
import numpy as np

from ..errors import DeviceError

WINDOW_TITLE = "humanseg (q to quit)"
PAGE = b"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>humanseg webcam</title>
<style>body{margin:0;background:#111;color:#eee;font-family:system-ui,sans-serif}
img{display:block;max-width:100vw;max-height:calc(100vh - 2.5rem);margin:0 auto}p{margin:.6rem 1rem}</style>
</head><body><p>humanseg webcam preview: stop it with Ctrl-C in the terminal</p>
<img src="stream.mjpg" alt="processed camera frames"></body></html>
"""


def has_display() -> bool:
    """True where windows can be opened: macOS and Windows always; elsewhere an X11 or Wayland display."""
    if os.name == "nt" or sys.platform == "darwin":
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def window_unavailable() -> str | None:
    """Why an OpenCV window cannot be shown here, or None when it can (a tiny imshow is tried)."""
    if not has_display():
        return "no display (DISPLAY/WAYLAND_DISPLAY unset)"
    try:
        cv2.imshow(WINDOW_TITLE, np.zeros((8, 8, 3), np.uint8))
        cv2.waitKey(1)
    except cv2.error:
        return "this OpenCV build has no window support (opencv-python-headless)"
    return None


class WindowPreview:
    """An OpenCV window; q or closing the window stops."""

    def __init__(self):
        self._was_visible = False   # a backend that cannot tell whether the window is visible never stops on it

    def show(self, frame: np.ndarray) -> bool:
        """Draw a BGR frame; False once the user asked to quit (q, or the window was closed)."""
        try:
            cv2.imshow(WINDOW_TITLE, frame)
            if cv2.waitKey(1) & 0xFF == ord("q"):
                return False
            visible = cv2.getWindowProperty(WINDOW_TITLE, cv2.WND_PROP_VISIBLE) >= 1
        except cv2.error as exc:
            raise DeviceError(f"the preview window failed ({exc.err or exc}); use --preview browser") from exc
        if visible:
            self._was_visible = True
        return visible or not self._was_visible

    def close(self) -> None:
        try:
            cv2.destroyAllWindows()
        except cv2.error:
            pass


class BrowserPreview:
    """Serves the latest frame as an MJPEG stream at http://host:port/ (port 0: any free port)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, quality: int = 80):
        self.quality = quality
        self._jpeg: bytes | None = None
        self._seq = 0
        self._closed = False
        self._cond = threading.Condition()
        preview = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's naming
                path = self.path.split("?")[0]
                if path in ("/", "/index.html"):
                    self._send(HTTPStatus.OK, "text/html; charset=utf-8", PAGE)
                elif path == "/frame.jpg":
                    jpeg = preview.wait_frame(0, timeout=5)[1]
                    if jpeg is None:
                        self._send(HTTPStatus.SERVICE_UNAVAILABLE, "text/plain", b"no frame yet")
                    else:
                        self._send(HTTPStatus.OK, "image/jpeg", jpeg)
                elif path == "/stream.mjpg":
                    self.stream()
                else:
                    self._send(HTTPStatus.NOT_FOUND, "text/plain", b"not found")

            def stream(self):
                self.send_response(HTTPStatus.OK)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                seq = 0
                try:
                    while True:
                        seq, jpeg = preview.wait_frame(seq, timeout=1)
                        if preview.closed:
                            return
                        if jpeg is None:
                            continue
                        self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\n"
                                         + f"Content-Length: {len(jpeg)}\r\n\r\n".encode() + jpeg + b"\r\n")
                        self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    return

            def _send(self, status, kind, body):
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):  # quiet: the terminal shows our own lines only
                pass

        try:
            self.server = ThreadingHTTPServer((host, port), Handler)
        except OSError as exc:
            raise DeviceError(f"cannot serve the browser preview on {host}:{port} ({exc.strerror or exc}); "
                              "pass another --preview-port") from exc
        self.server.daemon_threads = True
        self.url = f"http://{host}:{self.server.server_address[1]}/"
        self._thread = threading.Thread(target=self.server.serve_forever, name="humanseg-preview", daemon=True)
        self._thread.start()

    @property
    def closed(self) -> bool:
        return self._closed

    def wait_frame(self, after: int, timeout: float) -> tuple[int, bytes | None]:
        """(sequence number, JPEG) of the first frame newer than `after`, or the latest one after `timeout` s."""
        with self._cond:
            self._cond.wait_for(lambda: self._seq > after or self._closed, timeout)
            return self._seq, self._jpeg

    def show(self, frame: np.ndarray) -> bool:
        """Publish a BGR frame to every connected page; always True (stop with Ctrl-C)."""
        ok, jpeg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        if ok:
            with self._cond:
                self._jpeg, self._seq = jpeg.tobytes(), self._seq + 1
                self._cond.notify_all()
        return True

    def open_browser(self) -> bool:
        import webbrowser

        try:
            return webbrowser.open(self.url)
        except webbrowser.Error:
            return False

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self.server.shutdown()
        self.server.server_close()

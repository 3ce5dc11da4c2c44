"""Live camera: a preview (OpenCV window or browser page) and/or a virtual camera output."""
from __future__ import annotations

import sys
import time

import cv2

from ..errors import DeviceError
from .preview import BrowserPreview, WindowPreview, has_display, window_unavailable

PREVIEWS = ("auto", "window", "browser", "none")


def open_preview(preview: str, virtual_cam: bool, port: int = 0) -> WindowPreview | BrowserPreview | None:
    """The preview asked for, or DeviceError (one line, with what to do) where nothing could show the frames.

    auto: a window where OpenCV has window support and there is a display; else the browser page
    where there is a display to open it on; else none when the frames go to a virtual camera.
    """
    if preview not in PREVIEWS:
        raise DeviceError(f"--preview {preview}: choose one of {', '.join(PREVIEWS)}")
    if preview == "none":
        if not virtual_cam:
            raise DeviceError("--preview none without --virtual-cam shows the frames nowhere; "
                              "add --virtual-cam or use --preview browser")
        return None
    if preview == "browser":
        return BrowserPreview(port=port)
    why = window_unavailable()
    if why is None:
        return WindowPreview()
    if preview == "window":
        raise DeviceError(f"cannot open a preview window: {why}; use --preview browser (or --virtual-cam)")
    if has_display():
        return BrowserPreview(port=port)
    if virtual_cam:
        return None
    raise DeviceError("nothing can show the frames here: no display and no --virtual-cam; pass --virtual-cam, "
                      "or --preview browser and open the URL it prints (over ssh: ssh -L PORT:127.0.0.1:PORT)")


def run_webcam(camera: int, effect, segmenter, temporal: str = "flow", virtual_cam: bool = False,
               max_frames: int = 0, preview: str = "auto", preview_port: int = 0) -> None:
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)  # our own message says what failed
    cap = cv2.VideoCapture(camera)
    shown = vcam = None
    try:
        if not cap.isOpened():
            raise DeviceError(f"no camera at index {camera}; plug one in or pass --camera N")
        ok, frame = cap.read()
        if not ok:
            raise DeviceError(f"camera {camera} opened but gave no frame; is another program using it?")
        shown = open_preview(preview, virtual_cam, preview_port)
        if virtual_cam:
            vcam = _virtual_camera(frame.shape[1], frame.shape[0])
        if isinstance(shown, BrowserPreview):
            opened = has_display() and shown.open_browser()
            print(f"humanseg: preview at {shown.url}{'' if opened else ' (open it in a browser)'}; Ctrl-C stops",
                  file=sys.stderr, flush=True)
        stream = segmenter.stream(temporal)
        n, t0 = 0, time.perf_counter()
        while ok:
            out = effect(frame, stream.segment(frame))
            if out.ndim == 3 and out.shape[2] == 4:
                out = cv2.cvtColor(out, cv2.COLOR_BGRA2BGR)   # contiguous, so the fps text can be drawn
            if vcam is not None:
                vcam.send(cv2.cvtColor(out, cv2.COLOR_BGR2RGB))
            n += 1
            if shown is not None:
                fps = n / max(1e-6, time.perf_counter() - t0)
                cv2.putText(out, f"{fps:.0f} fps", (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 255, 0), 2)
                if not shown.show(out):
                    break
            if max_frames and n >= max_frames:
                break
            ok, frame = cap.read()
    finally:
        cap.release()
        if vcam is not None:
            vcam.close()
        if shown is not None:
            shown.close()


def _virtual_camera(width: int, height: int):
    try:
        import pyvirtualcam
    except ImportError as exc:
        raise DeviceError("--virtual-cam needs pyvirtualcam: pip install 'humanseg[webcam]'") from exc
    try:
        return pyvirtualcam.Camera(width=width, height=height, fps=30)
    except RuntimeError as exc:
        raise DeviceError(f"no virtual camera device ({exc}); install v4l2loopback / OBS virtual camera") from exc

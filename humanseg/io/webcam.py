"""Live camera: a preview (OpenCV window or browser page) and/or a virtual camera output."""
from __future__ import annotations

import re
import sys
import time
from contextlib import ExitStack

import cv2

from ..errors import DeviceError, OptionError
from ..runtime.temporal import AUTO
from .preview import BrowserPreview, WindowPreview, has_display, window_unavailable

PREVIEWS = ("auto", "window", "browser", "none")
MAX_CAMERA_INDEX = 2**31 - 1   # OpenCV takes a C int


def check_options(effect, preview: str, virtual_cam: bool, port: int | None) -> None:
    """Settings that cannot work, said (OptionError, one line) before any device is opened."""
    from ..effects import Transparent
    from ..effects.finishing import base_effect

    if preview not in PREVIEWS:
        raise OptionError(f"--preview {preview}: choose one of {', '.join(PREVIEWS)}")
    if preview == "none" and not virtual_cam:
        raise OptionError("--preview none without --virtual-cam shows the frames nowhere; "
                          "add --virtual-cam or use --preview browser")
    if port is not None and preview in ("window", "none"):
        raise OptionError(f"--preview-port is the browser preview's port; --preview {preview} serves no page "
                          "(use --preview browser)")
    if isinstance(base_effect(effect), Transparent):
        raise OptionError("--bg transparent: a camera picture has no transparency (the preview and a virtual "
                          "camera would show the frame unchanged); use --bg color:#00B140 for a green screen, "
                          "or --bg mask")


def open_preview(preview: str, virtual_cam: bool, port: int | None = None) -> WindowPreview | BrowserPreview | None:
    """The preview asked for (after check_options), or DeviceError (one line, with what to do) where nothing
    could show the frames.

    auto: a window where OpenCV has window support and there is a display (unless a port was given: that
    asks for the browser page); else the browser page where there is a display to open it on; else none
    when the frames go to a virtual camera. port: the browser page's (None or 0: any free port).
    """
    if preview == "none":   # check_options has said that it needs --virtual-cam
        return None
    if preview == "browser" or (preview == "auto" and port is not None):
        return BrowserPreview(port=port or 0)
    why = window_unavailable()
    if why is None:
        return WindowPreview()
    if preview == "window":
        raise DeviceError(f"cannot open a preview window: {why}; use --preview browser (or --virtual-cam)")
    if has_display():
        return BrowserPreview(port=0)
    if virtual_cam:
        return None
    raise DeviceError("nothing can show the frames here: no display and no --virtual-cam; pass --virtual-cam, "
                      "or --preview browser and open the URL it prints (over ssh: ssh -L PORT:127.0.0.1:PORT)")


def open_camera(camera: int):
    """An opened cv2.VideoCapture, or DeviceError: no camera at that index, or one another program holds."""
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)  # our own message says what failed
    cant = (f"cannot open camera {camera}: there is none at that index, or another program holds it; plug one in, "
            f"close the other program or pass --camera N")
    if not 0 <= camera <= MAX_CAMERA_INDEX:
        raise DeviceError(cant)
    try:
        cap = cv2.VideoCapture(camera)
    except (cv2.error, OverflowError) as exc:
        raise DeviceError(cant) from exc
    if not cap.isOpened():
        cap.release()
        raise DeviceError(cant)
    return cap


def run_webcam(camera: int, effect, segmenter, temporal: str = AUTO, virtual_cam: bool = False,
               max_frames: int = 0, preview: str = "auto", preview_port: int | None = None) -> int:
    """Segment camera `camera`'s frames live, apply `effect` and show them (`preview`) and/or send them to a
    virtual camera, until `max_frames` (0: no limit), q in the window or Ctrl-C. Returns the frames made.

    Settings that cannot work are an OptionError before the camera is opened; a camera that cannot be opened,
    gives no frame or stops giving frames (unplugged) is a DeviceError. The camera, the preview and the virtual
    camera are closed however it ends, Ctrl-C (KeyboardInterrupt, passed on) included."""
    check_options(effect, preview, virtual_cam, preview_port)
    pyvirtualcam = _pyvirtualcam() if virtual_cam else None
    stream = segmenter.stream(temporal)
    n = 0
    with ExitStack() as opened:
        cap = open_camera(camera)
        opened.callback(cap.release)
        ok, frame = cap.read()
        if not ok:
            raise DeviceError(f"camera {camera} opened but gave no frame; is another program using it?")
        shown = open_preview(preview, virtual_cam, preview_port)
        if shown is not None:
            opened.callback(shown.close)
        vcam = None
        if pyvirtualcam is not None:
            vcam = _virtual_camera(pyvirtualcam, frame.shape[1], frame.shape[0])
            opened.callback(vcam.close)
            print(f"humanseg: sending to virtual camera {_device(vcam)}; Ctrl-C stops", file=sys.stderr, flush=True)
        if isinstance(shown, BrowserPreview):
            browser = has_display() and shown.open_browser()
            print(f"humanseg: preview at {shown.url}{'' if browser else ' (open it in a browser)'}; Ctrl-C stops",
                  file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        while ok:
            out = effect(frame, stream.segment(frame))
            if out.ndim == 3 and out.shape[2] == 4:
                out = cv2.cvtColor(out, cv2.COLOR_BGRA2BGR)   # contiguous, so the fps text can be drawn
            if vcam is not None:
                _send(vcam, cv2.cvtColor(out, cv2.COLOR_BGR2RGB))
            n += 1
            if shown is not None:
                fps = n / max(1e-6, time.perf_counter() - t0)
                cv2.putText(out, f"{fps:.0f} fps", (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 255, 0), 2)
                if not shown.show(out):
                    return n
            if max_frames and n >= max_frames:
                return n
            ok, frame = cap.read()
    raise DeviceError(f"camera {camera} stopped giving frames after {n}; was it unplugged or taken by another "
                      "program?")


def _pyvirtualcam():
    try:
        import pyvirtualcam
    except ImportError as exc:
        raise DeviceError("--virtual-cam needs pyvirtualcam: pip install 'humanseg[webcam]'") from exc
    return pyvirtualcam


def _one_line(exc: Exception) -> str:
    return re.sub(r"\s*\n\s*", "; ", str(exc).strip()) or type(exc).__name__


def _virtual_camera(pyvirtualcam, width: int, height: int):
    try:
        return pyvirtualcam.Camera(width=width, height=height, fps=30)
    except (RuntimeError, OSError, ValueError) as exc:
        raise DeviceError(f"no virtual camera to send to ({_one_line(exc)}); on Linux load v4l2loopback "
                          "(sudo modprobe v4l2loopback), on Windows and macOS install OBS") from exc


def _device(vcam) -> str:
    try:
        return str(vcam.device)
    except Exception:   # noqa: BLE001 - only a name for a message
        return "(device unknown)"


def _send(vcam, rgb) -> None:
    try:
        vcam.send(rgb)
    except (RuntimeError, OSError) as exc:
        raise DeviceError(f"the virtual camera stopped taking frames ({_one_line(exc)})") from exc

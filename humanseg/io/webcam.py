"""Live camera: preview window where a display exists, optional virtual camera output."""
from __future__ import annotations

import os
import time

import cv2

from ..errors import DeviceError


def run_webcam(camera: int, effect, segmenter, temporal: str = "flow", virtual_cam: bool = False,
               max_frames: int = 0) -> None:
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)  # our own message says what failed
    cap = cv2.VideoCapture(camera)
    if not cap.isOpened():
        raise DeviceError(f"no camera at index {camera}; plug one in or pass --camera N")
    ok, frame = cap.read()
    if not ok:
        cap.release()
        raise DeviceError(f"camera {camera} opened but gave no frame; is another program using it?")
    vcam = None
    if virtual_cam:
        try:
            import pyvirtualcam
        except ImportError as exc:
            cap.release()
            raise DeviceError("--virtual-cam needs pyvirtualcam: pip install 'humanseg[webcam]'") from exc
        try:
            vcam = pyvirtualcam.Camera(width=frame.shape[1], height=frame.shape[0], fps=30)
        except RuntimeError as exc:
            cap.release()
            raise DeviceError(f"no virtual camera device ({exc}); install v4l2loopback / OBS virtual camera") from exc
    show = bool(os.environ.get("DISPLAY") or os.name == "nt" or os.uname().sysname == "Darwin")
    stream = segmenter.stream(temporal)
    n, t0 = 0, time.perf_counter()
    try:
        while ok:
            out = effect(frame, stream.segment(frame))
            if out.ndim == 3 and out.shape[2] == 4:
                out = out[..., :3]
            if vcam is not None:
                vcam.send(cv2.cvtColor(out, cv2.COLOR_BGR2RGB))
            if show:
                fps = (n + 1) / (time.perf_counter() - t0)
                cv2.putText(out, f"{fps:.0f} fps", (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 255, 0), 2)
                cv2.imshow("humanseg (q to quit)", out)
                if cv2.waitKey(1) & 0xFF == ord("q"):
                    break
            n += 1
            if max_frames and n >= max_frames:
                break
            ok, frame = cap.read()
    finally:
        cap.release()
        if vcam is not None:
            vcam.close()
        if show:
            cv2.destroyAllWindows()

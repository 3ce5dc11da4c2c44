"""The browser page, end to end: headless Chromium, fake camera, onnxruntime-web running our model.

CI installs Chromium and the npm assets and sets HUMANSEG_REQUIRE_BROWSER=1, so there this test
fails instead of skipping when a tool is missing.
"""
import os

import cv2
import numpy as np
import pytest

from tests.browser.fake_camera import Server, missing_browser_tools, run_page, write_y4m
from tests.conftest import EXAMPLE_IMAGE

why = missing_browser_tools()
if why and os.environ.get("HUMANSEG_REQUIRE_BROWSER") == "1":
    raise RuntimeError(f"browser test required but cannot run: {why}")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(bool(why), reason=why or "")]


def test_page_processes_camera_frames_and_matches_python(tmp_path, segmenter):
    frame = cv2.imread(str(EXAMPLE_IMAGE))                     # 640x360, the camera shows this still
    clip = write_y4m([frame] * 30, tmp_path / "camera.y4m")
    probe = tmp_path / "probe.png"
    cv2.imwrite(str(probe), frame)
    with Server() as server:
        result = run_page(server.url + "/?effect=color&color=%2300ff00", clip, tmp_path, seconds=6, probe=str(probe))
    assert result["frames"] >= 10, result["logs"][-5:]
    assert result["fps_text"].endswith("fps") and float(result["fps_text"].split()[0]) > 0
    assert result["measured_fps"] > 0.5

    # same mask as Python for the same frame (same letterbox, same model)
    py_prob, box, _ = segmenter.canvas_probability(frame)
    js = result["probe"]
    js_prob = np.array(js["prob"], np.float32).reshape(js["ch"], js["cw"])
    assert (js["box"]["x"], js["box"]["y"], js["box"]["width"], js["box"]["height"]) == (box.x, box.y, box.width, box.height)
    a, b = py_prob >= 0.5, js_prob >= 0.5
    assert (a & b).sum() / max(1, (a | b).sum()) > 0.95
    assert np.abs(py_prob - js_prob).mean() < 0.05

    # screenshot: the person keeps its pixels, the background is replaced by green
    shot = cv2.imread(str(tmp_path / "page.png"))
    shot = cv2.resize(shot, (frame.shape[1], frame.shape[0]), interpolation=cv2.INTER_AREA)
    mask = segmenter.segment(frame)
    person, background = mask > 0.95, mask < 0.05
    camera = cv2.cvtColor(cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420), cv2.COLOR_YUV2BGR_I420)
    diff = np.abs(shot.astype(int) - camera.astype(int)).mean(axis=2)
    assert diff[person].mean() < 12, diff[person].mean()
    green = np.abs(shot.astype(int) - (0, 255, 0)).mean(axis=2)
    assert green[background].mean() < 20, green[background].mean()

"""The browser page, end to end: headless Chromium, fake camera, onnxruntime-web running our model.

CI installs Chromium and the npm assets and sets HUMANSEG_REQUIRE_BROWSER=1, so there this test
fails instead of skipping when a tool is missing.
"""
import os

import cv2
import numpy as np
import pytest

from tests.browser.fake_camera import Server, missing_browser_tools, run_page, run_page_checks, write_y4m
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


def test_page_controls_failures_mask_edges_and_blur(tmp_path, segmenter):
    """Comments typed by the user, errors shown on the page (runtime missing, a failing frame: the loop
    goes on), mask upsampled before its threshold (no blocky edges) and a blur without a halo."""
    from humanseg import Blur
    from humanseg.runtime.letterbox import unletterbox

    frame = cv2.imread(str(EXAMPLE_IMAGE))                     # 640x360
    clip = write_y4m([frame] * 30, tmp_path / "camera.y4m")
    prob, box, _ = segmenter.canvas_probability(frame)
    h, w = frame.shape[:2]
    mask_request = {"prob": prob.ravel().round(4).tolist(), "box": {"x": box.x, "y": box.y, "width": box.width,
                    "height": box.height}, "cw": prob.shape[1], "ch": prob.shape[0], "w": w, "h": h, "threshold": 0.5}
    with Server() as server:
        checks = run_page_checks(server.url, clip, tmp_path, mask_request)
    logs = checks["logs"][-5:]

    # the runtime script cannot be loaded: the page says so, with the command that builds it
    missing = checks["runtime_missing"]
    assert "onnxruntime-web" in missing["error"] and "npm ci --prefix web" in missing["error"], missing
    assert "starting camera" not in missing["status"]

    # comments are the user's own, and they are what is drawn
    comments = checks["comments"]
    assert comments["state"] == ["first comment", "second one"] and comments["effect"] == "comments", logs
    assert {"first comment", "second one"} <= set(comments["drawn"]) and "great talk" not in comments["drawn"]

    # a frame that throws: shown on the page, and the next frames still render
    failed = checks["frame_error"]
    assert "injected failure" in failed["error"] and failed["errors"] >= 1 and not failed["stopped"]
    assert failed["frames_after"] >= failed["frames_at_error"] + 3

    # mask: Python's probability map upsampled bilinearly, then thresholded at frame size (as Python does)
    page = np.array(checks["mask"], np.uint8).reshape(h, w)
    expected = unletterbox(prob, box, (w, h)) >= 0.5
    edge = cv2.morphologyEx(expected.astype(np.uint8), cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)) > 0
    mismatched = ((page >= 128) != expected).sum()
    assert mismatched < 0.05 * edge.sum(), (mismatched, edge.sum())          # ~0.004; threshold-then-upsample: ~0.16
    partial = ((page > 25) & (page < 230)).sum()
    assert partial < 0.45 * edge.sum(), (partial, edge.sum())                # a crisp edge (~0.23), not a ramp (~0.8)

    # blur: the background next to the person is blurred background, not smeared person (no halo)
    shot = cv2.imread(str(tmp_path / "blur.png"))
    camera = cv2.cvtColor(cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420), cv2.COLOR_YUV2BGR_I420)
    camera = cv2.resize(camera, (shot.shape[1], shot.shape[0]), interpolation=cv2.INTER_LINEAR)
    soft = segmenter.segment(camera)
    reference = Blur(3)(camera, soft)
    outside = cv2.distanceTransform((soft < 0.5).astype(np.uint8), cv2.DIST_L2, 5)
    near = (outside > 3) & (outside <= 15) & (soft < 0.05)
    diff = np.abs(shot.astype(int) - reference.astype(int)).mean(axis=2)
    assert near.sum() > 1000 and diff[near].mean() < 5, diff[near].mean()   # blur with the person in it: ~20


def test_page_runs_an_adaptive_four_channel_model_and_feeds_its_mask_back(tmp_path):
    """Served default: a 4-channel adaptive model (tests/runtime/tiny_models.py: p = 0.5 * white + 0.5 *
    prior). The page reads its canvas and channels from /v1/models, uses Python's adaptive canvas, feeds
    zeros for a single image (p = 0.5 on white) and the previous mask on live frames (p -> 1)."""
    from humanseg import Segmenter
    from tests.runtime.tiny_models import write_tiny_model

    model = write_tiny_model(tmp_path / "tiny-prior.onnx", channels=4)
    frame = np.zeros((480, 640, 3), np.uint8)                  # 4:3 camera: a 224x160 canvas, not 256x144
    frame[120:360, 200:440] = 255
    clip = write_y4m([frame] * 30, tmp_path / "camera.y4m")
    still = np.zeros((420, 500, 3), np.uint8)                  # near-square still: 208x176
    still[100:300, 150:350] = 255
    probe = tmp_path / "probe.png"
    cv2.imwrite(str(probe), still)
    with Server(model) as server:
        result = run_page(server.url + "/?effect=color&color=%2300ff00&width=640&height=480", clip, tmp_path,
                          seconds=3, probe=str(probe))
    assert result["frames"] >= 10 and result["errors"] == 0, result["logs"][-5:]
    assert result["model"]["name"] == "tiny-prior" and result["model"]["input_channels"] == 4
    assert result["model"]["canvas_pixels"] == 256 * 144 and result["backend"].startswith("tiny-prior")

    seg = Segmenter(model, threads=1)
    py_prob, box, _ = seg.canvas_probability(still)            # a single image: zero prior
    js = result["probe"]
    assert (js["cw"], js["ch"]) == seg.canvas_size(500, 420) == (py_prob.shape[1], py_prob.shape[0])
    assert tuple(js["box"][k] for k in ("x", "y", "width", "height")) == (box.x, box.y, box.width, box.height)
    js_prob = np.array(js["prob"], np.float32).reshape(js["ch"], js["cw"])
    assert np.abs(js_prob - py_prob).mean() < 0.02
    assert abs(js_prob[js["ch"] // 2, js["cw"] // 2] - 0.5) < 0.02   # white with an all-zero prior

    live = result["map"]
    assert (live["cw"], live["ch"]) == seg.canvas_size(640, 480) == (224, 160)
    live_prob = np.array(live["prob"], np.float32).reshape(live["ch"], live["cw"])
    assert result["prior_frames"] >= result["frames"] - 2              # every live frame after the first
    assert live_prob[80, 112] > 0.95 and live_prob[5, 5] < 0.05          # fed back: 0.5 -> 1 on the person


def test_page_adaptive_canvas_matches_python(tmp_path):
    """app.js's port of runtime/canvas.py gives the same canvas for a spread of frame shapes and budgets."""
    import json
    import subprocess

    from humanseg.runtime.canvas import adaptive_canvas
    from tests.browser.fake_camera import REPO

    source = (REPO / "humanseg" / "server" / "static" / "app.js").read_text()
    start, end = source.index("/** Python's round()"), source.index("/** The model's canvas (w, h)")
    shapes = [(w, h, p) for w in (97, 480, 512, 600, 641, 1280, 1364, 3000) for h in (61, 333, 480, 600, 720, 1280)
              for p in (36864, 73728, 20000)]
    script = tmp_path / "canvas.mjs"
    script.write_text("const MAX_ASPECT = 3.0, PADDING_COST = 3.0;\n" + source[start:end].replace("export ", "")
                      + f"\nconst shapes = {json.dumps(shapes)};\n"
                      + "console.log(JSON.stringify(shapes.map(([w, h, p]) => adaptiveCanvas(w, h, p, 16))));")
    out = json.loads(subprocess.run(["node", str(script)], capture_output=True, text=True, check=True).stdout)
    assert [tuple(c) for c in out] == [adaptive_canvas(w, h, p, 16) for w, h, p in shapes]


def test_page_model_picker_loads_a_served_model_other_than_the_default(tmp_path, segmenter):
    """Served: a tiny legacy model (fixed canvas, 3 channels) as the default, plus the shipped portrait.
    `?model=portrait` (what the picker does) loads portrait: its adaptive canvas, 4 channels, and its map of a
    single image (empty prior) matches Python's."""
    from tests.runtime.tiny_models import write_tiny_model

    model = write_tiny_model(tmp_path / "tiny-legacy.onnx", adaptive=False)
    frame = cv2.imread(str(EXAMPLE_IMAGE))
    clip = write_y4m([frame] * 20, tmp_path / "camera.y4m")
    probe = tmp_path / "probe.png"
    cv2.imwrite(str(probe), frame)
    with Server(model) as server:
        result = run_page(server.url + "/?model=portrait", clip, tmp_path, seconds=4, probe=str(probe))
    assert result["frames"] >= 5 and result["errors"] == 0, result["logs"][-5:]
    assert result["model"]["name"] == "portrait" and result["model"]["input_channels"] == 4
    assert result["backend"].startswith("portrait")
    py_prob, _, _ = segmenter.canvas_probability(frame)
    js = result["probe"]
    js_prob = np.array(js["prob"], np.float32).reshape(js["ch"], js["cw"])
    assert js_prob.shape == py_prob.shape and np.abs(js_prob - py_prob).mean() < 0.03

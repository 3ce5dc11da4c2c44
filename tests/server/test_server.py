"""The HTTP service: happy paths, every bad-input class, back-pressure, isolation between requests."""
import threading
import time
import zlib
import struct

import cv2
import numpy as np
import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from humanseg.server.app import ServerConfig, create_app  # noqa: E402
from tests.conftest import EXAMPLE_IMAGE  # noqa: E402


@pytest.fixture(scope="module")
def client():
    return TestClient(create_app(ServerConfig(workers=2, queue=2, max_upload_bytes=2_000_000, max_pixels=4_000_000)))


def jpeg(img=None):
    img = cv2.imread(str(EXAMPLE_IMAGE)) if img is None else img
    return cv2.imencode(".jpg", img)[1].tobytes()


def post(client, data=None, files=None):
    files = files or {"image": ("a.jpg", jpeg(), "image/jpeg")}
    return client.post("/v1/segment", data=data or {}, files=files)


def test_health_models_and_docs(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    models = client.get("/v1/models").json()
    assert models["default"] == "portrait" and models["models"][0]["name"] == "portrait"
    assert client.get("/docs").status_code == 200
    assert "/v1/segment" in client.get("/openapi.json").json()["paths"]


def test_returns_mask_cutout_and_composites(client):
    src = cv2.imread(str(EXAMPLE_IMAGE))
    r = post(client, {"return": "mask"})
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    mask = cv2.imdecode(np.frombuffer(r.content, np.uint8), cv2.IMREAD_UNCHANGED)
    assert mask.shape == src.shape[:2]
    r = post(client, {"return": "cutout"})
    assert cv2.imdecode(np.frombuffer(r.content, np.uint8), cv2.IMREAD_UNCHANGED).shape[2] == 4
    r = post(client, {"bg": "color:#00FF00", "format": "png", "threshold": "0.5"})
    out = cv2.imdecode(np.frombuffer(r.content, np.uint8), cv2.IMREAD_COLOR)
    assert tuple(out[5, 5]) == (0, 255, 0)
    bg = np.full((50, 80, 3), (255, 0, 0), np.uint8)
    r = post(client, {"format": "png"}, files={"image": ("a.jpg", jpeg(), "image/jpeg"),
                                                "background": ("b.png", cv2.imencode(".png", bg)[1].tobytes(), "image/png")})
    out = cv2.imdecode(np.frombuffer(r.content, np.uint8), cv2.IMREAD_COLOR)
    assert r.status_code == 200 and np.abs(out[5, 5].astype(int) - (255, 0, 0)).max() <= 3   # soft edge


def huge_png_header(w, h):
    """A PNG whose header claims w x h (the body is garbage): must be refused before decoding."""
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return b"\x89PNG\r\n\x1a\n" + chunk + b"\x00" * 100


@pytest.mark.parametrize("case,status", [
    ("not_image", 400), ("truncated", 400), ("empty", 400), ("too_many_bytes", 413), ("too_many_pixels", 413),
    ("unknown_model", 404), ("bad_threshold", 400), ("bad_return", 400), ("bad_bg", 400), ("bad_color", 400),
    ("missing_image", 400), ("bad_background_upload", 400),
])
def test_bad_input_gets_a_json_4xx(client, case, status):
    data, files = {}, {"image": ("a.jpg", jpeg(), "image/jpeg")}
    if case == "not_image":
        files = {"image": ("a.txt", b"hello world", "text/plain")}
    elif case == "truncated":
        files = {"image": ("a.jpg", jpeg()[:300], "image/jpeg")}
    elif case == "empty":
        files = {"image": ("a.jpg", b"", "image/jpeg")}
    elif case == "too_many_bytes":
        files = {"image": ("a.jpg", b"\xff" * 2_100_000, "image/jpeg")}
    elif case == "too_many_pixels":
        files = {"image": ("a.png", huge_png_header(30000, 30000), "image/png")}
    elif case == "unknown_model":
        data = {"model": "gigantor"}
    elif case == "bad_threshold":
        data = {"threshold": "2"}
    elif case == "bad_return":
        data = {"return": "hologram"}
    elif case == "bad_bg":
        data = {"bg": "sparkles"}
    elif case == "bad_color":
        data = {"bg": "color:#12"}
    elif case == "missing_image":
        files = {"other": ("a.jpg", jpeg(), "image/jpeg")}
    elif case == "bad_background_upload":
        files["background"] = ("b.jpg", b"nope", "image/jpeg")
    r = client.post("/v1/segment", data=data, files=files)
    assert r.status_code == status
    assert r.headers["content-type"].startswith("application/json") and r.json()["error"]


def test_full_queue_gets_503_and_server_recovers(monkeypatch):
    from humanseg.server import app as app_module

    slow = threading.Event()
    original = app_module.render

    def slow_render(*args):
        slow.wait(5)
        return original(*args)

    monkeypatch.setattr(app_module, "render", slow_render)
    client = TestClient(create_app(ServerConfig(workers=1, queue=0)))
    results = []

    def fire():
        results.append(post(client).status_code)

    first = threading.Thread(target=fire)
    first.start()
    time.sleep(0.5)
    second = post(client)
    assert second.status_code == 503 and "busy" in second.json()["error"]
    slow.set()
    first.join()
    assert results == [200]
    assert post(client).status_code == 200


def test_nothing_leaks_between_requests(client):
    a = post(client, {"bg": "color:#FF0000", "format": "png", "threshold": "0.5"})
    b = post(client, {"format": "png"})
    c = post(client, {"format": "png"})
    assert a.content != b.content and b.content == c.content   # same request -> same answer, whatever came before

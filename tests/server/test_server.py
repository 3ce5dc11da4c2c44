"""The HTTP service: happy paths, every bad-input class, back-pressure, isolation between requests."""
import io
import re
import struct
import threading
import time
import zlib

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
    portrait = models["models"][0]
    assert portrait["canvas"] == [256, 144] and portrait["canvas_pixels"] == 256 * 144   # adaptive canvas
    assert portrait["input_channels"] == 4 and portrait["url"] == "/v1/models/portrait.onnx"   # + previous mask
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
    """A PNG whose header claims w x h (its one IDAT chunk is a few bytes): must be refused before decoding."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 100)) + chunk(b"IEND", b"")


@pytest.mark.parametrize("case,status", [
    ("not_image", 400), ("truncated", 400), ("empty", 400), ("too_many_bytes", 413), ("too_many_pixels", 413),
    ("unknown_model", 404), ("bad_threshold", 400), ("bad_return", 400), ("bad_bg", 400), ("bad_color", 400),
    ("missing_image", 400), ("bad_background_upload", 400), ("bad_feather", 400), ("bad_refine", 400),
    ("bad_gate", 400), ("tiff_too_many_pixels", 413), ("zero_canvas_pixels", 400), ("huge_canvas_pixels", 400),
    ("text_canvas_pixels", 400), ("negative_blur", 400),
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
    elif case == "bad_feather":
        data = {"feather": "-1"}
    elif case == "bad_refine":
        data = {"refine": "-3"}
    elif case == "bad_gate":
        data = {"gate_erode": "-1", "gate_dilate": "4"}
    elif case == "tiff_too_many_pixels":
        files = {"image": ("a.tif", huge_tiff(), "image/tiff")}
    elif case == "zero_canvas_pixels":
        data = {"canvas_pixels": "0"}
    elif case == "huge_canvas_pixels":
        data = {"canvas_pixels": str(ServerConfig().max_canvas_pixels + 1)}
    elif case == "text_canvas_pixels":
        data = {"canvas_pixels": "many"}
    elif case == "negative_blur":
        data = {"bg": "blur", "blur_strength": "-1"}
    r = client.post("/v1/segment", data=data, files=files)
    assert r.status_code == status
    assert r.headers["content-type"].startswith("application/json") and r.json()["error"]


def test_blur_strength_zero_is_no_blur_as_in_the_cli(client):
    src = cv2.imdecode(np.frombuffer(jpeg(), np.uint8), cv2.IMREAD_COLOR)
    r = post(client, {"bg": "blur", "blur_strength": "0", "format": "png"})
    assert r.status_code == 200, r.text
    out = cv2.imdecode(np.frombuffer(r.content, np.uint8), cv2.IMREAD_COLOR)
    assert out.shape == src.shape and np.abs(out.astype(int) - src).max() <= 1   # nothing blurred, nothing moved


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


def huge_tiff(w=12000, h=12000):
    """A deflate TIFF of w x h pixels that is only a few KB on disk."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("1", (w, h)).save(buf, "TIFF", compression="tiff_adobe_deflate")
    return buf.getvalue()


def test_huge_tiff_is_refused_from_its_header_without_decoding(client, monkeypatch):
    monkeypatch.setattr(cv2, "imdecode", lambda *a: pytest.fail("decoded an image past the pixel limit"))
    data = huge_tiff()
    assert len(data) < 100_000
    t0 = time.perf_counter()
    r = client.post("/v1/segment", files={"image": ("big.tif", data, "image/tiff")})
    assert time.perf_counter() - t0 < 2
    assert r.status_code == 413 and "12000x12000" in r.json()["error"]


def test_decoding_runs_in_the_worker_pool_after_admission(client, monkeypatch):
    threads = []
    original = cv2.imdecode

    def spy(*args):
        threads.append(threading.current_thread().name)
        return original(*args)

    monkeypatch.setattr(cv2, "imdecode", spy)
    assert post(client, {"return": "mask"}).status_code == 200
    assert threads and all(name.startswith("humanseg") for name in threads), threads


def test_healthz_answers_while_a_slow_decode_runs(monkeypatch):
    original = cv2.imdecode

    def slow(*args):
        time.sleep(2)
        return original(*args)

    monkeypatch.setattr(cv2, "imdecode", slow)
    with TestClient(create_app(ServerConfig(workers=1, queue=1))) as client:   # one event loop for both
        results = []
        worker = threading.Thread(target=lambda: results.append(post(client, {"return": "mask"}).status_code))
        worker.start()
        time.sleep(0.4)
        t0 = time.perf_counter()
        assert client.get("/healthz").status_code == 200
        waited = time.perf_counter() - t0
        worker.join()
    assert results == [200]
    assert waited < 1.0, f"/healthz waited {waited:.1f} s behind a decode"


def exif_jpeg(orientation=6):
    """A phone portrait as phones store it: 480x360 pixels, EXIF Orientation says turn it upright."""
    from PIL import Image

    stored = cv2.rotate(cv2.resize(cv2.imread(str(EXAMPLE_IMAGE)), (480, 270)), cv2.ROTATE_90_COUNTERCLOCKWISE)
    stored = cv2.resize(stored, (480, 360)) if stored.shape[:2] != (360, 480) else stored
    exif = Image.Exif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    Image.fromarray(cv2.cvtColor(stored, cv2.COLOR_BGR2RGB)).save(buf, "JPEG", exif=exif)
    return buf.getvalue()


def test_exif_orientation_is_applied_before_segmenting(client):
    files = {"image": ("phone.jpg", exif_jpeg(6), "image/jpeg")}
    mask = cv2.imdecode(np.frombuffer(client.post("/v1/segment", data={"return": "mask"}, files=files).content,
                                      np.uint8), cv2.IMREAD_UNCHANGED)
    assert mask.shape == (480, 360)   # upright portrait, as a photo viewer shows it
    files = {"image": ("phone.jpg", exif_jpeg(6), "image/jpeg")}
    out = client.post("/v1/segment", data={"format": "png"}, files=files).content
    assert cv2.imdecode(np.frombuffer(out, np.uint8), cv2.IMREAD_COLOR).shape[:2] == (480, 360)


def test_mask_options_match_the_cli(client, monkeypatch):
    from humanseg.runtime.postprocess import PostProcess
    from humanseg.server import app as app_module

    seen = []
    original = app_module.render
    monkeypatch.setattr(app_module, "render", lambda seg, job: seen.append(job.post) or original(seg, job))
    plain = post(client, {"return": "mask"}).content
    options = {"return": "mask", "threshold": "0.5", "gate_erode": "2", "gate_dilate": "6", "keep_largest": "true",
               "refine": "4", "feather": "1.5"}
    r = post(client, options)
    assert r.status_code == 200 and r.content != plain
    assert seen[-1] == PostProcess(threshold=0.5, gate=(2, 6), keep_largest=True, refine=4, feather=1.5)
    post(client, {"return": "mask", "gate_dilate": "3"})
    assert seen[-1].gate == (0, 3)


def test_wrong_method_is_a_405_in_the_service_error_shape(client):
    r = client.get("/v1/segment")
    assert r.status_code == 405 and "POST" in r.headers["allow"]
    assert r.headers["content-type"].startswith("application/json") and "POST" in r.json()["error"]
    r = client.post("/healthz")
    assert r.status_code == 405 and r.json()["error"]
    r = client.get("/no/such/thing")
    assert r.status_code == 404 and set(r.json()) == {"error"}


def test_docs_use_no_cdn(client):
    html = client.get("/docs").text
    assert "swagger-ui-bundle.js" in html
    assert not re.search(r"""(src|href|url)\s*[:=(]\s*['"]?(https?:)?//""", html, re.I), html
    assert "cdn" not in html.lower()
    from humanseg.server.app import missing_vendor_assets

    if not missing_vendor_assets():   # built: the docs' script and style are served by us
        for path in re.findall(r"""['"](/vendor/[^'"]+)['"]""", html):
            assert client.get(path).status_code == 200, path


def test_startup_warns_in_one_line_when_page_assets_are_not_built(tmp_path, monkeypatch, capsys):
    from humanseg.server import app as app_module

    (tmp_path / "index.html").write_text("<!doctype html><title>x</title>")
    monkeypatch.setattr(app_module, "STATIC_DIR", tmp_path)
    with TestClient(create_app(ServerConfig(workers=1, queue=1))) as client:
        assert client.get("/healthz").status_code == 200
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "warning" in line]
    assert len(lines) == 1 and "ort.all.min.mjs" in lines[0] and "npm ci --prefix web" in lines[0], err


# ---- adaptive and 4-channel models -------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_prior_model(tmp_path_factory):
    from tests.runtime.tiny_models import write_tiny_model

    return write_tiny_model(tmp_path_factory.mktemp("served") / "tiny-prior.onnx", channels=4)


def test_an_onnx_file_is_served_as_the_default_with_its_canvas_and_channels(tiny_prior_model, monkeypatch):
    from humanseg.server import app as app_module

    client = TestClient(create_app(ServerConfig(model=str(tiny_prior_model), workers=1, queue=1)))
    models = client.get("/v1/models").json()
    assert models["default"] == "tiny-prior"
    info = {m["name"]: m for m in models["models"]}["tiny-prior"]
    assert info["canvas_pixels"] == 256 * 144 and info["stride"] == 16 and info["input_channels"] == 4
    assert info["still_canvas_pixels"] == 2 * 256 * 144 and 0 < info["max_stretch"] < 0.2
    assert info["still_canvas_budgets"] == [2 * 256 * 144] and info["still_refine"] == 0.0 and info["still_zoom"] == 0.0
    portrait = {m["name"]: m for m in models["models"]}["portrait"]
    fast = TestClient(create_app(ServerConfig(model=str(tiny_prior_model), workers=1, queue=1, photo_recipe="fast")))
    fast_portrait = {m["name"]: m for m in fast.get("/v1/models").json()["models"]}["portrait"]
    assert len(fast_portrait["still_canvas_budgets"]) == 1 and fast_portrait["still_prior_weight"] == 0.0
    assert fast_portrait["still_canvas_budgets"] == portrait["still_canvas_budgets"][:1]
    assert client.get(info["url"]).content == tiny_prior_model.read_bytes()
    assert {m["name"] for m in models["models"]} >= {"portrait", "tiny-prior"}

    canvases = []
    original = app_module.render
    monkeypatch.setattr(app_module, "render", lambda seg, job: canvases.append(
        seg.canvas_size(640, 360, job.canvas_pixels)) or original(seg, job))
    img = np.zeros((360, 640, 3), np.uint8)
    img[100:300, 200:400] = 255
    files = lambda: {"image": ("a.png", cv2.imencode(".png", img)[1].tobytes(), "image/png")}  # noqa: E731
    r = client.post("/v1/segment", data={"return": "mask"}, files=files())        # the default model
    mask = cv2.imdecode(np.frombuffer(r.content, np.uint8), cv2.IMREAD_UNCHANGED)
    # p = (1 - w) * white + w * prior with w = 0.5: a single image gets an all-zero prior, so 0.5 for white
    assert r.status_code == 200 and abs(int(mask[200, 300]) - 128) <= 1 and mask[50, 50] < 5
    r = client.post("/v1/segment", data={"return": "mask", "canvas_pixels": "20000"}, files=files())
    assert r.status_code == 200
    assert canvases[0] == (352, 208) and canvases[1][0] * canvases[1][1] <= 20000   # still budget, then asked


def test_a_missing_model_file_for_serve_is_a_model_error(tmp_path):
    from humanseg.errors import ModelError

    with pytest.raises(ModelError, match="not one of"):
        create_app(ServerConfig(model=str(tmp_path / "nope.onnx")))


def test_ml_foreground_on_a_one_pixel_image(client):
    pytest.importorskip("pymatting")
    one = cv2.imencode(".png", np.full((1, 1, 3), 120, np.uint8))[1].tobytes()
    for kind in ("composite", "cutout"):
        r = post(client, {"foreground": "ml", "bg": "color:#00B140", "return": kind, "format": "png"},
                 files={"image": ("one.png", one, "image/png")})
        assert r.status_code == 200, r.text
        assert cv2.imdecode(np.frombuffer(r.content, np.uint8), cv2.IMREAD_UNCHANGED).shape[:2] == (1, 1)


def test_a_request_larger_than_its_uploads_can_be_is_refused_before_it_is_read(client, monkeypatch):
    """The service takes an image and a background of max_upload_bytes each: a larger body (here an extra part
    that the endpoint never looks at) is a 413 from its Content-Length, before any byte is parsed or spooled
    to disk; a body sent in chunks without a length is cut off as soon as it passes the limit."""
    from starlette.formparsers import MultiPartParser

    parsed = []
    parse = MultiPartParser.parse
    monkeypatch.setattr(MultiPartParser, "parse", lambda self: parsed.append(1) or parse(self))
    files = {"image": ("a.jpg", jpeg(), "image/jpeg"), "junk": ("j.bin", b"\0" * 6_000_000, "application/octet-stream")}
    r = client.post("/v1/segment", files=files)
    assert r.status_code == 413 and "larger than" in r.json()["error"] and not parsed
    assert post(client).status_code == 200 and parsed   # a request of the right size is still served

    def chunks():   # a well-formed part that never ends
        yield b'--x\r\nContent-Disposition: form-data; name="junk"; filename="j.bin"\r\n\r\n'
        for _ in range(60):
            yield b"\0" * 100_000
    r = client.post("/v1/segment", content=chunks(), headers={"content-type": "multipart/form-data; boundary=x"})
    assert r.status_code == 413 and "larger than" in r.json()["error"]
    r = client.post("/v1/segment", content=b"x", headers={"content-length": "lots", "content-type": "text/plain"})
    assert r.status_code == 400 and r.json()["error"]


def test_a_shipped_model_whose_file_is_missing_is_a_clear_error(tiny_prior_model, tmp_path, monkeypatch, capsys):
    """The installation lost portrait.onnx: the server still starts with another default model, says so, and a
    request for the lost model is a one-line 500 naming it, not a traceback."""
    from humanseg import weights
    from humanseg.errors import ModelError

    monkeypatch.setitem(weights.SHIPPED, "portrait", tmp_path / "gone" / "portrait.onnx")
    with pytest.raises(ModelError, match="shipped model 'portrait' is missing"):   # the default: refused at start
        create_app(ServerConfig(workers=1, queue=1))
    with TestClient(create_app(ServerConfig(model=str(tiny_prior_model), workers=1, queue=1)),
                    raise_server_exceptions=False) as client:
        assert "portrait" in capsys.readouterr().err   # the operator is told at start-up
        r = post(client, {"model": "portrait", "return": "mask"})
        assert r.status_code == 500 and "shipped model 'portrait' is missing" in r.json()["error"]
        assert "Traceback" not in r.text and "\n" not in r.json()["error"]
        assert post(client, {"return": "mask"}).status_code == 200                  # the default still works
        listing = client.get("/v1/models").json()
        assert [m["name"] for m in listing["models"]] == ["tiny-prior"]
        assert [m["name"] for m in listing["unavailable"]] == ["portrait"]          # said, not left out
        assert "missing" in listing["unavailable"][0]["error"]


def test_a_part_sent_twice_or_a_misspelt_option_is_refused(client):
    """Two `image` parts used to run on one of them without a word, and a misspelt option (`treshold`) was
    ignored; both are a one-line 400 now."""
    files = [("image", ("a.jpg", jpeg(), "image/jpeg")), ("image", ("b.jpg", jpeg(), "image/jpeg"))]
    r = client.post("/v1/segment", files=files, data={"return": "mask"})
    assert r.status_code == 400 and "'image' sent more than once" in r.json()["error"]
    r = client.post("/v1/segment", files={"image": ("a.jpg", jpeg(), "image/jpeg")},
                    data={"return": ["mask", "cutout"]})
    assert r.status_code == 400 and "'return' sent more than once" in r.json()["error"]
    r = post(client, {"return": "mask", "treshold": "0.5"})
    assert r.status_code == 400 and "unknown form field(s) 'treshold'" in r.json()["error"]
    assert "threshold" in r.json()["error"]   # names what it takes


def test_the_form_fields_check_knows_every_option_of_the_endpoint(client):
    from humanseg.server.app import SEGMENT_FIELDS

    schema = client.get("/openapi.json").json()
    body = schema["paths"]["/v1/segment"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    ref = body["$ref"].rsplit("/", 1)[-1]
    assert sorted(schema["components"]["schemas"][ref]["properties"]) == sorted(SEGMENT_FIELDS)


def test_an_uploaded_background_s_transparent_parts_show_the_photo(client):
    """As for --bg: the alpha of an uploaded background was dropped (its transparent parts came out black)."""
    photo = np.full((60, 80, 3), 180, np.uint8)
    bg = np.zeros((60, 80, 4), np.uint8)
    bg[..., 2] = 255                                         # red where opaque
    bg[:, 40:, 3] = 255                                      # right half opaque, left half transparent
    r = post(client, {"return": "composite", "format": "png", "threshold": "0.5"},
             files={"image": ("a.png", cv2.imencode(".png", photo)[1].tobytes(), "image/png"),
                    "background": ("b.png", cv2.imencode(".png", bg)[1].tobytes(), "image/png")})
    assert r.status_code == 200, r.text
    out = cv2.imdecode(np.frombuffer(r.content, np.uint8), cv2.IMREAD_COLOR)
    assert (out[:, 45:] == (0, 0, 255)).all()               # a grey photo has no person: the picture
    assert (out[:, :35] == 180).all()                        # the transparent half shows the photo

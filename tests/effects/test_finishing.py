"""Composite finishing effects (Foreground, Harmonize, PoissonBlend, LightWrap) and their options on the API,
the CLI and the service."""
import cv2
import numpy as np
import pytest

from humanseg import api, cli, cli_args
from humanseg.effects import Color, CommentsBehind, Image, MaskOnly, Overlay, Transparent, describe
from humanseg.effects.finishing import (LIGHT_WRAP_WIDTH, MAX_LIGHT_WRAP_WIDTH, Foreground, Harmonize, LightWrap,
                                        PoissonBlend, base_effect, with_finishing)
from humanseg.errors import InputError
from humanseg.matting.foreground import FOREGROUND_METHODS
from tests.conftest import EXAMPLE_IMAGE

H, W = 180, 320


@pytest.fixture
def scene():
    """(frame, mask): a textured blue-ish person (a disc with a soft edge) shot against red."""
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    dist = np.hypot(xx - W / 2, yy - H / 2) - 60
    mask = np.clip(0.5 - dist / 8, 0, 1).astype(np.float32)
    person = np.dstack([180 + 30 * np.sin(xx / 9), 140 + 30 * np.cos(yy / 7), 40 + 0 * xx]).astype(np.float32)
    frame = mask[..., None] * person + (1 - mask[..., None]) * np.array((0, 0, 255), np.float32)
    return np.clip(frame + 0.5, 0, 255).astype(np.uint8), mask


def far_inside(mask, px):
    """Pixels of the person further than `px` from any pixel that is not fully person."""
    return cv2.distanceTransform((mask >= 1).astype(np.uint8), cv2.DIST_L2, 5) > px


BG = Color("#20A040")


# ---- each effect --------------------------------------------------------------------------------

def test_foreground_composites_the_person_without_the_old_red(scene):
    frame, mask = scene
    plain, clean = BG(frame, mask), Foreground(BG, "fast")(frame, mask)
    edge = (mask > 0.2) & (mask < 0.8)
    assert clean[edge][:, 2].mean() < plain[edge][:, 2].mean() - 20     # much less red at the edge
    assert np.array_equal(clean[mask >= 1], frame[mask >= 1])          # opaque person untouched
    assert np.array_equal(clean[mask == 0], plain[mask == 0])          # background as before


def test_foreground_on_a_cutout_gives_rgba_with_clean_edges(scene):
    frame, mask = scene
    rgba = Foreground(Transparent())(frame, mask)
    assert rgba.shape == (H, W, 4)
    assert np.array_equal(rgba[..., 3], Transparent()(frame, mask)[..., 3])
    edge = (mask > 0.2) & (mask < 0.8)
    assert rgba[edge][:, 2].mean() < frame[edge][:, 2].mean() - 20
    assert np.array_equal(rgba[..., :3][mask >= 1], frame[mask >= 1])


def test_light_wrap_brightens_the_edge_only(scene):
    frame, mask = scene
    white = Color("#FFFFFF")
    plain = white(frame, mask)
    out = LightWrap(white, strength=0.8, width=2.0)(frame, mask)
    sigma = 2.0 / 100 * H
    inner = far_inside(mask, 4 * sigma + 2)
    assert inner.sum() > 500
    assert np.array_equal(out[inner], frame[inner])                    # far inside: unchanged
    near = (mask >= 1) & ~far_inside(mask, 2)
    assert out[near].astype(int).sum() > plain[near].astype(int).sum() + 10 * near.sum()   # the rim got light
    assert np.array_equal(out[mask == 0], plain[mask == 0])            # background itself untouched
    assert np.array_equal(LightWrap(white, strength=0.0)(frame, mask), plain)
    # a black background sheds no light: screen blending leaves the person as it is
    assert np.array_equal(LightWrap(Color("#000000"), 1.0)(frame, mask), Color("#000000")(frame, mask))


def test_harmonize_zero_is_identity_and_one_matches_the_background(scene):
    frame, mask = scene
    bg = Color("#E0A020")                                               # a warm orange-ish background (RGB)
    assert np.array_equal(Harmonize(bg, 0.0)(frame, mask), bg(frame, mask))
    lab = lambda img: cv2.cvtColor(img.astype(np.float32) / 255, cv2.COLOR_BGR2Lab)
    target = lab(bg.background(frame, mask)).reshape(-1, 3).mean(0)
    person = mask >= 1
    before = lab(frame)[person].mean(0)
    half = lab(Harmonize(bg, 0.5).layers(frame, mask)[0])[person].mean(0)
    full = lab(Harmonize(bg, 1.0).layers(frame, mask)[0])[person].mean(0)
    assert np.linalg.norm(full - target) < 0.2 * np.linalg.norm(before - target)
    assert np.linalg.norm(full - target) < np.linalg.norm(half - target) < np.linalg.norm(before - target)


def test_poisson_keeps_the_background_and_lands_in_place(scene):
    frame, mask = scene
    bg = Color("#3060C0")
    out = PoissonBlend(bg)(frame, mask)
    assert np.array_equal(out[mask == 0], bg(frame, mask)[mask == 0])
    assert not np.array_equal(out[mask >= 1], frame[mask >= 1])        # the person is recoloured ...
    grad = lambda img: np.diff(img.astype(np.float32), axis=1)[far_inside(mask, 3)[:, 1:]]
    assert np.abs(grad(out) - grad(frame)).mean() < 2.0                # ... its detail kept
    # cloned onto its own frame, the frame comes back: the clone is not shifted
    same = PoissonBlend(Image(EXAMPLE_IMAGE)).finish(frame, frame, frame, mask)
    assert np.abs(same.astype(int) - frame).max() <= 3


def test_poisson_with_a_person_cut_off_by_the_frame_and_tiny_frames():
    frame = np.full((40, 60, 3), 90, np.uint8)
    mask = np.zeros((40, 60), np.float32)
    mask[10:, 20:40] = 1.0                                              # touches the bottom edge
    assert PoissonBlend(BG)(frame, mask).shape == (40, 60, 3)
    for h, w in ((1, 1), (2, 3), (5, 4)):
        f, m = np.zeros((h, w, 3), np.uint8), np.ones((h, w), np.float32)
        assert with_finishing(BG, "fast", 0.5, True, 0.5)(f, m).shape == (h, w, 3)


def test_stacking_keeps_one_background_call_per_frame(scene):
    frame, mask = scene

    class Counting(Color):
        calls = 0

        def background(self, frame, mask):
            Counting.calls += 1
            return super().background(frame, mask)

    effect = with_finishing(Counting("#102030"), foreground="fast", harmonize=0.3, poisson=True, light_wrap=0.5)
    assert [type(e).__name__ for e in (effect, effect.under, effect.under.under, effect.under.under.under)] == \
        ["LightWrap", "PoissonBlend", "Harmonize", "Foreground"]
    assert isinstance(base_effect(effect), Counting)
    effect(frame, mask)
    assert Counting.calls == 1
    assert with_finishing(BG) is BG                                     # all off: the effect itself


def test_finishing_over_comments_and_description_for_resume(scene):
    frame, mask = scene
    effect = LightWrap(CommentsBehind(["HELLO"], under=Color("#FFFFFF"), speed=0.0), 0.5)
    still = effect.as_still()
    assert still.under.still and not effect.under.still
    assert np.array_equal(still(frame, mask)[far_inside(mask, 20)], frame[far_inside(mask, 20)])
    assert describe(LightWrap(BG, 0.5)) != describe(LightWrap(BG, 0.6))
    assert "strength=0.5" in describe(LightWrap(BG, 0.5))


def test_bad_values_and_effects_without_a_background():
    for make, phrase in ((lambda: LightWrap(BG, 1.5), "light wrap 1.5 is not in [0, 1]"),
                         (lambda: LightWrap(BG, 0.5, 0), "light wrap width 0.0 is not in (0, 20]"),
                         (lambda: Harmonize(BG, float("nan")), "harmonize nan is not in [0, 1]"),
                         (lambda: Harmonize(BG, "x"), "harmonize 'x' is not a number"),
                         (lambda: Foreground(BG, "magic"), "foreground 'magic' is not one of"),
                         (lambda: LightWrap(Transparent(), 0.5), "light wrap needs a background effect"),
                         (lambda: PoissonBlend(MaskOnly()), "poisson needs a background effect"),
                         (lambda: Foreground(MaskOnly(), "fast"), "a mask output has none"),
                         # the overlay's background is the frame: the estimate would replace it round the edge
                         (lambda: Foreground(Overlay(), "fast"), "drop it for the overlay"),
                         (lambda: with_finishing(MaskOnly(), "ml"), "a mask output has none"),
                         (lambda: with_finishing(BG, harmonize=-1), "harmonize -1.0 is not in [0, 1]")):
        with pytest.raises(InputError, match=None) as info:
            make()
        assert phrase in str(info.value) and "\n" not in str(info.value)


def test_ml_without_pymatting_fails_before_any_work(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "pymatting" else real(name, *a))
    with pytest.raises(ImportError, match=r"humanseg\[matte\]"):
        Foreground(BG, "ml")
    assert "humanseg[matte]" in cli.install_hint("pymatting", "image")


# ---- the API ------------------------------------------------------------------------------------

def test_api_exports_the_finishing_effects():
    for name in ("Foreground", "Harmonize", "PoissonBlend", "LightWrap", "with_finishing"):
        assert name in api.__all__ and hasattr(__import__("humanseg"), name)


def test_convert_video_refuses_poisson(tmp_path):
    with pytest.raises(InputError, match="Poisson blending is for still images"):
        api.convert_video(tmp_path / "in.mp4", tmp_path / "out.mp4", PoissonBlend(BG), segmenter=object())


def test_convert_image_writes_a_finished_cutout_and_composite(tmp_path):
    out = api.convert_image(EXAMPLE_IMAGE, tmp_path / "cut.png", Foreground(Transparent()))
    assert cv2.imread(str(out), cv2.IMREAD_UNCHANGED).shape[2] == 4
    with pytest.raises(api.OutputError, match="JPEG has no transparency"):
        api.convert_image(EXAMPLE_IMAGE, tmp_path / "cut.jpg", Foreground(Transparent()))
    out = api.convert_image(EXAMPLE_IMAGE, tmp_path / "c.jpg", with_finishing(BG, "fast", 0.3, True, 0.5))
    assert cv2.imread(str(out)).shape == cv2.imread(str(EXAMPLE_IMAGE)).shape


# ---- the CLI ------------------------------------------------------------------------------------

def run_main(capsys, *args):
    try:
        code = cli.main([str(a) for a in args])
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line(err, phrase):
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("humanseg: error:") and phrase in lines[0], err


def test_cli_defaults_agree_with_the_effects():
    assert cli_args.FOREGROUND_METHODS == FOREGROUND_METHODS
    assert (cli_args.LIGHT_WRAP_WIDTH, cli_args.MAX_LIGHT_WRAP_WIDTH) == (LIGHT_WRAP_WIDTH, MAX_LIGHT_WRAP_WIDTH)


@pytest.mark.parametrize("command", ["image", "video", "webcam"])
@pytest.mark.parametrize("option, value, phrase", [
    ("--light-wrap", "1.5", "--light-wrap: 1.5 is not in [0, 1]"),
    ("--light-wrap", "nan", "--light-wrap: 'nan' is not a finite number"),
    ("--harmonize", "-0.1", "--harmonize: -0.1 is not in [0, 1]"),
    ("--light-wrap-width", "0", "--light-wrap-width: 0 is not in (0, 20]"),
    ("--light-wrap-width", "x", "--light-wrap-width: 'x' is not a number"),
    ("--foreground", "magic", "--foreground: invalid choice: 'magic'"),
])
def test_cli_refuses_bad_finishing_values(capsys, command, option, value, phrase):
    io = [] if command == "webcam" else ["a.jpg", "b.jpg"]
    code, _, err = run_main(capsys, command, *io, option, value)
    assert code == 2
    assert_one_line(err, phrase)


def test_cli_refuses_poisson_on_video_and_ml_on_the_webcam(capsys, tmp_path):
    code, _, err = run_main(capsys, "video", "examples/astronaut.mp4", tmp_path / "o.mp4", "--poisson")
    assert code == 2
    assert_one_line(err, "--poisson is for still images")
    assert not (tmp_path / "o.mp4").exists()
    code, _, err = run_main(capsys, "webcam", "--poisson")
    assert code == 2
    assert_one_line(err, "--poisson is for still images")
    code, _, err = run_main(capsys, "webcam", "--foreground", "ml")
    assert code == 2
    assert_one_line(err, "use --foreground fast for the webcam")


def test_cli_refuses_finishing_without_a_background(capsys, tmp_path):
    code, _, err = run_main(capsys, "image", EXAMPLE_IMAGE, tmp_path / "o.png", "--bg", "mask", "--light-wrap", "0.5")
    assert code == 2
    assert_one_line(err, "light wrap needs a background effect")


def test_cli_image_with_every_finishing_option(capsys, tmp_path):
    code, out, err = run_main(capsys, "image", EXAMPLE_IMAGE, tmp_path / "o.jpg", "--bg", "color:#3060C0",
                              "--foreground", "fast", "--harmonize", "0.4", "--poisson", "--light-wrap", "0.6",
                              "--light-wrap-width", "2")
    assert code == 0, err
    plain = tmp_path / "p.jpg"
    assert run_main(capsys, "image", EXAMPLE_IMAGE, plain, "--bg", "color:#3060C0")[0] == 0
    a, b = cv2.imread(str(tmp_path / "o.jpg")).astype(int), cv2.imread(str(plain)).astype(int)
    assert a.shape == b.shape and np.abs(a - b).mean() > 1


# ---- the service --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def client():
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from humanseg.server.app import ServerConfig, create_app

    return TestClient(create_app(ServerConfig(workers=1, queue=2)))


def post(client, data):
    files = {"image": ("a.jpg", EXAMPLE_IMAGE.read_bytes(), "image/jpeg")}
    return client.post("/v1/segment", data=data, files=files)


@pytest.mark.parametrize("field, value", [("light_wrap", "1.5"), ("harmonize", "-1"), ("light_wrap_width", "0"),
                                          ("light_wrap_width", "25"), ("foreground", "magic"), ("poisson", "maybe")])
def test_service_refuses_bad_finishing_fields(client, field, value):
    r = post(client, {field: value})
    assert r.status_code == 400
    message = r.json()["error"]
    assert message.startswith(f"bad parameter {field}:") and "\n" not in message


def test_service_finishing_fields(client, monkeypatch):
    plain = post(client, {"bg": "color:#3060C0", "format": "png"})
    done = post(client, {"bg": "color:#3060C0", "format": "png", "foreground": "fast", "harmonize": "0.4",
                         "poisson": "true", "light_wrap": "0.6", "light_wrap_width": "2"})
    assert plain.status_code == done.status_code == 200
    decode = lambda r: cv2.imdecode(np.frombuffer(r.content, np.uint8), cv2.IMREAD_UNCHANGED)
    assert np.abs(decode(plain).astype(int) - decode(done)).mean() > 1
    cut = post(client, {"return": "cutout", "foreground": "fast", "light_wrap": "0.5"})   # light wrap: composite only
    assert cut.status_code == 200 and decode(cut).shape[2] == 4
    from humanseg.server import app as server_app

    monkeypatch.setattr(server_app, "has_pymatting", lambda: False)
    r = post(client, {"foreground": "ml"})
    assert r.status_code == 400 and "humanseg[matte]" in r.json()["error"]

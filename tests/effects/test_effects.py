import cv2
import numpy as np
import pytest

from humanseg.effects import Blur, Color, CommentsBehind, Image, MaskOnly, Overlay, Transparent, effect_from_spec
from humanseg.errors import InputError


@pytest.fixture
def scene():
    rng = np.random.default_rng(0)
    frame = cv2.resize(rng.integers(0, 255, (18, 32, 3), dtype=np.uint8), (320, 180), interpolation=cv2.INTER_NEAREST)
    frame[40:180, 120:200] = (10, 20, 250)          # a bright red 'person'
    mask = np.zeros((180, 320), np.float32)
    mask[40:180, 120:200] = 1.0
    return frame, mask


def test_blur_keeps_person_and_changes_background_without_halo(scene):
    frame, mask = scene
    out = Blur(5)(frame, mask)
    assert np.array_equal(out[mask == 1], frame[mask == 1])
    bg = mask == 0
    assert np.abs(out[bg].astype(int) - frame[bg]).mean() > 10
    # no halo: background right next to the person must not turn red (normalised convolution)
    ring = out[60:160, 100:115].astype(int)
    naive = cv2.GaussianBlur(frame, (0, 0), 9)[60:160, 100:115].astype(int)
    assert (ring[..., 2] - ring[..., 1]).mean() < (naive[..., 2] - naive[..., 1]).mean()


def test_color_and_transparent_and_mask(scene):
    frame, mask = scene
    out = Color("#00FF00")(frame, mask)
    assert tuple(out[0, 0]) == (0, 255, 0)
    rgba = Transparent()(frame, mask)
    assert rgba.shape == (180, 320, 4) and rgba[0, 0, 3] == 0 and rgba[100, 150, 3] == 255
    m = MaskOnly()(frame, mask)
    assert m[100, 150, 0] == 255 and m[0, 0, 0] == 0
    ov = Overlay()(frame, mask)
    assert np.array_equal(ov[0, 0], frame[0, 0]) and not np.array_equal(ov[100, 150], frame[100, 150])


def test_image_background_is_cover_fitted_not_stretched(scene, tmp_path):
    frame, mask = scene
    bg = np.zeros((100, 100, 3), np.uint8)
    bg[:, :50] = 255                                  # left half white
    path = tmp_path / "bg.png"
    cv2.imwrite(str(path), bg)
    out = Image(path)(frame, mask)
    assert out.shape == frame.shape
    # cover fit scales 100x100 to 320x320 and crops rows: the white/black split stays at x = 160
    assert out[10, 150].min() == 255 and out[10, 170].max() == 0


def test_comments_are_behind_the_person(scene):
    frame, mask = scene
    plain = Color((0, 0, 0))
    effect = CommentsBehind(["HELLO WORLD " * 6] * 6, under=plain, speed=0.0, lanes=6)
    out = effect(frame, mask)
    assert np.array_equal(out[mask == 1], frame[mask == 1])       # person untouched
    assert out[mask == 0].max() > 200                              # text drawn on the background


def test_effect_spec_parsing(tmp_path):
    assert isinstance(effect_from_spec("blur"), Blur)
    assert isinstance(effect_from_spec("color:#112233"), Color)
    assert isinstance(effect_from_spec("transparent"), Transparent)
    assert isinstance(effect_from_spec("blur", comments=["hi"]), CommentsBehind)
    with pytest.raises(InputError):
        effect_from_spec("color:#12")
    with pytest.raises(InputError):
        effect_from_spec(str(tmp_path / "missing.jpg"))


def test_video_background_loops_and_is_cover_fitted(scene, tmp_path):
    from humanseg.effects import VideoBackground
    from tests.conftest import make_video

    frame, mask = scene
    clip = make_video(tmp_path / "bg.mp4", n=3, size=(64, 48), audio=False)
    effect = VideoBackground(clip)
    outs = [effect.background(frame, mask) for _ in range(7)]    # more calls than the clip has frames
    assert all(o.shape == frame.shape for o in outs)
    assert np.array_equal(outs[0], outs[3]) and np.array_equal(outs[1], outs[4])   # period of 3 frames
    assert not np.array_equal(outs[0], outs[1])


@pytest.mark.parametrize("strength", [-1, 20.5, 1e9, float("nan"), "strong"])
def test_blur_refuses_a_strength_out_of_range(strength):
    from humanseg.effects.backgrounds import MAX_BLUR_STRENGTH

    assert MAX_BLUR_STRENGTH == 20
    with pytest.raises(InputError, match="blur strength"):
        Blur(strength)


def test_blur_takes_the_whole_range():
    frame, mask = np.full((16, 16, 3), 90, np.uint8), np.zeros((16, 16), np.float32)
    for strength in (0, 20):
        assert Blur(strength)(frame, mask).shape == (16, 16, 3)


def test_blur_strength_zero_leaves_the_background_as_it_is(scene):
    frame, mask = scene
    assert np.array_equal(Blur(0).background(frame, mask), frame)
    assert not np.array_equal(Blur(0.5).background(frame, mask), frame)


def _grey_steps_clip(path, n, fps):
    """n frames at `fps`, frame i a flat grey of 20 + 20 * i."""
    import av

    from tests.conftest import encode_frames

    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264", rate=fps)
        v.width, v.height, v.pix_fmt = 32, 24, "yuv420p"
        encode_frames(out, v, [np.full((24, 32, 3), 20 + 20 * i, np.uint8) for i in range(n)])
    return path


def _shown(effect, calls):
    """Which background frame (i of _grey_steps_clip) each call shows."""
    frame, mask = np.zeros((24, 32, 3), np.uint8), np.zeros((24, 32), np.float32)
    return [round((effect.background(frame, mask).mean() - 20) / 20) for _ in range(calls)]


def test_video_background_plays_at_its_own_speed(tmp_path):
    """A 5 fps background behind a 25 fps clip played 5 times too fast (one background frame per frame);
    told the clip's rate, each background frame is held for 1/5 s, and a 50 fps background skips every other."""
    from humanseg.effects import VideoBackground

    slow = VideoBackground(_grey_steps_clip(tmp_path / "slow.mp4", 3, fps=5))
    slow.play_at(25)
    assert _shown(slow, 20) == [0] * 5 + [1] * 5 + [2] * 5 + [0] * 5     # loops after 3 frames = 0.6 s
    fast = VideoBackground(_grey_steps_clip(tmp_path / "fast.mp4", 5, fps=50))
    fast.play_at(25)
    assert _shown(fast, 6) == [0, 2, 4, 1, 3, 0]
    plain = VideoBackground(_grey_steps_clip(tmp_path / "plain.mp4", 3, fps=5))
    assert _shown(plain, 4) == [0, 1, 2, 0]                               # rate unknown (webcam): frame by frame


def test_convert_video_plays_a_video_background_at_its_own_speed(tmp_path, segmenter, monkeypatch):
    """convert_video tells the background the input's frame rate, also under comments and finishing."""
    from humanseg.api import CommentsBehind, Harmonize, VideoBackground, convert_video
    from tests.conftest import make_video

    clip = make_video(tmp_path / "talk.mp4", n=4, size=(32, 24), fps=10, audio=False)
    background = VideoBackground(_grey_steps_clip(tmp_path / "bg.mp4", 3, fps=5))
    shown = []
    cover = VideoBackground.background
    monkeypatch.setattr(VideoBackground, "background", lambda self, f, m: shown.append(cover(self, f, m)) or shown[-1])
    convert_video(clip, tmp_path / "out.mp4", Harmonize(CommentsBehind(["hi"], under=background), 0.5), segmenter,
                  progress=False)
    levels = [round((s.mean() - 20) / 20) for s in shown]
    assert levels == [0, 0, 1, 1]     # 10 fps over a 5 fps background: each background frame twice


@pytest.mark.parametrize("suffix", [".gif", ".png"])
def test_an_animated_gif_or_png_background_plays_and_loops(tmp_path, suffix):
    """An APNG background used to be a still of its first frame; it plays like an animated GIF now."""
    from PIL import Image as PILImage

    from humanseg.api import convert_image
    from humanseg.effects import VideoBackground, effect_from_spec

    path = tmp_path / f"bg{suffix}"
    frames = [PILImage.fromarray(np.full((24, 32, 3), v, np.uint8)) for v in (30, 120, 210)]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    effect = effect_from_spec(str(path))
    assert isinstance(effect, VideoBackground)       # not a still of its first frame
    frame, mask = np.zeros((48, 64, 3), np.uint8), np.zeros((48, 64), np.float32)
    assert [round(effect.background(frame, mask).mean()) for _ in range(4)] == [30, 120, 210, 30]
    photo = tmp_path / "photo.png"
    cv2.imwrite(str(photo), np.full((48, 64, 3), 90, np.uint8))
    convert_image(photo, tmp_path / "out.png", effect_from_spec(str(path)))   # a photo gets its first frame
    assert cv2.imread(str(tmp_path / "out.png")).shape == (48, 64, 3)


def test_an_animated_webp_background_is_a_clear_error_not_its_first_frame(tmp_path):
    from PIL import Image as PILImage

    from humanseg.effects import effect_from_spec

    path = tmp_path / "bg.webp"
    frames = [PILImage.fromarray(np.full((24, 32, 3), v, np.uint8)) for v in (30, 120, 210)]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    with pytest.raises(InputError, match="animated WebP"):
        effect_from_spec(str(path)).background(np.zeros((48, 64, 3), np.uint8), np.zeros((48, 64), np.float32))


def every_effect(tmp_path):
    """One of each effect and finishing wrapper, as the API makes them."""
    from humanseg.effects.finishing import with_finishing

    cv2.imwrite(str(tmp_path / "bg.png"), np.full((20, 30, 3), 90, np.uint8))
    return [Blur(), Color("#00FF00"), Transparent(), MaskOnly(), Overlay(), Image(tmp_path / "bg.png"),
            CommentsBehind(["hi"], under=Color((0, 0, 0))), with_finishing(Blur(), "fast", 0.5, True, 0.5),
            with_finishing(Transparent(), "fast")]


@pytest.mark.parametrize("mask_shape", [(90, 160), (320, 180), (180, 320, 3), (180,)])
def test_a_mask_of_another_size_is_a_one_line_error_naming_both_sizes(scene, tmp_path, mask_shape):
    frame, _ = scene
    for effect in every_effect(tmp_path):
        with pytest.raises(InputError) as caught:
            effect(frame, np.zeros(mask_shape, np.float32))
        message = str(caught.value)
        assert "\n" not in message and "the image is 320x180" in message, (effect, message)
        if len(mask_shape) == 2:
            assert f"mask is {mask_shape[1]}x{mask_shape[0]}" in message


@pytest.mark.parametrize("mask, says", [(np.full((180, 320), 255, np.uint8), "mask is uint8"),
                                        (np.full((180, 320), 3.0, np.float32), "from 3 to 3"),
                                        (np.full((180, 320), -0.5), "from -0.5 to -0.5"),
                                        (np.full((180, 320), np.nan, np.float32), "NaN")])
def test_a_mask_of_another_type_or_range_is_a_one_line_error(scene, tmp_path, mask, says):
    frame, _ = scene
    for effect in every_effect(tmp_path):
        with pytest.raises(InputError, match=says):
            effect(frame, mask)


def test_bool_float64_and_one_channel_masks_are_the_same_mask(scene, tmp_path):
    frame, mask = scene
    for effect in every_effect(tmp_path)[:5]:   # the ones that keep no state between frames
        expected = effect(frame, mask)
        for same in (mask > 0.5, mask.astype(np.float64), mask[..., None], mask * 1.0005):
            assert np.array_equal(effect(frame, same), expected), effect


def test_an_image_effects_cannot_use_is_a_one_line_error(scene):
    frame, mask = scene
    for image, says in ((frame.astype(np.float32), "image is float32 180x320x3"),
                        (frame[..., 0], "image is uint8 180x320"), (np.dstack([frame, mask]), "180x320x4")):
        with pytest.raises(InputError, match=says):
            Blur()(image, mask)


@pytest.mark.parametrize("make, says", [
    (lambda: Color((300, 0, 0)), "three integers 0-255"), (lambda: Color((-1, 0, 0)), "three integers 0-255"),
    (lambda: Color((0, 255)), "three integers 0-255"), (lambda: Overlay(opacity=5), "opacity 5.0 is not in"),
    (lambda: Overlay(opacity=float("nan")), "opacity nan"), (lambda: Overlay("#12345"), "#RRGGBB"),
    (lambda: CommentsBehind(["hi"], color="#zz0000"), "#RRGGBB"), (lambda: CommentsBehind(["", "  "]), "blank"),
    (lambda: CommentsBehind(["hi"], lanes=0), "lanes 0"), (lambda: CommentsBehind(["hi"], speed=float("nan")), "speed"),
    (lambda: CommentsBehind(["hi"], under=Transparent()), "background effect"),
])
def test_effect_settings_it_cannot_use_are_one_line_errors(make, says):
    from humanseg.errors import HumansegError

    with pytest.raises(HumansegError, match=says) as caught:
        make()
    assert "\n" not in str(caught.value)


def test_colours_are_taken_as_hex_or_three_integers_and_one_text_is_one_comment(scene):
    frame, mask = scene
    assert np.array_equal(Overlay("#FF0080")(frame, mask), Overlay((255, 0, 128))(frame, mask))
    assert CommentsBehind(["hi"], color="#FF0000").bgr == (0, 0, 255)
    assert Color(np.array([1, 2, 3])).bgr == (3, 2, 1)
    assert CommentsBehind("hello there").texts == ["hello there"]   # not one comment a letter


@pytest.mark.parametrize("depth", [np.uint8, np.uint16])
def test_a_background_picture_s_transparent_parts_show_the_frame(tmp_path, depth):
    """The alpha of a background PNG used to be dropped: its transparent parts became whatever colour they
    stored (black here). They show the frame's own background now, like a layer in an image editor; an opaque
    picture still replaces the background."""
    from humanseg.effects import effect_from_spec

    full = np.iinfo(depth).max
    picture = np.zeros((40, 60, 4), depth)
    picture[..., 1] = full                     # green, where opaque
    picture[:, 30:, 3] = full                  # right half opaque, left half transparent
    picture[:20, :30, 3] = full // 2           # top-left quarter half transparent
    cv2.imwrite(str(tmp_path / "bg.png"), picture)
    frame = np.full((40, 60, 3), 200, np.uint8)
    out = effect_from_spec(str(tmp_path / "bg.png"))(frame, np.zeros((40, 60), np.float32))
    assert (out[:, 31:] == (0, 255, 0)).all()               # opaque: the picture
    assert (out[21:, :29] == 200).all()                      # transparent: the frame
    assert np.abs(out[2:18, 2:28].astype(int) - (100, 228, 100)).max() <= 2   # half: both, half each
    opaque = picture[..., :3].copy()
    cv2.imwrite(str(tmp_path / "opaque.png"), opaque)
    out = effect_from_spec(str(tmp_path / "opaque.png"))(frame, np.zeros((40, 60), np.float32))
    assert (out[:, :, 1] == 255 if depth == np.uint8 else out[:, :, 1] >= 254).all()

"""CommentsBehind: visible on a still, scrolling in on video, characters the font cannot draw left
out with a warning (never drawn as '?'), and the stable descriptions that folder resume keys on."""
import warnings

import cv2
import numpy as np
import pytest

from humanseg.effects import Blur, Color, CommentsBehind, Image, describe, effect_from_spec
from humanseg.effects.comments import drawable_text
from humanseg.errors import HumansegWarning
from humanseg.runtime.postprocess import PostProcess


@pytest.fixture
def black_scene():
    frame = np.full((180, 320, 3), 90, np.uint8)
    mask = np.zeros((180, 320), np.float32)
    mask[60:180, 130:190] = 1.0
    return frame, mask


def bright_pixels(image: np.ndarray) -> int:
    return int((image.min(axis=2) > 200).sum())


def test_a_still_shows_every_comment_on_the_first_and_only_frame(black_scene):
    frame, mask = black_scene
    video = CommentsBehind(["hi", "second one"], under=Color((0, 0, 0)))
    first_frame = CommentsBehind(["hi"], under=Color((0, 0, 0)))(frame, mask)
    assert bright_pixels(first_frame) == 0                  # video: the first comment enters from the right
    still = CommentsBehind(["hi", "second one"], under=Color((0, 0, 0)), still=True)
    out = still(frame, mask)
    for lane, text in ((1, "hi"), (2, "second one")):       # each text on-screen in its own lane
        y = int(180 / 7 * lane)
        assert bright_pixels(out[y - 10:y + 2]) > 10, text
    assert np.array_equal(out[mask == 1], frame[mask == 1])
    assert np.array_equal(video.as_still()(frame, mask), out) and not video.still


def test_a_still_fits_many_comments_and_long_ones_on_screen(black_scene):
    frame, mask = black_scene
    texts = [f"comment {i}" for i in range(14)] + ["a very long comment that is wider than the frame itself"]
    out = CommentsBehind(texts, under=Color((0, 0, 0)), still=True)(frame, mask)
    rows = [int(180 / 7 * lane) for lane in range(1, 7)]
    assert all(bright_pixels(out[y - 10:y + 2]) > 10 for y in rows)


def test_video_comments_scroll_in_and_move(black_scene):
    frame, mask = black_scene
    effect = CommentsBehind(["hello there"], under=Color((0, 0, 0)), speed=0.05)
    outs = [effect(frame, mask) for _ in range(12)]
    assert bright_pixels(outs[0]) == 0 and bright_pixels(outs[-1]) > 10
    assert not np.array_equal(outs[-1], outs[-2])


def test_characters_the_font_cannot_draw_are_left_out_with_one_warning(black_scene):
    frame, mask = black_scene
    with pytest.warns(HumansegWarning, match="\U0001F44D") as caught:
        with_emoji = CommentsBehind(["nice \U0001F44D\U0001F3FD", "\u4f60\u597d"], under=Color((0, 0, 0)), still=True)
    assert len(caught) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")                     # accents are drawn without a warning
        plain = CommentsBehind(["nice", ""], under=Color((0, 0, 0)), still=True)
        assert drawable_text("caf\u00e9 na\u00efve") == ("cafe naive", set())
    assert np.array_equal(with_emoji(frame, mask), plain(frame, mask))      # no "?" drawn for the emoji


def test_describe_is_stable_and_follows_the_settings(tmp_path, black_scene):
    frame, mask = black_scene
    assert describe(Blur(3)) == describe(Blur(3.0)) != describe(Blur(4))
    assert describe(effect_from_spec("color:#000000")) != describe(effect_from_spec("color:#FFFFFF"))
    effect = effect_from_spec("blur", comments=["hi"])
    before = describe(effect)
    effect(frame, mask)                                    # frame counter advances: not a setting
    assert describe(effect) == before != describe(effect_from_spec("blur", comments=["ho"]))
    assert describe(PostProcess()) == describe(PostProcess()) != describe(PostProcess(threshold=0.5))
    assert "0x" not in before and "0x" not in describe(PostProcess(gate=(1, 2)))
    path = tmp_path / "bg.png"
    cv2.imwrite(str(path), np.zeros((20, 20, 3), np.uint8))
    first = describe(Image(path))
    assert describe(Image(path)) == first
    cv2.imwrite(str(path), np.full((20, 30, 3), 255, np.uint8))        # same name, new picture
    assert describe(Image(path)) != first


def test_comments_scroll_at_the_same_pace_in_seconds_at_any_frame_rate():
    """speed is per frame at 30 fps; at 60 fps (play_at) each frame moves half as far, so a second of video
    moves the comments the same distance."""
    frame, mask = np.full((72, 128, 3), 90, np.uint8), np.zeros((72, 128), np.float32)

    def positions(rate, frames):
        effect = CommentsBehind(["hello"], speed=0.05)
        if rate:
            effect.play_at(rate)
        for _ in range(frames):
            effect.background(frame, mask)
        return effect._x_positions(128, [20])

    assert positions(60, 20) == positions(30, 10) == positions(None, 10)
    assert positions(60, 10) != positions(30, 10)

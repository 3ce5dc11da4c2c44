"""The aspect-adaptive canvas shared by inference and training."""
import math

import pytest

from humanseg.runtime.canvas import adaptive_canvas

SHAPES = [(1280, 720), (720, 1280), (600, 800), (800, 600), (600, 600), (550, 825), (97, 61), (1364, 720), (1, 1)]


@pytest.mark.parametrize("w,h", SHAPES)
@pytest.mark.parametrize("pixels,stride", [(256 * 144, 16), (256 * 144, 32), (2 * 256 * 144, 16)])
def test_canvas_is_within_budget_stride_aligned_and_close_to_the_frame_aspect(w, h, pixels, stride):
    cw, ch = adaptive_canvas(w, h, pixels, stride)
    assert cw % stride == 0 and ch % stride == 0 and cw >= stride and ch >= stride
    assert cw * ch <= pixels
    assert cw * ch >= 0.75 * pixels  # the budget is used, not wasted on a small canvas
    assert abs(math.log((cw / ch) / (w / h))) < math.log(1.15)  # padding is a sliver


def test_video_frames_get_the_classic_canvas_and_square_photos_a_square_one():
    assert adaptive_canvas(1280, 720, 256 * 144) == (256, 144)
    assert adaptive_canvas(720, 1280, 256 * 144) == (144, 256)
    assert adaptive_canvas(600, 600, 256 * 144) == (192, 192)  # was 144x146 of content on a 144x256 canvas


def test_extreme_panoramas_are_clamped_to_three_to_one():
    cw, ch = adaptive_canvas(3000, 100, 256 * 144)
    assert 2.5 <= cw / ch <= 3.0


def test_bad_arguments_raise():
    with pytest.raises(ValueError):
        adaptive_canvas(0, 10, 100)

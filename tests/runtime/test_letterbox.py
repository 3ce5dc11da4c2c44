import numpy as np
import pytest

from humanseg.runtime.letterbox import canvas_for, letterbox, normalize_rgb, unletterbox


@pytest.mark.parametrize("h,w", [(720, 1280), (800, 600), (33, 47), (144, 256), (1, 1000)])
def test_letterbox_keeps_aspect_and_roundtrips(h, w):
    img = np.random.default_rng(0).integers(0, 255, (h, w, 3), dtype=np.uint8)
    size = canvas_for(img.shape)
    canvas, box = letterbox(img, size)
    assert canvas.shape == (size[1], size[0], 3)
    assert abs(box.width / box.height - w / h) <= max(1 / box.height, 1 / box.width) * (w / h) + 0.05
    assert box.x >= 0 and box.y >= 0 and box.x + box.width <= size[0] and box.y + box.height <= size[1]
    prob = np.zeros((size[1], size[0]), np.float32)
    prob[box.y:box.y + box.height, box.x:box.x + box.width] = 1.0
    back = unletterbox(prob, box, (w, h))
    assert back.shape == (h, w) and back.min() == 1.0   # padding never leaks into the frame


def test_orientation_picks_canvas():
    assert canvas_for((720, 1280)) == (256, 144)
    assert canvas_for((1280, 720)) == (144, 256)


def test_normalize_range_and_layout():
    x = normalize_rgb(np.array([[[0, 127, 255]]], np.uint8))
    assert x.shape == (1, 3, 1, 1)
    assert x[0, :, 0, 0] == pytest.approx([-1.0, -0.00392, 1.0], abs=1e-3)


def test_letterbox_keeps_a_single_channel():
    canvas, box = letterbox(np.full((10, 100, 1), 200, np.uint8), (64, 32))
    assert canvas.shape == (32, 64, 1) and canvas.dtype == np.uint8
    assert (canvas[box.y:box.y + box.height, box.x:box.x + box.width] == 200).all()

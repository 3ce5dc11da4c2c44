"""Foreground colour estimation removes a known colour spill and never touches opaque pixels."""
import sys

import numpy as np
import pytest

from humanseg.errors import InputError
from humanseg.matting.foreground import (estimate_foreground, estimate_foreground_fast, estimate_foreground_ml)

PERSON = np.array((200, 160, 40), np.float32)    # BGR: a blue-ish person ...
RED = np.array((0, 0, 255), np.float32)          # ... shot in front of a red background


def spill_scene(h=360, w=640, ramp=10.0, textured=False):
    """(image uint8, alpha float32, true foreground float32): the person blended with red over a soft, round
    edge `ramp` px wide (I = aF + (1 - a)B). textured: the person's colour varies slowly across the frame."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    dist = np.hypot(xx - w / 2, yy - h * 0.6) - min(h, w) * 0.35     # < 0 inside the person
    alpha = np.clip(0.5 - dist / ramp, 0, 1).astype(np.float32)
    fg = np.broadcast_to(PERSON, (h, w, 3)).copy()
    if textured:
        fg[..., 1] += 50 * np.sin(xx / 60)
        fg[..., 0] -= 40 * np.cos(yy / 45)
    a3 = alpha[..., None]
    image = np.clip(a3 * fg + (1 - a3) * RED + 0.5, 0, 255).astype(np.uint8)
    return image, alpha, fg


def spill_errors(estimate, image, alpha, fg):
    """Mean absolute error (0-255) to the true foreground over the soft edge, for the estimate and the raw image."""
    edge = (alpha > 0.1) & (alpha < 0.9)
    return (np.abs(estimate[edge].astype(np.float32) - fg[edge]).mean(),
            np.abs(image[edge].astype(np.float32) - fg[edge]).mean())


@pytest.mark.parametrize("textured", [False, True])
@pytest.mark.parametrize("ramp", [4.0, 10.0])
def test_fast_estimate_removes_a_known_red_spill(ramp, textured):
    image, alpha, fg = spill_scene(ramp=ramp, textured=textured)
    est, raw = spill_errors(estimate_foreground_fast(image, alpha), image, alpha, fg)
    assert raw > 40                       # the raw edge is far from the person's colour ...
    assert est < 6 and est < raw / 10     # ... the estimate close to it
    red_left = estimate_foreground_fast(image, alpha)[(alpha > 0.1) & (alpha < 0.9)][:, 2].astype(float).mean()
    assert red_left < PERSON[2] + 10      # the red channel no longer carries the old background


def test_ml_estimate_removes_a_known_red_spill():
    pytest.importorskip("pymatting")
    image, alpha, fg = spill_scene(h=120, w=200, ramp=8.0, textured=True)
    est, raw = spill_errors(estimate_foreground_ml(image, alpha), image, alpha, fg)
    assert raw > 40 and est < 6 and est < raw / 10


@pytest.mark.parametrize("method", ["fast", "ml"])
def test_opaque_pixels_are_the_frame_itself(method):
    if method == "ml":
        pytest.importorskip("pymatting")
    image, alpha, _ = spill_scene(h=90, w=160, ramp=6.0, textured=True)
    out = estimate_foreground(image, alpha, method)
    assert out.shape == image.shape and out.dtype == np.uint8
    assert np.array_equal(out[alpha >= 1], image[alpha >= 1])


def test_hard_masks_and_tiny_or_odd_frames():
    rng = np.random.default_rng(0)
    for h, w in ((1, 1), (2, 3), (7, 5), (33, 17)):
        image = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
        hard = (rng.random((h, w)) > 0.5).astype(np.float32)
        assert np.array_equal(estimate_foreground_fast(image, hard), image)      # no soft edge: nothing to do
        soft = rng.random((h, w)).astype(np.float32)
        assert estimate_foreground_fast(image, soft).shape == (h, w, 3)
    assert np.array_equal(estimate_foreground(image, soft, "none"), image)


def test_unknown_method_and_bad_shapes():
    image, alpha, _ = spill_scene(h=20, w=30)
    with pytest.raises(InputError, match="not one of fast, ml, none"):
        estimate_foreground(image, alpha, "magic")
    with pytest.raises(ValueError):
        estimate_foreground_fast(image, alpha[:10])
    with pytest.raises(ValueError):
        estimate_foreground_fast(image.astype(np.float32), alpha)


def test_ml_without_pymatting_names_the_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "pymatting", None)     # `import pymatting` now fails
    image, alpha, _ = spill_scene(h=20, w=30)
    with pytest.raises(ImportError, match=r"humanseg\[matte\]") as info:
        estimate_foreground_ml(image, alpha)
    assert info.value.name == "pymatting"


def test_ml_estimate_on_images_too_small_for_its_pyramid():
    pytest.importorskip("pymatting")
    rng = np.random.default_rng(1)
    for h, w in ((1, 1), (1, 2), (2, 2)):          # 1x1: pymatting's pyramid has no level (ZeroDivisionError)
        image = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
        out = estimate_foreground_ml(image, np.full((h, w), 0.5, np.float32))
        assert out.shape == (h, w, 3) and out.dtype == np.uint8

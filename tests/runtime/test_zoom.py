import numpy as np
import pytest

from humanseg import Segmenter
from humanseg.errors import ModelError
from humanseg.runtime.zoom import ZOOM_MARGIN, zoom_box
from tests.runtime.test_adaptive import Recorder
from tests.runtime.tiny_models import write_tiny_model


def test_zoom_box_grows_the_person_box_and_only_takes_small_ones():
    mask = np.zeros((400, 600), np.float32)
    mask[100:200, 300:350] = 0.9                         # 100 x 50 px: 2 % of the frame
    y0, y1, x0, x1 = zoom_box(mask, 0.5)
    assert (y0, y1, x0, x1) == (100 - 20, 200 + 20, 300 - 10, 350 + 10)   # ZOOM_MARGIN of the size each side
    assert ZOOM_MARGIN == 0.2
    assert zoom_box(mask, 0.03) is None                  # 140 x 70 px is 4 % of the frame: not under 3 %
    mask[390:, 590:] = 0.6                               # a second region far away: one box around both
    assert zoom_box(mask, 0.9) == (40, 400, 240, 600)    # grown by 0.2 x 300 px, clipped to the frame
    assert zoom_box(np.zeros((400, 600), np.float32), 0.5) is None      # nobody
    speck = np.zeros((400, 600), np.float32)
    speck[10:14, 10:14] = 1.0
    assert zoom_box(speck, 0.5) is None                  # a speck is not worth a close look
    tiny = np.zeros((1200, 1800), np.float32)
    tiny[600:720, 800:860] = 0.9                         # a small person: 0.5-2 % of a large photo with its margin
    assert zoom_box(tiny, 0.5) == (576, 744, 788, 872)


def test_small_people_are_segmented_again_close_up_and_big_ones_are_not(tmp_path):
    path = write_tiny_model(tmp_path / "zoom.onnx", extra_metadata={"humanseg.still_zoom": "0.5"})
    seg = Segmenter(path, threads=1, canvas_pixels="still", mirror_average=False)
    assert seg.zoom_share() == 0.5 and Segmenter(path, threads=1).zoom_share() == 0.0        # video: never
    assert Segmenter(path, threads=1, canvas_pixels="still", photo_recipe="fast").zoom_share() == 0.0
    small = np.zeros((720, 1280, 3), np.uint8)
    small[300:480, 600:690] = 255                         # a small white "person": 180 x 90 px
    runs = Recorder(seg)
    mask = seg.segment(small)
    assert len(runs.inputs) == 2                          # the photo, then the box around the person
    first, second = runs.inputs[0].shape[2:], runs.inputs[1].shape[2:]
    assert second[0] > second[1] and first[0] < first[1]  # the close-up is the tall box's own shape
    assert mask.shape == (720, 1280) and (mask[300:480, 600:690] >= 0.5).all() and (mask[:250] < 0.5).all()
    plain = Segmenter(write_tiny_model(tmp_path / "plain.onnx"), threads=1, canvas_pixels="still", mirror_average=False)
    edge = np.abs(mask - plain.segment(small))
    assert edge.max() > 0.01 and edge[:200].max() == 0    # the close-up changes the person's edge, nothing far off
    big = np.zeros((720, 1280, 3), np.uint8)
    big[50:700, 200:1100] = 255
    runs.inputs.clear()
    seg.segment(big)
    assert len(runs.inputs) == 1                          # fills most of the photo: one look
    for bad in ("0.004", "0.95", "x"):
        with pytest.raises(ModelError):
            Segmenter(write_tiny_model(tmp_path / "bad.onnx", extra_metadata={"humanseg.still_zoom": bad}), threads=1)

"""Mirror averaging: the network's output for a canvas and for its mirror image, averaged (photos' default)."""
import argparse

import cv2
import numpy as np
import pytest

from humanseg import Segmenter


@pytest.fixture(scope="module")
def frame(example_image):
    # 512x288 on a 36864-pixel budget is a 256x144 canvas, an exact 2x reduction with no padding, so the
    # canvas of the mirrored frame is the mirror of the frame's canvas
    return cv2.resize(example_image, (512, 288), interpolation=cv2.INTER_AREA)


def test_averaged_masks_are_mirror_symmetric_and_plain_ones_are_not(frame):
    seg = Segmenter("portrait", threads=1, canvas_pixels=36864)
    mirrored = np.ascontiguousarray(frame[:, ::-1])
    plain = np.abs(seg.segment(frame, mirror_average=False) - seg.segment(mirrored, mirror_average=False)[:, ::-1])
    averaged = np.abs(seg.segment(frame, mirror_average=True) - seg.segment(mirrored, mirror_average=True)[:, ::-1])
    assert plain.max() > 0.05            # the network alone is not symmetric: the check below can fail
    assert averaged.max() < 2e-3


def test_the_average_lies_between_the_two_passes(frame):
    seg = Segmenter("portrait", threads=1, canvas_pixels=36864)
    one = seg.segment(frame, mirror_average=False)
    other = seg.segment(np.ascontiguousarray(frame[:, ::-1]), mirror_average=False)[:, ::-1]
    both = seg.segment(frame, mirror_average=True)
    # between the two up to the few 1e-3 by which resizing a mirrored frame differs from mirroring a resized one
    assert np.all(both >= np.minimum(one, other) - 2e-3) and np.all(both <= np.maximum(one, other) + 2e-3)
    assert np.abs(both - one).max() > 0.02 and np.abs(both - other).max() > 0.02


def test_photos_average_by_default_and_video_does_not(frame):
    assert Segmenter("portrait", canvas_pixels="still").mirror_average
    assert not Segmenter("portrait").mirror_average and not Segmenter("portrait", canvas_pixels="video").mirror_average
    assert not Segmenter("portrait", canvas_pixels="still", mirror_average=False).mirror_average
    seg = Segmenter("portrait", threads=1, canvas_pixels=36864, mirror_average=True)
    assert np.array_equal(seg.segment(frame), seg.segment(frame, mirror_average=True))
    assert not np.array_equal(seg.segment(frame), seg.segment(frame, mirror_average=False))


@pytest.mark.parametrize("choice, use, expected", [("auto", "still", True), ("auto", "video", False),
                                                    ("auto", "batch", None), ("on", "video", True),
                                                    ("off", "still", False), ("off", "batch", False)])
def test_the_cli_option_maps_to_the_segmenter(choice, use, expected):
    from humanseg.cli import mirror_average

    assert mirror_average(argparse.Namespace(mirror_average=choice), use) is expected


def test_batch_outputs_made_with_and_without_it_are_told_apart():
    from humanseg.batch import BatchSettings

    auto, off = BatchSettings(), BatchSettings(mirror_average=False)
    assert auto.mirror_for("image") and not auto.mirror_for("video")
    assert auto.describe("image") != off.describe("image")
    assert auto.describe("video") == off.describe("video")

import errno
import os

import cv2
import numpy as np
import pytest

from humanseg.errors import InputError, OutputError
from humanseg.io.images import read_image, write_image
from humanseg.api import convert_image


def test_reads_gray_rgba_16bit_as_bgr8(tmp_path):
    gray = np.full((20, 30), 100, np.uint8)
    rgba = np.dstack([np.full((20, 30, 3), 50, np.uint8), np.full((20, 30), 128, np.uint8)])
    deep = np.full((20, 30, 3), 65535, np.uint16)
    for name, img in (("g.png", gray), ("a.png", rgba), ("d.png", deep)):
        cv2.imwrite(str(tmp_path / name), img)
        out = read_image(tmp_path / name)
        assert out.shape == (20, 30, 3) and out.dtype == np.uint8
    assert read_image(tmp_path / "d.png").max() == 255


@pytest.mark.parametrize("content,match", [
    (None, "no such file"),
    (b"", "empty"),
    (b"this is not an image at all", "not a readable image"),
])
def test_unusable_inputs_are_named_errors(tmp_path, content, match):
    path = tmp_path / "in.jpg"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError, match=match) as info:
        read_image(path)
    assert str(path) in str(info.value)


def test_truncated_jpeg(tmp_path, example_image):
    ok, data = cv2.imencode(".jpg", example_image)
    path = tmp_path / "cut.jpg"
    path.write_bytes(data.tobytes()[:200])
    with pytest.raises(InputError):
        read_image(path)


def test_absurdly_large_image_is_refused(tmp_path, monkeypatch):
    import humanseg.io.images as images

    monkeypatch.setattr(images, "MAX_PIXELS", 100)
    path = tmp_path / "big.png"
    cv2.imwrite(str(path), np.zeros((20, 20, 3), np.uint8))
    with pytest.raises(InputError, match="limit"):
        read_image(path)


def test_output_equal_to_input_is_refused_and_input_kept(tmp_path, example_image, segmenter):
    path = tmp_path / "photo.jpg"
    cv2.imwrite(str(path), example_image)
    before = path.read_bytes()
    with pytest.raises(OutputError, match="input"):
        convert_image(path, path, segmenter=segmenter)
    with pytest.raises(OutputError, match="input"):
        convert_image(path, tmp_path / "." / "photo.jpg", segmenter=segmenter)
    assert path.read_bytes() == before


def test_full_disk_leaves_no_partial_file(tmp_path, monkeypatch):
    def no_space(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", no_space)
    target = tmp_path / "out.png"
    with pytest.raises(OutputError, match="space"):
        write_image(target, np.zeros((4, 4, 3), np.uint8))
    assert list(tmp_path.iterdir()) == []


def test_transparent_jpeg_is_refused(tmp_path):
    with pytest.raises(OutputError, match="transparency"):
        write_image(tmp_path / "x.jpg", np.zeros((4, 4, 4), np.uint8))

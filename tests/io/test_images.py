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


def test_a_video_given_as_an_image_points_to_the_video_command(tmp_path):
    from tests.conftest import make_video

    clip = make_video(tmp_path / "clip.mp4", n=2, size=(32, 24), fps=10, audio=False)
    with pytest.raises(InputError, match="is a video, not an image; use `humanseg video`"):
        read_image(clip)


def test_every_reader_takes_the_same_image_types(tmp_path):
    """A dataset of .tif photos is found by eval and training as `humanseg image` reads them (one list)."""
    from humanseg.io import folders, images, suffixes
    from humanseg.io.folders import find_pairs

    assert folders.IMAGE_SUFFIXES is images.IMAGE_SUFFIXES is suffixes.IMAGE_SUFFIXES
    for sub in ("images", "masks"):
        (tmp_path / "src" / sub).mkdir(parents=True)
    cv2.imwrite(str(tmp_path / "src" / "images" / "a.tif"), np.full((8, 8, 3), 90, np.uint8))
    cv2.imwrite(str(tmp_path / "src" / "masks" / "a.tiff"), np.full((8, 8), 255, np.uint8))
    assert [p.image.name for p in find_pairs(tmp_path)] == ["a.tif"]


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


def exif_photo(path, orientation: int, fmt: str = "JPEG"):
    """A 480x360 (landscape as stored) photo whose EXIF says how to turn it; white block at the stored top left."""
    from PIL import Image

    stored = np.full((360, 480, 3), 40, np.uint8)
    stored[:60, :120] = 255
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(stored).save(path, fmt, exif=exif, **({"quality": 95} if fmt == "JPEG" else {}))
    return path


def test_exif_orientation_is_applied_like_a_photo_viewer(tmp_path):
    """A phone portrait stored 480x360 with Orientation=6 reads upright: 360 wide, 480 high."""
    out = read_image(exif_photo(tmp_path / "phone.jpg", 6))
    assert out.shape == (480, 360, 3)
    # rotated 90 degrees clockwise: the stored top-left block is now at the top right
    assert out[:100, -50:].mean() > 200 and out[:100, :50].mean() < 100


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_matches_pillow(tmp_path, orientation):
    from PIL import Image, ImageOps

    path = exif_photo(tmp_path / "o.png", orientation, "PNG")   # lossless: exact comparison
    with Image.open(path) as im:
        expected = cv2.cvtColor(np.asarray(ImageOps.exif_transpose(im).convert("RGB")), cv2.COLOR_RGB2BGR)
    assert np.array_equal(read_image(path), expected)


def test_exif_portrait_comes_out_upright_from_the_cli(tmp_path, segmenter):
    convert_image(exif_photo(tmp_path / "phone.jpg", 6), tmp_path / "out.png", segmenter=segmenter)
    assert cv2.imread(str(tmp_path / "out.png"), cv2.IMREAD_UNCHANGED).shape[:2] == (480, 360)


def test_pixel_limit_is_checked_before_decoding(tmp_path, monkeypatch):
    """A deflate TIFF tiny on disk but 12000x12000 in pixels is refused from its header."""
    from PIL import Image

    import humanseg.io.image_bytes as image_bytes

    path = tmp_path / "huge.tif"
    Image.new("1", (12000, 12000)).save(path, compression="tiff_adobe_deflate")
    assert path.stat().st_size < 100_000
    monkeypatch.setattr(image_bytes.cv2, "imdecode", lambda *a: pytest.fail("decoded a too-large image"))
    with pytest.raises(InputError, match="12000x12000.*limit"):
        read_image(path)


@pytest.mark.parametrize("error, match", [(PermissionError(errno.EACCES, "Permission denied"), "permission denied"),
                                          (OSError(errno.EIO, "Input/output error"), r"cannot read \(Input/output")])
def test_a_file_that_cannot_be_read_is_a_named_error(tmp_path, monkeypatch, error, match):
    path = tmp_path / "in.png"
    cv2.imwrite(str(path), np.zeros((4, 4, 3), np.uint8))

    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(np, "fromfile", fail)
    with pytest.raises(InputError, match=match) as info:
        read_image(path)
    assert str(info.value).startswith(f"{path}: ")

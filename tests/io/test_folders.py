"""Finding image/label pairs: one rule for eval and the training store, whatever the suffixes."""
import cv2
import numpy as np
import pytest

from humanseg.errors import HumansegWarning
from humanseg.io.folders import find_pairs, label_files


def _write(path, value=255):
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((8, 8), value, np.uint8))


def test_two_masks_of_one_stem_use_the_png_and_say_so(tmp_path):
    _write(tmp_path / "s" / "images" / "a.jpg", 90)
    _write(tmp_path / "s" / "masks" / "a.jpg", 0)    # listed first by name; the PNG must win anyway
    _write(tmp_path / "s" / "masks" / "a.png", 255)
    with pytest.warns(HumansegWarning, match=r"a \(a.jpg, a.png: a.png used\)"):
        pairs = find_pairs(tmp_path)
    assert [p.mask.name for p in pairs] == ["a.png"]


def test_one_mask_per_stem_warns_nothing_and_any_suffix_case_is_found(tmp_path, recwarn):
    _write(tmp_path / "s" / "images" / "a.jpg")
    _write(tmp_path / "s" / "images" / "b.jpg")
    _write(tmp_path / "s" / "masks" / "a.PNG")
    _write(tmp_path / "s" / "masks" / "b.tif")
    assert {p.image.name: p.mask.name for p in find_pairs(tmp_path)} == {"a.jpg": "a.PNG", "b.jpg": "b.tif"}
    assert not [w for w in recwarn if issubclass(w.category, HumansegWarning)]
    assert label_files(tmp_path / "nowhere") == {}


def test_the_training_store_finds_the_same_masks_as_eval(tmp_path):
    pytest.importorskip("torch")
    from humanseg.training.data.tensor_store import find_items

    _write(tmp_path / "s" / "images" / "a.jpg")
    _write(tmp_path / "s" / "images" / "b.jpg")
    _write(tmp_path / "s" / "masks" / "a.tif")     # the store used to look for .png/.jpg/.jpeg/.bmp/.webp only
    _write(tmp_path / "s" / "masks" / "b.PNG")
    _write(tmp_path / "s" / "soft" / "b.png")
    items = find_items(tmp_path, need_mask=True)
    assert [(it.image.name, it.mask.name, it.soft and it.soft.name) for it in items] == \
        [("a.jpg", "a.tif", None), ("b.jpg", "b.PNG", "b.png")]
    assert [(p.image, p.mask) for p in find_pairs(tmp_path)] == [(it.image, it.mask) for it in items]

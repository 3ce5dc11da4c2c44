"""Masks in other formats than 8-bit 0/255 mean the same person to training, its validation and `humanseg eval`."""
import cv2
import numpy as np
import pytest

pytest.importorskip("torch")

from humanseg.evaluation.evaluate import read_label  # noqa: E402
from humanseg.io.folders import Pair  # noqa: E402
from humanseg.training.data.folders import load_pair  # noqa: E402
from humanseg.training.data.tensor_store import StoreItem, build_store  # noqa: E402

PERSON = np.zeros((48, 64), bool)
PERSON[10:40, 20:44] = True
INK, OPAQUE = np.zeros(PERSON.shape, np.uint8), np.full(PERSON.shape, 255, np.uint8)

FORMATS = {
    "0/255": PERSON.astype(np.uint8) * 255,
    "0/1": PERSON.astype(np.uint8),
    "16-bit 0/65535": PERSON.astype(np.uint16) * 65535,
    "16-bit 0/1": PERSON.astype(np.uint16),
    "colour 0/255": np.dstack([PERSON.astype(np.uint8) * 255] * 3),
    "RGBA colour 0/255, opaque": np.dstack([PERSON.astype(np.uint8) * 255] * 3 + [OPAQUE]),
    "RGBA black, person in alpha": np.dstack([INK] * 3 + [PERSON.astype(np.uint8) * 255]),
    "RGBA white, person in alpha": np.dstack([OPAQUE] * 3 + [PERSON.astype(np.uint8) * 255]),
}


@pytest.mark.parametrize("name", FORMATS)
def test_every_reader_finds_the_same_person_in_each_mask_format(name, tmp_path):
    image, mask, reference = tmp_path / "a.jpg", tmp_path / "a.png", tmp_path / "ref.png"
    cv2.imwrite(str(image), np.full((48, 64, 3), 128, np.uint8))
    assert cv2.imwrite(str(mask), FORMATS[name]) and cv2.imwrite(str(reference), FORMATS["0/255"])

    assert read_label(mask, (48, 64)).tolist() == PERSON.tolist()                    # humanseg eval
    assert load_pair(Pair(image, mask))[1].astype(bool).tolist() == PERSON.tolist()  # validation while training
    store = build_store([StoreItem(image, mask)], size=64, threads=1)                # the training batches
    assert int((store.masks > 127).sum()) > 0
    assert store.masks.tolist() == build_store([StoreItem(image, reference)], size=64, threads=1).masks.tolist()


def test_a_cache_written_by_an_older_decoder_is_not_reused(tmp_path, monkeypatch):
    """An older humanseg cached 0/1 masks as empty: the cache key changes with STORE_VERSION, so it is rebuilt."""
    from humanseg.training.data import tensor_store

    image = tmp_path / "a.png"
    cv2.imwrite(str(image), np.zeros((8, 8, 3), np.uint8))
    key = tensor_store.files_key([image], 64)
    assert tensor_store.files_key([image], 64) == key            # stable for the same files
    monkeypatch.setattr(tensor_store, "STORE_VERSION", tensor_store.STORE_VERSION - 1)
    assert tensor_store.files_key([image], 64) != key

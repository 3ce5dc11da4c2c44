"""benchmarks/turned_val.py: the sideways copy of a validation set."""
import importlib.util
from pathlib import Path

import cv2
import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "turned_val.py"
spec = importlib.util.spec_from_file_location("turned_val", SCRIPT)
turned_val = importlib.util.module_from_spec(spec)
spec.loader.exec_module(turned_val)


def test_photos_and_masks_are_turned_clockwise_and_the_source_is_kept(tmp_path):
    data = tmp_path / "val"
    (data / "src" / "images").mkdir(parents=True), (data / "src" / "masks").mkdir(parents=True)
    image = np.random.default_rng(0).integers(0, 255, (4, 6, 3), dtype=np.uint8)
    mask = np.zeros((4, 6), np.uint8)
    mask[0, :2] = 255  # top-left corner: after a clockwise turn, the top-right
    cv2.imwrite(str(data / "src" / "images" / "a.png"), image)
    cv2.imwrite(str(data / "src" / "masks" / "a.png"), mask)
    assert turned_val.turn_dataset(data, tmp_path / "out") == 2
    got_image = cv2.imread(str(tmp_path / "out" / "src" / "images" / "a.png"))
    got_mask = cv2.imread(str(tmp_path / "out" / "src" / "masks" / "a.png"), cv2.IMREAD_GRAYSCALE)
    assert np.array_equal(got_image, np.rot90(image, -1)) and got_mask.shape == (6, 4)
    assert got_mask[:2, 3].tolist() == [255, 255] and int(got_mask.sum()) == 2 * 255
    assert cv2.imread(str(data / "src" / "images" / "a.png")).shape == (4, 6, 3)
    with pytest.raises(FileExistsError):
        turned_val.turn_dataset(data, tmp_path / "out")
    with pytest.raises(ValueError, match="inside"):
        turned_val.turn_dataset(data, data / "turned")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary left

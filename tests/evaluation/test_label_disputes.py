"""tools/label_disputes.py: photos whose mask both teachers dispute are listed, lowest first; the rest are not."""
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[2]
TOOL = [sys.executable, str(REPO / "tools" / "label_disputes.py")]


def photo(root: Path, stem: str, mask_box, teacher_box, rvm_box=None) -> None:
    """A 60x80 photo whose mask is mask_box and whose teacher labels (MediaPipe, RVM) are teacher_box/rvm_box."""
    for sub in ("images", "masks", "soft"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(root / "images" / f"{stem}.jpg"), np.full((60, 80, 3), 120, np.uint8))
    mask = np.zeros((60, 80), np.uint8)
    y0, y1, x0, x1 = mask_box
    mask[y0:y1, x0:x1] = 255
    cv2.imwrite(str(root / "masks" / f"{stem}.png"), mask)
    bgra = np.zeros((30, 40, 4), np.uint8)   # teacher labels are stored smaller than the photo
    y0, y1, x0, x1 = (v // 2 for v in teacher_box)
    bgra[y0:y1, x0:x1, 0] = 255
    y0, y1, x0, x1 = (v // 2 for v in (rvm_box or teacher_box))
    bgra[y0:y1, x0:x1, 3] = 255
    ok, data = cv2.imencode(".png", bgra)
    (root / "soft" / f"{stem}.png").write_bytes(data.tobytes())


def test_wrong_masks_are_listed_lowest_first_and_a_montage_is_written(tmp_path):
    src = tmp_path / "data" / "train" / "people"
    photo(src, "good", (10, 50, 20, 60), (10, 50, 20, 60))
    photo(src, "shadow_drawn_in", (10, 60, 20, 80), (10, 50, 20, 60))     # mask much larger: IoU 0.53
    photo(src, "hair_left_out", (20, 50, 20, 60), (10, 50, 20, 60))       # mask smaller: IoU 0.75
    photo(src, "teachers_differ", (20, 50, 20, 60), (10, 50, 20, 60), (30, 60, 0, 40))
    r = subprocess.run(TOOL + [str(tmp_path / "data"), "--montage", str(tmp_path / "m.png")], capture_output=True,
                       text=True, cwd=REPO)
    assert r.returncode == 0, r.stderr
    listed = [line.split(":")[0].strip() for line in r.stdout.splitlines() if line.startswith("  ")]
    assert listed == ["people/shadow_drawn_in", "people/hair_left_out"]
    assert "people: 4 photos" in r.stdout
    assert cv2.imread(str(tmp_path / "m.png")).shape[0] == 2 * 200


def test_a_missing_split_or_no_teacher_labels_is_a_one_line_error(tmp_path):
    r = subprocess.run(TOOL + [str(tmp_path)], capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "no such folder" in r.stderr
    (tmp_path / "train" / "people" / "images").mkdir(parents=True)
    r = subprocess.run(TOOL + [str(tmp_path)], capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "no photo has both" in r.stderr


def test_a_montage_path_that_cannot_be_written_is_refused_before_the_scan_and_no_mask_is_replaced(tmp_path):
    src = tmp_path / "data" / "train" / "people"
    photo(src, "shadow_drawn_in", (10, 60, 20, 80), (10, 50, 20, 60))
    mask = src / "masks" / "shadow_drawn_in.png"
    kept = mask.read_bytes()
    (tmp_path / "folder.png").mkdir()
    cases = [(["--montage", str(mask)], "is inside the data folder"),
             (["--montage", str(tmp_path / "folder.png")], "is a folder"),
             (["--montage", str(tmp_path / "missing" / "m.png")], "its folder does not exist"),
             (["--montage", str(tmp_path / "m.png"), "--show", "0"], "--show: 0 is not a positive number")]
    for extra, says in cases:
        r = subprocess.run(TOOL + [str(tmp_path / "data"), *extra], capture_output=True, text=True, cwd=REPO)
        assert r.returncode == 2 and "Traceback" not in r.stderr and says in r.stderr, (extra, r.stderr)
    assert mask.read_bytes() == kept and not (tmp_path / "m.png").exists()

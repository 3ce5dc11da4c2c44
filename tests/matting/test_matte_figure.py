"""tools/matte_figure.py: a wrong argument is a one-line error, and the figure never replaces an input."""
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
TOOL = [sys.executable, str(REPO / "tools" / "matte_figure.py")]


@pytest.mark.parametrize("args, says", [
    (["{image}", "{image}"], "output path is the input"),
    (["{image}", "{tmp}/fig.jpg", "--reference", "{tmp}/fig.jpg"], "is the --reference alpha"),
    (["{tmp}/missing.jpg", "{tmp}/fig.jpg"], "missing.jpg: no such file"),
    (["{image}", "{tmp}/fig.xyz"], "unsupported output type '.xyz'"),
    (["{image}", "{tmp}/no_folder/fig.jpg"], "output folder does not exist"),
    (["{image}", "{tmp}/fig.jpg", "--crop", "1,2"], "expected X,Y,W,H"),
    (["{image}", "{tmp}/fig.jpg", "--crop", "0,0,0,0"], "W and H 1 or more"),
    (["{image}", "{tmp}/fig.jpg", "--crop", "40,0,80,20"], "reaches outside the 80x60 image"),
    (["{image}", "{tmp}/fig.jpg", "--height", "0"], "use 1 or more"),
    (["{image}", "{tmp}/fig.jpg", "--reference", "{tmp}/missing.png"], "missing.png: no such file"),
    (["{image}", "{tmp}/fig.jpg", "--reference", "{tmp}/small.png"], "not the image's 80x60"),
])
def test_a_wrong_argument_is_one_line_and_keeps_the_inputs(tmp_path, args, says):
    image = tmp_path / "photo.jpg"
    cv2.imwrite(str(image), np.full((60, 80, 3), 120, np.uint8))
    cv2.imwrite(str(tmp_path / "small.png"), np.zeros((6, 8), np.uint8))
    kept = image.read_bytes()
    argv = [a.format(image=image, tmp=tmp_path) for a in args]
    r = subprocess.run(TOOL + argv + ["--matte", "portrait"], capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 2 and "Traceback" not in r.stderr and says in r.stderr, r.stderr
    assert image.read_bytes() == kept and not (tmp_path / "fig.jpg").exists()

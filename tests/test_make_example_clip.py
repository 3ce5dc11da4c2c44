"""tools/make_example_clip.py: --help writes nothing, and an interrupted run keeps the earlier clip whole."""
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("av")
pytest.importorskip("skimage")

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def tool(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("make_example_clip", REPO / "tools" / "make_example_clip.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "OUT", tmp_path)
    return module


def test_help_explains_and_writes_nothing(tool, tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["make_example_clip.py", "--help"])
    with pytest.raises(SystemExit) as done:
        tool.main()
    assert done.value.code == 0 and list(tmp_path.iterdir()) == []


def test_an_interrupted_run_keeps_the_earlier_clip(tool, tmp_path, monkeypatch):
    (tmp_path / "astronaut.mp4").write_bytes(b"the earlier clip")
    monkeypatch.setattr(sys, "argv", ["make_example_clip.py"])

    def interrupted():   # near the end: past the encoder's look-ahead, so that packets were written
        for i in range(tool.FPS * tool.SECONDS - 10):
            yield np.full((tool.H, tool.W, 3), i, np.uint8)
        raise KeyboardInterrupt

    monkeypatch.setattr(tool, "frames", interrupted)
    with pytest.raises(KeyboardInterrupt):
        tool.main()
    assert (tmp_path / "astronaut.mp4").read_bytes() == b"the earlier clip"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["astronaut.mp4"]   # no temporary file left

"""Averaging exported ONNX models (tools/average_checkpoints.py with .onnx files): the mean of every float
initializer, the graph and runtime metadata checked, the history merged as for checkpoints."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")

from onnx import numpy_helper  # noqa: E402

from humanseg.training.checkpoint_average import AverageError  # noqa: E402
from humanseg.training.export import onnx_bytes  # noqa: E402
from humanseg.training.models import create_model  # noqa: E402
from humanseg.training.onnx_average import average_onnx  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
TOOL = [sys.executable, str(REPO / "tools" / "average_checkpoints.py")]


def exported(path: Path, seed: int, runs: list[dict], **extra) -> Path:
    torch.manual_seed(seed)
    model = create_model("fast-portrait-prior").eval()
    meta = {"architecture": "fast-portrait-prior", "model_kwargs": {}, "training_runs": runs,
            "training_samples": str(sum(r["samples"] for r in runs)), **extra}
    path.write_bytes(onnx_bytes(model, (64, 32), meta, True, 16))
    return path


def initializers(path) -> dict[str, np.ndarray]:
    return {t.name: numpy_helper.to_array(t) for t in onnx.load(str(path)).graph.initializer}


def test_the_mean_of_two_models_is_the_mean_of_each_float_tensor_and_it_runs(tmp_path):
    from humanseg.runtime.segmenter import Segmenter

    shared = [{"out": "runs/base", "samples": 100}]
    a = exported(tmp_path / "a.onnx", 1, shared + [{"out": "runs/a", "samples": 10}])
    b = exported(tmp_path / "b.onnx", 2, shared + [{"out": "runs/b", "samples": 20}])
    mean = average_onnx([a, b])
    (tmp_path / "m.onnx").write_bytes(mean.SerializeToString())
    ta, tb, tm = initializers(a), initializers(b), initializers(tmp_path / "m.onnx")
    floats = [k for k in ta if ta[k].dtype == np.float32]
    assert floats and any(not np.array_equal(ta[k], tb[k]) for k in floats)   # the two differ
    for key in ta:
        expected = (ta[key].astype(np.float64) + tb[key]) / 2 if key in floats else ta[key]
        np.testing.assert_allclose(tm[key], expected, rtol=0, atol=1e-7)
    meta = {p.key: p.value for p in mean.metadata_props}
    runs = json.loads(meta["humanseg.training_runs"])
    assert [r.get("out") for r in runs[:3]] == ["runs/base", "runs/a", "runs/b"]      # shared history once
    assert runs[-1]["average_of"] == [str(a), str(b)] and meta["humanseg.training_samples"] == "130"
    assert meta["humanseg.canvas"] == "64x32"
    mask = Segmenter(tmp_path / "m.onnx", threads=1).segment(np.zeros((40, 70, 3), np.uint8))
    assert mask.shape == (40, 70) and np.isfinite(mask).all()
    itself = average_onnx([a, a])
    assert all(np.array_equal(numpy_helper.to_array(t), ta[t.name]) for t in itself.graph.initializer)


def test_models_that_cannot_be_averaged_are_refused(tmp_path):
    runs = [{"out": "runs/a", "samples": 10}]
    a = exported(tmp_path / "a.onnx", 1, runs, still_refine="0.01")
    other_recipe = exported(tmp_path / "b.onnx", 2, runs, still_refine="0.02")
    with pytest.raises(AverageError, match="still_refine"):
        average_onnx([a, other_recipe])
    with pytest.raises(AverageError, match="at least two"):
        average_onnx([a])
    (tmp_path / "junk.onnx").write_bytes(b"not onnx")
    with pytest.raises(AverageError, match="not a readable ONNX model"):
        average_onnx([a, tmp_path / "junk.onnx"])
    with pytest.raises(AverageError, match="not found"):
        average_onnx([a, tmp_path / "gone.onnx"])


def test_the_tool_averages_onnx_files_and_refuses_mixing_them_with_checkpoints(tmp_path):
    a = exported(tmp_path / "a.onnx", 1, [{"out": "runs/a", "samples": 10}])
    b = exported(tmp_path / "b.onnx", 2, [{"out": "runs/b", "samples": 20}])
    r = subprocess.run(TOOL + [str(tmp_path / "m.onnx"), str(a), str(b)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "mean of 2 models (fast-portrait-prior, 30 cumulative samples)" in r.stdout
    r = subprocess.run(TOOL + [str(tmp_path / "m.pt"), str(a), str(b)], capture_output=True, text=True)
    assert r.returncode == 2 and "name it .onnx" in r.stderr and not (tmp_path / "m.pt").exists()
    torch.save({"model": "fast-portrait-prior"}, tmp_path / "c.pt")
    r = subprocess.run(TOOL + [str(tmp_path / "x.onnx"), str(a), str(tmp_path / "c.pt")], capture_output=True, text=True)
    assert r.returncode == 2 and "not both" in r.stderr and r.stderr.count("\n") == 1
    before = a.read_bytes()
    r = subprocess.run(TOOL + [str(a), str(a), str(b)], capture_output=True, text=True)
    assert r.returncode == 2 and "is one of the inputs" in r.stderr and a.read_bytes() == before

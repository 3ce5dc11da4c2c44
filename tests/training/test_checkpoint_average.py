"""Weight averaging of checkpoints: the mean of float tensors, integer buffers kept, history carried."""
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from humanseg.training.checkpoint_average import AverageError, average_checkpoints  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


def _checkpoint(path, value, samples, model="tiny", steps=3, before=()):
    state_dict = {"conv.weight": torch.full((2, 2), float(value)),
                  "bn.num_batches_tracked": torch.tensor(steps)}
    runs = [dict(r) for r in before] + [{"out": f"run{samples}", "samples": samples}]
    torch.save({"model": model, "model_kwargs": {}, "state_dict": state_dict,
                "training_samples": sum(r["samples"] for r in runs), "training_runs": runs}, path)
    return path


def test_the_average_is_the_mean_and_carries_the_longest_history(tmp_path):
    a = _checkpoint(tmp_path / "a.pt", 1.0, 100, steps=5)
    b = _checkpoint(tmp_path / "b.pt", 4.0, 300, steps=9)
    state = average_checkpoints([a, b])
    assert torch.equal(state["state_dict"]["conv.weight"], torch.full((2, 2), 2.5))
    assert int(state["state_dict"]["bn.num_batches_tracked"]) == 9       # integers: the last file's
    assert state["training_samples"] == 400
    assert [r.get("out") for r in state["training_runs"]] == ["run100", "run300", None]
    assert state["training_runs"][-1]["average_of"] == [str(a), str(b)]


def test_runs_continued_from_one_file_count_the_shared_history_once(tmp_path):
    shared = [{"out": "first", "samples": 1000}, {"out": "second", "samples": 500}]
    a = _checkpoint(tmp_path / "a.pt", 1.0, 100, before=shared)
    b = _checkpoint(tmp_path / "b.pt", 3.0, 200, before=shared)
    state = average_checkpoints([a, b])
    assert state["training_samples"] == 1000 + 500 + 100 + 200
    assert [r.get("out") for r in state["training_runs"]] == ["first", "second", "run100", "run200", None]
    early = _checkpoint(tmp_path / "early.pt", 1.0, 100, before=shared)  # two checkpoints of one run
    late = _checkpoint(tmp_path / "late.pt", 3.0, 100, before=shared)
    torch.save({**torch.load(late, weights_only=False),
                "training_runs": shared + [{"out": "run100", "samples": 150}]}, late)
    assert average_checkpoints([early, late])["training_samples"] == 1000 + 500 + 150


def test_an_earlier_average_that_two_continuations_hold_is_listed_once(tmp_path):
    shared = [{"out": "first", "samples": 1000}]
    earlier = [{"out": "run300", "samples": 300}, {"average_of": ["g.pt", "h.pt"], "samples": 0}]
    g = _checkpoint(tmp_path / "g.pt", 1.0, 300, before=shared)
    i = _checkpoint(tmp_path / "i.pt", 2.0, 100, before=shared + earlier)  # continued from the average's export
    j = _checkpoint(tmp_path / "j.pt", 3.0, 200, before=shared + earlier)
    state = average_checkpoints([g, i, j])
    assert state["training_samples"] == 1000 + 300 + 100 + 200
    assert sum("average_of" in r for r in state["training_runs"]) == 2  # the earlier one once, plus this one


def test_different_architectures_or_one_file_are_refused(tmp_path):
    a = _checkpoint(tmp_path / "a.pt", 1.0, 100)
    b = _checkpoint(tmp_path / "b.pt", 1.0, 100, model="other")
    with pytest.raises(AverageError, match="holds other"):
        average_checkpoints([a, b])
    with pytest.raises(AverageError, match="at least two"):
        average_checkpoints([a])


def test_the_tool_writes_a_new_file_and_never_overwrites_an_input(tmp_path):
    a = _checkpoint(tmp_path / "a.pt", 1.0, 100)
    b = _checkpoint(tmp_path / "b.pt", 3.0, 200)
    before = a.read_bytes()
    tool = [sys.executable, str(REPO / "tools" / "average_checkpoints.py")]
    r = subprocess.run(tool + [str(a), str(a), str(b)], capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "is one of the inputs" in r.stderr
    assert a.read_bytes() == before
    r = subprocess.run(tool + [str(tmp_path / "mean.pt"), str(a), str(b)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    mean = torch.load(tmp_path / "mean.pt", weights_only=False)
    assert torch.equal(mean["state_dict"]["conv.weight"], torch.full((2, 2), 2.0))
    r = subprocess.run(tool + [str(tmp_path / "x.pt"), str(a), str(tmp_path / "missing.pt")],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "not found" in r.stderr and not (tmp_path / "x.pt").exists()
    r = subprocess.run(tool + [str(tmp_path / "mean.onnx"), str(a), str(b)], capture_output=True, text=True)
    assert r.returncode == 2 and "name it .pt" in r.stderr and not (tmp_path / "mean.onnx").exists()


def test_a_checkpoint_given_twice_is_weighted_twice_and_the_tool_says_so(tmp_path):
    a = _checkpoint(tmp_path / "a.pt", 1.0, 100)
    b = _checkpoint(tmp_path / "b.pt", 4.0, 200)
    tool = [sys.executable, str(REPO / "tools" / "average_checkpoints.py")]
    r = subprocess.run(tool + [str(tmp_path / "m.pt"), str(a), str(a)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert f"mean of 2 checkpoints ({a} twice) (tiny, 100 cumulative samples)" in r.stdout
    r = subprocess.run(tool + [str(tmp_path / "w.pt"), str(a), str(b), str(tmp_path / "." / "a.pt"), str(a)],
                       capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert f"mean of 4 checkpoints ({a} 3 times) (tiny, 300 cumulative samples)" in r.stdout
    weighted = torch.load(tmp_path / "w.pt", weights_only=False)
    assert torch.equal(weighted["state_dict"]["conv.weight"], torch.full((2, 2), (3 * 1.0 + 4.0) / 4))
    r = subprocess.run(tool + [str(tmp_path / "p.pt"), str(a), str(b)], capture_output=True, text=True)
    assert "mean of 2 checkpoints (tiny," in r.stdout

"""Growing a trained model into a wider one: same output at first, and the new channels train."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from humanseg.training.models import create_model  # noqa: E402
from humanseg.training.widen import WidenError, widen_state_dict  # noqa: E402

from .trained_like import as_if_trained  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
WIDE = {"hidden_scales": [1, 1.5, 2], "decoder_channels": [64, 32, 16]}


def _trained_narrow():
    """A narrow model whose batch norms are far from their initial state, as after training."""
    torch.manual_seed(0)
    return as_if_trained(create_model("fast-portrait-prior"))


def test_the_wider_model_gives_the_same_logits():
    narrow = _trained_narrow()
    wide = create_model("fast-portrait-prior", **WIDE)
    n_narrow, n_wide = (sum(p.numel() for p in m.parameters()) for m in (narrow, wide))
    assert n_wide > 1.5 * n_narrow                      # it really is wider
    wide.load_state_dict(widen_state_dict(narrow.state_dict(), wide))
    x = torch.rand(2, 4, 97, 131) * 2 - 1
    with torch.no_grad():
        assert float((narrow(x) - wide.eval()(x)).abs().max()) < 1e-5


def test_the_new_channels_learn():
    narrow = _trained_narrow()
    wide = create_model("fast-portrait-prior", hidden_scales=[1, 1, 2])
    wide.load_state_dict(widen_state_dict(narrow.state_dict(), wide))
    project = wide.encoder.stages[2][1].body[-1][0].weight          # reads the block's hidden channels
    old = narrow.encoder.stages[2][1].body[-1][0].weight.shape[1]
    assert project.shape[1] == 2 * old and float(project[:, old:].abs().max()) == 0
    optimizer = torch.optim.SGD(wide.parameters(), lr=0.1)
    wide.train()
    for _ in range(2):   # the zero readers move at the first step, the new channels' own weights at the next
        optimizer.zero_grad()
        wide(torch.rand(2, 4, 64, 96) * 2 - 1)[:, 1].mean().backward()
        optimizer.step()
    assert float(project[:, old:].abs().max()) > 0
    expand = wide.encoder.stages[2][1].body[0][0].weight
    assert expand.grad is not None and float(expand.grad[old:].abs().max()) > 0


def test_a_narrower_target_is_refused():
    wide = create_model("fast-portrait-prior", hidden_scales=[1, 1, 2])
    with pytest.raises(WidenError, match="does not grow"):
        widen_state_dict(wide.state_dict(), create_model("fast-portrait-prior"))
    with pytest.raises(WidenError, match="different layers"):
        widen_state_dict(create_model("pphumanseg-lite").state_dict(), create_model("fast-portrait-prior"))


def _tool(*args):
    return subprocess.run([sys.executable, str(REPO / "tools" / "widen_checkpoint.py"), *map(str, args)],
                          capture_output=True, text=True, cwd=REPO)


def test_the_tool_writes_a_checkpoint_that_keeps_the_history(tmp_path):
    src = tmp_path / "narrow.pt"
    runs = [{"out": "runs/a", "samples": 1000}]
    torch.save({"model": "fast-portrait-prior", "model_kwargs": {}, "state_dict": _trained_narrow().state_dict(),
                "training_samples": 1000, "training_runs": runs}, src)
    kwargs = json.dumps({"hidden_scales": [1, 1, 2]})
    done = _tool(src, tmp_path / "wide.pt", "--model-kwargs", kwargs)
    assert done.returncode == 0, done.stderr
    state = torch.load(tmp_path / "wide.pt", weights_only=True)
    assert state["model_kwargs"] == {"hidden_scales": [1, 1, 2]} and state["training_samples"] == 1000
    assert state["training_runs"][0] == runs[0] and state["training_runs"][1]["widened_from"] == str(src)
    create_model("fast-portrait-prior", **state["model_kwargs"]).load_state_dict(state["state_dict"])


@pytest.mark.parametrize("case", ["same_file", "bad_json", "unknown_kwarg", "missing", "narrower", "misfit"])
def test_the_tool_fails_in_one_line(tmp_path, case):
    src = tmp_path / "narrow.pt"
    kwargs = {"hidden_scales": [1, 1, 2]}
    torch.save({"model": "fast-portrait-prior", "model_kwargs": kwargs,
                "state_dict": create_model("fast-portrait-prior", **kwargs).state_dict()}, src)
    out, text = tmp_path / "wide.pt", json.dumps({"hidden_scales": [1, 1, 3]})
    if case == "same_file":
        out = src
    elif case == "bad_json":
        text = "{hidden"
    elif case == "unknown_kwarg":
        text = json.dumps({"depth": 3})
    elif case == "missing":
        src = tmp_path / "nothing.pt"
    elif case == "narrower":
        text = "{}"
    elif case == "misfit":   # weights of another architecture than the one the checkpoint names
        torch.save({"model": "fast-portrait-prior", "model_kwargs": kwargs,
                    "state_dict": create_model("pphumanseg-lite").state_dict()}, src)
    before = src.read_bytes() if src.exists() else None
    done = _tool(src, out, "--model-kwargs", text)
    assert done.returncode == 2 and done.stderr.startswith("error: ") and len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr
    assert (src.read_bytes() if src.exists() else None) == before
    assert case == "same_file" or not out.exists()

"""Folding squeeze-excite and context gates into a gate-free fast-portrait-prior-lean model."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from humanseg.training.fold_gates import folded_state_dict, gate_constants  # noqa: E402
from humanseg.training.models import create_model  # noqa: E402
from humanseg.training.models.layers import SqueezeExcite  # noqa: E402

from .trained_like import as_if_trained  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


def _gated():
    torch.manual_seed(0)
    return as_if_trained(create_model("fast-portrait-prior"))


def _inputs(n=3, seed=1):
    g = torch.Generator().manual_seed(seed)
    return [torch.rand(1, 4, 80 + 16 * i, 128, generator=g) * 2 - 1 for i in range(n)]


def _freeze_gates(model):
    """Gates that ignore their input: each a fixed value in (0, 1) per channel."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, SqueezeExcite):
                m.expand.weight.zero_(), m.expand.bias.uniform_(-2, 2)
        model.context.gate.weight.zero_(), model.context.gate.bias.uniform_(-2, 2)
    return model


def _fold(gated, inputs):
    lean = create_model("fast-portrait-prior-lean").eval()
    lean.load_state_dict(folded_state_dict(gated, gate_constants(gated, inputs)))   # strict: every name fits
    return lean


def test_the_lean_model_has_no_gates_and_is_smaller():
    lean, gated = create_model("fast-portrait-prior-lean"), create_model("fast-portrait-prior")
    assert not any(isinstance(m, SqueezeExcite) for m in lean.modules()) and lean.context.gate is None
    assert set(lean.state_dict()) < set(gated.state_dict())     # same names for what both have


def test_constant_gates_fold_exactly():
    gated = _freeze_gates(_gated())
    lean = _fold(gated, _inputs())
    x = _inputs(2, seed=7)
    with torch.no_grad():
        for xi in x:
            assert float((gated(xi) - lean(xi)).abs().max()) < 1e-4


def test_the_context_gate_can_stay_while_the_squeeze_excite_blocks_fold():
    gated = _gated()
    for m in gated.modules():   # squeeze-excite frozen (exact fold); the context gate keeps depending on the input
        if isinstance(m, SqueezeExcite):
            with torch.no_grad():
                m.expand.weight.zero_(), m.expand.bias.uniform_(-2, 2)
    constants = gate_constants(gated, _inputs())
    constants.pop("context")
    lean = create_model("fast-portrait-prior-lean", context_gate=True).eval()
    assert lean.context.gate is not None and not any(isinstance(m, SqueezeExcite) for m in lean.modules())
    lean.load_state_dict(folded_state_dict(gated, constants))
    with torch.no_grad():
        for x in _inputs(2, seed=7):
            assert float((gated(x) - lean(x)).abs().max()) < 1e-4


def test_fitted_constants_beat_dropping_the_gates():
    gated = _gated()          # random gates that do depend on the input
    inputs = _inputs()
    constants = gate_constants(gated, inputs)
    assert len(constants) == 7 and all(float(c.min()) >= 0 and float(c.max()) <= 1 for c in constants.values())
    fitted = _fold(gated, inputs)
    dropped = create_model("fast-portrait-prior-lean").eval()
    dropped.load_state_dict(folded_state_dict(gated, {k: torch.ones_like(c) for k, c in constants.items()}))
    with torch.no_grad():
        err = [sum(float((gated(x) - m(x)).pow(2).mean()) for x in inputs) for m in (fitted, dropped)]
    assert err[0] < err[1]


def _tool(*args):
    return subprocess.run([sys.executable, str(REPO / "tools" / "fold_gates.py"), *map(str, args)],
                          capture_output=True, text=True, cwd=REPO)


def _photos(folder):
    import cv2

    rng = np.random.default_rng(0)
    (folder / "a" / "images").mkdir(parents=True)
    (folder / "a" / "masks").mkdir()
    for i, (h, w) in enumerate([(120, 90), (90, 160), (100, 100)]):
        cv2.imwrite(str(folder / "a" / "images" / f"{i}.jpg"), rng.integers(0, 255, (h, w, 3), dtype=np.uint8))
        cv2.imwrite(str(folder / "a" / "masks" / f"{i}.png"), np.zeros((h, w), np.uint8))


def test_the_tool_writes_a_lean_checkpoint_that_keeps_the_history(tmp_path):
    src, photos = tmp_path / "gated.pt", tmp_path / "photos"
    _photos(photos)
    runs = [{"out": "runs/a", "samples": 1000}]
    torch.save({"model": "fast-portrait-prior", "model_kwargs": {}, "state_dict": _gated().state_dict(),
                "training_samples": 1000, "training_runs": runs}, src)
    done = _tool(src, tmp_path / "lean.pt", "--images", photos)
    assert done.returncode == 0, done.stderr
    assert "over 3 photos" in done.stdout                         # the masks folder is not calibration data
    state = torch.load(tmp_path / "lean.pt", weights_only=True)
    assert state["model"] == "fast-portrait-prior-lean" and state["training_samples"] == 1000
    assert state["training_runs"][0] == runs[0] and state["training_runs"][1]["gates_folded_from"] == str(src)
    create_model("fast-portrait-prior-lean").load_state_dict(state["state_dict"])
    done = _tool(src, tmp_path / "lean_ctx.pt", "--images", photos, "--keep-context-gate")
    assert done.returncode == 0, done.stderr
    state = torch.load(tmp_path / "lean_ctx.pt", weights_only=True)
    assert state["model_kwargs"] == {"context_gate": True}
    create_model("fast-portrait-prior-lean", context_gate=True).load_state_dict(state["state_dict"])


def test_an_unreadable_photo_is_skipped_and_counted(tmp_path):
    src, photos = tmp_path / "gated.pt", tmp_path / "photos"
    _photos(photos)
    (photos / "a" / "images" / "3.jpg").write_bytes(b"not a jpeg")
    torch.save({"model": "fast-portrait-prior", "model_kwargs": {}, "state_dict": _gated().state_dict()}, src)
    done = _tool(src, tmp_path / "lean.pt", "--images", photos)
    assert done.returncode == 0, done.stderr
    assert "over 3 photos (x2 priors, 1 unreadable photos skipped)" in done.stdout
    assert torch.load(tmp_path / "lean.pt", weights_only=True)["training_runs"][-1]["calibration_photos"] == 3


@pytest.mark.parametrize("case", ["same_file", "missing", "other_model", "misfit", "no_photos", "unreadable"])
def test_the_tool_fails_in_one_line(tmp_path, case):
    src, photos, out = tmp_path / "gated.pt", tmp_path / "photos", tmp_path / "lean.pt"
    _photos(photos)
    name, weights = "fast-portrait-prior", create_model("fast-portrait-prior").state_dict()
    if case == "same_file":
        out = src
    elif case == "other_model":
        name = "fast-portrait"
    elif case == "misfit":
        weights = create_model("pphumanseg-lite").state_dict()
    elif case == "no_photos":
        photos = tmp_path / "empty"
        photos.mkdir()
    elif case == "unreadable":
        for photo in (photos / "a" / "images").iterdir():
            photo.write_bytes(b"not a jpeg")
    if case != "missing":
        torch.save({"model": name, "model_kwargs": {}, "state_dict": weights}, src)
    before = src.read_bytes() if src.exists() else None
    done = _tool(src, out, "--images", photos)
    assert done.returncode == 2 and done.stderr.startswith("error: ") and len(done.stderr.strip().splitlines()) == 1
    assert (src.read_bytes() if src.exists() else None) == before
    assert case == "same_file" or not out.exists()

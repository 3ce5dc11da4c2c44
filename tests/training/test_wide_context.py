"""fast-portrait-prior-wide: the 1/32 + 1/64 context branch, grown from a trained fast-portrait-prior."""
import pytest

torch = pytest.importorskip("torch")

from humanseg.training.config import TrainConfig  # noqa: E402
from humanseg.training.export import export_onnx  # noqa: E402
from humanseg.training.models import create_model  # noqa: E402
from humanseg.training.trainer import initial_weights  # noqa: E402

from .trained_like import as_if_trained  # noqa: E402


def calibration():
    x = torch.rand(4, 4, 64, 96) * 2 - 1
    x[:, 3] = (x[:, 3] + 1) / 2
    return [x]


def test_the_new_branch_adds_nothing_until_trained_and_then_learns():
    torch.manual_seed(0)
    model = create_model("fast-portrait-prior-wide")
    f16 = torch.rand(2, model.encoder.out_channels[-1], 9, 16)
    with torch.no_grad():
        assert float(model.wide_context(f16).abs().max()) == 0.0
    model(torch.rand(2, 4, 144, 256) * 2 - 1).square().mean().backward()
    project_bn = model.wide_context.project[1]
    assert float(project_bn.weight.grad.abs().sum()) > 0   # the zero scale grows, then the branch behind it


def test_init_from_a_fast_portrait_prior_onnx_export_computes_the_same_output(tmp_path, capsys):
    prior = as_if_trained(create_model("fast-portrait-prior"))
    path = tmp_path / "prior.onnx"
    export_onnx(prior, path, (96, 64), {"architecture": "fast-portrait-prior", "training_samples": "1234"})
    wide = create_model("fast-portrait-prior-wide")
    history = initial_weights(wide, TrainConfig(model="fast-portrait-prior-wide", init=str(path)), calibration())
    assert history["samples"] == 1234
    assert "wide_context left freshly initialised" in capsys.readouterr().out
    x = torch.rand(2, 4, 64, 96) * 2 - 1
    with torch.no_grad():
        assert float((wide.eval()(x) - prior(x)).abs().max()) < 1e-4


def test_init_from_a_fast_portrait_prior_checkpoint_copies_every_shared_tensor(tmp_path):
    prior = as_if_trained(create_model("fast-portrait-prior"))
    torch.save({"model": "fast-portrait-prior", "model_kwargs": {}, "state_dict": prior.state_dict()}, tmp_path / "p.pt")
    wide = create_model("fast-portrait-prior-wide")
    initial_weights(wide, TrainConfig(model="fast-portrait-prior-wide", init=str(tmp_path / "p.pt")), [])
    own = wide.state_dict()
    assert all(torch.equal(own[k], v) for k, v in prior.state_dict().items())
    x = torch.rand(1, 4, 48, 80) * 2 - 1
    with torch.no_grad():
        assert torch.equal(wide.eval()(x), prior(x))


def test_an_export_of_an_unrelated_architecture_is_refused(tmp_path):
    other = create_model("pphumanseg-lite").eval()
    path = tmp_path / "lite.onnx"
    export_onnx(other, path, (96, 64), {"architecture": "pphumanseg-lite"})
    wide = create_model("fast-portrait-prior-wide")
    with pytest.raises(FileNotFoundError, match="holds pphumanseg-lite"):
        initial_weights(wide, TrainConfig(model="fast-portrait-prior-wide", init=str(path)), calibration())


def test_an_export_of_the_base_architecture_with_other_kwargs_is_refused_before_the_data_loads(tmp_path):
    from humanseg.training.trainer import _check_init_file

    narrow = create_model("fast-portrait-prior", width=0.5).eval()
    path = tmp_path / "narrow.onnx"
    export_onnx(narrow, path, (96, 64), {"architecture": "fast-portrait-prior", "model_kwargs": {"width": 0.5}})
    cfg = TrainConfig(model="fast-portrait-prior-wide", init=str(path))
    with pytest.raises(FileNotFoundError, match="tensors do not fit this model"):
        _check_init_file(cfg, create_model("fast-portrait-prior-wide"))


def test_init_from_an_export_of_the_same_network_narrower_grows_it_with_the_same_output(tmp_path, capsys):
    """`train --model-kwargs '{"hidden_scales": [1, 1, 2]}' --init portrait.onnx`: the shipped export is grown into
    the wider network (no .pt of it needed), which starts from the same output."""
    narrow = as_if_trained(create_model("fast-portrait-prior"))
    path = tmp_path / "narrow.onnx"
    export_onnx(narrow, path, (96, 64), {"architecture": "fast-portrait-prior", "training_samples": "77"})
    kwargs = {"hidden_scales": [1, 1, 2]}
    wide = create_model("fast-portrait-prior", **kwargs)
    cfg = TrainConfig(model="fast-portrait-prior", model_kwargs=kwargs, init=str(path))
    assert initial_weights(wide, cfg, calibration())["samples"] == 77
    assert "grown from {} into" in capsys.readouterr().out
    assert sum(p.numel() for p in wide.parameters()) > sum(p.numel() for p in narrow.parameters())
    x = torch.rand(2, 4, 64, 96) * 2 - 1
    with torch.no_grad():
        assert float((wide.eval()(x) - narrow.eval()(x)).abs().max()) < 1e-4


def test_init_from_an_export_of_a_wider_network_is_refused(tmp_path):
    wide = as_if_trained(create_model("fast-portrait-prior", hidden_scales=[1, 1, 2]))
    path = tmp_path / "wide.onnx"
    export_onnx(wide, path, (96, 64), {"architecture": "fast-portrait-prior",
                                       "model_kwargs": {"hidden_scales": [1, 1, 2]}})
    narrow = create_model("fast-portrait-prior")
    with pytest.raises(FileNotFoundError, match="does not grow into"):
        initial_weights(narrow, TrainConfig(model="fast-portrait-prior", init=str(path)), calibration())

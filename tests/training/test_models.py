"""One shared test class runs every registered model: adding a model adds its tests."""
import pytest

torch = pytest.importorskip("torch")

from humanseg.errors import ModelError  # noqa: E402
from humanseg.training.models import MODELS, count_flops, count_parameters, create_model, input_channels  # noqa: E402

from .trained_like import as_if_trained  # noqa: E402


@pytest.fixture(params=sorted(MODELS))
def name(request):
    return request.param


class TestEveryModel:
    def test_forward_backward_any_size(self, name):
        torch.manual_seed(0)
        model = create_model(name)
        for h, w in [(144, 256), (97, 131), (33, 47)]:
            x = torch.rand(2, input_channels(model), h, w) * 2 - 1
            y = model(x)
            assert y.shape == (2, 2, h, w)
            assert torch.isfinite(y).all()
        y.mean().backward()
        grads = [p.grad for p in model.parameters() if p.requires_grad]
        assert all(g is not None for g in grads)
        assert sum(float(g.abs().sum()) for g in grads) > 0

    def test_save_load_roundtrip(self, name, tmp_path):
        model = create_model(name).eval()
        torch.save(model.state_dict(), tmp_path / "m.pt")
        other = create_model(name).eval()
        other.load_state_dict(torch.load(tmp_path / "m.pt"))
        x = torch.rand(1, input_channels(model), 64, 96)
        with torch.no_grad():
            assert torch.equal(model(x), other(x))

    def test_onnx_export_parity(self, name, tmp_path):
        from humanseg.training.export import export_onnx, parity

        model = create_model(name).eval()
        path = tmp_path / "m.onnx"
        export_onnx(model, path, (256, 144), {"architecture": name})
        assert parity(model, path) < 1e-3

    def test_onnx_weights_load_back_for_training(self, name, tmp_path):
        """`train --init model.onnx`: BN was folded at export; loading unfolds it and reproduces the model."""
        from humanseg.training.export import export_onnx
        from humanseg.training.onnx_weights import load_onnx_weights

        torch.manual_seed(0)
        model = as_if_trained(create_model(name))   # BatchNorms far from identity, as after training
        path = tmp_path / "m.onnx"
        export_onnx(model, path, (96, 64), {"architecture": name})
        fresh = create_model(name)
        c = input_channels(model)
        report = load_onnx_weights(fresh, path, [torch.rand(4, c, 64, 96) * 2 - 1])
        assert report["convs"] == sum(isinstance(m, torch.nn.Conv2d) for m in model.modules())
        x = torch.rand(2, c, 64, 96) * 2 - 1
        with torch.no_grad():
            assert float((model(x) - fresh.eval()(x)).abs().max()) < 1e-4
            fresh.train()
            assert float((model(x) - fresh(x)).abs().max()) < 0.05  # batch statistics start near the measured ones

    def test_size_report(self, name):
        model = create_model(name)
        params, flops = count_parameters(model), count_flops(model, 192, 192)
        print(f"{name}: {params / 1e6:.3f} M parameters, {flops / 1e9:.3f} GFLOPs at 192x192")
        assert params > 0 and flops > 0


def test_lite_model_is_ultra_light():
    model = create_model("pphumanseg-lite")
    assert count_parameters(model) < 200_000
    assert count_flops(model, 192, 192) < 0.2e9


def test_unknown_model_is_a_clear_error():
    with pytest.raises(ModelError, match="unknown model"):
        create_model("resnet-9000")


def test_onnx_scope_names_map_to_module_paths():
    from humanseg.training.onnx_weights import module_path

    assert module_path("/backbone/stages.0/stages.0.0/body/body.0/body.0.0/Conv") == "backbone.stages.0.0.body.0.0"
    assert module_path("/fuse4/low/low.0/Conv") == "fuse4.low.0"
    assert module_path("/head/Conv") == "head"


def test_onnx_of_another_architecture_is_refused(tmp_path):
    from humanseg.training.export import export_onnx
    from humanseg.training.onnx_weights import load_onnx_weights

    path = tmp_path / "lite.onnx"
    export_onnx(create_model("pphumanseg-lite").eval(), path, (64, 48), {"architecture": "pphumanseg-lite"})
    with pytest.raises(ModelError, match="do not match"):
        load_onnx_weights(create_model("deeplabv3p-mbv2"), path, [torch.zeros(1, 3, 48, 64)])

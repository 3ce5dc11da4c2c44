"""One shared test class runs every registered model: adding a model adds its tests."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from humanseg.errors import ModelError  # noqa: E402
from humanseg.training.models import MODELS, count_flops, count_parameters, create_model  # noqa: E402


@pytest.fixture(params=sorted(MODELS))
def name(request):
    return request.param


class TestEveryModel:
    def test_forward_backward_any_size(self, name):
        torch.manual_seed(0)
        model = create_model(name)
        for h, w in [(144, 256), (97, 131), (33, 47)]:
            x = torch.rand(2, 3, h, w) * 2 - 1
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
        x = torch.rand(1, 3, 64, 96)
        with torch.no_grad():
            assert torch.equal(model(x), other(x))

    def test_onnx_export_parity(self, name, tmp_path):
        from humanseg.training.export import export_onnx, parity

        model = create_model(name).eval()
        path = tmp_path / "m.onnx"
        export_onnx(model, path, (256, 144), {"architecture": name})
        assert parity(model, path) < 1e-3

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

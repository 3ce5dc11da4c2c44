"""`evaluate` goes through Segmenter.segment with the still-image budget and reports per source."""
import pytest

from humanseg.evaluation.evaluate import evaluate


@pytest.fixture(scope="module")
def adaptive_model(tmp_path_factory):
    from tests.runtime.tiny_models import write_tiny_model

    return write_tiny_model(tmp_path_factory.mktemp("eval") / "tiny.onnx")


def test_evaluate_uses_the_still_budget_and_reports_each_source(tiny_dataset, adaptive_model, monkeypatch):
    import humanseg.evaluation.evaluate as module

    canvases = []
    original = module.Segmenter.canvas_input

    def spy(self, frame, *args, **kwargs):
        canvas, box = original(self, frame, *args, **kwargs)
        canvases.append(canvas.shape[1] * canvas.shape[0])
        return canvas, box

    monkeypatch.setattr(module.Segmenter, "canvas_input", spy)
    scores = evaluate(adaptive_model, tiny_dataset / "val")
    assert scores["canvas_pixels"] == 2 * 256 * 144
    assert len(canvases) == 4 and all(0.8 * 2 * 256 * 144 <= c <= 2 * 256 * 144 for c in canvases)
    assert set(scores["per_source"]) == {"toy"}
    toy = scores["per_source"]["toy"]
    assert toy["n_images"] == 4 and toy["miou"] == scores["miou"] and toy["boundary_f"] == scores["boundary_f"]
    small = evaluate(adaptive_model, tiny_dataset / "val", canvas_pixels=5000)
    assert small["canvas_pixels"] == 5000 and canvases[-1] <= 5000

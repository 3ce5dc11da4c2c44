"""What export writes is what the runtime reads: canvas budget, stride and input channels; the
4-channel model exports with parity and runs as a stream (needs the [train] extra)."""
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")

from humanseg import Segmenter  # noqa: E402
from humanseg.runtime.session import ModelSession  # noqa: E402
from humanseg.training.export import PARITY_TOLERANCE, export_checkpoint, quantize_int8  # noqa: E402
from humanseg.training.models import create_model  # noqa: E402


def checkpoint(path, name: str, canvas: str | None):
    torch.manual_seed(0)
    model = create_model(name)
    config = {"size": [256, 144]}
    if canvas:
        config.update(canvas=canvas, stride=16)
    torch.save({"model": name, "model_kwargs": {}, "state_dict": model.state_dict(), "config": config,
                "training_samples": 7}, path)
    return path


def metadata(path) -> dict:
    return {p.key: p.value for p in onnx.load(str(path)).metadata_props}


@pytest.fixture(scope="module")
def prior_onnx(tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    out = root / "prior.onnx"
    report = export_checkpoint(checkpoint(root / "prior.pt", "fast-portrait-prior", "adaptive"), out)
    return out, report


def test_the_four_channel_model_exports_with_parity_and_its_canvas(prior_onnx):
    path, report = prior_onnx
    assert report["parity_max_abs_diff"] < PARITY_TOLERANCE
    assert report["input_channels"] == 4 and report["canvas_pixels"] == 256 * 144 and report["stride"] == 16
    meta = metadata(path)
    assert meta["humanseg.canvas_pixels"] == "36864" and meta["humanseg.stride"] == "16"
    assert meta["humanseg.input_channels"] == "4" and meta["humanseg.canvas"] == "256x144"
    assert meta["humanseg.architecture"] == "fast-portrait-prior" and meta["humanseg.training_samples"] == "7"
    session = ModelSession(path, threads=1)
    assert session.adaptive and session.input_channels == 4 and session.canvas(600, 600) == (192, 192)


def test_the_exported_model_runs_on_images_and_as_a_stream(prior_onnx):
    seg = Segmenter(prior_onnx[0], threads=1)
    frame = np.random.default_rng(0).integers(0, 255, (360, 640, 3), dtype=np.uint8)
    mask = seg.segment(frame)
    assert mask.shape == (360, 640) and np.isfinite(mask).all()
    stream = seg.stream()
    for _ in range(3):
        out = stream.segment(frame)
    assert out.shape == (360, 640) and 0 <= out.min() and out.max() <= 1


def test_a_checkpoint_trained_on_the_fixed_letterbox_exports_as_legacy(tmp_path):
    out = tmp_path / "fixed.onnx"
    report = export_checkpoint(checkpoint(tmp_path / "fixed.pt", "fast-portrait", None), out)
    meta = metadata(out)
    assert "humanseg.canvas_pixels" not in meta and meta["humanseg.input_channels"] == "3"
    assert "canvas_pixels" not in report
    assert not ModelSession(out, threads=1).adaptive
    forced = tmp_path / "forced.onnx"
    export_checkpoint(tmp_path / "fixed.pt", forced, canvas_mode="adaptive")
    assert metadata(forced)["humanseg.canvas_pixels"] == "36864"


def test_int8_calibration_feeds_the_fourth_channel(prior_onnx, tiny_dataset, tmp_path):
    report = quantize_int8(prior_onnx[0], tmp_path / "prior.int8.onnx", tiny_dataset / "val")
    assert report["int8_bytes"] < report["fp32_bytes"] and report["int8_ms"] > 0
    assert isinstance(report["miou_change"], float)
    meta = metadata(tmp_path / "prior.int8.onnx")
    assert meta["humanseg.input_channels"] == "4" and meta["humanseg.canvas_pixels"] == "36864"
    assert json.dumps(report)


def test_export_keeps_the_checkpoint_and_refuses_paths_it_cannot_write_in_one_line(tmp_path, capsys):
    from humanseg.cli import main

    ckpt = checkpoint(tmp_path / "m.pt", "fast-portrait", None)
    before = ckpt.read_bytes()
    (tmp_path / "folder").mkdir()
    (tmp_path / "a_file").write_text("x")
    for onnx_path, says in ((ckpt, "is the checkpoint being exported"), (tmp_path / "folder", "is a folder; give --onnx a file path"),
                            (tmp_path / "a_file" / "m.onnx", "a_file is a file, not a folder")):
        assert main(["export", str(ckpt), "--onnx", str(onnx_path)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("humanseg: error:") and says in err and err.count("\n") == 1
    assert ckpt.read_bytes() == before and list((tmp_path / "folder").iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file", "folder", "m.pt"]   # no temporary file left


def test_a_model_that_fails_parity_leaves_the_earlier_export_in_place(tmp_path, monkeypatch):
    import humanseg.training.export as export
    from humanseg.errors import ModelError

    ckpt, out = checkpoint(tmp_path / "m.pt", "fast-portrait", None), tmp_path / "m.onnx"
    out.write_bytes(b"the earlier export")
    monkeypatch.setattr(export, "parity", lambda model, data: 1.0)
    with pytest.raises(ModelError, match="nothing written"):
        export.export_checkpoint(ckpt, out)
    assert out.read_bytes() == b"the earlier export" and sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx", "m.pt"]


def test_int8_is_written_when_the_temporary_folder_is_on_another_disk(prior_onnx, tiny_dataset, tmp_path, monkeypatch):
    import os

    def no_cross_device_rename(src, dst):   # as os.replace from a tmpfs /tmp onto the output's disk
        if os.path.dirname(os.path.abspath(src)) != os.path.dirname(os.path.abspath(dst)):
            raise OSError(18, "Invalid cross-device link")
        real_replace(src, dst)

    real_replace = os.replace
    monkeypatch.setattr(os, "replace", no_cross_device_rename)
    quantize_int8(prior_onnx[0], tmp_path / "prior.int8.onnx", tiny_dataset / "val")
    assert metadata(tmp_path / "prior.int8.onnx")["humanseg.input_channels"] == "4"


def test_a_wrong_calibration_folder_is_told_before_anything_is_written(tmp_path, capsys):
    from humanseg.cli import main

    ckpt = checkpoint(tmp_path / "m.pt", "fast-portrait", None)
    assert main(["export", str(ckpt), "--onnx", str(tmp_path / "m.onnx"), "--int8", "--calib", str(tmp_path / "no")]) == 2
    assert "no calibration images" in capsys.readouterr().err and not (tmp_path / "m.onnx").exists()

"""ONNX models made elsewhere (no humanseg metadata): a fixed input size is their canvas, and a model
ONNX Runtime cannot run is a one-line error naming the file."""
from pathlib import Path

import numpy as np
import pytest

from humanseg.cli import main
from humanseg.errors import ModelError
from humanseg.runtime.segmenter import Segmenter

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402


def foreign_model(path: Path, height: int = 8, width: int = 8, out_channels: int = 2,
                  metadata: dict | None = None) -> Path:
    """Input 1x3xHxW (fixed), output its first `out_channels` channels (Slice): 2 gives valid logits."""
    ints = lambda name, v: numpy_helper.from_array(np.array([v], np.int64), name)  # noqa: E731
    graph = helper.make_graph(
        [helper.make_node("Slice", ["image", "start", "end", "axis"], ["logits"])], "foreign",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, height, width])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, out_channels, height, width])],
        [ints("start", 0), ints("end", out_channels), ints("axis", 1)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    for key, value in (metadata or {}).items():
        model.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


@pytest.mark.parametrize("height, width", [(8, 8), (8, 16)])
def test_a_fixed_input_size_without_metadata_is_the_canvas(tmp_path, height, width):
    seg = Segmenter(foreign_model(tmp_path / "f.onnx", height, width), threads=1)
    assert seg.session.canvas(50, 30) == seg.session.canvas(30, 50) == (width, height)
    rng = np.random.default_rng(0)
    for shape in ((30, 50, 3), (50, 30, 3)):                # landscape and portrait frames alike
        mask = seg.segment(rng.integers(0, 255, shape, dtype=np.uint8))
        assert mask.shape == shape[:2] and mask.dtype == np.float32 and 0 <= mask.min() <= mask.max() <= 1


def test_the_image_command_runs_a_foreign_model(tmp_path, capsys):
    import cv2

    cv2.imwrite(str(tmp_path / "in.jpg"), np.full((30, 50, 3), 128, np.uint8))
    code = main(["image", str(tmp_path / "in.jpg"), str(tmp_path / "o.png"), "--bg", "mask",
                 "--model", str(foreign_model(tmp_path / "f.onnx"))])
    assert code == 0, capsys.readouterr().err
    assert cv2.imread(str(tmp_path / "o.png")).shape == (30, 50, 3)


@pytest.mark.parametrize("kind, phrase", [
    ("three_channel_output", "it gave a 1x3x8x8 output, expected 1x2x8x8"),
    ("canvas_metadata_disagrees", "Got invalid dimensions"),      # ONNX Runtime's own reason, on one line
])
def test_a_model_that_cannot_run_is_a_one_line_error(tmp_path, capsys, kind, phrase):
    import cv2

    if kind == "three_channel_output":
        path = foreign_model(tmp_path / "f.onnx", out_channels=3)
    else:
        path = foreign_model(tmp_path / "f.onnx", metadata={"humanseg.canvas": "256x144"})
    with pytest.raises(ModelError, match=f"cannot run model {path}: .*{phrase}"):
        Segmenter(path, threads=1).segment(np.zeros((30, 50, 3), np.uint8))
    cv2.imwrite(str(tmp_path / "in.jpg"), np.full((30, 50, 3), 128, np.uint8))
    code = main(["image", str(tmp_path / "in.jpg"), str(tmp_path / "o.png"), "--model", str(path)])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and lines[0].startswith(f"humanseg: error: cannot run model {path}: ")
    assert not (tmp_path / "o.png").exists()


def test_the_service_answers_a_model_that_cannot_run_with_a_one_line_json_error(tmp_path):
    import cv2

    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from humanseg.server.app import ServerConfig, create_app

    path = foreign_model(tmp_path / "broken.onnx", out_channels=3)
    client = TestClient(create_app(ServerConfig(model=str(path), workers=1, queue=0)))
    ok, png = cv2.imencode(".png", np.full((30, 50, 3), 128, np.uint8))
    reply = client.post("/v1/segment", files={"image": ("in.png", png.tobytes(), "image/png")})
    assert reply.status_code == 500 and reply.headers["content-type"] == "application/json"
    message = reply.json()["error"]
    assert message.startswith(f"cannot run model {path.resolve()}: ") and "\n" not in message

"""Tiny hand-made ONNX models with humanseg's metadata, so runtime tests see exactly what the model got.

The person probability is linear in the input: p = (1 - prior_weight) * (R + 1) / 2 + prior_weight * P,
with R the red channel in [-1, 1] and P the 4th channel (4-channel models); logits are (0, log(p / (1 - p))),
so the runtime's softmax gives p back (clipped to [1e-4, 1 - 1e-4]). A white shape on black is a
"person" with sharp edges, and feedback of the previous mask is visible in the output.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402


def _const(name: str, value) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(value), name)


def write_tiny_model(path: Path, channels: int = 3, adaptive: bool = True, canvas: tuple[int, int] = (256, 144),
                     stride: int = 16, prior_weight: float = 0.5, extra_metadata: dict | None = None) -> Path:
    """An ONNX model at `path`: adaptive (humanseg.canvas_pixels = canvas[0] * canvas[1]) or legacy (fixed
    `canvas` only), `channels` inputs (3, or 4 with the previous mask)."""
    w_prior = prior_weight if channels == 4 else 0.0
    inits = [_const("s0", np.array([0], np.int64)), _const("s1", np.array([1], np.int64)),
             _const("half", np.float32((1 - w_prior) / 2)), _const("one", np.float32(1)),
             _const("lo", np.float32(1e-4)), _const("hi", np.float32(1 - 1e-4)), _const("zero", np.float32(0))]
    if channels == 4:
        inits += [_const("s3", np.array([3], np.int64)), _const("s4", np.array([4], np.int64)),
                  _const("wp", np.float32(w_prior))]
    nodes = [helper.make_node("Slice", ["image", "s0", "s1", "s1"], ["red"]),
             helper.make_node("Add", ["red", "one"], ["red1"]),
             helper.make_node("Mul", ["red1", "half"], ["p_rgb"])]
    if channels == 4:
        nodes += [helper.make_node("Slice", ["image", "s3", "s4", "s1"], ["prior"]),
                  helper.make_node("Mul", ["prior", "wp"], ["p_prior"]),
                  helper.make_node("Add", ["p_rgb", "p_prior"], ["p_raw"])]
    else:
        nodes += [helper.make_node("Identity", ["p_rgb"], ["p_raw"])]
    nodes += [helper.make_node("Clip", ["p_raw", "lo", "hi"], ["p"]),
              helper.make_node("Sub", ["one", "p"], ["q"]),
              helper.make_node("Log", ["p"], ["log_p"]), helper.make_node("Log", ["q"], ["log_q"]),
              helper.make_node("Sub", ["log_p", "log_q"], ["person"]),
              helper.make_node("Mul", ["person", "zero"], ["background"]),
              helper.make_node("Concat", ["background", "person"], ["logits"], axis=1)]
    graph = helper.make_graph(
        nodes, "tiny",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", channels, "height", "width"])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 2, "height", "width"])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    meta = {"humanseg.canvas": f"{canvas[0]}x{canvas[1]}", "humanseg.input_channels": str(channels),
            "humanseg.architecture": f"tiny-{channels}ch"}
    if adaptive:
        meta.update({"humanseg.canvas_pixels": str(canvas[0] * canvas[1]), "humanseg.stride": str(stride)})
    meta.update(extra_metadata or {})
    for key, value in meta.items():
        model.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path

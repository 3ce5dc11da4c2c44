"""The ONNX Runtime session behind `Segmenter`."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import ModelError
from ..weights import resolve_model

PREFERRED_PROVIDERS = ["CUDAExecutionProvider", "CoreMLExecutionProvider", "DmlExecutionProvider", "CPUExecutionProvider"]


class ModelSession:
    """Loads a humanseg ONNX model once; `run(x)` maps Nx3xhxw input to Nx2xhxw logits."""

    def __init__(self, model: str | Path = "portrait", providers: list[str] | None = None, threads: int | None = None):
        import onnxruntime as ort

        self.path = resolve_model(model)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or min(os.cpu_count() or 1, 4)
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        available = ort.get_available_providers()
        chosen = providers or [p for p in PREFERRED_PROVIDERS if p in available]
        try:
            self.session = ort.InferenceSession(str(self.path), options, providers=chosen)
        except Exception as exc:  # onnxruntime raises several unrelated types for bad files
            raise ModelError(f"{self.path}: cannot load as an ONNX model ({str(exc).splitlines()[0][:120]})") from exc
        meta = self.session.get_modelmeta().custom_metadata_map
        canvas = meta.get("humanseg.canvas", "256x144")
        long_side, short_side = (int(v) for v in canvas.split("x"))
        self.long_side, self.short_side = max(long_side, short_side), min(long_side, short_side)
        self.metadata = meta
        self.input_name = self.session.get_inputs()[0].name
        shape = self.session.get_inputs()[0].shape
        if len(shape) != 4 or shape[1] != 3:
            raise ModelError(f"{self.path}: expected an Nx3xHxW input, found {shape}")

    @property
    def providers(self) -> list[str]:
        return self.session.get_providers()

    def run(self, x: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input_name: x})[0]

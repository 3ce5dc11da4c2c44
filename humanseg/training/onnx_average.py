"""Average exported humanseg ONNX models of one architecture (the weight average of checkpoint_average.py,
for models whose checkpoints are gone: a shipped file, or runs exported on another machine).

The files hold batch normalisation folded into the convolutions, so this is the mean of the folded weights;
for models fine-tuned from one file (one basin) that is, to first order, the export of the averaged
checkpoint. Every float initializer is averaged; every other initializer (shapes, indices) and the graph
must be the same in all files, and so must the metadata that tells the runtime how to run the model (canvas,
channels, still-image recipe). The history metadata merges as checkpoint_average's does."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .checkpoint_average import AverageError, merged_history

# metadata that must match: it says how the runtime feeds the model and reads its output
RUNTIME_KEYS = ("humanseg.architecture", "humanseg.model_kwargs", "humanseg.canvas", "humanseg.canvas_pixels",
                "humanseg.stride", "humanseg.input_channels", "humanseg.still_budget_scale",
                "humanseg.still_budget_scales", "humanseg.still_prior_weight", "humanseg.still_refine",
                "humanseg.still_zoom")


def _load(path: Path):
    import onnx

    try:
        return onnx.load(str(path))
    except FileNotFoundError:
        raise AverageError(f"{path}: not found") from None
    except Exception as exc:   # onnx raises DecodeError and others for a file that is not an ONNX model
        raise AverageError(f"{path}: not a readable ONNX model ({exc.__class__.__name__})") from None


def _graph_signature(model) -> list:
    return [(n.op_type, tuple(n.input), tuple(n.output)) for n in model.graph.node]


def average_onnx(paths: list[Path]):
    """The mean of the ONNX models at `paths` (an onnx.ModelProto); AverageError when they cannot be averaged."""
    from onnx import numpy_helper

    if len(paths) < 2:
        raise AverageError("give at least two models to average")
    models = [_load(Path(p)) for p in paths]
    first = models[0]
    metas = [{p.key: p.value for p in m.metadata_props} for m in models]
    if "humanseg.architecture" not in metas[0]:
        raise AverageError(f"{paths[0]}: not a humanseg model (no humanseg.architecture metadata)")
    for path, model, meta in zip(paths[1:], models[1:], metas[1:]):
        for key in RUNTIME_KEYS:
            if meta.get(key) != metas[0].get(key):
                raise AverageError(f"{path}: {key} is {meta.get(key)!r}, not {metas[0].get(key)!r} as in {paths[0]}")
        if _graph_signature(model) != _graph_signature(first):
            raise AverageError(f"{path}: its graph differs from {paths[0]}'s")
    tensors = [{t.name: numpy_helper.to_array(t) for t in m.graph.initializer} for m in models]
    averaged = []
    for init in first.graph.initializer:
        values = []
        for path, named in zip(paths, tensors):
            value = named.get(init.name)
            if value is None or value.shape != tensors[0][init.name].shape:
                raise AverageError(f"{path}: tensor {init.name} is missing or of another shape")
            values.append(value)
        if np.issubdtype(values[0].dtype, np.floating):
            mean = np.mean(np.stack([v.astype(np.float64) for v in values]), axis=0).astype(values[0].dtype)
        else:
            if any(not np.array_equal(v, values[0]) for v in values[1:]):
                raise AverageError(f"tensor {init.name} ({values[0].dtype}) differs between the files")
            mean = values[0]
        averaged.append(numpy_helper.from_array(mean, init.name))
    result = type(first)()
    result.CopyFrom(first)
    del result.graph.initializer[:]
    result.graph.initializer.extend(averaged)
    histories = [json.loads(meta.get("humanseg.training_runs", "[]")) for meta in metas]
    runs = merged_history(histories) + [{"average_of": [str(p) for p in paths], "samples": 0}]
    meta = dict(metas[0])
    meta["humanseg.training_runs"] = json.dumps(runs)
    meta["humanseg.training_samples"] = str(sum(int(run.get("samples", 0)) for run in runs))
    del result.metadata_props[:]
    for key, value in meta.items():
        entry = result.metadata_props.add()
        entry.key, entry.value = key, value
    return result

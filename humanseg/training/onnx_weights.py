"""Load a humanseg ONNX model's weights back into its PyTorch architecture (`train --init x.onnx`).

Export folds every BatchNorm into the convolution before it and renames most initializers, but
keeps each Conv node's module scope in its name (`/backbone/stages.0/stages.0.0/body/.../Conv`).
So: every Conv node is matched to its `nn.Conv2d` by scope, its weight and bias are copied, and a
folded BatchNorm is "unfolded" again with statistics measured on calibration batches: running mean
and variance are set to the measured per-channel mean and variance of the conv output, and the
affine part to undo them exactly (gamma = sqrt(var + eps), beta = mean + folded bias). In eval mode
the model then reproduces the ONNX outputs; in train mode batch statistics start near the measured
ones, so fine-tuning continues smoothly instead of from a broken scale.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable

import numpy as np
import torch
from torch import nn

from ..errors import ModelError


def onnx_metadata(path: str | Path) -> dict[str, str]:
    """The metadata of an ONNX file; ModelError (one line) when the file is not an ONNX model."""
    import onnx

    try:
        proto = onnx.load(str(path), load_external_data=False)
    except Exception as exc:   # protobuf's DecodeError and the like: a truncated or other file
        raise ModelError(f"{path}: not an ONNX model (onnx cannot read it: {exc.__class__.__name__})") from None
    return {p.key: p.value for p in proto.metadata_props}


def architecture_of(path: str | Path) -> tuple[str, dict]:
    meta = onnx_metadata(path)
    if "humanseg.architecture" not in meta:
        raise ModelError(f"{path}: not a humanseg ONNX export (no humanseg.architecture metadata)")
    return meta["humanseg.architecture"], json.loads(meta.get("humanseg.model_kwargs", "{}"))


def module_path(node_name: str) -> str:
    """'/backbone/stages.0/stages.0.0/body/body.0/body.0.0/Conv' -> 'backbone.stages.0.0.body.0.0'.

    A scope segment that extends the previous one ('stages.0' -> 'stages.0.0') replaces it."""
    parts: list[str] = []
    for segment in node_name.strip("/").split("/")[:-1]:
        if parts and segment.startswith(parts[-1] + "."):
            parts[-1] = segment
        else:
            parts.append(segment)
    return ".".join(parts)


def _conv_arrays(path: Path) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(path)).graph
    inits = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    convs = {}
    for node in graph.node:
        if node.op_type != "Conv":
            continue
        if node.input[1] not in inits:
            raise ModelError(f"{path}: Conv {node.name} has no constant weight; cannot load it for training")
        bias = inits.get(node.input[2]) if len(node.input) > 2 and node.input[2] else None
        convs[module_path(node.name)] = (inits[node.input[1]], bias)
    return convs


def _following_batchnorms(model: nn.Module, example: torch.Tensor) -> dict[str, tuple[str, nn.BatchNorm2d]]:
    """conv name -> (bn name, bn) for each BatchNorm2d whose input is that conv's output."""
    names = {m: n for n, m in model.named_modules()}
    outputs: dict[int, tuple[torch.Tensor, str]] = {}  # the tensor is kept so its id stays unique
    pairs: dict[str, tuple[str, nn.BatchNorm2d]] = {}
    hooks = []
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            hooks.append(module.register_forward_hook(
                lambda m, i, o: outputs.__setitem__(id(o), (o, names[m]))))
        elif isinstance(module, nn.BatchNorm2d):
            hooks.append(module.register_forward_pre_hook(
                lambda m, i: pairs.__setitem__(outputs[id(i[0])][1], (names[m], m)) if id(i[0]) in outputs else None))
    try:
        with torch.no_grad():
            model.eval()(example)
    finally:
        for h in hooks:
            h.remove()
    return pairs


def load_onnx_weights(model: nn.Module, path: str | Path, calibration: Iterable[torch.Tensor]) -> dict:
    """Copy the ONNX model's weights into `model` (same architecture and kwargs). `calibration`:
    a few float32 Nx3xHxW batches in the model's input range, used to unfold BatchNorms.
    Returns {"convs": n, "batchnorms": n}."""
    path = Path(path)
    convs = _conv_arrays(path)
    modules = dict(model.named_modules())
    torch_convs = {n for n, m in modules.items() if isinstance(m, nn.Conv2d)}
    if set(convs) != torch_convs:
        missing, extra = sorted(torch_convs - set(convs))[:3], sorted(set(convs) - torch_convs)[:3]
        raise ModelError(f"{path}: its convolutions do not match the architecture (missing {missing}, unknown {extra})")
    batches = list(calibration)
    if not batches:
        raise ModelError("loading ONNX weights needs at least one calibration batch")
    bns = _following_batchnorms(model, batches[0][:1])
    with torch.no_grad():
        for name, (weight, bias) in convs.items():
            conv = modules[name]
            if tuple(conv.weight.shape) != weight.shape:
                raise ModelError(f"{path}: {name} has shape {weight.shape}, the architecture {tuple(conv.weight.shape)}")
            conv.weight.copy_(torch.from_numpy(np.array(weight)))
            folded_bias = torch.from_numpy(np.array(bias)) if bias is not None else torch.zeros(weight.shape[0])
            if name in bns:
                if conv.bias is not None:
                    conv.bias.zero_()
                bn = bns[name][1]
                bn.running_mean.zero_(), bn.running_var.fill_(1.0 - bn.eps)
                bn.weight.fill_(1.0), bn.bias.copy_(folded_bias)  # exact identity until measured
            elif conv.bias is not None:
                conv.bias.copy_(folded_bias)
            else:
                raise ModelError(f"{path}: {name} has a bias in ONNX but neither a bias nor a BatchNorm here")
        _unfold_batchnorms(model, [bn for _, bn in bns.values()], batches)
    return {"convs": len(convs), "batchnorms": len(bns)}


def _unfold_batchnorms(model: nn.Module, bns: list[nn.BatchNorm2d], batches: list[torch.Tensor]) -> None:
    """With BNs at identity (output = conv + folded bias), measure each BN input's per-channel mean
    and variance over the calibration batches, then re-express the same function with them."""
    sums = {id(bn): [0.0, 0.0, 0] for bn in bns}

    def record(bn, inputs):
        x = inputs[0].double()
        s = sums[id(bn)]
        s[0] = s[0] + x.sum((0, 2, 3))
        s[1] = s[1] + (x * x).sum((0, 2, 3))
        s[2] += x.numel() // x.shape[1]

    hooks = [bn.register_forward_pre_hook(record) for bn in bns]
    try:
        model.eval()
        for x in batches:
            model(x)
    finally:
        for h in hooks:
            h.remove()
    for bn in bns:
        total, squares, count = sums[id(bn)]
        mean = total / count
        var = (squares / count - mean * mean).clamp(min=1e-6)
        folded_bias = bn.bias.clone()
        bn.running_mean.copy_(mean.float())
        bn.running_var.copy_(var.float())
        bn.weight.copy_(torch.sqrt(var + bn.eps).float())
        bn.bias.copy_(mean.float() + folded_bias)

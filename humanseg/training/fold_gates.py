"""Grow a gate-free FastPortrait (`squeeze_excite=False`) from a trained one with gates, close to its output.

A squeeze-excite block multiplies each channel of its input x by a gate g(x) in (0, 1) computed from x's global
mean; the LR-ASPP context multiplies its features f by such a gate too. ONNX Runtime runs those per-channel
multiplications slowly (layout reorders around them), so the lean model drops them. Here each gate is replaced
by one constant per channel, the one that keeps the gated signal closest over calibration inputs (least squares:
c = sum_i g_i |x_i|^2 / sum_i |x_i|^2 over images i; the plain mean of g for a
channel that is zero on every calibration input), and the constant is folded into the layer after it:

- squeeze-excite: the block's 1x1 projection conv reads the gated channels, so its input columns are scaled by c;
- context gate: c > 0 commutes with the ReLU after the features' BatchNorm, so the BatchNorm's scale and shift
  are scaled by c.

The lean model then computes what the original would with every gate frozen at its calibration average; training
(`humanseg train --init` the written checkpoint) recovers what the input-dependent gates added. With constant
gates the fold is exact (tests/training/test_fold_gates.py).
"""
from __future__ import annotations

from typing import Iterable

import torch
import torch.nn.functional as F
from torch import nn

from .models.fast_portrait import FastPortrait, LiteContext
from .models.layers import InvertedResidual, SqueezeExcite


def _gated_modules(model: FastPortrait) -> dict[str, nn.Module]:
    return {name: m for name, m in model.named_modules()
            if isinstance(m, SqueezeExcite) or (isinstance(m, LiteContext) and m.gate is not None)}


def gate_constants(model: FastPortrait, batches: Iterable[torch.Tensor]) -> dict[str, torch.Tensor]:
    """{module name: per-channel constant} for every squeeze-excite and gated context in `model`, fitted by least
    squares over the calibration batches (model inputs) as described above."""
    sums: dict[str, list[torch.Tensor]] = {}

    def record(name: str, signal: torch.Tensor, gate: torch.Tensor) -> None:
        energy, gate = signal.pow(2).sum((2, 3)), gate.flatten(1)        # N x C each
        weighted = (gate * energy).sum(0)
        acc = sums.setdefault(name, [torch.zeros_like(weighted) for _ in range(3)] + [0])
        acc[0] += weighted
        acc[1] += energy.sum(0)
        acc[2] += gate.sum(0)
        acc[3] += gate.shape[0]

    def hook_for(name: str, module: nn.Module):
        if isinstance(module, SqueezeExcite):
            def hook(mod, inputs, _output):
                x = inputs[0]
                s = F.relu(mod.reduce(x.mean((2, 3), keepdim=True)))
                record(name, x, F.hardsigmoid(mod.expand(s)))
        else:
            def hook(mod, inputs, _output):
                x = inputs[0]
                record(name, mod.features(x), torch.sigmoid(mod.gate(x.mean((2, 3), keepdim=True))))
        return hook

    handles = [m.register_forward_hook(hook_for(n, m)) for n, m in _gated_modules(model).items()]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for batch in batches:
                model(batch)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    if not sums:
        raise ValueError("the model has no gates to fold")
    if len(sums) != len(handles):
        raise ValueError("no calibration batch reached every gate")
    return {name: torch.where(energy > 0, weighted / energy.clamp_min(1e-30), gate_sum / count)  # silent: plain mean
            for name, (weighted, energy, gate_sum, count) in sums.items()}


def folded_state_dict(model: FastPortrait, constants: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """`model`'s state dict with the gates' weights dropped and their constants folded in: it loads (strictly) into
    the same FastPortrait built with squeeze_excite=False."""
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    modules = dict(model.named_modules())
    for name, c in constants.items():
        module = modules[name]
        for key in [k for k in state if k.startswith(name + ".gate." if isinstance(module, LiteContext)
                                                      else name + ".")]:
            del state[key]
        if isinstance(module, LiteContext):
            state[f"{name}.features.1.weight"] *= c
            state[f"{name}.features.1.bias"] *= c
            continue
        block_name, index = name.rsplit(".", 1)                 # ...body.K: the projection is body.K+1
        projection = f"{block_name}.{int(index) + 1}.0.weight"
        if not isinstance(modules[block_name.rsplit(".", 1)[0]], InvertedResidual):
            raise ValueError(f"{name}: squeeze-excite outside an inverted-residual block")
        state[projection] *= c.view(1, -1, 1, 1)
    return state

"""Model registry: `create_model(name, **kwargs)`; the kwargs are the config saved with the weights."""
from __future__ import annotations

from functools import partial
from typing import Callable

from torch import nn

from ...errors import ModelError
from .deeplabv3p import DeepLabV3PlusMobileNetV2
from .fast_portrait import FastPortrait, FastPortraitPriorWide
from .fast_portrait_matte import FastPortraitMatte
from .pphumanseg_lite import PPHumanSegLite
from .pphumanseg_v2 import PPHumanSegV2

MODELS: dict[str, Callable[..., nn.Module]] = {
    "pphumanseg-lite": PPHumanSegLite,
    "pphumanseg-v2": PPHumanSegV2,
    "deeplabv3p-mbv2": DeepLabV3PlusMobileNetV2,
    "fast-portrait": FastPortrait,
    "fast-portrait-prior": partial(FastPortrait, in_channels=4),  # + previous frame's mask as a 4th channel
    "fast-portrait-prior-lean": partial(FastPortrait, in_channels=4, squeeze_excite=False),  # no global gates: faster
    "fast-portrait-prior-wide": FastPortraitPriorWide,  # + context from 1/32 and 1/64 (larger still canvases)
    "fast-portrait-matte": FastPortraitMatte,  # + previous alpha, detail head at 1/2: predicts alpha
}


def input_channels(model: nn.Module) -> int:
    """3 (RGB) or 4 (RGB + previous mask)."""
    return getattr(model, "in_channels", 3)


def predicts_alpha(model: nn.Module) -> bool:
    """True for matting models: alpha = softmax(logits)[:, 1], trained with the matting losses."""
    return bool(getattr(model, "predicts_alpha", False))


def create_model(name: str, **kwargs) -> nn.Module:
    if name not in MODELS:
        raise ModelError(f"unknown model '{name}'; choose one of: {', '.join(sorted(MODELS))}")
    return MODELS[name](**kwargs)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def count_flops(model: nn.Module, height: int, width: int) -> int:
    """Floating-point operations of one forward pass on a 1x3xHxW input (torch's FLOP counter;
    a multiply-add counts as 2)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    model.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.zeros(1, input_channels(model), height, width))
    return counter.get_total_flops()

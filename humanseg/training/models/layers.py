"""Small building blocks shared by the architectures."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

ACTIVATIONS = {
    "relu": lambda: nn.ReLU(inplace=True),
    "relu6": lambda: nn.ReLU6(inplace=True),
    "hswish": lambda: nn.Hardswish(inplace=True),
    "none": nn.Identity,
}


class ConvBNAct(nn.Sequential):
    """Conv2d (no bias) + BatchNorm + activation; 'same' padding for odd kernels."""

    def __init__(self, cin: int, cout: int, kernel: int = 3, stride: int = 1, groups: int = 1,
                 dilation: int = 1, act: str = "relu"):
        padding = dilation * (kernel - 1) // 2
        super().__init__(
            nn.Conv2d(cin, cout, kernel, stride, padding, dilation=dilation, groups=groups, bias=False),
            nn.BatchNorm2d(cout),
            ACTIVATIONS[act](),
        )


class SeparableConv(nn.Sequential):
    """Depthwise kxk conv + BN + act, then pointwise 1x1 conv + BN + act."""

    def __init__(self, cin: int, cout: int, kernel: int = 3, stride: int = 1, dilation: int = 1,
                 act: str = "relu"):
        super().__init__(
            ConvBNAct(cin, cin, kernel, stride, groups=cin, dilation=dilation, act=act),
            ConvBNAct(cin, cout, 1, act=act),
        )


class SqueezeExcite(nn.Module):
    """Channel attention: global mean -> bottleneck -> hard-sigmoid gate."""

    def __init__(self, channels: int, reduction: int = 4):
        super().__init__()
        hidden = make_divisible(channels // reduction)
        self.reduce = nn.Conv2d(channels, hidden, 1)
        self.expand = nn.Conv2d(hidden, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = x.mean((2, 3), keepdim=True)
        s = F.relu(self.reduce(s), inplace=True)
        return x * F.hardsigmoid(self.expand(s))


class InvertedResidual(nn.Module):
    """MobileNetV2/V3 block: 1x1 expand, depthwise kxk, optional SE, linear 1x1 project."""

    def __init__(self, cin: int, hidden: int, cout: int, kernel: int = 3, stride: int = 1,
                 dilation: int = 1, se: bool | None = False, act: str = "relu"):
        """se: True adds squeeze-excite; None leaves an empty slot where it would be (nn.Identity), so the layers
        after it keep the indices, and checkpoint names, of the block with squeeze-excite (training/fold_gates.py)."""
        super().__init__()
        layers: list[nn.Module] = []
        if hidden != cin:
            layers.append(ConvBNAct(cin, hidden, 1, act=act))
        layers.append(ConvBNAct(hidden, hidden, kernel, stride, groups=hidden, dilation=dilation, act=act))
        if se:
            layers.append(SqueezeExcite(hidden))
        elif se is None:
            layers.append(nn.Identity())
        layers.append(ConvBNAct(hidden, cout, 1, act="none"))
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        return x + y if self.residual else y


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round channels to a multiple of `divisor`, never dropping more than 10%."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def resize_to(x: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """Bilinear resize of x to ref's spatial size (works for any, odd, size)."""
    return F.interpolate(x, size=ref.shape[-2:], mode="bilinear", align_corners=False)


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    n, c, h, w = x.shape
    return x.reshape(n, groups, c // groups, h, w).transpose(1, 2).reshape(n, c, h, w)


def inverted_residual_stages(specs: list, c: int, width: float, hidden_scales: tuple[float, ...] = (),
                             squeeze_excite: bool = True) -> tuple[nn.ModuleList, list[int], int]:
    """MobileNetV3 stages from a table: each stage a list of (kernel, expansion, out, squeeze-excite,
    activation, stride) rows, channels scaled by `width`. c: channels entering the first stage.
    hidden_scales: per stage, a further factor on its blocks' expansion (hidden) channels (1 where not given).
    squeeze_excite: False leaves an empty slot where a row asks for squeeze-excite (InvertedResidual se=None).
    Returns (the stages, each stage's output channels, the last stage's channels)."""
    stages, out_channels = nn.ModuleList(), []
    for i, spec in enumerate(specs):
        blocks = []
        scale = hidden_scales[i] if i < len(hidden_scales) else 1.0
        for k, exp, out, se, act, s in spec:
            hidden, cout = make_divisible(exp * width * scale), make_divisible(out * width)
            blocks.append(InvertedResidual(c, hidden, cout, k, s, se=se if squeeze_excite or not se else None, act=act))
            c = cout
        stages.append(nn.Sequential(*blocks))
        out_channels.append(c)
    return stages, out_channels, c

"""MobileNetV2 and MobileNetV3-large feature extractors (written for humanseg).

Both return a list of feature maps at increasing strides.
"""
from __future__ import annotations

import torch
from torch import nn

from .layers import ConvBNAct, InvertedResidual, inverted_residual_stages, make_divisible

# kernel, expansion (hidden), out, squeeze-excite, activation, stride  -- MobileNetV3-large (Howard et al. 2019)
MOBILENETV3_LARGE = [
    [(3, 16, 16, False, "relu", 1)],                                   # stage 0: 1/2
    [(3, 64, 24, False, "relu", 2), (3, 72, 24, False, "relu", 1)],   # stage 1: 1/4
    [(5, 72, 40, True, "relu", 2), (5, 120, 40, True, "relu", 1), (5, 120, 40, True, "relu", 1)],  # 1/8
    [(3, 240, 80, False, "hswish", 2), (3, 200, 80, False, "hswish", 1), (3, 184, 80, False, "hswish", 1),
     (3, 184, 80, False, "hswish", 1), (3, 480, 112, True, "hswish", 1), (3, 672, 112, True, "hswish", 1)],  # 1/16
    [(5, 672, 160, True, "hswish", 2), (5, 960, 160, True, "hswish", 1), (5, 960, 160, True, "hswish", 1)],  # 1/32
]


class MobileNetV3Large(nn.Module):
    """MobileNetV3-large, optionally cut after `stages` stages (4 stops at 1/16, 112 channels x width).

    Returns features after stages 1..stages-1 (1/4, 1/8, 1/16 for stages=4).
    """

    def __init__(self, width: float = 1.0, stages: int = 4):
        super().__init__()
        c = make_divisible(16 * width)
        self.stem = ConvBNAct(3, c, 3, 2, act="hswish")
        self.stages, out_channels, _ = inverted_residual_stages(MOBILENETV3_LARGE[:stages], c, width)
        self.out_channels = out_channels[1:]

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.stem(x)
        feats = []
        for i, stage in enumerate(self.stages):
            x = stage(x)
            if i > 0:
                feats.append(x)
        return feats


# expansion, out, repeats, stride -- MobileNetV2 (Sandler et al. 2018)
MOBILENETV2 = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
               (6, 320, 1, 1)]


class MobileNetV2(nn.Module):
    """MobileNetV2 with output stride 16 (last stride replaced by dilation 2).

    Returns [low-level features at 1/4, high-level features at 1/16].
    """

    def __init__(self, width: float = 1.0):
        super().__init__()
        c = make_divisible(32 * width)
        layers: list[nn.Module] = [ConvBNAct(3, c, 3, 2, act="relu6")]
        stride, dilation, self.low_index = 2, 1, 0
        for t, out, n, s in MOBILENETV2:
            cout = make_divisible(out * width)
            for i in range(n):
                block_stride = s if i == 0 else 1
                if block_stride == 2 and stride == 16:
                    block_stride, dilation = 1, 2
                elif block_stride == 2:
                    stride *= 2
                layers.append(InvertedResidual(c, c * t, cout, 3, block_stride, dilation=dilation, act="relu6"))
                c = cout
            if stride == 4 and self.low_index == 0:
                self.low_index = len(layers)
                self.low_channels = c
        self.layers = nn.Sequential(*layers)
        self.out_channels = [self.low_channels, c]

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        low = self.layers[: self.low_index](x)
        high = self.layers[self.low_index:](low)
        return [low, high]

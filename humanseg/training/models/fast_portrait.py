"""A fast portrait network for live video: MobileNetV3-small encoder, LR-ASPP-style context at 1/16
and a light skip decoder up to 1/2, with an optional 4th input channel for the previous frame's mask.

Encoder: MobileNetV3-small (Howard et al. 2019) stages at 1/4, 1/8 and 1/16 (its last, 1/32 stage
is dropped: at 256x144 it would be 8x5 pixels). Context: LR-ASPP (same paper): a 1x1 conv branch
gated by a global-pooled sigmoid branch. Decoder: at 1/8, 1/4 and 1/2 the upsampled map is added to
a 1x1 projection of the skip feature and refined by a depthwise-separable conv, so edges come from
high-resolution features at little cost. Activations are ReLU/hard-swish (fused ops in ONNX Runtime).

Input: float32 NxCxHxW, C = 3 (RGB in [-1, 1]) or 4 (RGB + previous person probability in [0, 1],
all zeros when there is none). Any H, W. Output: Nx2xHxW logits.
"""
from __future__ import annotations

import torch
from torch import nn

from .layers import ConvBNAct, InvertedResidual, make_divisible, resize_to

# kernel, expansion (hidden), out, squeeze-excite, activation, stride -- MobileNetV3-small, cut at 1/16
MOBILENETV3_SMALL = [
    [(3, 16, 16, True, "relu", 2)],                                                          # 1/4
    [(3, 72, 24, False, "relu", 2), (3, 88, 24, False, "relu", 1)],                          # 1/8
    [(5, 96, 40, True, "hswish", 2), (5, 240, 40, True, "hswish", 1), (5, 240, 40, True, "hswish", 1),
     (5, 120, 48, True, "hswish", 1), (5, 144, 48, True, "hswish", 1)],                      # 1/16
]


class MobileNetV3Small(nn.Module):
    """Returns [1/2, 1/4, 1/8, 1/16] feature maps."""

    def __init__(self, in_channels: int = 3, width: float = 1.0):
        super().__init__()
        c = make_divisible(16 * width)
        self.stem = ConvBNAct(in_channels, c, 3, 2, act="hswish")
        self.stages = nn.ModuleList()
        self.out_channels = [c]
        for spec in MOBILENETV3_SMALL:
            blocks = []
            for k, exp, out, se, act, s in spec:
                hidden, cout = make_divisible(exp * width), make_divisible(out * width)
                blocks.append(InvertedResidual(c, hidden, cout, k, s, se=se, act=act))
                c = cout
            self.stages.append(nn.Sequential(*blocks))
            self.out_channels.append(c)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = [self.stem(x)]
        for stage in self.stages:
            feats.append(stage(feats[-1]))
        return feats


class LiteContext(nn.Module):
    """LR-ASPP: relu(bn(conv1x1(x))) * sigmoid(conv1x1(global mean of x))."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.features = ConvBNAct(cin, cout, 1)
        self.gate = nn.Conv2d(cin, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x) * torch.sigmoid(self.gate(x.mean((2, 3), keepdim=True)))


class SkipUp(nn.Module):
    """Upsample the deep map to the skip's size, add a 1x1 projection of the skip, refine with a
    depthwise 3x3 + pointwise conv."""

    def __init__(self, c_skip: int, c_deep: int, cout: int):
        super().__init__()
        self.skip = ConvBNAct(c_skip, c_deep, 1, act="none")
        self.refine = nn.Sequential(ConvBNAct(c_deep, c_deep, 3, groups=c_deep), ConvBNAct(c_deep, cout, 1))

    def forward(self, skip: torch.Tensor, deep: torch.Tensor) -> torch.Tensor:
        return self.refine(resize_to(deep, skip) + self.skip(skip))


class FastPortrait(nn.Module):
    def __init__(self, num_classes: int = 2, in_channels: int = 3, width: float = 1.0,
                 decoder_channels: tuple[int, int, int, int] = (64, 32, 24, 16)):
        super().__init__()
        self.in_channels = in_channels
        self.encoder = MobileNetV3Small(in_channels, width)
        c2, c4, c8, c16 = self.encoder.out_channels
        d16, d8, d4, d2 = decoder_channels
        self.context = LiteContext(c16, d16)
        self.up8 = SkipUp(c8, d16, d8)
        self.up4 = SkipUp(c4, d8, d4)
        self.up2 = SkipUp(c2, d4, d2)
        self.head = nn.Conv2d(d2, num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f2, f4, f8, f16 = self.encoder(x)
        y = self.context(f16)
        y = self.up8(f8, y)
        y = self.up4(f4, y)
        y = self.up2(f2, y)
        return resize_to(self.head(y), x)

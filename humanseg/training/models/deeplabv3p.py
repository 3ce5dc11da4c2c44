"""DeepLabv3+ (Chen et al. 2018) on a MobileNetV2 backbone with output stride 16.

ASPP: 1x1 conv, three atrous depthwise-separable 3x3 convs (rates 6/12/18) and image pooling;
decoder: upsample to 1/4, concat the projected low-level features, two separable 3x3 convs.
Input: float32 Nx3xHxW RGB in [-1, 1], any H, W. Output: Nx2xHxW logits.
"""
from __future__ import annotations

import torch
from torch import nn

from .layers import ConvBNAct, SeparableConv, resize_to
from .mobilenet import MobileNetV2


class ASPP(nn.Module):
    def __init__(self, cin: int, cout: int, rates: tuple[int, ...] = (6, 12, 18)):
        super().__init__()
        self.branches = nn.ModuleList([ConvBNAct(cin, cout, 1)] + [SeparableConv(cin, cout, 3, dilation=r) for r in rates])
        self.pool = ConvBNAct(cin, cout, 1)
        self.project = ConvBNAct(cout * (len(rates) + 2), cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs = [branch(x) for branch in self.branches]
        pooled = self.pool(x.mean((2, 3), keepdim=True))
        outs.append(pooled.expand(-1, -1, x.shape[2], x.shape[3]))
        return self.project(torch.cat(outs, 1))


class DeepLabV3PlusMobileNetV2(nn.Module):
    def __init__(self, num_classes: int = 2, width: float = 1.0, aspp_channels: int = 128, low_channels: int = 48):
        super().__init__()
        self.backbone = MobileNetV2(width=width)
        c_low, c_high = self.backbone.out_channels
        self.aspp = ASPP(c_high, aspp_channels)
        self.low = ConvBNAct(c_low, low_channels, 1)
        self.decoder = nn.Sequential(SeparableConv(aspp_channels + low_channels, aspp_channels),
                                     SeparableConv(aspp_channels, aspp_channels))
        self.classifier = nn.Conv2d(aspp_channels, num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        low, high = self.backbone(x)
        low = self.low(low)
        y = torch.cat([resize_to(self.aspp(high), low), low], 1)
        return resize_to(self.classifier(self.decoder(y)), x)

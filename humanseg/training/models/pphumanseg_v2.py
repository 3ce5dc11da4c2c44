"""PP-HumanSeg v2 portrait design (Chu et al. 2022; PP-LiteSeg decoder, Peng et al. 2022).

MobileNetV3-large cut after its 4th stage (features at 1/4, 1/8, 1/16), a simple pyramid pooling
module (SPPM, bins 1/2/4) on the 1/16 features, three fusion modules that mix deep and shallow
features with spatial + channel attention (out channels 128 -> 64 -> 32), and a segmentation head.
Input: float32 Nx3xHxW RGB in [-1, 1], any H, W (target 144x256 portrait or 256x144 landscape).
Output: Nx2xHxW logits.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .layers import ConvBNAct, resize_to
from .mobilenet import MobileNetV3Large

POOL_GRID = 16  # features are resized to a fixed grid before bin pooling (export-friendly, any input size)


class SPPM(nn.Module):
    """Pyramid pooling: average into bins x bins cells, 1x1 conv, upsample, sum, 3x3 conv."""

    def __init__(self, cin: int, inter: int, cout: int, bins: tuple[int, ...] = (1, 2, 4)):
        super().__init__()
        self.bins = bins
        self.branches = nn.ModuleList(ConvBNAct(cin, inter, 1) for _ in bins)
        self.out = ConvBNAct(inter, cout, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        total = None
        grid = None
        for b, conv in zip(self.bins, self.branches):
            if b == 1:
                pooled = x.mean((2, 3), keepdim=True)
            else:
                if grid is None:
                    grid = F.interpolate(x, size=(POOL_GRID, POOL_GRID), mode="bilinear", align_corners=False)
                pooled = F.avg_pool2d(grid, POOL_GRID // b)
            y = resize_to(conv(pooled), x)
            total = y if total is None else total + y
        return self.out(total)


class AttentionFusion(nn.Module):
    """Fuse an upsampled deep map with a shallow map: out = deep * a + shallow * (1 - a).

    `a` combines a spatial map (from mean/max over channels of both inputs) and a channel
    vector (from mean/max over space of both inputs): a = sigmoid(spatial + channel).
    """

    def __init__(self, c_low: int, c_high: int, cout: int):
        super().__init__()
        self.low = ConvBNAct(c_low, c_high, 3)
        self.spatial = nn.Sequential(ConvBNAct(4, 2, 3), ConvBNAct(2, 1, 3, act="none"))
        self.channel = nn.Sequential(ConvBNAct(4 * c_high, c_high // 2, 1), ConvBNAct(c_high // 2, c_high, 1, act="none"))
        self.out = ConvBNAct(c_high, cout, 3)

    def forward(self, low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
        low = self.low(low)
        high = resize_to(high, low)
        spatial = self.spatial(torch.cat([low.mean(1, keepdim=True), low.amax(1, keepdim=True),
                                          high.mean(1, keepdim=True), high.amax(1, keepdim=True)], 1))
        channel = self.channel(torch.cat([low.mean((2, 3), keepdim=True), low.amax((2, 3), keepdim=True),
                                          high.mean((2, 3), keepdim=True), high.amax((2, 3), keepdim=True)], 1))
        a = torch.sigmoid(spatial + channel)
        return self.out(high * a + low * (1 - a))


class PPHumanSegV2(nn.Module):
    def __init__(self, num_classes: int = 2, width: float = 1.0, fusion_channels: tuple[int, int, int] = (32, 64, 128),
                 sppm_channels: int = 128):
        super().__init__()
        self.backbone = MobileNetV3Large(width=width, stages=4)
        c4, c8, c16 = self.backbone.out_channels
        f4, f8, f16 = fusion_channels
        self.sppm = SPPM(c16, sppm_channels, f16)
        self.fuse16 = AttentionFusion(c16, f16, f16)
        self.fuse8 = AttentionFusion(c8, f16, f8)
        self.fuse4 = AttentionFusion(c4, f8, f4)
        self.head = nn.Sequential(ConvBNAct(f4, f4, 3), nn.Conv2d(f4, num_classes, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x4, x8, x16 = self.backbone(x)
        y = self.fuse16(x16, self.sppm(x16))
        y = self.fuse8(x8, y)
        y = self.fuse4(x4, y)
        return resize_to(self.head(y), x)

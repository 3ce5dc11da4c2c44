"""PP-HumanSeg-Lite / ConnectNet-style ultra-light segmentation net.

Encoder: a strided stem, then ShuffleNetV2-style units (channel split, depthwise separable
branch, channel shuffle) down to 1/8. Decoder: depthwise separable convs with bilinear
upsampling and encoder skips at 1/4 and 1/2 (no transposed convolutions).
Input: float32 Nx3xHxW RGB in [-1, 1], any H, W. Output: Nx2xHxW logits.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .layers import ConvBNAct, SeparableConv, channel_shuffle, resize_to


class ShuffleUnit(nn.Module):
    """stride 1: split channels, transform one half, concat, shuffle.
    stride 2: two strided branches, concat (doubles channels), shuffle."""

    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.stride = stride
        branch = cout // 2
        if stride == 1:
            assert cin == cout
            self.left = None
            self.right = nn.Sequential(
                ConvBNAct(branch, branch, 1),
                ConvBNAct(branch, branch, 3, groups=branch, act="none"),
                ConvBNAct(branch, branch, 1),
            )
        else:
            self.left = nn.Sequential(
                ConvBNAct(cin, cin, 3, 2, groups=cin, act="none"),
                ConvBNAct(cin, branch, 1),
            )
            self.right = nn.Sequential(
                ConvBNAct(cin, branch, 1),
                ConvBNAct(branch, branch, 3, 2, groups=branch, act="none"),
                ConvBNAct(branch, branch, 1),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.left is None:
            a, b = x.chunk(2, dim=1)
            out = torch.cat([a, self.right(b)], dim=1)
        else:
            out = torch.cat([self.left(x), self.right(x)], dim=1)
        return channel_shuffle(out, 2)


def _stage(cin: int, cout: int, repeats: int) -> nn.Sequential:
    return nn.Sequential(ShuffleUnit(cin, cout, 2), *[ShuffleUnit(cout, cout, 1) for _ in range(repeats - 1)])


class PPHumanSegLite(nn.Module):
    def __init__(self, num_classes: int = 2, channels: tuple[int, int, int, int] = (24, 48, 96, 96),
                 repeats: tuple[int, int] = (4, 4), decoder: int = 48):
        super().__init__()
        c_stem, c_skip, c_mid, c_deep = channels
        self.stem = ConvBNAct(3, c_stem, 3, 2)                       # 1/2
        self.skip_half = ConvBNAct(c_stem, c_stem // 2, 1, act="none")
        self.down4 = nn.Sequential(nn.MaxPool2d(3, 2, 1), SeparableConv(c_stem, c_skip))  # 1/4
        self.stage8 = _stage(c_skip, c_mid, repeats[0])             # 1/8
        self.stage16 = _stage(c_mid, c_deep * 2, repeats[1])        # 1/16
        self.deep_proj = ConvBNAct(c_deep * 2, decoder, 1)
        self.skip_quarter = ConvBNAct(c_skip, decoder, 1, act="none")
        self.fuse_quarter = SeparableConv(decoder, decoder)
        self.fuse_half = SeparableConv(decoder + c_stem // 2, decoder // 2)
        self.classifier = nn.Conv2d(decoder // 2, num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        half = self.stem(x)
        quarter = self.down4(half)
        deep = self.stage16(self.stage8(quarter))
        y = resize_to(self.deep_proj(deep), quarter) + self.skip_quarter(quarter)
        y = self.fuse_quarter(F.relu(y))
        y = torch.cat([resize_to(y, half), self.skip_half(half)], dim=1)
        y = self.classifier(self.fuse_half(y))
        return resize_to(y, x)

"""A fast portrait network for live video: MobileNetV3-small encoder, LR-ASPP-style context at 1/16
and a light skip decoder up to 1/4, with an optional 4th input channel for the previous frame's mask.

Encoder: MobileNetV3-small (Howard et al. 2019) stages at 1/4, 1/8 and 1/16 (its last, 1/32 stage
is dropped: at 256x144 it would be 8x5 pixels). Context: LR-ASPP (same paper): a 1x1 conv branch
gated by a global-pooled sigmoid branch. Decoder: at 1/8 and 1/4 the upsampled map is added to a 1x1
projection of the skip feature and refined by a depthwise-separable conv; the 2-class logits at 1/4
are upsampled bilinearly (as PP-HumanSeg v2 does). Default widths were picked by ONNX Runtime timing
against MediaPipe landscape (benchmarks/model_sizes.py): a 1/2-resolution stage cost 1.1x
MediaPipe's time on its own, the 1/4 decoder 0.76x (single thread, interleaved).

Input: float32 NxCxHxW, C = 3 (RGB in [-1, 1]) or 4 (RGB + previous person probability in [0, 1],
all zeros when there is none). Any H, W. Output: Nx2xHxW logits.
"""
from __future__ import annotations

import torch
from torch import nn

from .layers import ConvBNAct, inverted_residual_stages, make_divisible, resize_to

# kernel, expansion (hidden), out, squeeze-excite, activation, stride -- MobileNetV3-small, cut at 1/16
MOBILENETV3_SMALL = [
    [(3, 16, 16, True, "relu", 2)],                                                          # 1/4
    [(3, 72, 24, False, "relu", 2), (3, 88, 24, False, "relu", 1)],                          # 1/8
    [(5, 96, 40, True, "hswish", 2), (5, 240, 40, True, "hswish", 1), (5, 240, 40, True, "hswish", 1),
     (5, 120, 48, True, "hswish", 1), (5, 144, 48, True, "hswish", 1)],                      # 1/16
]


class MobileNetV3Small(nn.Module):
    """Returns [1/2, 1/4, 1/8, 1/16] feature maps."""

    def __init__(self, in_channels: int = 3, width: float = 1.0, hidden_scales: tuple[float, ...] = (),
                 squeeze_excite: bool = True):
        super().__init__()
        c = make_divisible(16 * width)
        self.stem = ConvBNAct(in_channels, c, 3, 2, act="hswish")
        self.stages, out_channels, _ = inverted_residual_stages(MOBILENETV3_SMALL, c, width, tuple(hidden_scales),
                                                                squeeze_excite)
        self.out_channels = [c, *out_channels]

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = [self.stem(x)]
        for stage in self.stages:
            feats.append(stage(feats[-1]))
        return feats


class LiteContext(nn.Module):
    """LR-ASPP: relu(bn(conv1x1(x))) * sigmoid(conv1x1(global mean of x)); gated=False: relu(bn(conv1x1(x)))."""

    def __init__(self, cin: int, cout: int, gated: bool = True):
        super().__init__()
        self.features = ConvBNAct(cin, cout, 1)
        self.gate = nn.Conv2d(cin, cout, 1) if gated else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.gate is None:
            return self.features(x)
        return self.features(x) * torch.sigmoid(self.gate(x.mean((2, 3), keepdim=True)))


class WideContext(nn.Module):
    """Context from 1/32 and 1/64 for the 1/16 map.

    Built to test whether the grey lower torso of close portraits on large still canvases came from the encoder
    seeing only about 150 pixels around a point at 1/16; runs X1/X2 (docs/training/fast_portrait_prior_cpu.md)
    say it did not (missed person unchanged), though full-body photos gained a little. Two stride-2 depthwise
    5x5 stages (with 1x1 mixing) reach 1/32 and 1/64; their sum, projected and upsampled, is added to the LR-ASPP
    output. The projection's BatchNorm starts with zero scale and shift, so a model grown from
    one without this branch computes the same output at first (`train --init` with `init_from`)."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.down32 = nn.Sequential(ConvBNAct(cin, cin, 5, 2, groups=cin, act="hswish"), ConvBNAct(cin, cout, 1, act="hswish"))
        self.down64 = nn.Sequential(ConvBNAct(cout, cout, 5, 2, groups=cout, act="hswish"),
                                    ConvBNAct(cout, cout, 1, act="hswish"))
        self.project = ConvBNAct(cout, cout, 1, act="none")
        nn.init.zeros_(self.project[1].weight)
        nn.init.zeros_(self.project[1].bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y32 = self.down32(x)
        return resize_to(self.project(y32 + resize_to(self.down64(y32), y32)), x)


class SkipUp(nn.Module):
    """Project the deep map to `cout` channels at its own (low) resolution, upsample it to the skip's
    size, add a 1x1 projection of the skip, refine with a depthwise 3x3 + pointwise conv. Projecting
    before upsampling keeps the (memory-bound) resize small."""

    def __init__(self, c_skip: int, c_deep: int, cout: int):
        super().__init__()
        self.deep = ConvBNAct(c_deep, cout, 1, act="none")
        self.skip = ConvBNAct(c_skip, cout, 1, act="none")
        self.refine = nn.Sequential(ConvBNAct(cout, cout, 3, groups=cout), ConvBNAct(cout, cout, 1))

    def forward(self, skip: torch.Tensor, deep: torch.Tensor) -> torch.Tensor:
        return self.refine(resize_to(self.deep(deep), skip) + self.skip(skip))


class FastPortrait(nn.Module):
    def __init__(self, num_classes: int = 2, in_channels: int = 3, width: float = 1.0,
                 decoder_channels: tuple[int, ...] = (48, 24, 16), hidden_scales: tuple[float, ...] = (),
                 wide_context: bool = False, squeeze_excite: bool = True, context_gate: bool | None = None):
        """decoder_channels: context width, then one entry per skip level at 1/8, 1/4 (and 1/2 when
        four are given: the last decoder stage then runs at half the input resolution). hidden_scales: per
        encoder stage (1/4, 1/8, 1/16), a factor on its blocks' hidden channels: more capacity where the
        maps are small (training/widen.py grows a trained model this way without changing its output).
        wide_context: add the 1/32 + 1/64 context branch (WideContext) to the 1/16 context.
        squeeze_excite: False drops the encoder's squeeze-excite and the context's global gate: the seven
        per-channel multiplications by a global mean's function, which cost ONNX Runtime about 16 % of the
        network's time in layout reorders (docs/training/fast_portrait_prior_standing.md, speed probe).
        training/fold_gates.py grows such a model from a trained one with the gates' averages folded in.
        context_gate: keep (True) or drop (False) the context's gate on its own; None: as squeeze_excite. The
        context gate is about 1 % of the network's time, the encoder's squeeze-excite blocks about 20 %."""
        super().__init__()
        self.in_channels = in_channels
        self.encoder = MobileNetV3Small(in_channels, width, hidden_scales, squeeze_excite)
        c2, c4, c8, c16 = self.encoder.out_channels
        self.context = LiteContext(c16, decoder_channels[0], gated=squeeze_excite if context_gate is None else context_gate)
        self.wide_context = WideContext(c16, decoder_channels[0]) if wide_context else None
        skips = [c8, c4, c2][:len(decoder_channels) - 1]
        self.ups = nn.ModuleList(SkipUp(c, d_in, d_out) for c, d_in, d_out
                                 in zip(skips, decoder_channels[:-1], decoder_channels[1:]))
        self.head = nn.Conv2d(decoder_channels[-1], num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f2, f4, f8, f16 = self.encoder(x)
        y = self.context(f16)
        if self.wide_context is not None:
            y = y + self.wide_context(f16)
        for up, skip in zip(self.ups, (f8, f4, f2)):
            y = up(skip, y)
        return resize_to(self.head(y), x)


class FastPortraitPriorWide(FastPortrait):
    """fast-portrait-prior with WideContext; `train --init` grows it from a fast-portrait-prior checkpoint or
    ONNX export (every shared tensor copied, the new branch adding zero at first)."""

    init_from = ("fast-portrait-prior",)

    def __init__(self, num_classes: int = 2, width: float = 1.0, decoder_channels: tuple[int, ...] = (48, 24, 16),
                 hidden_scales: tuple[float, ...] = ()):
        super().__init__(num_classes, 4, width, decoder_channels, hidden_scales, wide_context=True)

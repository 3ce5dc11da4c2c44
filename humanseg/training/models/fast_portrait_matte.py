"""fast-portrait-matte: FastPortrait with the previous frame's alpha as a 4th input and a light
detail head that predicts alpha at half the input resolution.

The segmentation network (fast_portrait.py: MobileNetV3-small encoder, LR-ASPP context, skip decoder
to 1/4, 2-class head) gives a coarse person logit at 1/4. The detail head, after MODNet's detail
branch (Ke et al., AAAI 2022) and Background Matting V2's refinement (Lin et al., CVPR 2021), runs at
1/2 on: the decoder features and the coarse logit (upsampled), the encoder's 1/2 stem features (free:
they are computed anyway, from full-resolution pixels) and the input (RGB + prior) resized to 1/2
(`detail_input=False` leaves that out: about 0.15x of fast-portrait-prior's time cheaper). 1x1
projections (the deep ones before their upsample), one 3x3 conv and a 1x1 conv predict a residual
that is added to the coarse logit; the sum is upsampled bilinearly to the input size. The residual's
last conv starts near zero, so a model initialised from a fast-portrait-prior checkpoint (same
encoder, context, decoder and head names and shapes; `init_from`) starts as that segmentation model.
Cost: about 1.5x fast-portrait-prior's ONNX Runtime time at 256x144 (one thread, a busy machine).

Input: float32 Nx4xHxW: RGB in [-1, 1] + the previous frame's alpha in [0, 1] (zeros: none). Any H, W.
Output: Nx2xHxW logits, channel 0 all zeros, so alpha = softmax(logits)[:, 1] = sigmoid(channel 1):
the runtime contract of every other model (ONNX export, `--init` from ONNX, Segmenter, SegmentStream
feeding its previous output back as channel 4) holds unchanged.
"""
from __future__ import annotations

import torch
from torch import nn

from .fast_portrait import FastPortrait
from .layers import ConvBNAct, resize_to


class DetailHead(nn.Module):
    """(decoder features, coarse logit, 1/2 stem features, input) -> refined person logit at 1/2.

    As in SkipUp, the deep inputs are projected at their own (1/4) resolution before the upsample,
    and the 1/2 inputs are projected and added rather than concatenated, so that little memory
    traffic happens at 1/2. A 3x3 conv then mixes them and a 1x1 conv gives the residual logit."""

    def __init__(self, c_decoder: int, c_stem: int, c_input: int, channels: int = 8, band_logit: float = 0.0):
        super().__init__()
        self.with_input = c_input > 0
        self.band_logit = float(band_logit)
        self.deep = ConvBNAct(c_decoder + 1, channels, 1, act="none")
        self.skip = ConvBNAct(c_stem + c_input, channels, 1, act="none")
        self.refine = ConvBNAct(channels, channels, 3)
        self.residual = nn.Conv2d(channels, 1, 1)
        nn.init.normal_(self.residual.weight, std=1e-3)
        nn.init.zeros_(self.residual.bias)

    def forward(self, decoder: torch.Tensor, coarse: torch.Tensor, stem: torch.Tensor,
                x: torch.Tensor) -> torch.Tensor:
        """decoder: NxCdxhxw and coarse: Nx1xhxw at 1/4; stem: NxCsxHsxWs at 1/2; x: the model input."""
        skip = torch.cat([stem, resize_to(x, stem)], 1) if self.with_input else stem
        y = resize_to(self.deep(torch.cat([decoder, coarse], 1)), stem) + self.skip(skip)
        coarse = resize_to(coarse, stem)
        residual = self.residual(self.refine(y))
        if self.band_logit > 0:  # only where the coarse map is unsure: 1 at logit 0, 0 from |logit| >= band_logit
            residual = residual * (1 - coarse.abs() / self.band_logit).clamp(min=0)
        return coarse + residual


class FastPortraitMatte(FastPortrait):
    predicts_alpha = True  # the trainer adds the matting losses and makes batches with alpha targets
    init_from = ("fast-portrait-prior",)  # `train --init` takes such a checkpoint (.pt): all but `detail`

    def __init__(self, width: float = 1.0, decoder_channels: tuple[int, ...] = (48, 24, 16),
                 detail_channels: int = 8, detail_input: bool = True, band_logit: float = 0.0):
        """width, decoder_channels: as FastPortrait (keep them equal to a fast-portrait-prior
        checkpoint to start from it). detail_channels: width of the 1/2-resolution detail head.
        band_logit > 0: the head's residual fades out linearly with the coarse logit's magnitude and is
        0 from |logit| >= band_logit (4: probability outside 0.018-0.982), so the head changes the
        segmentation network's map only in its uncertain band and cannot put specks or holes in the
        confident person and background."""
        super().__init__(num_classes=2, in_channels=4, width=width, decoder_channels=decoder_channels)
        self.detail = DetailHead(decoder_channels[-1], self.encoder.out_channels[0], 4 if detail_input else 0,
                                 detail_channels, band_logit)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f2, f4, f8, f16 = self.encoder(x)
        y = self.context(f16)
        for up, skip in zip(self.ups, (f8, f4, f2)):
            y = up(skip, y)
        two = self.head(y)
        coarse = two[:, 1:2] - two[:, 0:1]  # person logit of the segmentation head
        half = self.detail(y, coarse, f2, x)
        # zeros joined at 1/2, not at full size: the bilinear resize keeps them zero, one resize for both
        return resize_to(torch.cat([torch.zeros_like(half), half], 1), x)

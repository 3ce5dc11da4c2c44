"""Grow a trained model into a wider one of the same architecture without changing what it computes.

More hidden channels in inverted-residual blocks (FastPortrait's `hidden_scales`) or wider decoder stages
give a model more capacity. Starting that wider model from scratch would throw away the trained one;
instead every trained tensor is copied into the leading slice of the wider tensor, the new channels keep
their fresh initialisation, and every weight that *reads* a new channel (a convolution's extra input
columns: the block's projection, squeeze-excite, the next decoder stage) starts at zero. The new channels
therefore add nothing to the output at first (the wider model's output equals the narrow one's), and
training grows them from there: the zeroed readers get gradients at once, the new channels as soon as
their readers are non-zero (Chen et al. 2016, Net2Net, is the function-preserving idea; zero readers are
the simplest such choice).

Only growth is supported: every tensor must be at least as large as before along every axis, and a
tensor that grows along its input axis must be a convolution weight (4-d), so that zero columns mean
"ignore the new channels"."""
from __future__ import annotations

import torch
from torch import nn


class WidenError(ValueError):
    """The narrow state does not fit into the wide model (other names, or a tensor that would shrink)."""


def widen_state_dict(narrow: dict[str, torch.Tensor], wide_model: nn.Module) -> dict[str, torch.Tensor]:
    """The wide model's state dict holding `narrow` (a state dict of the narrower model) as above."""
    fresh = wide_model.state_dict()
    if narrow.keys() != fresh.keys():
        missing = sorted(fresh.keys() - narrow.keys())[:2] or sorted(narrow.keys() - fresh.keys())[:2]
        raise WidenError(f"the two models have different layers (e.g. {', '.join(missing)})")
    out = {}
    for key, new in fresh.items():
        old = narrow[key]
        if old.shape == new.shape:
            out[key] = old.clone()
            continue
        if old.dim() != new.dim() or any(o > n for o, n in zip(old.shape, new.shape)):
            raise WidenError(f"{key}: {tuple(old.shape)} does not grow into {tuple(new.shape)}")
        grown = new.clone()
        grown[tuple(slice(0, o) for o in old.shape)] = old
        if new.dim() > 1 and new.shape[1] > old.shape[1]:
            if new.dim() != 4:
                raise WidenError(f"{key}: only convolution weights may read new channels")
            grown[:, old.shape[1]:] = 0   # the new channels are read with zero weights: output unchanged
        out[key] = grown
    return out

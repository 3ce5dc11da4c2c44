"""The network's own map as the previous mask: what it gets at run time, in training.

At run time a 4-channel model's previous mask is its own output (the last video frame's, or, for stills
with a stored still_prior_weight, the first pass's times that weight), with its own mistakes in it; the
synthetic priors of data/batch_prior.py are moved copies of the label, which make no such mistakes. With
`--self-prior-prob P` that share of each batch's samples gets instead w times the network's own person
probability for the sample (eval mode, no gradient, an empty previous mask), w uniform in
[SELF_PRIOR_LOW, 1]: the network learns to correct its own map rather than trust a clean one.
"""
from __future__ import annotations

import torch

from .data.batches import Batch
from .freeze import train_mode

SELF_PRIOR_LOW = 0.4   # lowest weight of the own map; stills measured best at 0.4-0.75 (benchmarks/still_scales.py)


def use_own_prior(model, batch: Batch, share: float, gen: torch.Generator, frozen) -> int:
    """Replace the prior of about `share` of the batch's samples, in place, by w x the model's own map; returns
    how many. Draws no random numbers when share is 0. The model is left in training mode (train_mode)."""
    if share <= 0 or batch.prior is None:
        return 0
    n = batch.x.shape[0]
    pick = torch.nonzero(torch.rand(n, generator=gen) < share).flatten()
    weight = SELF_PRIOR_LOW + (1 - SELF_PRIOR_LOW) * torch.rand(len(pick), generator=gen)
    if not len(pick):
        return 0
    pick_dev = pick.to(batch.x.device)
    x = torch.cat([batch.x[pick_dev], torch.zeros_like(batch.prior[pick_dev])], 1)
    model.eval()
    try:
        with torch.no_grad():
            own = torch.softmax(model(x.contiguous(memory_format=torch.channels_last)).float(), 1)[:, 1:2]
    finally:
        train_mode(model, frozen)
    batch.prior[pick_dev] = own * weight.to(own.device).view(-1, 1, 1, 1)
    return len(pick)

"""Hard-example sampling: photos the network still gets wrong are drawn more often.

`--hard-share F` draws that share of each batch's labelled samples in proportion to each photo's recent
loss (the rest stays uniform). The loss of a photo is an exponential moving average of the per-sample
ground-truth cross-entropy it had each time it was in a batch (augmented, so the average smooths the
noise of one view); photos not yet seen count as the mean of those that were. Weights are capped at
`MAX_RATIO` times the mean, so a photo whose label is simply wrong cannot take over the batches.

With hard sampling on, a batch depends on (seed, step) and on the losses seen before it; the tracker's
state is saved in each checkpoint, so `--resume` continues with the same weights.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

MAX_RATIO = 4.0    # the most a photo's weight may be, as a multiple of the mean weight
DECAY = 0.7        # EMA decay of a photo's loss per visit


class HardExampleTracker:
    """Per-photo loss averages of one store (`n` photos) and draws weighted by them."""

    def __init__(self, n: int, decay: float = DECAY, max_ratio: float = MAX_RATIO):
        self.losses = torch.full((n,), float("nan"))
        self.decay, self.max_ratio = decay, max_ratio

    def update(self, index: torch.Tensor, losses: torch.Tensor) -> None:
        """Fold per-sample losses in; index: int64 N (store rows, -1 = not from this store), losses: float N."""
        index, losses = index.detach().cpu(), losses.detach().float().cpu()
        keep = (index >= 0) & torch.isfinite(losses)
        for i, loss in zip(index[keep].tolist(), losses[keep].tolist()):  # a photo can appear twice in a batch
            old = self.losses[i].item()
            self.losses[i] = loss if old != old else self.decay * old + (1 - self.decay) * loss

    def weights(self) -> torch.Tensor:
        """float32 n, summing to 1: each photo's loss (the seen mean where unseen), capped at max_ratio x mean."""
        losses = self.losses.clone()
        seen = ~torch.isnan(losses)
        if not bool(seen.any()):
            return torch.full_like(losses, 1.0 / len(losses))
        losses[~seen] = losses[seen].mean()
        losses = losses.clamp_min(1e-6)
        losses = losses.clamp_max(_cap(losses, self.max_ratio))
        return losses / losses.sum()

    def draw(self, n: int, gen: torch.Generator) -> torch.Tensor:
        """n store rows (int64, on the generator's device), with replacement, by weight."""
        weights = self.weights().to(gen.device)
        return torch.multinomial(weights, n, replacement=True, generator=gen)

    def state_dict(self) -> dict:
        return {"losses": self.losses.clone()}

    def load_state_dict(self, state: dict) -> None:
        losses = state["losses"]
        if losses.shape != self.losses.shape:  # another dataset: start over rather than mix up photos
            return
        self.losses = losses.clone().float()


def _cap(values: torch.Tensor, ratio: float) -> float:
    """The c with c = ratio x mean(min(values, c)), or inf when no value is above ratio x the mean. With the
    k largest values capped: c = ratio x rest / (n - ratio x k), rest the sum of the others; the k taken is
    the first for which the largest uncapped value is at or below that c."""
    ordered = values.sort(descending=True).values.double().tolist()
    n, rest = len(ordered), sum(ordered)
    for k, value in enumerate(ordered):
        if n - ratio * k <= 0:
            break
        cap = ratio * rest / (n - ratio * k)
        if value <= cap:
            return float("inf") if k == 0 else cap
        rest -= value
    return float("inf")


def per_sample_loss(logits: torch.Tensor, labels: torch.Tensor, ignore: int = 255) -> torch.Tensor:
    """Mean cross-entropy over each sample's scored pixels (float32 N; NaN where none is scored)."""
    with torch.no_grad():
        pixel = F.cross_entropy(logits.detach().float(), labels, ignore_index=ignore, reduction="none")
        valid = (labels != ignore).float()
        count = valid.flatten(1).sum(1)
        total = (pixel * valid).flatten(1).sum(1)
        return torch.where(count > 0, total / count.clamp_min(1), torch.full_like(count, float("nan")))

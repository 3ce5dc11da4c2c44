"""--self-prior-prob: the network's own map replaces the synthetic previous mask for a share of samples."""
import torch

from humanseg.training.data.batches import Batch
from humanseg.training.models import create_model
from humanseg.training.self_prior import SELF_PRIOR_LOW, use_own_prior


def _batch(n=6, h=48, w=64):
    gen = torch.Generator().manual_seed(3)
    return Batch(x=torch.rand(n, 3, h, w, generator=gen) * 2 - 1, labels=torch.zeros(n, h, w, dtype=torch.long),
                 soft=torch.zeros(n, h, w), soft_valid=torch.zeros(n, h, w, dtype=torch.bool),
                 has_gt=torch.ones(n, dtype=torch.bool), prior=torch.full((n, 1, h, w), 0.77))


def test_every_picked_sample_gets_a_weighted_copy_of_the_models_own_map():
    torch.manual_seed(0)
    model = create_model("fast-portrait-prior")
    model.train()
    batch = _batch()
    replaced = use_own_prior(model, batch, 1.0, torch.Generator().manual_seed(1), frozen=[])
    assert replaced == 6 and model.training
    model.eval()
    with torch.no_grad():
        x = torch.cat([batch.x, torch.zeros_like(batch.prior)], 1)
        own = torch.softmax(model(x), 1)[:, 1:2]
    ratio = (batch.prior / own).flatten(1)
    assert torch.allclose(ratio.min(1).values, ratio.max(1).values, rtol=1e-3)   # one weight per sample
    assert ((ratio[:, 0] >= SELF_PRIOR_LOW - 1e-4) & (ratio[:, 0] <= 1 + 1e-4)).all()
    assert ratio[:, 0].std() > 0.01                                                # drawn per sample


def test_a_share_of_zero_changes_nothing_and_draws_nothing():
    model = create_model("fast-portrait-prior")
    batch, gen = _batch(), torch.Generator().manual_seed(5)
    state = gen.get_state()
    assert use_own_prior(model, batch, 0.0, gen, frozen=[]) == 0
    assert torch.equal(gen.get_state(), state) and (batch.prior == 0.77).all()
    half = _batch(n=64, h=16, w=16)
    count = use_own_prior(model, half, 0.5, torch.Generator().manual_seed(2), frozen=[])
    kept = (half.prior == 0.77).flatten(1).all(1)
    assert 16 < count < 48 and int((~kept).sum()) == count

"""Hard-example sampling (--hard-share): per-photo loss averages, capped weights, batches that draw by them,
and the trainer feeding its losses back and keeping the averages across --resume."""
import pytest

torch = pytest.importorskip("torch")

from humanseg.errors import OptionError  # noqa: E402
from humanseg.training.config import TrainConfig  # noqa: E402
from humanseg.training.config_check import check_config  # noqa: E402
from humanseg.training.data.batches import BatchMaker, BatchSettings  # noqa: E402
from humanseg.training.data.sources import load_training_stores  # noqa: E402
from humanseg.training.hard_examples import MAX_RATIO, HardExampleTracker, per_sample_loss  # noqa: E402


def test_weights_are_uniform_until_losses_are_seen_then_follow_them():
    tracker = HardExampleTracker(4)
    assert torch.allclose(tracker.weights(), torch.full((4,), 0.25))
    tracker.update(torch.tensor([0, 1]), torch.tensor([0.1, 0.3]))
    w = tracker.weights()
    assert abs(float(w.sum()) - 1) < 1e-6
    assert float(w[1]) > float(w[0])
    assert torch.allclose(w[2], w[3]) and torch.allclose(w[2], torch.tensor(0.2 / 0.8))  # unseen = the seen mean


def test_a_photo_seen_again_moves_its_average_and_rows_of_other_stores_are_ignored():
    tracker = HardExampleTracker(3, decay=0.5)
    tracker.update(torch.tensor([2, -1]), torch.tensor([1.0, 9.0]))
    tracker.update(torch.tensor([2, 2]), torch.tensor([0.0, float("nan")]))
    assert tracker.losses[2].item() == pytest.approx(0.5)
    assert torch.isnan(tracker.losses[:2]).all()


def test_one_photo_with_a_huge_loss_is_capped():
    tracker = HardExampleTracker(10)
    tracker.update(torch.arange(10), torch.tensor([1000.0] + [0.1] * 9))
    w = tracker.weights()
    assert float(w[0]) <= MAX_RATIO * float(w.mean()) + 1e-6
    assert float(w[0]) > 3 * float(w[1:].max())


def test_draws_follow_the_weights():
    tracker = HardExampleTracker(4)
    tracker.update(torch.arange(4), torch.tensor([1.0, 0.25, 0.25, 0.25]))
    rows = tracker.draw(4000, torch.Generator().manual_seed(0))
    share = float((rows == 0).float().mean())
    assert 0.5 < share < 0.65   # 1 / 1.75 = 0.57; uniform would be 0.25


def test_state_round_trips_and_another_dataset_size_starts_over():
    tracker = HardExampleTracker(3)
    tracker.update(torch.tensor([1]), torch.tensor([0.4]))
    again = HardExampleTracker(3)
    again.load_state_dict(tracker.state_dict())
    assert torch.allclose(again.weights(), tracker.weights())
    other = HardExampleTracker(5)
    other.load_state_dict(tracker.state_dict())
    assert torch.isnan(other.losses).all()


def test_per_sample_loss_skips_unscored_pixels_and_gives_nan_without_any():
    logits = torch.zeros(2, 2, 4, 4)
    logits[0, 1] = 5.0   # sample 0: confidently person
    labels = torch.zeros(2, 4, 4, dtype=torch.long)
    labels[0, :2] = 255  # half unscored
    labels[1] = 255      # none scored
    loss = per_sample_loss(logits, labels)
    expected = torch.nn.functional.cross_entropy(torch.tensor([[0.0, 5.0]]), torch.tensor([0])).item()
    assert loss[0].item() == pytest.approx(expected, rel=1e-5)
    assert torch.isnan(loss[1])


@pytest.fixture(scope="module")
def stores(tiny_dataset):
    return load_training_stores(tiny_dataset, 64, torch.device("cpu"), threads=1)


def _maker(stores, share, tracker=None, pseudo=0.25):
    settings = BatchSettings(size=(64, 48), synth_prob=0.5, pseudo_share=pseudo, prior=True, hard_share=share)
    return BatchMaker(stores.labelled, 8, settings, seed=3, pseudo=stores.pseudo, backgrounds=stores.backgrounds,
                      hard=tracker)


def test_without_hard_share_batches_are_unchanged_and_carry_their_rows(stores):
    plain = _maker(stores, 0.0).make(5)
    tracked = _maker(stores, 0.0, HardExampleTracker(len(stores.labelled))).make(5)  # a tracker alone changes nothing
    assert torch.equal(plain.x, tracked.x) and torch.equal(plain.labels, tracked.labels)
    assert plain.index.shape == (8,)
    assert bool((plain.index[:6] >= 0).all()) and bool((plain.index[6:] == -1).all())  # 2 pseudo samples


def test_hard_share_draws_the_hard_photos(stores):
    n = len(stores.labelled)
    tracker = HardExampleTracker(n)
    tracker.update(torch.arange(n), torch.tensor([1.0] + [0.01] * (n - 1)))
    maker = _maker(stores, 1.0, tracker, pseudo=0.0)
    rows = torch.cat([maker.make(step).index for step in range(20)])
    assert float((rows == 0).float().mean()) > 0.3   # capped weight 4 / (4 + 7 x 0.04...) ~ 0.5; uniform 1 / 8
    uniform = torch.cat([_maker(stores, 0.0, pseudo=0.0).make(step).index for step in range(20)])
    assert float((uniform == 0).float().mean()) < 0.25


def test_hard_share_must_be_a_share():
    with pytest.raises(OptionError, match="--hard-share"):
        check_config(TrainConfig(hard_share=1.5))


@pytest.mark.slow
def test_training_feeds_losses_back_and_keeps_them_across_resume(tiny_dataset, tmp_path):
    from humanseg.training.checkpoint_file import read_checkpoint
    from humanseg.training.trainer import train

    cfg = TrainConfig(model="fast-portrait-prior", data=str(tiny_dataset), out=str(tmp_path / "run"), size=(64, 48),
                      epochs=2, batch_size=4, steps_per_epoch=3, val_every=1, hard_share=0.5, seed=1, workers=1,
                      pseudo_share=0.0, canvas="adaptive")
    train(cfg)
    state = read_checkpoint(tmp_path / "run" / "last.pt")
    losses = state["hard_examples"]["losses"]
    seen = ~torch.isnan(losses)
    assert int(seen.sum()) >= 3 and bool((losses[seen] > 0).all())
    names = state["hard_examples"]["names"]
    assert len(names) == len(losses) and all(n.endswith(".jpg") for n in names)
    cfg.epochs = 3
    train(cfg, resume=True)
    after = read_checkpoint(tmp_path / "run" / "last.pt")["hard_examples"]["losses"]
    assert int((~torch.isnan(after)).sum()) >= int(seen.sum())


@pytest.mark.parametrize("values", [[5.0, 4.0, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1],
                                    [1.0, 1.0, 1.0], [9.0] + [1.0] * 30])
def test_the_cap_holds_after_capping(values):
    tracker = HardExampleTracker(len(values))
    tracker.update(torch.arange(len(values)), torch.tensor(values))
    w = tracker.weights()
    assert float(w.max()) <= MAX_RATIO * float(w.mean()) * (1 + 1e-5)
    order = torch.tensor(values).argsort(descending=True)
    assert bool((w[order][1:] <= w[order][:-1] + 1e-9).all())  # the order of the losses is kept


def test_hard_photos_lists_the_hardest_by_source(tmp_path, capsys):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
    import hard_photos

    names = [f"/d/train/{s}/images/{i}.jpg" for s, i in (("a", 0), ("a", 1), ("b", 2), ("b", 3))]
    state = {"model": "m", "state_dict": {"w": torch.zeros(1)},
             "hard_examples": {"losses": torch.tensor([0.1, 0.9, float("nan"), 0.3]), "names": names}}
    torch.save(state, tmp_path / "last.pt")
    assert hard_photos.main([str(tmp_path / "last.pt"), "--top", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:2] == ["# a: 2 photos seen, mean loss 0.5000", "# b: 1 photos seen, mean loss 0.3000"]
    assert out[2:] == [f"0.9000\t{names[1]}", f"0.3000\t{names[3]}"]
    del state["hard_examples"]
    torch.save(state, tmp_path / "plain.pt")
    assert hard_photos.main([str(tmp_path / "plain.pt")]) == 2
    assert "not written by a --hard-share run" in capsys.readouterr().err
    assert hard_photos.main([str(tmp_path / "none.pt")]) == 2
    assert "not found" in capsys.readouterr().err

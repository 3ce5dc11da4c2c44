"""--source-weights: labelled photos drawn by the weight of their source folder, names checked up front."""
import dataclasses

import pytest

torch = pytest.importorskip("torch")

from humanseg.cli import main  # noqa: E402
from humanseg.errors import OptionError  # noqa: E402
from humanseg.training.config import TrainConfig  # noqa: E402
from humanseg.training.config_check import check_config  # noqa: E402
from humanseg.training.data.batches import BatchMaker, BatchSettings, source_row_weights  # noqa: E402
from humanseg.training.data.sources import load_training_stores  # noqa: E402


@pytest.fixture(scope="module")
def two_sources(tiny_dataset):
    """The tiny store with its 8 photos split into two sources: rows 0-1 'small', rows 2-7 'big'."""
    stores = load_training_stores(tiny_dataset, 64, torch.device("cpu"), threads=1)
    names = [f"/d/train/{'small' if i < 2 else 'big'}/images/{i:03d}.jpg" for i in range(len(stores.labelled))]
    return dataclasses.replace(stores.labelled, names=names)


def _rows(store, weights, steps=25):
    settings = BatchSettings(size=(64, 48), synth_prob=0.0, source_weights=weights)
    maker = BatchMaker(store, 8, settings, seed=4)
    return torch.cat([maker.make(step).index for step in range(steps)])


def test_a_weighted_source_comes_up_in_proportion(two_sources):
    uniform = _rows(two_sources, {})
    weighted = _rows(two_sources, {"small": 3.0})      # 2 x 3 against 6 x 1: half of the draws
    small_uniform = float((uniform < 2).float().mean())
    small_weighted = float((weighted < 2).float().mean())
    assert 0.15 < small_uniform < 0.35      # 2 of 8
    assert 0.4 < small_weighted < 0.6
    never = _rows(two_sources, {"small": 0.0})
    assert not bool((never < 2).any())


def test_without_weights_batches_keep_their_random_stream(two_sources):
    settings = BatchSettings(size=(64, 48), synth_prob=0.5)
    a = BatchMaker(two_sources, 8, settings, seed=4).make(3)
    b = BatchMaker(two_sources, 8, dataclasses.replace(settings, source_weights={}), seed=4).make(3)
    assert torch.equal(a.x, b.x) and torch.equal(a.index, b.index)


def test_unknown_source_and_all_zero_are_refused(two_sources):
    with pytest.raises(OptionError, match="no training source named nope .*sources: big, small"):
        source_row_weights(two_sources.names, {"nope": 2.0}, torch.device("cpu"))
    with pytest.raises(OptionError, match="every training photo has weight 0"):
        source_row_weights(two_sources.names, {"small": 0.0, "big": 0.0}, torch.device("cpu"))


def test_negative_weight_is_refused_before_anything_loads():
    with pytest.raises(OptionError, match="--source-weights: the weight of toy is negative"):
        check_config(TrainConfig(source_weights={"toy": -1.0}))


@pytest.mark.parametrize("text, message", [("toy", "expected SOURCE=WEIGHT"), ("toy=x", "expected SOURCE=WEIGHT"),
                                           ("toy=2,toy=3", "toy given twice"), ("toy=nan", "finite number")])
def test_the_option_is_parsed_or_refused_in_one_line(tiny_dataset, tmp_path, capsys, text, message):
    code = main(["train", "--data", str(tiny_dataset), "--out", str(tmp_path / "run"), "--source-weights", text])
    assert code != 0
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()


def test_a_source_missing_from_the_data_is_refused_before_decoding(tiny_dataset, tmp_path, capsys):
    code = main(["train", "--data", str(tiny_dataset), "--out", str(tmp_path / "run"), "--source-weights",
                 "vikram_humanseg=3", "--cache", str(tmp_path / "cache")])
    assert code != 0
    err = capsys.readouterr().err
    assert "no training source named vikram_humanseg" in err and "toy" in err
    assert not (tmp_path / "run").exists() and not (tmp_path / "cache").exists()

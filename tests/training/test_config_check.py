"""Training options a run cannot use are refused in one line, before any data loads or any folder is made."""
from dataclasses import replace

import pytest

from humanseg.errors import OptionError
from humanseg.training.config import TrainConfig
from humanseg.training.config_check import check_config


def test_the_default_config_and_the_shipped_recipe_pass():
    check_config(TrainConfig())
    check_config(TrainConfig(model="fast-portrait-prior", canvas="adaptive", synth_prob=0.25, pseudo_share=0.1,
                             clip_share=0.05, quarter_turn_prob=0.2, lr=0.0008, max_minutes=80, val_every=8))
    check_config(TrainConfig(canvas="adaptive", small_person_prob=0.3, budget_scale=(1.0, 1.56)))


@pytest.mark.parametrize("change, phrase", [
    ({"quarter_turn_prob": 1.5}, "--quarter-turn-prob: a share between 0 and 1, got 1.5"),
    ({"synth_prob": -0.1}, "--synth-prob: a share between 0 and 1"),
    ({"webcam_prob": float("nan")}, "--webcam-prob: expected a finite number"),
    ({"lr": float("inf")}, "--lr: expected a finite number, got inf"),
    ({"warmup_epochs": float("inf")}, "--warmup-epochs: expected a finite number, got inf"),
    ({"distill_weight": float("inf")}, "--distill-weight: expected a finite number"),
    ({"losses": {"ce": float("inf")}}, "--losses: expected a finite number"),
    ({"seed": -1}, "--seed: a whole number from 0 to 4294967295, got -1"),
    ({"seed": 2**32}, "--seed: a whole number from 0 to 4294967295"),
    ({"epochs": 10**400}, "--epochs: expected a finite number"),
    ({"size": (99999, 99999)}, "--size: 99999x99999 is more than the runtime's largest canvas"),
    ({"pseudo_share": 0.6, "clip_share": 0.4}, "leave room for labelled photos"),
    ({"batch_size": 1}, "--batch-size: must be at least 2, got 1"),
    ({"epochs": 2.5}, "--epochs: expected a whole number"),
    ({"lr": 0.0}, "--lr: must be above 0"),
    ({"checkpoint_minutes": -1.0}, "--checkpoint-minutes: must be above 0"),
    ({"max_minutes": -3.0}, "--max-minutes: must be at least 0"),
    ({"distill_weight": -0.5}, "--distill-weight: must be at least 0"),
    ({"size": (256, 8)}, "--size: two whole numbers of at least --stride (16)"),
    ({"model_kwargs": [1]}, "--model-kwargs: expected a JSON object"),
    ({"losses": {}}, "--losses: expected a JSON object of loss weights"),
    ({"losses": {"ce": -1}}, "--losses: the weight of 'ce' is negative"),
    ({"matting_losses": {"l1": "x"}}, "--matting-losses: expected a finite number"),
    ({"class_weights": [1.0]}, "--class-weights: expected a JSON list with one weight per class"),
    ({"class_weights": [1.0, 2.0, 3.0]}, "one weight per class (2 for this model)"),
    ({"class_weights": [1.0, -2.0]}, "--class-weights: weights must not be negative"),
    ({"small_person_prob": 2.0}, "--small-person-prob: a share between 0 and 1"),
    ({"self_prior_prob": -0.1}, "--self-prior-prob: a share between 0 and 1"),
    ({"budget_scale": (1.5, 1.0), "canvas": "adaptive"}, "--budget-scale: need 0 < LOW <= HIGH <= 4"),
    ({"budget_scale": (1.0,), "canvas": "adaptive"}, "--budget-scale: expected LOW,HIGH"),
    ({"budget_scale": (1.0, 1.5)}, "--budget-scale: only with --canvas adaptive"),
])
def test_an_unusable_value_names_its_option(change, phrase):
    with pytest.raises(OptionError) as caught:
        check_config(replace(TrainConfig(), **change))
    assert phrase in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize("args, phrase", [
    (["--size", "256by144"], "--size: expected LONGxSHORT in pixels"),
    (["--losses", "{bad"], "--losses: not valid JSON"),
    (["--model-kwargs", "{"], "--model-kwargs: not valid JSON"),
    (["--losses", '{"focal": 1}'], "--losses: unknown loss(es) ['focal']"),
    (["--model", "fast-portrait", "--model-kwargs", '{"depth": 3}'], "--model-kwargs: "),
    (["--quarter-turn-prob", "2"], "--quarter-turn-prob: a share between 0 and 1"),
    (["--budget-scale", "1.5"], "--budget-scale: expected LOW,HIGH"),
    (["--model", "pphumanseg-lite", "--self-prior-prob", "0.3"], "--self-prior-prob: pphumanseg-lite does not take"),
    (["--model", "fast-portrait-matte", "--self-prior-prob", "0.3"], "--self-prior-prob: fast-portrait-matte does not"),
    (["--canvas", "adaptive", "--budget-scale", "2,1"], "--budget-scale: need 0 < LOW <= HIGH"),
    (["--warmup-epochs", "inf"], "--warmup-epochs: expected a finite number, got inf"),
    (["--lr", "inf"], "--lr: expected a finite number, got inf"),
    (["--seed", "-1"], "--seed: a whole number from 0 to 4294967295, got -1"),
    (["--class-weights", "[1, 2, 3]"], "--class-weights: expected a JSON list with one weight per class (2 for"),
])
def test_the_train_command_refuses_in_one_line_and_makes_no_run_folder(tmp_path, capsys, args, phrase):
    from humanseg.cli import main

    (tmp_path / "data").mkdir()
    code = main(["train", "--data", str(tmp_path / "data"), "--out", str(tmp_path / "run"), "--device", "cpu", *args])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and phrase in err, err
    assert not (tmp_path / "run").exists()

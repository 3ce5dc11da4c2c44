"""Refuse a training configuration that cannot work, in one line, before any data loads.

`check_config` is called by `train()` first thing, so the CLI and the Python API get the same
`OptionError` (a ValueError) naming the option as the command line spells it."""
from __future__ import annotations

import math
from numbers import Real

from ..errors import OptionError
from ..runtime.budget import MAX_CANVAS_PIXELS
from .config import TrainConfig

SHARES = ("synth_prob", "webcam_prob", "empty_prob", "hold_out_backgrounds", "quarter_turn_prob", "small_person_prob", "side_cut_prob", "keep_bottom_prob", "self_prior_prob", "hard_share",
          "pseudo_share", "clip_share", "portrait_share")
AT_LEAST = {  # option: (smallest allowed value, is it an integer)
    "epochs": (1, True), "batch_size": (2, True), "stride": (1, True), "store_size": (32, True),
    "steps_per_epoch": (0, True), "val_every": (1, True), "limit_train": (0, True),
    "weight_decay": (0.0, False), "warmup_epochs": (0.0, False), "max_minutes": (0.0, False),
    "distill_weight": (0.0, False), "matting_seg_weight": (0.0, False), "teacher_model_weight": (0.0, False),
}
ABOVE_ZERO = ("lr", "checkpoint_minutes")


def flag(name: str) -> str:
    """The command-line spelling of a config field: quarter_turn_prob -> --quarter-turn-prob."""
    return "--" + name.replace("_", "-")


def _number(name: str, value) -> float:
    try:
        number = math.nan if isinstance(value, bool) or not isinstance(value, Real) else float(value)
    except OverflowError:   # an integer too large for a float
        number = math.inf
    if not math.isfinite(number):
        raise OptionError(f"{flag(name)}: expected a finite number, got {value!r}")
    return number


def _weights(name: str, value) -> None:
    if not isinstance(value, dict) or not value:
        raise OptionError(f'{flag(name)}: expected a JSON object of loss weights, e.g. {{"ce": 1.0}}, got {value!r}')
    for loss, weight in value.items():
        if _number(name, weight) < 0:
            raise OptionError(f"{flag(name)}: the weight of {loss!r} is negative ({weight})")


def _budget_scale(cfg: TrainConfig) -> None:
    scale = cfg.budget_scale
    if not isinstance(scale, (tuple, list)) or len(scale) != 2:
        raise OptionError(f"--budget-scale: expected LOW,HIGH, e.g. 1.0,1.56, got {scale!r}")
    low, high = (_number("budget_scale", v) for v in scale)
    if not 0 < low <= high <= 4:
        raise OptionError(f"--budget-scale: need 0 < LOW <= HIGH <= 4, got {low:g},{high:g}")
    if (low, high) != (1.0, 1.0) and cfg.canvas != "adaptive":
        raise OptionError("--budget-scale: only with --canvas adaptive (a fixed canvas has no pixel budget to scale)")


def check_config(cfg: TrainConfig) -> None:
    """Raise OptionError for the first option whose value training cannot use."""
    for name in SHARES:
        value = _number(name, getattr(cfg, name))
        if not 0.0 <= value <= 1.0:
            raise OptionError(f"{flag(name)}: a share between 0 and 1, got {value:g}")
    if cfg.pseudo_share + cfg.clip_share >= 1.0:
        raise OptionError(f"--pseudo-share + --clip-share must leave room for labelled photos in each batch "
                          f"(sum {cfg.pseudo_share + cfg.clip_share:g}, must be below 1)")
    for name, (least, integer) in AT_LEAST.items():
        value = getattr(cfg, name)
        if integer and (isinstance(value, bool) or not isinstance(value, int)):
            raise OptionError(f"{flag(name)}: expected a whole number, got {value!r}")
        if _number(name, value) < least:
            raise OptionError(f"{flag(name)}: must be at least {least:g}, got {value:g}")
    for name in ABOVE_ZERO:
        if _number(name, getattr(cfg, name)) <= 0:
            raise OptionError(f"{flag(name)}: must be above 0, got {getattr(cfg, name):g}")
    if isinstance(cfg.seed, bool) or not isinstance(cfg.seed, int) or not 0 <= cfg.seed < 2**32:
        raise OptionError(f"--seed: a whole number from 0 to {2**32 - 1}, got {cfg.seed!r}")
    if len(cfg.size) != 2 or any(not isinstance(s, int) or s < cfg.stride for s in cfg.size):
        raise OptionError(f"--size: two whole numbers of at least --stride ({cfg.stride}), got {cfg.size!r}")
    if cfg.size[0] * cfg.size[1] > MAX_CANVAS_PIXELS:
        raise OptionError(f"--size: {cfg.size[0]}x{cfg.size[1]} is more than the runtime's largest canvas "
                          f"({MAX_CANVAS_PIXELS} pixels), e.g. 256x144")
    _budget_scale(cfg)
    if not isinstance(cfg.model_kwargs, dict):
        raise OptionError(f'--model-kwargs: expected a JSON object, e.g. {{"width": 0.5}}, got {cfg.model_kwargs!r}')
    _weights("losses", cfg.losses)
    _weights("matting_losses", cfg.matting_losses)
    if cfg.class_weights is not None:
        classes = cfg.model_kwargs.get("num_classes", 2)
        if not isinstance(cfg.class_weights, list) or len(cfg.class_weights) != classes:
            raise OptionError(f"--class-weights: expected a JSON list with one weight per class ({classes} for this "
                              f"model), e.g. [1.0, 2.0], got {cfg.class_weights!r}")
        if any(_number("class_weights", w) < 0 for w in cfg.class_weights):
            raise OptionError(f"--class-weights: weights must not be negative, got {cfg.class_weights!r}")
    _source_weights(cfg.source_weights)


def _source_weights(weights) -> None:
    """Each a finite weight from 0 (never drawn) up, not all 0; the names are checked against the data later."""
    if not isinstance(weights, dict):
        raise OptionError(f"--source-weights: expected SOURCE=WEIGHT pairs, got {weights!r}")
    for source, weight in weights.items():
        if _number("source_weights", weight) < 0:
            raise OptionError(f"--source-weights: the weight of {source} is negative ({weight:g})")

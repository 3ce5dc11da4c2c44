"""The training loop behind `humanseg train`: batches made on the device, GT + distillation losses,
checkpoints every few minutes and at each validation, cumulative history of samples and runs."""
from __future__ import annotations

import contextlib
import csv
import json
import math
import os
import random
import time
from pathlib import Path

import numpy as np
import torch
from ..errors import InputError, ModelError, OptionError, OutputError
from .config import TrainConfig
from .checkpoint_file import read_checkpoint
from .config_check import check_config
from .data.batches import Batch, BatchMaker, BatchSettings, check_source_names
from .data.folders import check_pairs, find_pairs
from .data.prefetch import Prefetcher
from .data.clip_store import find_clips
from .data.sources import load_training_stores
from .losses import MixedLoss
from .losses.distill import SoftTargetLoss
from .model_teacher import load_model_teacher, model_teacher_loss
from .hard_examples import HardExampleTracker, per_sample_loss
from .freeze import freeze_parts, train_mode, trainable_parameters
from .losses.matting import MattingLoss
from .models import create_model, input_channels, predicts_alpha
from .validation import ValidationSet, validate
from .plot import plot_log
from .self_prior import use_own_prior
from .widen import WidenError, widen_state_dict


def pick_device(name: str) -> torch.device:
    """The training device; OptionError (one line) for a name torch does not know or a device this machine lacks."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
        torch.zeros(1, device=device)
    except (RuntimeError, AssertionError) as exc:   # unknown name, no CUDA build or driver, no such GPU index
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
        raise OptionError(f"--device {name}: cannot use it ({reason}); use auto, cpu or cuda") from None
    return device


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _check_sources(root: Path, weights: dict) -> None:
    """--source-weights names only source folders of <data>/train (OptionError otherwise), checked before the
    training set is decoded."""
    train = Path(root) / "train"
    sources = [d.name for d in train.iterdir() if d.is_dir()] if train.is_dir() else []
    if sources:   # none: loading the training set says what is missing
        check_source_names(weights, sources, str(train))


def _check_hold_out_clips(root: Path, names, use_clips: bool) -> None:
    """--hold-out-clips names only clips under <data>/pseudo (OptionError otherwise), checked before the training
    set is decoded: a mistyped name would otherwise train on the clip it was meant to keep out."""
    if not names or not use_clips:
        return
    pseudo = Path(root) / "pseudo"
    clips = sorted({video.stem for video, _ in find_clips(pseudo)}) if pseudo.is_dir() else []
    unknown = sorted(set(names) - set(clips))
    if unknown:
        raise OptionError(f"--hold-out-clips: no clip named {', '.join(unknown)} under {pseudo} "
                          f"(clips: {', '.join(clips) if clips else 'none'})")


def load_split(root: Path, split: str, limit: int = 0):
    folder = root / split
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: missing (expected <data>/{split}/<source>/images and masks)")
    pairs = find_pairs(folder)
    if limit:
        pairs = pairs[:limit]
    good, problems = check_pairs(pairs)
    for line in problems:
        print(f"skipped: {line}")
    print(f"{split}: {len(good)} pairs, {len(problems)} skipped")
    if not good:
        raise FileNotFoundError(f"{folder}: no usable image/mask pairs")
    return good


def lr_at(step: int, total: int, warmup: int, base: float) -> float:
    if step < warmup:
        return base * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return base * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def _fits_exactly(model, state_dict: dict) -> bool:
    own = model.state_dict()
    return own.keys() == state_dict.keys() and all(own[k].shape == v.shape for k, v in state_dict.items())


def _check_init_file(cfg: TrainConfig, model) -> None:
    """A missing or unreadable --init, or one of another architecture, fails before the data loads (a .pt is
    read once more in initial_weights)."""
    if not cfg.init:
        return
    path = Path(cfg.init)
    if not path.is_file():
        raise InputError(f"{path}: --init file not found")
    if path.suffix.lower() == ".onnx":
        from .onnx_weights import architecture_of

        _check_onnx_architecture(path, *architecture_of(path), cfg, model)
    else:
        _check_checkpoint_fits(model, read_checkpoint(path), cfg, path)


def _check_onnx_architecture(path: Path, arch: str, kwargs: dict, cfg: TrainConfig, model) -> None:
    """The export is of cfg's model and kwargs, or of an architecture the model extends (its `init_from`) with
    tensors that fit it (checked on a freshly built model of the export's kwargs: no weights needed)."""
    if arch in getattr(model, "init_from", ()):
        _check_shared_tensors_fit(model, create_model(arch, **kwargs).state_dict(), path)
        return
    if arch != cfg.model:
        raise FileNotFoundError(f"{path}: holds {arch} {kwargs}, not {cfg.model} {cfg.model_kwargs}")
    if kwargs != cfg.model_kwargs:   # the same architecture, wider: its weights are grown into the model
        try:
            widen_state_dict(create_model(arch, **kwargs).state_dict(), model)
        except WidenError as exc:
            raise FileNotFoundError(f"{path}: holds {arch} {kwargs}, which does not grow into {cfg.model_kwargs} "
                                    f"({exc})") from None


def _check_checkpoint_fits(model, state: dict, cfg: TrainConfig, path: Path) -> None:
    """The checkpoint is of cfg's model with the same tensors, or of an architecture the model extends (its
    `init_from`, e.g. fast-portrait-matte from fast-portrait-prior) whose every tensor fits the model."""
    if state.get("model") in getattr(model, "init_from", ()):
        _check_shared_tensors_fit(model, state["state_dict"], path)
    elif state.get("model") != cfg.model or not _fits_exactly(model, state["state_dict"]):
        raise FileNotFoundError(f"{path}: holds {state.get('model')} {state.get('model_kwargs')}, "
                                f"not {cfg.model} {cfg.model_kwargs}")


def _check_shared_tensors_fit(model, state_dict: dict, path: Path) -> None:
    own = model.state_dict()
    misfit = [k for k, v in state_dict.items() if k not in own or own[k].shape != v.shape]
    if misfit:
        raise FileNotFoundError(f"{path}: {len(misfit)} tensors do not fit this model (e.g. {misfit[0]}); "
                                f"was it made with other model kwargs?")


def initial_weights(model, cfg: TrainConfig, calibration) -> dict:
    """Load --init (a checkpoint or a humanseg ONNX export of the same architecture) into model.

    Returns the history it carries: {"samples": cumulative training samples, "runs": [...]}."""
    path = Path(cfg.init)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: --init file not found")
    if path.suffix.lower() == ".onnx":
        from .onnx_weights import architecture_of, load_onnx_weights, onnx_metadata

        arch, kwargs = architecture_of(path)
        _check_onnx_architecture(path, arch, kwargs, cfg, model)
        if arch in getattr(model, "init_from", ()):   # grow: load the export into its own architecture first
            base = create_model(arch, **kwargs)
            load_onnx_weights(base, path, calibration)
            _load_shared_weights(model, base.state_dict(), path)
        elif kwargs != cfg.model_kwargs:   # the same network, wider (checked above): same output to start from
            base = create_model(arch, **kwargs)
            load_onnx_weights(base, path, calibration)
            model.load_state_dict(widen_state_dict(base.state_dict(), model))
            print(f"{path}: grown from {kwargs} into {cfg.model_kwargs} (new channels read with zero weights)")
        else:
            load_onnx_weights(model, path, calibration)
        meta = onnx_metadata(path)
        history = {"samples": int(meta.get("humanseg.training_samples", 0)),
                   "runs": json.loads(meta.get("humanseg.training_runs", "[]"))}
    else:
        state = read_checkpoint(path)
        _check_checkpoint_fits(model, state, cfg, path)
        if state.get("model") in getattr(model, "init_from", ()):
            _load_shared_weights(model, state["state_dict"], path)
        else:  # other kwargs whose weights are the same tensors (e.g. a matting head's band_logit) are fine
            model.load_state_dict(state["state_dict"])
        history = {"samples": int(state.get("training_samples", 0)), "runs": list(state.get("training_runs", []))}
    print(f"initialised from {path} ({history['samples']} earlier training samples, {len(history['runs'])} runs)")
    return history


def _load_shared_weights(model, state_dict: dict, path: Path) -> None:
    """A checkpoint of an architecture the model extends (checked by `_check_checkpoint_fits`): the model's
    own extra modules keep their fresh initialisation."""
    model.load_state_dict(state_dict, strict=False)
    own = model.state_dict()
    fresh = sorted({k.split(".")[0] for k in own if k not in state_dict})
    print(f"{path}: shared weights loaded; {', '.join(fresh) or 'nothing'} left freshly initialised")


def _previous_run(cfg: TrainConfig, resume: bool, model) -> dict | None:
    """What --out holds, checked before the data loads: with --resume, its last.pt (of this model, with the
    optimizer state); without, nothing a new run would overwrite. One-line errors otherwise."""
    out = Path(cfg.out)
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {out}: is a file; give the run a folder")
    blocking = next((p for p in out.parents if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise OutputError(f"--out {out}: {blocking} is a file, not a folder; give the run a folder elsewhere")
    last = out / "last.pt"
    if not resume:
        earlier = [name for name in ("last.pt", "best.pt") if (out / name).exists()]
        if earlier:
            raise OutputError(f"--out {out}: holds an earlier run ({', '.join(earlier)}); continue it with --resume "
                              "or give a new --out, so its checkpoints are not overwritten")
        return None
    if not last.is_file():
        raise InputError(f"--resume: {last} not found, so there is no run to continue; leave out --resume to "
                         "start a new run")
    state = read_checkpoint(last)
    if (state.get("model"), state.get("model_kwargs", {})) != (cfg.model, cfg.model_kwargs) \
            or not _fits_exactly(model, state["state_dict"]):
        raise OptionError(f"--resume: {last} holds {state.get('model')} {state.get('model_kwargs', {})}, not "
                          f"{cfg.model} {cfg.model_kwargs}; resume with the --model and --model-kwargs it was "
                          "started with")
    missing = [key for key in ("optimizer", "epoch", "best_miou", "log") if key not in state]
    if missing:
        raise ModelError(f"--resume: {last} has no {', '.join(missing)}: it is not a last.pt that humanseg train "
                         "wrote (a best.pt or an average cannot be resumed; start a run from it with --init)")
    return state


def _make_run_folder(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:   # no permission, a read-only or special file system
        raise OutputError(f"--out {out}: cannot make the run folder ({exc.strerror or exc}); give another --out") \
            from None


def train(cfg: TrainConfig, resume: bool = False) -> Path:
    """Train and return the path of the best checkpoint (by validation mIoU).

    Batches are made on the training device from uint8 tensor stores (data/batches.py); the loss is
    the mixed ground-truth loss on samples with a human mask plus `distill_weight` x BCE to the mean
    of the teacher labels wherever a teacher label exists."""
    check_config(cfg)  # every option, before anything loads: a wrong value fails at once, in one line
    out = Path(cfg.out)
    seed_everything(cfg.seed)
    device = pick_device(cfg.device)
    if device.type == "cpu" and "OMP_NUM_THREADS" not in os.environ:  # OMP_NUM_THREADS=1: share a busy machine
        torch.set_num_threads(os.cpu_count() or 1)
    threads = max(1, os.cpu_count() or 1) if cfg.workers < 0 else max(1, cfg.workers)

    root = Path(cfg.data)
    try:
        model = create_model(cfg.model, **cfg.model_kwargs).to(device)
    except TypeError as exc:  # a keyword the architecture does not take
        raise OptionError(f"--model-kwargs: {exc}") from None
    _check_init_file(cfg, model)
    previous = _previous_run(cfg, resume, model)
    frozen = freeze_parts(model, cfg.freeze)  # these three before the data loads: a wrong name fails at once
    matting = MattingLoss(cfg.matting_losses) if predicts_alpha(model) else None
    if cfg.self_prior_prob and (input_channels(model) != 4 or matting):
        raise OptionError(f"--self-prior-prob: {cfg.model} does not take its own person map as the previous mask "
                          "(only segmentation models with a 4th input channel do)")
    teacher = load_model_teacher(cfg.teacher_model, input_channels(model)) if cfg.teacher_model else None
    criterion = MixedLoss(cfg.losses, cfg.class_weights).to(device)
    val_pairs = load_split(root, "val")   # before the training set is decoded (minutes): a missing val fails at once
    _check_sources(root, cfg.source_weights)
    _check_hold_out_clips(root, cfg.hold_out_clips, use_clips=cfg.clip_share > 0)
    stores = load_training_stores(root, cfg.store_size, device, Path(cfg.cache) if cfg.cache else None, threads,
                                  cfg.limit_train, use_pseudo=cfg.pseudo_share > 0, use_clips=cfg.clip_share > 0,
                                  hold_out_clips=tuple(cfg.hold_out_clips),
                                  hold_out_backgrounds=cfg.hold_out_backgrounds)
    print(f"on {device}: {stores.describe()}")
    _make_run_folder(out)  # only once the data is there: a wrong --data leaves no empty run folder
    size = (max(cfg.size), min(cfg.size))
    val_set = ValidationSet(val_pairs, size, cfg.canvas, cfg.stride)
    batch_size = min(cfg.batch_size, max(2, len(stores.labelled)))
    settings = BatchSettings(size=size, canvas=cfg.canvas, stride=cfg.stride, portrait_share=cfg.portrait_share,
                             synth_prob=cfg.synth_prob, webcam_prob=cfg.webcam_prob, pseudo_share=cfg.pseudo_share,
                             clip_share=cfg.clip_share, prior=input_channels(model) == 4,
                             quarter_turn_prob=cfg.quarter_turn_prob, small_person_prob=cfg.small_person_prob,
                             side_cut_prob=cfg.side_cut_prob, keep_bottom_prob=cfg.keep_bottom_prob,
                             budget_scale=tuple(cfg.budget_scale),
                             teacher_gate=cfg.teacher_gate, empty_prob=cfg.empty_prob, hard_share=cfg.hard_share,
                             source_weights=dict(cfg.source_weights), matting=predicts_alpha(model))
    hard = HardExampleTracker(len(stores.labelled)) if cfg.hard_share > 0 else None
    maker = BatchMaker(stores.labelled, batch_size, settings, cfg.seed, stores.pseudo, stores.backgrounds,
                       stores.clips, hard)

    history = {"samples": 0, "runs": []}
    if cfg.init:
        calibration = [maker.make(-1 - i).model_input().cpu() for i in range(4)]
        model.cpu()
        history = initial_weights(model, cfg, calibration)
        model.to(device)
    model = model.to(memory_format=torch.channels_last)  # faster convolutions on CPU (oneDNN) and on GPU
    distill = SoftTargetLoss().to(device)
    if teacher is not None:
        teacher = teacher.to(device, memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(trainable_parameters(model), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = cfg.steps_per_epoch or max(1, len(stores.labelled) // batch_size)
    total_steps = steps_per_epoch * cfg.epochs
    warmup = int(cfg.warmup_epochs * steps_per_epoch)

    start_epoch, best, rows, samples = 0, -1.0, [], 0
    last_path, best_path, log_path = out / "last.pt", out / "best.pt", out / "log.csv"
    if previous is not None:
        state = previous
        model.load_state_dict(state["state_dict"])
        optimizer.load_state_dict(state["optimizer"])
        start_epoch, best, rows = state["epoch"] + 1, state["best_miou"], state["log"]
        samples = state.get("run_samples", 0)
        history = state.get("history", history)
        if hard is not None and "hard_examples" in state:
            hard.load_state_dict(state["hard_examples"])
        print(f"resumed from {last_path} at epoch {start_epoch}")
    (out / "config.json").write_text(json.dumps(cfg.to_dict(), indent=2))

    from tqdm import tqdm

    use_amp = cfg.amp and device.type == "cuda"
    self_prior_gen = torch.Generator().manual_seed(cfg.seed * 7919 + start_epoch)   # own stream: batches unchanged
    started = saved_at = time.time()
    for epoch in range(start_epoch, cfg.epochs):
        train_mode(model, frozen)
        t0, seen, loss_sum = time.time(), 0, torch.zeros((), device=device)
        first = epoch * steps_per_epoch
        batches = Prefetcher(maker.make, range(first, first + steps_per_epoch))  # next batch made beside this step
        bar = tqdm(batches, total=steps_per_epoch, desc=f"epoch {epoch + 1}/{cfg.epochs}", leave=False,
                   mininterval=2.0)
        for step, batch in bar:
            i = step - first
            lr_step = step
            if cfg.max_minutes:
                time_step = int(total_steps * (time.time() - started) / (cfg.max_minutes * 60))
                lr_step = max(step, time_step) if step >= warmup else step
            for group in optimizer.param_groups:
                group["lr"] = lr_at(lr_step, total_steps, warmup, cfg.lr)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
                if cfg.self_prior_prob:
                    use_own_prior(model, batch, cfg.self_prior_prob, self_prior_gen, frozen)
                x = batch.model_input()
                logits = model(x)
            loss = batch_loss(logits.float(), batch, criterion, distill, cfg.distill_weight, matting,
                              cfg.matting_seg_weight)
            if teacher is not None and cfg.teacher_model_weight:
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
                    loss = loss + cfg.teacher_model_weight * model_teacher_loss(teacher, x, logits.float(), distill)
            if hard is not None:
                hard.update(batch.index, per_sample_loss(logits, batch.labels))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            seen += batch.x.shape[0]
            loss_sum += loss.detach() * batch.x.shape[0]
            if i % 20 == 0:
                bar.set_postfix(loss=f"{float(loss_sum) / seen:.4f}", img_s=f"{seen / (time.time() - t0):.0f}")
        batches.close()
        samples += seen
        train_loss = float(loss_sum) / max(seen, 1)
        out_of_time = bool(cfg.max_minutes) and time.time() - started > cfg.max_minutes * 60
        validate_now = (epoch + 1) % cfg.val_every == 0 or epoch + 1 == cfg.epochs or out_of_time
        row = {"epoch": epoch + 1, "train_loss": round(train_loss, 5), "val_miou": None,
               "lr": optimizer.param_groups[0]["lr"], "images_per_s": round(seen / (time.time() - t0), 1),
               "elapsed_s": round(time.time() - started, 1), "samples": history["samples"] + samples}
        if validate_now:
            row["val_miou"] = round(validate(model, val_set, device, batch_size=max(batch_size, 16)), 5)
            rows.append(row)
        print(json.dumps(row), flush=True)
        miou = row["val_miou"]
        this_run = {"out": str(out), "init": cfg.init, "device": device.type, "samples": samples,
                    "minutes": round((time.time() - started) / 60, 1), "data": cfg.data}
        if cfg.teacher_model:
            this_run["teacher_model"] = cfg.teacher_model
        state = {"model": cfg.model, "model_kwargs": cfg.model_kwargs, "config": cfg.to_dict(),
                 "state_dict": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch,
                 "best_miou": best if miou is None else max(best, miou), "log": rows, "run_samples": samples,
                 "history": history, "training_samples": history["samples"] + samples,
                 "training_runs": history["runs"] + [this_run]}
        if hard is not None:  # with the photos' names: tools/hard_photos.py lists the hardest (label audits)
            state["hard_examples"] = {**hard.state_dict(), "names": list(stores.labelled.names)}
        last_epoch = epoch + 1 == cfg.epochs or out_of_time
        if last_epoch or miou is not None or time.time() - saved_at >= cfg.checkpoint_minutes * 60:
            _atomic_save(state, last_path)  # --resume loses at most checkpoint_minutes (or val_every epochs)
            saved_at = time.time()
        if miou is not None:
            if miou > best:
                best = miou
                _atomic_save({k: v for k, v in state.items() if k != "optimizer"}, best_path)
            _write_log(rows, log_path)
            plot_log(rows, out / "log.png")
        if out_of_time:
            print(f"stopping after epoch {epoch + 1}: time budget of {cfg.max_minutes} min spent")
            break
    print(f"done: best val mIoU {best:.4f}; {history['samples'] + samples} training samples in all; "
          f"best checkpoint {best_path}")
    return best_path


def batch_loss(logits: torch.Tensor, batch: Batch, criterion: MixedLoss, distill: SoftTargetLoss,
               distill_weight: float, matting: MattingLoss | None = None, seg_weight: float = 1.0) -> torch.Tensor:
    """Ground-truth losses over the samples that have a human mask + distill_weight x soft-target BCE.

    Matting models (`matting` given, batch.alpha set): seg_weight x that, so that the hard labels
    keep the person/background split right without flattening soft edges, + the matting losses on
    alpha = softmax(logits)[:, 1] against batch.alpha."""
    loss = logits.new_zeros(())
    if bool(batch.has_gt.any()):
        gt = batch.has_gt
        loss = loss + criterion(logits[gt], batch.labels[gt])[0]
    if distill_weight:
        loss = loss + distill_weight * distill(logits, batch.soft, batch.soft_valid)
    if matting is not None and batch.alpha is not None:
        alpha = torch.softmax(logits, 1)[:, 1]
        loss = seg_weight * loss + matting(alpha, batch.alpha, batch.fg, batch.bg, batch.pasted)[0]
    return loss


def _atomic_save(obj, path: Path) -> None:
    with _temporary_beside(path) as tmp:
        torch.save(obj, tmp)
        tmp.replace(path)


def _write_log(rows: list[dict], path: Path) -> None:
    with _temporary_beside(path) as tmp:
        with tmp.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        tmp.replace(path)


@contextlib.contextmanager
def _temporary_beside(path: Path):
    """A temporary name beside `path` (<name>.tmp); removed when the write is cut short (Ctrl-C, full disk), so
    an interrupted save leaves the previous file and no half-written temporary behind."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    try:
        yield tmp
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise

"""The training loop behind `humanseg train`."""
from __future__ import annotations

import csv
import json
import math
import os
import random
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from ..evaluation.metrics import SegmentationScores
from .config import TrainConfig
from .data.dataset import OrientationBatchSampler, SegmentationDataset, background_files, validation_items
from .data.folders import check_pairs, find_pairs
from .losses import MixedLoss
from .models import create_model
from .plot import plot_log


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


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


@torch.no_grad()
def validate(model, dataset: SegmentationDataset, items, device, batch_size: int) -> float:
    """mIoU of the model on letterboxed validation images (padding excluded)."""
    model.eval()
    scores = SegmentationScores()
    for orientation in (0, 1):
        keys = [k for k in items if k[1] == orientation]
        for start in range(0, len(keys), batch_size):
            batch = [dataset[k] for k in keys[start:start + batch_size]]
            x = torch.stack([b[0] for b in batch]).to(device)
            pred = model(x).argmax(1).cpu().numpy()
            for p, (_, lab) in zip(pred, batch):
                lab = lab.numpy()
                valid = lab != 255
                scores.add(p[valid], lab[valid] == 1, detailed=False)
    model.train()
    return scores.summary()["miou"]


def train(cfg: TrainConfig, resume: bool = False) -> Path:
    """Train and return the path of the best checkpoint (by validation mIoU)."""
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    seed_everything(cfg.seed)
    device = pick_device(cfg.device)
    if device.type == "cpu":
        torch.set_num_threads(os.cpu_count() or 1)
    workers = min(16, os.cpu_count() or 1) if cfg.workers < 0 else cfg.workers

    root = Path(cfg.data)
    train_pairs = load_split(root, "train", cfg.limit_train)
    val_pairs = load_split(root, "val")
    backgrounds = background_files(root / "backgrounds") if (root / "backgrounds").is_dir() else []
    print(f"backgrounds for synthesis: {len(backgrounds)}")
    size = (max(cfg.size), min(cfg.size))
    train_set = SegmentationDataset(train_pairs, size, True, backgrounds, cfg.synth_prob, seed=cfg.seed)
    val_set = SegmentationDataset(val_pairs, size, augment=False)
    val_items = validation_items(val_pairs)
    batch_size = min(cfg.batch_size, len(train_pairs))
    sampler = OrientationBatchSampler(len(train_pairs), batch_size, cfg.portrait_share, cfg.seed)
    loader = DataLoader(train_set, batch_sampler=sampler, num_workers=workers, pin_memory=device.type == "cuda",
                        persistent_workers=False)

    model = create_model(cfg.model, **cfg.model_kwargs).to(device)
    if cfg.init:
        init_state = torch.load(cfg.init, map_location="cpu", weights_only=False)
        if init_state.get("model") != cfg.model or init_state.get("model_kwargs", {}) != cfg.model_kwargs:
            raise FileNotFoundError(f"{cfg.init}: holds {init_state.get('model')} {init_state.get('model_kwargs')}, "
                                    f"not {cfg.model} {cfg.model_kwargs}")
        model.load_state_dict(init_state["state_dict"])
        print(f"initialised from {cfg.init}")
    criterion = MixedLoss(cfg.losses, cfg.class_weights).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = len(sampler)
    total_steps = steps_per_epoch * cfg.epochs
    warmup = int(cfg.warmup_epochs * steps_per_epoch)

    start_epoch, best, rows = 0, -1.0, []
    last_path, best_path, log_path = out / "last.pt", out / "best.pt", out / "log.csv"
    if resume and last_path.exists():
        state = torch.load(last_path, map_location=device, weights_only=False)
        model.load_state_dict(state["state_dict"])
        optimizer.load_state_dict(state["optimizer"])
        start_epoch, best, rows = state["epoch"] + 1, state["best_miou"], state["log"]
        print(f"resumed from {last_path} at epoch {start_epoch}")
    (out / "config.json").write_text(json.dumps(cfg.to_dict(), indent=2))

    from tqdm import tqdm

    use_amp = cfg.amp and device.type == "cuda"
    started = time.time()
    for epoch in range(start_epoch, cfg.epochs):
        sampler.epoch = train_set.epoch = epoch
        model.train()
        t0, seen, loss_sum = time.time(), 0, 0.0
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{cfg.epochs}", leave=False, mininterval=2.0)
        for i, (x, y) in enumerate(bar):
            step = epoch * steps_per_epoch + i
            if cfg.max_minutes:
                time_step = int(total_steps * (time.time() - started) / (cfg.max_minutes * 60))
                step = max(step, time_step) if step >= warmup else step
            for group in optimizer.param_groups:
                group["lr"] = lr_at(step, total_steps, warmup, cfg.lr)
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
                logits = model(x)
            loss, _ = criterion(logits.float(), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            seen += x.shape[0]
            loss_sum += float(loss.detach()) * x.shape[0]
            bar.set_postfix(loss=f"{loss_sum / seen:.4f}", img_s=f"{seen / (time.time() - t0):.0f}")
        train_loss = loss_sum / max(seen, 1)
        out_of_time = bool(cfg.max_minutes) and time.time() - started > cfg.max_minutes * 60
        validate_now = (epoch + 1) % cfg.val_every == 0 or epoch + 1 == cfg.epochs or out_of_time
        row = {"epoch": epoch + 1, "train_loss": round(train_loss, 5), "val_miou": None,
               "lr": optimizer.param_groups[0]["lr"], "images_per_s": round(seen / (time.time() - t0), 1),
               "elapsed_s": round(time.time() - started, 1)}
        if validate_now:
            row["val_miou"] = round(validate(model, val_set, val_items, device, batch_size=max(batch_size, 16)), 5)
            rows.append(row)
        print(json.dumps(row), flush=True)
        miou = row["val_miou"]
        state = {"model": cfg.model, "model_kwargs": cfg.model_kwargs, "config": cfg.to_dict(),
                 "state_dict": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch,
                 "best_miou": best if miou is None else max(best, miou), "log": rows}
        _atomic_save(state, last_path)  # every epoch, so --resume loses at most one epoch
        if miou is not None:
            if miou > best:
                best = miou
                _atomic_save({k: v for k, v in state.items() if k != "optimizer"}, best_path)
            _write_log(rows, log_path)
            plot_log(rows, out / "log.png")
        if out_of_time:
            print(f"stopping after epoch {epoch + 1}: time budget of {cfg.max_minutes} min spent")
            break
    skipped = len(train_set.bad)
    print(f"done: best val mIoU {best:.4f}; {skipped} training files skipped while loading; best checkpoint {best_path}")
    return best_path


def _atomic_save(obj, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    tmp.replace(path)


def _write_log(rows: list[dict], path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(path)

"""Training throughput, old per-sample path against the on-device batch path, in one run.

(a) the data pipeline alone, (b) pipeline + forward/backward/step of a model (pphumanseg-v2 at
256x144 by default), samples/s, on whatever device is present (CUDA when available).

old: torch DataLoader over the per-sample OpenCV dataset (benchmarks/old_data_path/, the path before this one), `--workers`
     processes, batches copied to the device.
new: uint8 tensor stores on the device, batches made with tensor ops (training/data/batches.py) in a
     thread one step ahead (training/data/prefetch.py), and the model in channels-last memory format,
     as `humanseg train` now runs it.

    python benchmarks/train_throughput.py --data ../shared/data [--device cuda] [--batch 32] [--rounds 3]

Rounds alternate old and new so both see the same machine load; medians are printed.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from humanseg.training.data.batches import BatchMaker, BatchSettings  # noqa: E402
from old_data_path.dataset import OrientationBatchSampler, SegmentationDataset, background_files  # noqa: E402
from humanseg.training.data.folders import find_pairs  # noqa: E402
from humanseg.training.data.prefetch import Prefetcher  # noqa: E402
from humanseg.training.data.sources import load_training_stores  # noqa: E402
from humanseg.training.losses import MixedLoss  # noqa: E402
from humanseg.training.losses.distill import SoftTargetLoss  # noqa: E402
from humanseg.training.models import create_model  # noqa: E402
from humanseg.training.trainer import batch_loss  # noqa: E402


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def old_batches(data: Path, size, batch: int, workers: int, device):
    pairs = find_pairs(data / "train")
    dataset = SegmentationDataset(pairs, size, True, background_files(data / "backgrounds"), 0.5)
    sampler = OrientationBatchSampler(len(pairs), batch, 0.5, 0)
    loader = torch.utils.data.DataLoader(dataset, batch_sampler=sampler, num_workers=workers,
                                         pin_memory=device.type == "cuda", persistent_workers=workers > 0)
    while True:
        sampler.epoch += 1
        for x, y in loader:
            yield x.to(device, non_blocking=True), y.to(device, non_blocking=True)


def new_batches(maker: BatchMaker):
    """As `humanseg train` makes them: the next batch is made in a thread beside the current step."""
    for _, batch in Prefetcher(maker.make, range(10**9)):
        yield batch


def timed(batches, steps: int, train_step, device, warmup: int = 2) -> float:
    """samples/s over `steps` batches (after `warmup`)."""
    for _ in range(warmup):
        train_step(next(batches))
    sync(device)
    t0, n = time.perf_counter(), 0
    for _ in range(steps):
        item = next(batches)
        train_step(item)
        n += (item[0] if isinstance(item, tuple) else item.x).shape[0]
    sync(device)
    return n / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--model", default="pphumanseg-v2")
    ap.add_argument("--size", default="256x144")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=10, help="batches timed per measurement")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workers", type=int, default=min(16, os.cpu_count() or 1), help="DataLoader workers (old path)")
    ap.add_argument("--cache", type=Path, default=None, help="decoded-store cache folder")
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args()
    if not (a.data / "train").is_dir():
        print(f"{a.data}/train not found: nothing to measure (this benchmark needs the training data)")
        return
    device = torch.device(a.device)
    if device.type == "cpu":
        torch.set_num_threads(os.cpu_count() or 1)
    long_side, short_side = (int(v) for v in a.size.split("x"))
    size = (long_side, short_side)

    t0 = time.perf_counter()
    stores = load_training_stores(a.data, 320, device, a.cache, os.cpu_count() or 1)
    decode_s = time.perf_counter() - t0
    maker = BatchMaker(stores.labelled, a.batch, BatchSettings(size=size, pseudo_share=0.25), 0, stores.pseudo,
                       stores.backgrounds)
    model = create_model(a.model).to(device).train()
    model_cl = create_model(a.model).to(device).train().to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    optimizer_cl = torch.optim.AdamW(model_cl.parameters(), lr=1e-4)
    criterion, distill = MixedLoss({"ce": 0.8, "lovasz": 0.2}).to(device), SoftTargetLoss()
    use_amp = device.type == "cuda"

    def step_old(item):
        x, y = item
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
            logits = model(x)
        loss = criterion(logits.float(), y)[0]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    def step_new(b):
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
            logits = model_cl(b.x.contiguous(memory_format=torch.channels_last))
        loss = batch_loss(logits.float(), b, criterion, distill, 0.5)
        optimizer_cl.zero_grad(set_to_none=True)
        loss.backward()
        optimizer_cl.step()

    old, new = old_batches(a.data, size, a.batch, a.workers, device), new_batches(maker)
    results = {k: [] for k in ("old_data", "new_data", "old_train", "new_train")}
    for _ in range(a.rounds):
        results["old_data"].append(timed(old, a.steps, lambda item: None, device))
        results["new_data"].append(timed(new, a.steps, lambda item: None, device))
        results["old_train"].append(timed(old, a.steps, step_old, device))
        results["new_train"].append(timed(new, a.steps, step_new, device))
    med = {k: statistics.median(v) for k, v in results.items()}
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {os.cpu_count()} cores"
    print(f"device: {name}; batch {a.batch}, canvas {a.size}, model {a.model}; old path {a.workers} DataLoader workers; "
          f"stores decoded in {decode_s:.1f} s ({stores.describe()})")
    print("| measure | old samples/s | new samples/s | new / old |")
    print("|---|---|---|---|")
    print(f"| (a) data pipeline alone | {med['old_data']:.0f} | {med['new_data']:.0f} | {med['new_data'] / med['old_data']:.1f}x |")
    print(f"| (b) pipeline + {a.model} forward/backward | {med['old_train']:.0f} | {med['new_train']:.0f} | "
          f"{med['new_train'] / med['old_train']:.1f}x |")
    if a.json:
        a.json.write_text(json.dumps({"device": name, "batch": a.batch, "size": a.size, "model": a.model,
                                      "workers": a.workers, "rounds": results, "median": med}, indent=2))


if __name__ == "__main__":
    main()

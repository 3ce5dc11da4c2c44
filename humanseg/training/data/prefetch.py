"""Make the next training batch in a background thread while the model trains on this one.

Batches depend only on (seed, step) (batches.BatchMaker), so a run with prefetching gives the same
batches as one without. Torch releases the GIL inside its ops, so on a CPU the batch maths of step
i + 1 runs beside the forward/backward of step i; on a GPU the kernels queue on the same device.
"""
from __future__ import annotations

import queue
import threading
from typing import Callable, Iterator


class Prefetcher:
    """Iterate `make(step)` for step in `steps`, one batch (or `depth`) made ahead in a thread.

    An exception raised by `make` is raised again by the iterator; `close()` stops the thread."""

    def __init__(self, make: Callable[[int], object], steps: range, depth: int = 1):
        self._make, self._steps = make, steps
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="batch-prefetch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        for step in self._steps:
            if self._stop.is_set():
                return
            try:
                item = (step, self._make(step), None)
            except BaseException as error:  # handed to the consumer, which re-raises it
                item = (step, None, error)
            while not self._stop.is_set():
                try:
                    self._queue.put(item, timeout=0.1)
                    break
                except queue.Full:
                    continue
            if item[2] is not None:
                return

    def __iter__(self) -> Iterator[tuple[int, object]]:
        for _ in self._steps:
            step, batch, error = self._queue.get()
            if error is not None:
                raise error
            yield step, batch

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def __enter__(self) -> "Prefetcher":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

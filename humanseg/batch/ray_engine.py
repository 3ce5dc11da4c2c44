"""Engine: Ray, on this machine or a cluster (`pip install 'humanseg[batch]'`).

Images go through Ray Data: a pool of actors, each holding one FileWorker (one ONNX Runtime session per
canvas use), fed blocks of a few files; each image is one model call, since images differ in size.
Videos are one Ray task each (the frames of a video depend on each other: temporal smoothing), at most
one per actor slot at a time. Every node must have humanseg installed and see the inputs and the output
folder at the same paths (a shared filesystem); the records come back to this process, which writes them."""
from __future__ import annotations

import json
import logging
import math
import os
import signal
import threading
from typing import Callable

from ..errors import InputError
from .jobs import Job
from .manifest import make_record, one_line
from .work import BatchSettings, FileWorker, worker_for

ROWS_PER_BLOCK = 16   # at most this many images per block: progress moves and work spreads in small steps


class RayEngine:
    """address: "auto" (the cluster this machine belongs to, `ray start`), HOST:PORT of a head node, or
    None: a Ray already initialised in this process, else a new local Ray. workers: image actors (default:
    the cluster's CPUs / cpus_per_actor, or its GPUs / gpus_per_actor when that is set); the same number
    of videos run at once. cpus_per_actor / gpus_per_actor: Ray resources each actor and video task holds."""

    name = "ray"

    def __init__(self, address: str | None = None, workers: int | None = None, cpus_per_actor: float = 1.0,
                 gpus_per_actor: float = 0.0):
        import ray  # noqa: F401  here, so that a missing Ray is said (with its install hint) before any folder is made

        self.address, self.workers = address, workers
        self.cpus_per_actor, self.gpus_per_actor = cpus_per_actor, gpus_per_actor
        self._started = False
        self._handlers: dict[int, object] = {}

    def prepare(self) -> None:
        """Join or start Ray now, so that a wrong --address is said before any folder is made."""
        import ray

        if not ray.is_initialized():
            self._handlers = _signal_handlers()
            self._started = self._connect(ray)

    def close(self) -> None:
        """Shut down a Ray that prepare() started; one it joined or found running is left as it is.
        ray.init installs its own SIGTERM handler and ray.shutdown leaves it: the handlers this process had
        before are put back, so a later conversion in a library user's process behaves as without Ray."""
        if self._started:
            import ray

            ray.shutdown()
            _restore_signal_handlers(self._handlers)
            self._started = False

    def run(self, jobs: list[Job], settings: BatchSettings, report: Callable[[dict], None]) -> None:
        """Run every job; report(record) in the calling thread as each one finishes."""
        import ray

        self.prepare()
        if not jobs:
            return
        slots = self._slots(ray)
        threads = max(1, int(self.cpus_per_actor))
        images = [j for j in jobs if j.kind == "image"]
        videos = [j for j in jobs if j.kind == "video"]
        if images:
            self._run_images(ray, images, settings, threads, slots, report)
        if videos:
            self._run_videos(ray, videos, settings, threads, slots, report)

    def _connect(self, ray) -> bool:
        """Initialise Ray (join the cluster at self.address, or start a local one); True when done."""
        # Ray's own start-up notes and its C++ notes about Ray Data's actors would mix with our progress bar;
        # they stay in Ray's log files (/tmp/ray/session_*/logs). Set RAY_BACKEND_LOG_LEVEL to see them here.
        os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")
        try:
            ray.init(address=self.address, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
        except (ConnectionError, ValueError, RuntimeError) as exc:
            where = f"--address {self.address}" if self.address else "a local Ray"
            raise InputError(f"{where}: cannot connect or start ({one_line(exc)}); start a head node with "
                             "`ray start --head` and pass its address") from exc
        return True

    def _slots(self, ray) -> int:
        if self.workers:
            return self.workers
        resources = ray.cluster_resources()
        if self.gpus_per_actor:
            return max(1, int(resources.get("GPU", 0) // self.gpus_per_actor))
        return max(1, int(resources.get("CPU", 1) // self.cpus_per_actor))

    def _resources(self) -> dict:
        return {"num_cpus": self.cpus_per_actor, **({"num_gpus": self.gpus_per_actor} if self.gpus_per_actor else {})}

    def _run_images(self, ray, jobs, settings, threads, slots, report) -> None:
        import ray.data

        for handler in logging.getLogger("ray.data").handlers:   # the console's; its log file keeps everything
            if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
                handler.setLevel(logging.ERROR)
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False   # ours counts files across images and videos
        rows = [{"job": json.dumps(job.__dict__)} for job in jobs]
        per_block = max(1, min(ROWS_PER_BLOCK, len(rows) // (4 * slots)))
        ds = ray.data.from_items(rows, override_num_blocks=math.ceil(len(rows) / per_block))
        ds = ds.map(ImageActor, fn_constructor_kwargs={"settings": settings, "threads": threads},
                    compute=ray.data.ActorPoolStrategy(size=min(slots, len(rows))), **self._resources())
        for row in ds.iter_rows():
            report(json.loads(row["record"]))

    def _run_videos(self, ray, jobs, settings, threads, slots, report) -> None:
        task = ray.remote(_video_task).options(max_retries=0, **self._resources())
        pending = list(reversed(jobs))
        in_flight: dict = {}
        try:
            while pending or in_flight:
                while pending and len(in_flight) < slots:
                    job = pending.pop()
                    in_flight[task.remote(job, settings, threads)] = job
                ready, _ = ray.wait(list(in_flight), num_returns=1)
                for ref in ready:
                    job = in_flight.pop(ref)
                    try:
                        record = ray.get(ref)
                    except ray.exceptions.RayError as exc:   # the worker died (crash, out of memory, node lost)
                        record = make_record(job.input, job.output, job.kind, "failed",
                                             f"{job.input}: the Ray task failed ({type(exc).__name__}); re-run to "
                                             "retry it", 0, 0.0)
                    report(record)
        except BaseException:
            for ref in in_flight:   # KeyboardInterrupt inside each task: its temporary output is removed
                ray.cancel(ref)
            raise


class ImageActor:
    """A Ray Data actor: one FileWorker for its lifetime; a row {"job": json} -> {"record": json}."""

    def __init__(self, settings: BatchSettings, threads: int):
        self.worker = FileWorker(settings, threads)

    def __call__(self, row: dict) -> dict:
        return {"record": json.dumps(self.worker(Job(**json.loads(row["job"]))))}


def _video_task(job: Job, settings: BatchSettings, threads: int) -> dict:
    return worker_for(settings, threads)(job)


def _signal_handlers() -> dict[int, object]:
    """SIGTERM's and SIGINT's handlers now, where they can be set again (the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}


def _restore_signal_handlers(handlers: dict[int, object]) -> None:
    if threading.current_thread() is not threading.main_thread():
        return
    for sig, handler in handlers.items():
        if handler is not None:
            signal.signal(sig, handler)

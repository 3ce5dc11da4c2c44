"""Engine: Ray, on this machine or a cluster (`pip install 'humanseg[batch]'`).

Images go to a pool of actors, each holding one FileWorker (one ONNX Runtime session per canvas use) and
making one file at a time; each image is one model call, since images differ in size. Videos are one Ray
task each (the frames of a video depend on each other: temporal smoothing), at most one per actor slot at a
time. A worker that dies (a crash, out of memory, a lost node) fails the one file it was making, as on the
local engine: Ray does not retry it (a file that crashes its worker would crash every retry) and a new actor
takes its place. Every node must have humanseg installed and see the inputs and the output folder at the
same paths (a shared filesystem); the records come back to this process, which writes them."""
from __future__ import annotations

import logging
import os
import signal
import threading
from typing import Callable

from ..errors import InputError
from .jobs import Job
from .manifest import make_record, one_line
from .outdir import remove_stale_temporaries
from .work import BatchSettings, FileWorker, worker_for


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
        """Join or start Ray now, so that a wrong --address, or actors no node can hold, are said before any
        folder is made."""
        import ray

        if not ray.is_initialized():
            self._handlers = _signal_handlers()
            self._started = self._connect(ray)
        self._check_resources(ray)

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
        # Ray's own start-up notes and its C++ notes about its workers would mix with our progress bar;
        # they stay in Ray's log files (/tmp/ray/session_*/logs). Set RAY_BACKEND_LOG_LEVEL to see them here.
        os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")
        try:
            ray.init(address=self.address, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
        except (ConnectionError, ValueError, RuntimeError) as exc:
            where = f"--address {self.address}" if self.address else "a local Ray"
            raise InputError(f"{where}: cannot connect or start ({one_line(exc)}); start a head node with "
                             "`ray start --head` and pass its address") from exc
        return True

    def _check_resources(self, ray) -> None:
        """InputError when no node of the cluster can hold an actor (more CPUs or GPUs than any node has):
        Ray would wait for such a node for ever, and the run would hang without a word."""
        nodes = [node.get("Resources", {}) for node in ray.nodes() if node.get("Alive")]
        for what, option, need in (("CPU", "--cpus-per-actor", self.cpus_per_actor),
                                   ("GPU", "--gpus-per-actor", self.gpus_per_actor)):
            most = max((node.get(what, 0.0) for node in nodes), default=0.0)
            if need and most < need:
                raise InputError(f"{option} {need:g}: no node of the Ray cluster has {need:g} {what}(s) (the "
                                 f"largest has {most:g}); ask for less, or add a node that has them")

    def _slots(self, ray) -> int:
        """Actors (and videos at once): --workers, or as many as the cluster's CPUs (GPUs) hold."""
        if self.workers:
            return self.workers
        resources = ray.cluster_resources()
        if self.gpus_per_actor:
            return max(1, int(resources.get("GPU", 0) // self.gpus_per_actor))
        return max(1, int(resources.get("CPU", 1) // self.cpus_per_actor))

    def _resources(self) -> dict:
        return {"num_cpus": self.cpus_per_actor, **({"num_gpus": self.gpus_per_actor} if self.gpus_per_actor else {})}

    def _run_images(self, ray, jobs, settings, threads, slots, report) -> None:
        """One file at a time on each of up to `slots` actors. An actor that dies fails its file and is replaced;
        Ray neither restarts it nor retries the call (max_restarts=0, max_task_retries=0)."""
        actor_class = ray.remote(ImageActor).options(max_restarts=0, max_task_retries=0, **self._resources())
        pending = list(reversed(jobs))
        idle: list = []
        actors: list = []
        in_flight: dict = {}
        try:
            while pending or in_flight:
                while pending and (idle or len(actors) < min(slots, len(jobs))):
                    if not idle:
                        actors.append(actor_class.remote(settings, threads))
                        idle.append(actors[-1])
                    actor, job = idle.pop(), pending.pop()
                    in_flight[actor.convert.remote(job)] = (job, actor)
                ready, _ = ray.wait(list(in_flight), num_returns=1)
                for ref in ready:
                    job, actor = in_flight.pop(ref)
                    try:
                        record = ray.get(ref)
                        idle.append(actor)
                    except ray.exceptions.RayError as exc:   # the actor died (crash, out of memory, node lost)
                        record = _died(job, exc)
                        actors.remove(actor)
                        ray.kill(actor)
                    report(record)
        finally:
            for actor in actors:   # a file an actor is still making (Ctrl-C) is never renamed into place
                ray.kill(actor)

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
                        record = _died(job, exc)
                    report(record)
        except BaseException:
            for ref in in_flight:   # KeyboardInterrupt inside each task: its temporary output is removed
                ray.cancel(ref)
            raise


class ImageActor:
    """A Ray actor: one FileWorker for its lifetime; a job -> its record."""

    def __init__(self, settings: BatchSettings, threads: int):
        self.worker = FileWorker(settings, threads)

    def convert(self, job: Job) -> dict:
        return self.worker(job)


def _died(job: Job, exc: Exception) -> dict:
    """The failed record of a job whose Ray worker died while making it; the temporary output it left beside
    the output path (io/images.py temp_beside) is removed now rather than by the next run."""
    remove_stale_temporaries([job.output])
    return make_record(job.input, job.output, job.kind, "failed",
                       f"{job.input}: the Ray worker making this file died ({type(exc).__name__}: a crash, out of "
                       "memory or a lost node); re-run to retry it", 0, 0.0)


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

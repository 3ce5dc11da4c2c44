"""Engine: a pool of processes on this machine, each with its own FileWorker (ONNX Runtime sessions).

Ctrl-C reaches only the parent (the workers ignore SIGINT); it stops the workers with SIGTERM, which
in a worker raises SystemExit inside the file it is making, so that file's temporary output is removed
on the way out. A worker whose parent died (killed) does the same to itself."""
from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Callable

from .jobs import Job
from .manifest import make_record
from .work import BatchSettings, FileWorker

_WORKER: FileWorker | None = None


def available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


class LocalEngine:
    """workers: processes (default: the CPUs this process may use, at most 8). Each gets
    CPUs // workers ONNX Runtime threads unless settings.threads says otherwise."""

    name = "local"

    def __init__(self, workers: int | None = None):
        self.workers = workers or min(available_cpus(), 8)

    def prepare(self) -> None:
        """Nothing to start before the run (the processes start with it)."""

    def close(self) -> None:
        """Nothing left to stop (the processes end with each run)."""

    def run(self, jobs: list[Job], settings: BatchSettings, report: Callable[[dict], None]) -> None:
        """Run every job; report(record) in the calling thread as each one finishes, in finishing order."""
        if not jobs:
            return
        threads = max(1, available_cpus() // self.workers)
        pending = list(reversed(jobs))
        in_flight: dict = {}
        executor = None
        try:
            while pending or in_flight:
                if executor is None:
                    executor = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                                   initializer=_start_worker, initargs=(settings, threads, os.getpid()))
                while pending and len(in_flight) < 2 * self.workers:
                    job = pending.pop()
                    in_flight[executor.submit(_run, job)] = job
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                if not _report_done(done, in_flight, report):
                    # a worker died: every other future of this pool fails too; report them and start a new pool
                    _report_done(wait(in_flight)[0], in_flight, report)
                    executor.shutdown(wait=True)
                    executor = None
        except BaseException:
            if executor is not None:
                _stop_workers(executor)
            raise
        finally:
            if executor is not None:
                executor.shutdown(wait=True, cancel_futures=True)


def _report_done(done, in_flight: dict, report) -> bool:
    """Report the finished futures (removed from in_flight); False when the pool broke."""
    healthy = True
    for future in done:
        job = in_flight.pop(future)
        try:
            record = future.result()
        except BrokenProcessPool:
            healthy = False
            record = make_record(job.input, job.output, job.kind, "failed",
                                 f"{job.input}: a worker process died while this file was in progress "
                                 "(a crash or out of memory); re-run to retry it", 0, 0.0)
        report(record)
    return healthy


def _stop_workers(executor: ProcessPoolExecutor) -> None:
    """SIGTERM to every worker (each removes the temporary of the file it is making), then wait for them and for
    the pool's manager thread. shutdown(wait=False) forgets that thread; were it still closing its wake-up pipe
    when the interpreter exits, Python's own exit hook could write to the closed pipe and print a traceback after
    our one-line message (a race of CPython's ProcessPoolExecutor, seen on 3.11 under Ctrl-C)."""
    processes = list((getattr(executor, "_processes", None) or {}).values())   # no public handle before 3.14
    manager = getattr(executor, "_executor_manager_thread", None)
    executor.shutdown(wait=False, cancel_futures=True)
    for p in processes:
        if p.is_alive():
            p.terminate()
    deadline = time.monotonic() + 10
    for p in processes:
        p.join(max(0.0, deadline - time.monotonic()))
        if p.is_alive():
            p.kill()
    if manager is not None:
        manager.join(max(0.0, deadline - time.monotonic()) + 5)


def _start_worker(settings: BatchSettings, threads: int, parent_pid: int) -> None:
    global _WORKER
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()
    _use_thread_lock_for_progress_bars()
    _WORKER = FileWorker(settings, threads)


def _use_thread_lock_for_progress_bars() -> None:
    """tqdm makes a process-shared lock the first time a bar is made (the video reader makes one, disabled, per
    clip); in a spawned worker that is a named semaphore, which a worker stopped by Ctrl-C leaves behind (it
    leaves by os._exit in `_run`, which skips multiprocessing's finalizers), and Python's resource tracker then
    warns of 'leaked semaphore objects' after our one-line message. Workers show no bars: a thread lock does."""
    from tqdm import tqdm

    tqdm.set_lock(threading.RLock())


def _exit_on_sigterm(signum, frame):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)   # a second one must not cut the first one's cleanup short
    raise SystemExit(128 + signum)


def _watch_parent(parent_pid: int) -> None:
    """When the parent is gone (killed), stop as on SIGTERM; exit for good if that has not ended us."""
    while os.getppid() == parent_pid:
        time.sleep(0.5)
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(10)
    os._exit(1)


def _run(job: Job) -> dict:
    try:
        return _WORKER(job)
    except BaseException:   # SystemExit from SIGTERM: the file's temporary is already removed; leave now
        os._exit(143)

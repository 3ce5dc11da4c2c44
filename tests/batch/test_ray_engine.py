"""The Ray engine leaves the process as it found it: a local Ray it started is shut down and the signal
handlers ray.init installs are replaced by the ones the process had (ray.shutdown leaves Ray's SIGTERM handler,
which would keep a later video conversion from installing its own cleanup handler)."""
import signal

import pytest

from humanseg.batch.ray_engine import RayEngine


@pytest.mark.slow
def test_a_local_ray_started_by_the_engine_is_shut_down_and_signal_handlers_restored():
    ray = pytest.importorskip("ray")
    if ray.is_initialized():
        pytest.skip("a Ray is already running in this process")

    def own(signum, frame):
        pass

    previous = signal.signal(signal.SIGTERM, own)
    try:
        engine = RayEngine(workers=1)
        engine.prepare()
        assert ray.is_initialized()
        assert signal.getsignal(signal.SIGTERM) is not own   # Ray's own handler while it runs
        engine.close()
        assert not ray.is_initialized()
        assert signal.getsignal(signal.SIGTERM) is own
    finally:
        if ray.is_initialized():
            ray.shutdown()
        signal.signal(signal.SIGTERM, previous)


def _within(seconds: float, fn):
    """fn() in a thread; its result, or its exception raised here; a test failure when it has not ended in time
    (a Ray run that waits for ever)."""
    import threading

    outcome = {}

    def target():
        try:
            outcome["value"] = fn()
        except BaseException as exc:   # noqa: BLE001  handed to the test
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"the Ray run did not end within {seconds:g} s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


@pytest.fixture(scope="module")
def one_cpu_ray():
    """A local Ray with one CPU for this module's runs (started here, shut down after)."""
    from humanseg.batch.ray_engine import _restore_signal_handlers, _signal_handlers

    ray = pytest.importorskip("ray")
    started = not ray.is_initialized()
    handlers = _signal_handlers()
    if started:
        ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    yield ray
    if started:
        ray.shutdown()
        _restore_signal_handlers(handlers)


def _crashing_effect():
    """A mask effect whose process dies (as on a segfault or the OOM killer) on frames 77 px wide. Defined in a
    function, so that Ray sends the class itself to its workers (cloudpickle), not a module path."""
    import os

    from humanseg.effects import MaskOnly

    class DiesOn77(MaskOnly):
        def apply(self, frame, mask):
            if frame.shape[1] == 77:
                os._exit(3)
            return super().apply(frame, mask)

    return DiesOn77()


@pytest.mark.slow
def test_an_image_that_kills_its_ray_worker_is_one_failed_record_and_the_run_goes_on(tmp_path, one_cpu_ray):
    import cv2
    import numpy as np

    from humanseg.batch import BatchSettings, run_batch
    from humanseg.batch.manifest import read_manifest

    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    for name, width in (("a", 60), ("b", 77), ("c", 61), ("d", 62)):
        cv2.imwrite(str(src / f"{name}.png"), np.full((40, width, 3), 100, np.uint8))
    settings = BatchSettings(threads=1, effect=_crashing_effect())
    summary = _within(120, lambda: run_batch(src, out, settings, RayEngine(workers=1), progress=False))
    assert summary["done"] == 3 and summary["failed"] == 1
    records = {r["input"]: r for r in read_manifest(out / "manifest.jsonl")}
    assert records[str(src / "b.png")]["status"] == "failed"
    assert "worker making this file died" in records[str(src / "b.png")]["reason"]
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [
        "a.png", "c.png", "d.png", "manifest.jsonl"]
    assert not list(out.glob(".*.part"))


@pytest.mark.slow
def test_actors_no_node_can_hold_are_refused_before_anything_is_written(tmp_path, one_cpu_ray):
    import cv2
    import numpy as np

    from humanseg.batch import BatchSettings, run_batch
    from humanseg.effects import MaskOnly
    from humanseg.errors import InputError

    src = tmp_path / "in"
    src.mkdir()
    cv2.imwrite(str(src / "a.png"), np.full((40, 60, 3), 100, np.uint8))
    settings = BatchSettings(threads=1, effect=MaskOnly())
    for kwargs, option in (({"gpus_per_actor": 1.0}, "--gpus-per-actor 1"),
                           ({"cpus_per_actor": 4.0}, "--cpus-per-actor 4")):
        out = tmp_path / f"out_{option.split()[0][2:]}"
        with pytest.raises(InputError, match=f"{option}: no node of the Ray cluster has"):
            _within(60, lambda: run_batch(src, out, settings, RayEngine(workers=1, **kwargs), progress=False))
        assert not out.exists()

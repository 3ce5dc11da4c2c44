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

import pytest

from humanseg.training.data.prefetch import Prefetcher


def test_prefetch_yields_every_step_in_order_with_the_same_items():
    made = []

    def make(step):
        made.append(step)
        return {"step": step, "square": step * step}

    with Prefetcher(make, range(5, 12), depth=2) as batches:
        got = list(batches)
    assert [s for s, _ in got] == list(range(5, 12))
    assert [b for _, b in got] == [{"step": s, "square": s * s} for s in range(5, 12)]
    assert made == list(range(5, 12))


def test_prefetch_raises_the_makers_error_at_that_step():
    def make(step):
        if step == 3:
            raise ValueError("bad batch 3")
        return step

    seen = []
    with pytest.raises(ValueError, match="bad batch 3"):
        with Prefetcher(make, range(10)) as batches:
            for step, _ in batches:
                seen.append(step)
    assert seen == [0, 1, 2]


def test_prefetch_stops_when_closed_early():
    made = []
    batches = Prefetcher(lambda s: made.append(s) or s, range(10**6))
    for step, _ in batches:
        if step == 2:
            break
    batches.close()
    assert not batches._thread.is_alive() and len(made) < 10

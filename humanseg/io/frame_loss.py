"""Did a decoded video lose frames? What decoded, against what the container promised.

MP4/MOV state their frame count: fewer decoded frames means frames were lost. Matroska/WebM state a
duration only, and duration x the stream's average frame rate is an estimate that an intact
variable-frame-rate clip can miss by a few frames (ffmpeg estimates the rate from the first packets).
So an estimated count that is not reached counts as a loss only when there is other evidence: the
demuxer gave up on damaged data, or the decoded timeline has a hole (at the start, inside, or
before the stated end).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Promise:
    """Frames a container promises: `frames` None when it does not say; `exact` when it states the
    count itself (not duration x rate); `start` and `seconds`: the stream's start time and duration."""

    frames: int | None
    exact: bool = True
    start: float = 0.0
    seconds: float | None = None


class FrameTally:
    """Counts decoded frames and their presentation times (seconds, None when unknown)."""

    def __init__(self):
        self.count = 0
        self.first = self.last = None
        self.max_gap = 0.0
        self.demux_failed = False

    def add(self, time: float | None) -> None:
        self.count += 1
        if time is None:
            return
        if self.last is not None:
            self.max_gap = max(self.max_gap, time - self.last)
        self.first = time if self.first is None else min(self.first, time)
        self.last = time if self.last is None else max(self.last, time)

    def incomplete(self, promise: Promise) -> bool:
        """True when frames were lost (a shortfall of more than max(1, 1 %) of the promised count)."""
        if promise.frames is None:
            return False
        short = promise.frames - self.count > max(1, promise.frames // 100)
        if not short or promise.exact or self.demux_failed:
            return short
        if self.count < 2 or self.first is None or self.last <= self.first or not promise.seconds:
            return True                                   # no timeline to weigh the estimate against
        interval = (self.last - self.first) / (self.count - 1)
        slack = max(2 * interval, 0.01 * promise.seconds)
        hole_at_start = self.first - promise.start > slack
        hole_at_end = promise.start + promise.seconds - (self.last + interval) > slack
        hole_inside = self.max_gap > 4 * interval
        return hole_at_start or hole_at_end or hole_inside

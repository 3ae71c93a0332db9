"""Time in tests: the clock coprod sees, moved by hand, and a moment as the epoch seconds coprod stores."""

from __future__ import annotations

from datetime import datetime, timedelta


class Clock:
    """The time coprod sees; tests move it by hand."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def stamp(moment: datetime) -> int:
    """``moment`` in whole seconds since the epoch, as the store keeps times."""
    return int(moment.timestamp())

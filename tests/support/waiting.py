"""Waiting in tests for a condition to hold (``eventually``), failing loudly when it never does.

There is no helper for proving a negative by waiting: a test waits for the event that would have to come
first (``runtime.drain()``, which runs every acknowledged follow-up and sends the outbox, or the post that a
later one would follow), then asserts that nothing more happened.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def eventually(check: Callable[[], T], timeout: float = 5.0, interval: float = 0.01, *, what: str = "") -> T:
    """Poll ``check`` until it returns something truthy, and return that (for writes made after Slack answers,
    or after an acknowledgement). After ``timeout`` seconds without it, raise AssertionError naming what was
    awaited (``what``, else the check's source) and the last value it gave."""
    deadline = time.monotonic() + timeout
    while not (value := check()):
        if time.monotonic() >= deadline:
            raise AssertionError(f"waited {timeout:g} s for {what or _described(check)}; last value: {value!r}")
        time.sleep(interval)
    return value


def _described(check: Callable[[], object]) -> str:
    """The check's own words: a lambda's source line, or a function's name."""
    name = getattr(check, "__qualname__", repr(check))
    if "<lambda>" not in name:
        return name
    try:
        return " ".join(inspect.getsource(check).split())
    except (OSError, TypeError):
        return name

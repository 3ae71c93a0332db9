"""Waiting in tests: for a condition to hold (``eventually``), or through a quiet spell (``quiet``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def eventually(check: Callable[[], T], timeout: float = 5.0, interval: float = 0.01) -> T:
    """Poll ``check`` until it returns something truthy or ``timeout`` seconds pass; its last value (for
    writes made after Slack answers, or after an acknowledgement)."""
    deadline = time.monotonic() + timeout
    while not (value := check()) and time.monotonic() < deadline:
        time.sleep(interval)
    return value


def quiet(stub: Any, method: str, count: int, where: Callable | None = None, within: float = 0.3) -> None:
    """No more than ``count`` calls to ``method`` arrive in a short quiet period (to prove a negative)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        found = [c for c in stub.calls_to(method) if where is None or where(c)]
        assert len(found) <= count, f"{len(found)} calls to {method}, expected {count}"
        time.sleep(0.02)

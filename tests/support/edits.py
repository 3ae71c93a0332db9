"""Changes to nested data (a parsed JSON document), as functions: rows of a table of broken inputs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _parent(data: Any, path: tuple) -> Any:
    node = data
    for key in path[:-1]:
        node = node[key]
    return node


def setting(path: tuple, value: Any) -> Callable[[Any], Any]:
    """A change that sets ``value`` at ``path`` (keys and indexes) in place and returns the data."""

    def change(data: Any) -> Any:
        _parent(data, path)[path[-1]] = value
        return data

    return change


def deleting(path: tuple) -> Callable[[Any], Any]:
    """A change that deletes what is at ``path`` in place and returns the data."""

    def change(data: Any) -> Any:
        del _parent(data, path)[path[-1]]
        return data

    return change

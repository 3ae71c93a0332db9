"""A Web API call as the stand-in reads it: form values arrive as strings, so a boolean is read from its
text and a JSON-valued field (``blocks``, ``view``, ``files``) from JSON text; and the type of its answer."""

from __future__ import annotations

import json
from typing import Any

Answer = dict[str, Any]


def truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes"}
    return bool(value)


def maybe_json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value

"""What people type, read back to them: quoted short, and whole numbers checked against a range. Pure."""

from __future__ import annotations

TYPED_SHOWN = 40  # characters of what someone typed that a message quotes back


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, an ellipsis ending what was cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def typed(text: str) -> str:
    """What someone typed, quoted back short: a whole paragraph pasted by mistake is not echoed whole."""
    line = text.strip().splitlines()[0] if text.strip() else ""
    return clip(line, TYPED_SHOWN)


def whole_number(word: str, what: str, low: int, high: int) -> int | str:
    """The number, or what is wrong with it: not a number at all, or one outside ``low`` to ``high``."""
    # isascii too: "²".isdigit() is true, and int() refuses it.
    if not (word.isascii() and word.isdigit()):
        return f"“{typed(word)}” is not a number of {what}: use a whole number from {low} to {high}"
    # A number too long for int() is too many anyway (Python refuses to read over 4,300 digits).
    if len(word.lstrip("0")) > len(str(high)) or int(word) > high:
        return f"“{typed(word)}” is too many {what}: use a whole number from {low} to {high}"
    if int(word) < low:
        return f"“{word}” is too few {what}: use a whole number from {low} to {high}"
    return int(word)

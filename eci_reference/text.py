"""Bounded text for messages: user input shown in a problem, a warning or an Event must not flood it.

One home for the two ways we cut text: by characters for a value quoted in a message (``shorten``), and
by UTF-8 bytes for an Event message, whose limit the API server counts in bytes (``trim_utf8``).
"""

from __future__ import annotations

from eci_reference.constants import EVENT_MESSAGE_LIMIT


def shorten(value: object, limit: int) -> str:
    """``repr(value)`` (an exception's own text) cut to at most ``limit`` characters, marked with "..."."""
    shown = str(value) if isinstance(value, Exception) else repr(value)
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


def trim_utf8(text: str, limit: int = EVENT_MESSAGE_LIMIT) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes (on a character boundary), marked with "…"."""
    encoded = text.encode("utf-8", "replace")
    if len(encoded) <= limit:
        return text
    marker = "…".encode()
    return encoded[: limit - len(marker)].decode("utf-8", "ignore") + "…"

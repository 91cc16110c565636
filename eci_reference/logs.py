"""Logs: one JSON object per line on stderr (``ts``, ``level``, ``logger``, ``msg``).

A message that is itself a JSON object (the admission decisions) is embedded as ``fields``, so a
test or a person can parse the decisions without a second format.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any


class JsonLineFormatter(logging.Formatter):
    """One JSON object per line: easy to grep, and to parse when a test wants to."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        fields = _json_object(message)
        if fields is None:
            entry["msg"] = message
        else:
            entry["fields"] = fields
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def _json_object(message: str) -> dict[str, Any] | None:
    if not (message.startswith("{") and message.endswith("}")):
        return None
    try:
        decoded = json.loads(message)
    except ValueError:
        return None
    return decoded if isinstance(decoded, dict) else None


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLineFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)  # libraries: warnings only
    logging.getLogger("eci_reference").setLevel(level.upper())

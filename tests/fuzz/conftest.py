"""Fuzz runs send thousands of bad inputs: keep the reference's per-request log lines out of them."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True, scope="session")
def _quiet_reference_logs() -> Iterator[None]:
    loggers = [logging.getLogger(name) for name in ("eci_reference", "vnode_harness")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    yield
    for logger, level in zip(loggers, levels, strict=True):
        logger.setLevel(level)

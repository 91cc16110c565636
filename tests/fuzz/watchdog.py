"""Fail, instead of hanging, when a synchronous call does not return within a bound.

A hang inside a regular expression or a C extension never reaches a Python signal handler, so the call
runs on a daemon thread and the test thread waits for it with a timeout: whatever the call does, the
test ends with a failure naming the input after ``HANG_SECONDS``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from .budget import HANG_SECONDS

ResultT = TypeVar("ResultT")


class HangError(AssertionError):
    """The call did not return within the bound: a hang is a failure, whatever the input."""


def within(function: Callable[[], ResultT], what: str, seconds: float = HANG_SECONDS) -> ResultT:
    """``function()``'s result or exception, or ``HangError`` after ``seconds``."""
    outcome: list[ResultT] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            outcome.append(function())
        except BaseException as error:  # handed to the test thread, re-raised there
            failure.append(error)

    worker = threading.Thread(target=run, name=f"fuzz: {what}", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise HangError(f"{what} did not return within {seconds:.0f} s")
    if failure:
        raise failure[0]
    return outcome[0]

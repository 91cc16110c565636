"""Waiting for a condition, with tenacity, and failing with what was last seen.

A wait polls a *probe* until the condition holds or the published maximum time for that kind of wait
runs out. The probe returns `(value, seen)`: `value` is None while the condition does not hold, and
`seen` is a short description of what was observed, quoted if the wait times out. Only the probe is
retried — plus the exception types the caller names as transient (an API server restarting) — never
an assertion, so a real failure is not retried away. On time-out the error says what was awaited, for
how long, what was seen last and which kubectl command shows it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import tenacity

T = TypeVar("T")

Probe = Callable[[], tuple[T | None, object]]


class WaitTimeout(TimeoutError):
    """The awaited condition did not hold within its maximum time."""


def wait_for(
    description: str,
    probe: Probe[T],
    *,
    timeout: float,
    interval: float = 0.25,
    hint: str = "",
    transient: tuple[type[BaseException], ...] = (),
) -> T:
    """Poll `probe` until it returns a value; return it, or raise WaitTimeout describing the last sight."""
    last_seen: list[object] = ["<nothing observed yet>"]

    def attempt() -> T | None:
        try:
            value, seen = probe()
        except transient as error:  # e.g. the API server restarting: not an answer yet
            last_seen[0] = f"{type(error).__name__}: {error}"
            return None
        last_seen[0] = seen
        return value

    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_delay(timeout),
        wait=tenacity.wait_exponential(multiplier=interval, min=interval / 2, max=max(interval * 4, 1.0)),
        retry=tenacity.retry_if_result(lambda value: value is None),
        retry_error_callback=lambda state: None,
    )
    result = retrying(attempt)
    if result is None:
        message = f"timed out after {timeout:g} s waiting for {description}; last seen: {last_seen[0]}"
        if hint:
            message += f"\n  inspect with: {hint}"
        raise WaitTimeout(message)
    return result

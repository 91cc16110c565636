"""Waiting for a condition, or watching that one keeps holding, with tenacity.

A wait polls a *probe* until the condition holds or the published maximum time for that kind of wait
runs out. The probe returns `(value, seen)`: `value` is None while the condition does not hold, and
`seen` is a short description of what was observed, quoted if the wait times out. Only the probe is
retried — plus the exception types the caller names as transient (an API server restarting) — never
an assertion, so a real failure is not retried away. On time-out the error says what was awaited, for
how long, what was seen last and which kubectl command shows it. A process that knows the API server
will never answer again (its process died: `give_up_while_away`) ends such waits at once.

`consistently` is the other half: a "stays so" claim (a pod created before a change keeps its node, an
unconsumed claim stays Pending) is not shown by one read right after the change, because an
implementation that breaks it a few seconds later would pass. It polls the same kind of probe over the
implementation's published hold window and fails at the first sample where the claim does not hold,
saying which sample, when, and what was seen then.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import tenacity
import urllib3

T = TypeVar("T")

Probe = Callable[[], tuple[T | None, object]]


class WaitTimeout(TimeoutError):
    """The awaited condition did not hold within its maximum time."""


API_SERVER_AWAY: tuple[type[BaseException], ...] = (urllib3.exceptions.HTTPError,)
"""The API server did not answer at all (connection refused or reset while it restarts): always
transient in a wait, which resumes once it is back. An answer that names a webhook is an ApiException,
never one of these, so an implementation's refusal is not retried away."""


class WaitUnanswered(RuntimeError):
    """A wait ran out while the API server itself did not answer: nothing is known about the
    implementation (not an AssertionError: the test is broken, not failed)."""


_AWAY_FOR_GOOD: list[Callable[[], str]] = []


def give_up_while_away(check: Callable[[], str]) -> Callable[[], None]:
    """Make every wait of this process ask `check` when the API server does not answer: a reason (its
    process died: nothing will ever answer) ends the wait at once, WaitUnanswered saying so, instead of
    at its time-out. Returns the function that removes the check."""
    _AWAY_FOR_GOOD.append(check)
    return lambda: _AWAY_FOR_GOOD.remove(check)


def _away_for_good() -> str:
    return next((reason for reason in (check() for check in list(_AWAY_FOR_GOOD)) if reason), "")


class ConsistencyViolation(AssertionError):
    """A claim that must keep holding stopped holding during its window.

    An AssertionError, so the test is reported "failed" (the implementation does not conform), like a
    wait that runs past its published limit.
    """


class ConsistencyUnobserved(RuntimeError):
    """No sample of a hold window answered (only transient errors): nothing was learnt.

    Not an AssertionError: the API server being away says nothing about the implementation, so the
    test is reported "broken".
    """


def wait_for(
    description: str,
    probe: Probe[T],
    *,
    timeout: float,
    interval: float = 0.1,
    hint: str = "",
    transient: tuple[type[BaseException], ...] = (),
) -> T:
    """Poll `probe` until it returns a value; return it, or raise WaitTimeout describing the last sight.

    The polls come `interval`, then twice that, then every 2.5 times `interval` (at least 0.25 s)
    apart: a test's run is mostly such waits one after another, and each one's lag past the moment its
    condition came true adds to the run (polls up to 1 s apart cost each kind cluster about 14 s of its
    tests, estimated from a run's own waits: docs/figures.md)."""
    last_seen: list[object] = ["<nothing observed yet>"]
    away: list[bool] = [False]

    def attempt() -> T | None:
        try:
            value, seen = probe()
        except API_SERVER_AWAY as error:
            last_seen[0], away[0] = f"the API server did not answer: {type(error).__name__}: {error}", True
            gone = _away_for_good()
            if gone:
                raise WaitUnanswered(f"gave up waiting for {description}: {gone}") from error
            return None
        except transient as error:  # e.g. the API server restarting: not an answer yet
            last_seen[0] = f"{type(error).__name__}: {error}"
            return None
        last_seen[0], away[0] = seen, False
        return value

    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_delay(timeout),
        wait=tenacity.wait_exponential(multiplier=interval, min=interval, max=max(interval * 2.5, 0.25)),
        retry=tenacity.retry_if_result(lambda value: value is None),
        retry_error_callback=lambda state: None,
    )
    result = retrying(attempt)
    if result is None:
        message = f"timed out after {timeout:g} s waiting for {description}; last seen: {last_seen[0]}"
        if hint:
            message += f"\n  inspect with: {hint}"
        raise (WaitUnanswered if away[0] else WaitTimeout)(message)
    return result


def consistently(
    description: str,
    probe: Probe[object],
    *,
    hold: float,
    interval: float = 0.5,
    hint: str = "",
    transient: tuple[type[BaseException], ...] = (),
) -> int:
    """Poll `probe` for `hold` seconds; raise ConsistencyViolation at the first sample that does not hold.

    The probe has the shape of a `wait_for` probe, so one probe can first be awaited and then held:
    `(value, seen)` with `value` None when the claim does not hold. The first sample is taken at once
    and the last one no earlier than `hold` seconds after it, so the whole window is covered. A
    transient error (the caller names its types) is no evidence either way: it is recorded, not a
    violation; a window in which no sample answered at all raises ConsistencyUnobserved. Returns the
    number of samples that held (for tests and logs).
    """
    start = time.monotonic()
    held: list[object] = []
    unanswered: list[str] = []
    violation: list[tuple[float, int, object]] = []

    def sample() -> bool:
        """One poll; True while the claim still holds (tenacity retries on True)."""
        number = len(held) + len(unanswered) + 1
        try:
            value, seen = probe()
        except (*API_SERVER_AWAY, *transient) as error:
            unanswered.append(f"{type(error).__name__}: {error}")
            gone = _away_for_good() if isinstance(error, API_SERVER_AWAY) else ""
            if gone:
                raise ConsistencyUnobserved(f"gave up observing {description}: {gone}") from error
            return True
        if value is None:
            violation.append((time.monotonic() - start, number, seen))
            return False
        held.append(seen)
        return True

    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_delay(hold),
        wait=tenacity.wait_fixed(interval),
        retry=tenacity.retry_if_result(lambda holding: holding is True),
        retry_error_callback=lambda state: None,
    )
    retrying(sample)
    where = f"\n  inspect with: {hint}" if hint else ""
    if violation:
        elapsed, number, seen = violation[0]
        before = f"; before that it held {len(held)} time(s), last seen: {held[-1]}" if held else ""
        raise ConsistencyViolation(
            f"expected {description} for {hold:g} s; violated {elapsed:.1f} s into the window "
            f"(sample {number}): seen {seen}{before}{where}"
        )
    if not held:
        last_error = unanswered[-1] if unanswered else "<no sample taken>"
        raise ConsistencyUnobserved(
            f"could not observe {description} during its {hold:g} s window: no sample answered "
            f"(last error: {last_error}){where}"
        )
    return len(held)


CLEANUP_AWAY_SECONDS = 30.0
"""How long a cleanup call (a test's namespace deletion, a lock's release) retries an API server that
does not answer. Longer than a restart (the outage fault scenario keeps it down 10 s), and not cut short
by `give_up_while_away`: during a restart the old process is dead, yet the cleanup must still happen."""


def when_answered(call: Callable[[], T], *, within: float = CLEANUP_AWAY_SECONDS) -> T:
    """`call`, retried while the API server does not answer at all, for up to `within` seconds (then
    its last error is raised). A test's teardown that ran during an API server restart left its namespace
    behind (CI, tests/faults/test_cluster_faults.py); an answer, even a refusal, is never retried."""
    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_delay(within),
        wait=tenacity.wait_fixed(1.0),
        retry=tenacity.retry_if_exception_type(API_SERVER_AWAY),
        reraise=True,
    )
    return retrying(call)

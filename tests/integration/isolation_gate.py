"""A pytest plugin for one self-test only, tests/integration/test_isolation.py: it lets that test force a
conformance test into the window in which it holds the eci-profile lock exclusively (instead of hoping
the scheduler overlaps them), and, for the negative control, switches the shared hold off.

Loaded into the suite's run with ``-p tests.integration.isolation_gate``; it lives outside the suite, so
nothing in conformance/ changes, and it refuses a full run (the only kind that certifies).

``--isolation-gate DIR``: a handshake through files in DIR, once per test —
  ``arrived``   the test reached its setup: the run's start and readiness are over, it holds no lock yet;
  ``go``        written by the self-test once it holds the lock exclusively with its profile in force;
  ``through``   the test went on into its fixtures (the shared hold first, `profile_hold`);
  ``finished``  its call and teardown are over; the run then waits for
  ``released``  written by the self-test after it restored the profile and released the lock, so that
                the run's own end (the profile check, `lifecycle/cleanup.py`) sees the restored profile.
``--without-shared-hold``: `profile_hold` (conformance/conftest.py) takes no lock: the test assumes the
baseline profile without anything keeping a profile change away.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from vnode_harness.plugin.options import is_full_run
from vnode_harness.plumbing.waits import wait_for

ARRIVED, GO, THROUGH, FINISHED, RELEASED = "arrived", "go", "through", "finished", "released"
GATE_SECONDS = 900.0
"""How long the test waits at a gate for the self-test (its profile change and restore included)."""
SUITE_CONFTEST = Path(__file__).resolve().parents[2] / "conformance" / "conftest.py"

_switch = pytest.MonkeyPatch()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup(
        "isolation self-test", "tests/integration/test_isolation.py only; never certifies"
    )
    group.addoption("--isolation-gate", metavar="DIR", default=None, help="hold each test at a file gate")
    group.addoption(
        "--without-shared-hold", action="store_true", default=False, help="profile_hold takes no lock"
    )


def pytest_configure(config: pytest.Config) -> None:
    if (config.getoption("isolation_gate") or config.getoption("without_shared_hold")) and is_full_run(
        config
    ):
        raise pytest.UsageError("tests.integration.isolation_gate is a self-test plugin: not in a full run")


def pytest_unconfigure(config: pytest.Config) -> None:
    _switch.undo()


@contextmanager
def _no_hold(*args: object, **kwargs: object) -> Iterator[None]:
    yield None


def pytest_collection_finish(session: pytest.Session) -> None:
    """Switch the shared hold off by replacing what `profile_hold` calls (a missing name fails loudly)."""
    if not session.config.getoption("without_shared_hold"):
        return
    for plugin in session.config.pluginmanager.get_plugins():
        path = getattr(plugin, "__file__", None)
        if path is not None and Path(path).resolve() == SUITE_CONFTEST:
            _switch.setattr(plugin, "baseline_profile_held", _no_hold)
            return
    raise pytest.UsageError(f"--without-shared-hold: {SUITE_CONFTEST} is not loaded")


def _gate(config: pytest.Config) -> Path | None:
    value = config.getoption("isolation_gate")
    return Path(value) if value else None


def _await(gate: Path, name: str) -> None:
    wait_for(
        f"the isolation self-test's {name!r} file in {gate}",
        lambda: (True if (gate / name).exists() else None, f"no {name!r} yet"),
        timeout=GATE_SECONDS,
        interval=0.2,
    )


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Before any fixture of the test (the shared hold included): arrive, wait for go, go through."""
    gate = _gate(item.config)
    if gate is None:
        return
    (gate / ARRIVED).write_text(item.nodeid)
    _await(gate, GO)
    (gate / THROUGH).write_text(item.nodeid)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, object, object]:
    """After the test's teardown (its hold released): say so, then wait until the self-test released."""
    try:
        return (yield)
    finally:
        gate = _gate(item.config)
        if gate is not None:
            (gate / FINISHED).write_text(item.nodeid)
            _await(gate, RELEASED)

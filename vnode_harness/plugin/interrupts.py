"""SIGINT and SIGTERM end a run as Ctrl-C does, in every process of it, and nothing is cut short.

Both signals raise KeyboardInterrupt, so the tests' fixtures restore the eci-profile, release the lock
and delete their namespaces, and the reports are written, marked interrupted. Without this, SIGTERM
(what CI and supervisors send) would kill the run with nothing restored.

Under xdist two more things are needed, because a signal sent to the controller alone (`kill PID`, a
supervisor's SIGTERM) never reaches the workers, and xdist ends the workers itself at session finish:
execnet interrupts a still busy worker 5 s after being asked to exit, and the controller kills it 10 s
after asking. A test whose teardown needed longer left its namespace and the held profile Lease behind
(CI, tests/faults/test_interrupts.py, shard-1). So:
- the controller forwards the signal to every worker still running;
- before xdist's session finish, it waits until each worker has finished its own session (its fixtures
  torn down), up to TEARDOWN_SECONDS; a second signal to the controller stops the wait;
- a worker counts one interruption once: the copy the process group delivers beside the forwarded one,
  or execnet's own, must not interrupt the teardown the first one started.
In every process, a first signal that lands while a fixture restores something, or while a namespace is
being created, waits for that block to end (vnode_harness.plumbing.interruptions).

Loaded by the conformance plugin for conformance runs; a plain pytest plugin otherwise (`-p`), which is
how tests/integration/test_worker_interrupts.py checks it on a throwaway project.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import sys
import time
from collections.abc import Generator
from typing import Any

import pytest

from vnode_harness.plumbing.interruptions import hold_if_deferred

TEARDOWN_SECONDS = 300.0
"""How long an interrupted controller waits for its workers' teardowns (restoring a profile waits for
the implementation to apply it; deleting a namespace, for its pods)."""

_interrupted: list[str] = []
"""The signal that interrupted this process and when (empty while it runs on)."""


def interruption() -> str | None:
    """'SIGTERM received 12.3 s into the run', or None when the run was not interrupted by a signal."""
    return _interrupted[0] if _interrupted else None


def is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def _dsession(config: pytest.Config) -> Any:
    """xdist's controller plugin, None with `-n 0` and in a worker."""
    return config.pluginmanager.getplugin("dsession")


def pytest_configure(config: pytest.Config) -> None:
    started = time.monotonic()
    worker = is_worker(config)

    def interrupt(signum: int, _frame: object) -> None:
        name = signal.Signals(signum).name
        if _interrupted and worker:
            return  # already tearing down: a repeat would cut that short (the controller forces, below)
        if not _interrupted:
            _interrupted.append(f"{name} received {time.monotonic() - started:.1f} s into the run")
            _forward_to_workers(config, signum)
            if hold_if_deferred(name):
                return  # raised when the deferring block in progress ends (plumbing.interruptions)
        raise KeyboardInterrupt(name)

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, interrupt)


def _forward_to_workers(config: pytest.Config, signum: int) -> None:
    for pid in _running_worker_pids(config):
        with contextlib.suppress(ProcessLookupError):  # it ended meanwhile
            os.kill(pid, signum)


def _running_worker_pids(config: pytest.Config) -> list[int]:
    """The process ids of the workers that have not finished their session (xdist starts each worker
    as a child process through an execnet popen gateway)."""
    dsession = _dsession(config)
    if dsession is None:
        return []
    pids = []
    for node in list(getattr(dsession, "_active_nodes", ())):
        popen = getattr(getattr(node.gateway, "_io", None), "popen", None)
        if popen is not None and popen.poll() is None:
            pids.append(int(popen.pid))
    return pids


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> Generator[None, None, None]:
    """An interrupted controller lets its workers finish their teardown before xdist ends them."""
    dsession = _dsession(session.config)
    if session.exitstatus == pytest.ExitCode.INTERRUPTED and dsession is not None:
        _wait_for_workers(session.config, dsession)
    return (yield)


def _wait_for_workers(config: pytest.Config, dsession: Any) -> None:
    """Hand the workers' last events to xdist as its loop would (their test reports reach the
    collector), until every worker has finished or TEARDOWN_SECONDS passed. Other events (a finished
    test's completion, a new worker) would schedule work, so they are dropped: the run is over."""
    active = set(dsession._active_nodes)
    if not active:
        return
    sys.stderr.write(
        f"\ninterrupted: waiting for {len(active)} worker(s) to restore what their tests changed "
        f"(at most {TEARDOWN_SECONDS:.0f} s; interrupt again to stop waiting)\n"
    )
    sys.stderr.flush()
    deadline = time.monotonic() + TEARDOWN_SECONDS
    try:
        while active and time.monotonic() < deadline:
            try:
                callname, kwargs = dsession.queue.get(timeout=1.0)
            except queue.Empty:
                continue
            node = kwargs.get("node")
            if callname in ("testreport", "logstart", "logfinish"):
                getattr(dsession, f"worker_{callname}")(**kwargs)
            elif callname in ("workerfinished", "errordown") and node in active:
                active.discard(node)
                dsession._active_nodes.discard(node)
                config.hook.pytest_testnodedown(node=node, error=kwargs.get("error"))
    except KeyboardInterrupt:
        sys.stderr.write("interrupted again: ending the workers now\n")
    if active:
        names = ", ".join(sorted(node.gateway.id for node in active))
        sys.stderr.write(f"interrupted: {names} had not finished their teardown; xdist ends them now\n")


def pytest_unconfigure(config: pytest.Config) -> None:
    """A worker's session is over: a signal now (the group's copy, execnet's own) must not raise in
    execnet's loop, which waits for the controller to end the worker."""
    if is_worker(config):
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_IGN)

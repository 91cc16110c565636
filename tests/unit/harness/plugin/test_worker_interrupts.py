"""An interrupted xdist run lets every worker finish its teardown (vnode_harness.plugin.interrupts).

A throwaway project stands in for the suite: each test blocks until interrupted, and its fixture's
teardown takes longer than the ~10 s xdist allows a worker once the controller ends the session — as
restoring a profile and deleting a namespace can. Without the plugin's forwarding and waiting, a signal
to the controller alone ended the workers mid-teardown (CI left a Lease and a namespace behind).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from vnode_harness.plumbing.waits import wait_for

TEARDOWN_SECONDS = 13
"""Longer than xdist's window: execnet interrupts a busy worker 5 s after the controller asks it to
exit, and the controller kills it 10 s after asking."""

CONFTEST = f"""
    import os, pathlib, time
    import pytest

    @pytest.fixture
    def changes_the_cluster():
        markers = pathlib.Path(os.environ["MARKERS"])
        (markers / f"changed-{{os.getpid()}}").touch()
        yield
        time.sleep({TEARDOWN_SECONDS})  # stands in for a restore that waits on the cluster
        (markers / f"restored-{{os.getpid()}}").touch()
"""
TESTS = """
    import time

    def test_one(changes_the_cluster):
        time.sleep(600)

    def test_two(changes_the_cluster):
        time.sleep(600)
"""


def _markers(directory: Path, kind: str) -> list[Path]:
    return sorted(directory.glob(f"{kind}-*"))


@pytest.mark.parametrize(
    ("signum", "to_group"),
    [(signal.SIGTERM, False), (signal.SIGINT, True)],
    ids=["SIGTERM-to-the-controller", "SIGINT-to-the-process-group"],
)
def test_every_worker_finishes_its_teardown(tmp_path: Path, signum: signal.Signals, to_group: bool) -> None:
    project, markers = tmp_path / "project", tmp_path / "markers"
    project.mkdir()
    markers.mkdir()
    (project / "conftest.py").write_text(textwrap.dedent(CONFTEST))
    (project / "test_blocking.py").write_text(textwrap.dedent(TESTS))
    plugins = ["-p", "vnode_harness.plugin.interrupts", "-p", "no:cacheprovider"]
    command = [sys.executable, "-m", "pytest", *plugins, "-n", "2", "-q", str(project)]
    run = subprocess.Popen(
        command,
        cwd=project,
        env={**os.environ, "MARKERS": str(markers)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # the group is the run's alone: `to_group` reaches its workers only
    )
    try:

        def both_changed() -> tuple[bool | None, object]:
            assert run.poll() is None, "the run ended before its tests began"
            changed = _markers(markers, "changed")
            return (True if len(changed) == 2 else None), f"{len(changed)} of 2 tests began"

        wait_for("both workers' tests to begin", both_changed, timeout=60, interval=0.1)
        if to_group:
            os.killpg(run.pid, signum)  # a terminal's Ctrl-C: every process gets it, workers twice
        else:
            os.kill(run.pid, signum)  # a supervisor's SIGTERM, `kill PID`
        output, _ = run.communicate(timeout=TEARDOWN_SECONDS + 60)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
    text = output.decode(errors="replace")
    assert run.returncode == 2, text
    assert len(_markers(markers, "restored")) == 2, f"a worker was ended mid-teardown: {text}"
    assert "waiting for 2 worker(s)" in text, text

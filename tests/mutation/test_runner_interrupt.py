"""An interrupted matrix lets the suite run it started tear down (its clusters), and kills only a run
that will not stop."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.mutation.runner import interrupt_and_wait
from vnode_harness.plumbing.waits import wait_for

_STARTED = "import pathlib, sys; pathlib.Path(sys.argv[1]).write_text('up')\n"


def _suite(script: str, marker: Path) -> subprocess.Popen[bytes]:
    """A stand-in for the suite process: a Python child that says when its signal handling is set up."""
    suite = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script), str(marker)], start_new_session=True
    )

    def set_up() -> tuple[bool | None, object]:
        assert suite.poll() is None, "the child ended before it was set up"
        return (True if marker.exists() else None), f"{marker} not written yet"

    wait_for("the stand-in suite's signal handling", set_up, timeout=30, interval=0.02)
    return suite


def test_the_suite_gets_one_sigint_and_finishes_its_teardown(tmp_path: Path) -> None:
    torn_down = tmp_path / "torn-down"
    script = f"""
        import pathlib, sys, time
        {_STARTED.strip()}
        try:
            time.sleep(60)
        except KeyboardInterrupt:
            time.sleep(0.5)  # a teardown that takes a while
            pathlib.Path({str(torn_down)!r}).write_text("done")
            sys.exit(2)
    """
    suite = _suite(script, tmp_path / "up")
    interrupt_and_wait(suite, seconds=30)
    assert suite.returncode == 2
    assert torn_down.read_text() == "done"


def test_a_suite_that_ignores_the_interrupt_is_killed_after_the_bound(tmp_path: Path) -> None:
    script = f"""
        import signal, time
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        {_STARTED.strip()}
        time.sleep(60)
    """
    suite = _suite(script, tmp_path / "up")
    interrupt_and_wait(suite, seconds=0.5)
    assert suite.returncode == -signal.SIGKILL


def test_a_finished_run_is_left_alone(tmp_path: Path) -> None:
    suite = subprocess.Popen([sys.executable, "-c", "pass"])
    suite.wait()
    interrupt_and_wait(suite, seconds=1)
    assert suite.returncode == 0

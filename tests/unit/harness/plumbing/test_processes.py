"""A started process that exits is seen as exited at once, also before the harness reaps it."""

from __future__ import annotations

import sys

from vnode_harness.plumbing.processes import exited_early, start_process
from vnode_harness.plumbing.waits import wait_for


def test_a_process_that_exits_at_start_up_is_reported_though_it_is_an_unreaped_zombie(tmp_path):
    process = start_process(
        "refuses",
        [sys.executable, "-c", "import sys; print('refusing this cluster'); sys.exit(3)"],
        log=tmp_path / "refuses.log",
        pid_dir=tmp_path / "pids",
    )
    failure = wait_for("the process to exit", lambda: (exited_early(process), "running"), timeout=10)
    assert "refusing this cluster" in str(failure)
    assert not process.alive()


def test_a_running_process_is_alive(tmp_path):
    process = start_process(
        "sleeper",
        [sys.executable, "-c", "import time; time.sleep(30)"],
        log=tmp_path / "s.log",
        pid_dir=tmp_path,
    )
    try:
        assert process.alive()
        assert exited_early(process) is None
    finally:
        process.stop()
    assert not process.alive()

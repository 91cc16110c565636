"""file_lock: one holder at a time across processes, the same lock as flock(1), gone when its holder dies."""

import shutil
import subprocess
import sys
import textwrap

import pytest

from vnode_harness.plumbing.file_lock import file_lock

needs_flock = pytest.mark.skipif(shutil.which("flock") is None, reason="util-linux flock(1) is not installed")


def flock_would_wait(path) -> bool:
    """Whether `flock -n FILE true` finds the lock held: what any other process sees."""
    return subprocess.run(["flock", "-n", str(path), "true"], check=False).returncode != 0


@needs_flock
def test_held_inside_and_free_after_with_its_directory_created(tmp_path):
    path = tmp_path / "locks" / "build.lock"
    with file_lock(path):
        assert flock_would_wait(path)
    assert not flock_would_wait(path)


def test_a_second_process_says_it_waits_then_gets_it_when_the_holder_lets_go(tmp_path):
    path = tmp_path / "start.lock"
    child = textwrap.dedent(
        f"""
        from pathlib import Path
        from vnode_harness.plumbing.file_lock import file_lock
        with file_lock(Path({str(path)!r}), on_wait=lambda: print("waiting", flush=True)):
            print("held", flush=True)
        """
    )
    with file_lock(path):
        waiter = subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE, text=True)
        assert waiter.stdout is not None
        assert waiter.stdout.readline() == "waiting\n"
    assert waiter.stdout.readline() == "held\n"
    assert waiter.wait(timeout=30) == 0


def test_a_killed_holder_leaves_no_lock_behind(tmp_path):
    path = tmp_path / "heavy.lock"
    holder_code = textwrap.dedent(
        f"""
        import time
        from pathlib import Path
        from vnode_harness.plumbing.file_lock import file_lock
        with file_lock(Path({str(path)!r})):
            print("held", flush=True)
            time.sleep(600)  # holds the lock until it is killed
        """
    )
    holder = subprocess.Popen([sys.executable, "-c", holder_code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "held\n"
        holder.kill()
        holder.wait(timeout=30)
        with file_lock(path, on_wait=lambda: pytest.fail("the killed holder's lock was not released")):
            pass
    finally:
        holder.kill()

"""Host processes a suite run leaves behind, and the busy loops of `--cpu-contention`.

The machine is shared, so "every process that appeared during the run" would count other people's
work. Two precise signs instead: the soak makes itself a child subreaper (prctl), so anything the run
started and orphaned is re-parented to the soak and found among its descendants; and every process the
run starts inherits a marker environment variable, found in /proc/*/environ even if it escaped the tree.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

_PR_SET_CHILD_SUBREAPER = 36
MARKER_VARIABLE = "VNODE_SOAK_RUN"


@dataclass(frozen=True, order=True)
class HostProcess:
    pid: int
    start_ticks: int
    """Field 22 of /proc/PID/stat: with the pid, names one process even when pids are reused."""
    command: str

    def __str__(self) -> str:
        return f"{self.pid} {self.command}"


def become_subreaper() -> None:
    """Orphans of the suite runs are re-parented to this process instead of init, so they stay visible."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def _read(pid: int) -> HostProcess | None:
    """The live process `pid` (None if gone or a zombie: a zombie runs nothing and holds no resource)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] in ("Z", "X"):
        return None
    return HostProcess(pid=pid, start_ticks=int(fields[19]), command=command.strip()[:200])


def _children(pid: int) -> list[int]:
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
    return children


def descendants(root: int | None = None) -> set[HostProcess]:
    """Every live process below `root` (default: this one)."""
    found: set[HostProcess] = set()
    todo = _children(root or os.getpid())
    while todo:
        pid = todo.pop()
        process = _read(pid)
        if process is not None and process not in found:
            found.add(process)
            todo += _children(pid)
    return found


def marked(marker: str) -> set[HostProcess]:
    """Every live process whose environment carries MARKER_VARIABLE=marker (the ones we may read)."""
    needle = f"{MARKER_VARIABLE}={marker}".encode()
    found: set[HostProcess] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environment = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if needle in environment:
            process = _read(int(entry.name))
            if process is not None:
                found.add(process)
    return found


class BusyLoops:
    """One spinning Python process per core, for the length of a `with` block: the contended machine
    (a busy CI runner) on which verdicts must not change."""

    def __init__(self, enabled: bool) -> None:
        self.count = (os.cpu_count() or 1) if enabled else 0
        self._processes: list[subprocess.Popen[bytes]] = []

    @property
    def pids(self) -> set[int]:
        return {process.pid for process in self._processes}

    def __enter__(self) -> BusyLoops:
        for _ in range(self.count):
            self._processes.append(subprocess.Popen([sys.executable, "-c", "while True: pass"]))
        return self

    def __exit__(self, *exc_info: object) -> None:
        for process in self._processes:
            process.send_signal(signal.SIGKILL)
        for process in self._processes:
            process.wait()
        self._processes.clear()

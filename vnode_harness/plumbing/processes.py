"""Host processes the harness starts itself (virtual-kubelet nodes, istiod, a host-process implementation).

kwokctl supervises the control plane; these few extra processes are started here in their own session
(so a signal reaches their children too), with their output in a log file and a pid file recording
both the pid and the kernel's start time of that pid. The start time is what makes cleanup after a
crash safe: a recorded pid that was recycled by an unrelated process is never signalled.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


class ProcessStartError(RuntimeError):
    """A component exited during start-up; the message names it and quotes the end of its log."""


def process_start_time(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 22 (starttime) counted after the parenthesised command name, which may contain spaces.
    return stat.rsplit(")", 1)[1].split()[19]


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists (for owners of clusters; not for our own children)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def log_tail(log: Path, lines: int = 15) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "<no log written>"


def output_tail(output: str, chars: int = 2000) -> str:
    """The end of a command's captured output, where its error is, short enough to quote in a message."""
    return output.strip()[-chars:]


@dataclass(frozen=True)
class RecordedProcess:
    name: str
    pid: int
    start_time: str
    log: Path

    def alive(self) -> bool:
        """Running, and the same process (not a later one given its pid); a zombie — exited, not yet
        reaped by its parent, the harness — is not alive, or an implementation that exits at start-up
        would be waited for until the timeout instead of being reported at once."""
        if process_start_time(self.pid) != self.start_time:
            return False
        if _is_zombie(self.pid):
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.pid, os.WNOHANG)
            return False
        return True

    def stop(self, grace_seconds: float = 10.0) -> None:
        """SIGTERM the process group, then SIGKILL what is left after the grace period."""
        if not self.alive():
            return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, sig)
            deadline = time.monotonic() + grace_seconds
            while time.monotonic() < deadline:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(self.pid, os.WNOHANG)
                if not self.alive():
                    return
                time.sleep(0.05)


def start_process(
    name: str,
    argv: Sequence[str],
    *,
    log: Path,
    pid_dir: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> RecordedProcess:
    """Start `argv` detached in its own session, logging to `log`, and record it under `pid_dir`."""
    log.parent.mkdir(parents=True, exist_ok=True)
    pid_dir.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        try:
            child = subprocess.Popen(
                list(argv),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **(env or {})},
                cwd=cwd,
                start_new_session=True,
            )
        except OSError as error:
            raise ProcessStartError(f"{name}: cannot start {argv[0]}: {error}") from error
    start = process_start_time(child.pid) or ""
    recorded = RecordedProcess(name=name, pid=child.pid, start_time=start, log=log)
    (pid_dir / f"{name}.json").write_text(
        json.dumps({"name": name, "pid": child.pid, "start_time": start, "log": str(log), "argv": list(argv)})
    )
    return recorded


def exited_early(process: RecordedProcess) -> ProcessStartError | None:
    """An error describing `process` if it is no longer running (to fail fast instead of timing out)."""
    if process.alive():
        return None
    return ProcessStartError(
        f"{process.name} exited during start-up; its log is {process.log}. "
        f"Last lines:\n{log_tail(process.log)}"
    )


def recorded_processes(pid_dir: Path) -> list[RecordedProcess]:
    processes = []
    for path in sorted(pid_dir.glob("*.json")):
        with contextlib.suppress(OSError, ValueError, KeyError):
            data = json.loads(path.read_text())
            processes.append(
                RecordedProcess(data["name"], int(data["pid"]), data["start_time"], Path(data["log"]))
            )
    return processes


def stop_recorded(pid_dir: Path) -> None:
    """Stop every process recorded under `pid_dir` (in reverse start order) and forget them."""
    for process in reversed(recorded_processes(pid_dir)):
        process.stop()
    for path in pid_dir.glob("*.json"):
        path.unlink(missing_ok=True)

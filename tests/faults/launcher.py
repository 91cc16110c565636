"""The reference implementation run the way some products run themselves (a fault scenario's stand-in).

    python launcher.py reexec    ARGS…   # on SIGUSR1, re-execute itself in place: same pid, same start time
    python launcher.py supervise ARGS…   # a supervisor that restarts its worker on SIGUSR1: its pid stays

ARGS are eci_reference's own (`--kubeconfig … --listen … --workdir …`). Either way the webhook is
unanswered while the implementation comes back: the sign the "without restarting" checks must see.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from types import FrameType


class Restart(Exception):
    """Raised in the supervisor's main thread by SIGUSR1."""


def reexec(arguments: list[str]) -> int:
    def again(_signum: int, _frame: FrameType | None) -> None:
        os.execv(sys.executable, [sys.executable, os.path.abspath(__file__), "reexec", *arguments])

    signal.signal(signal.SIGUSR1, again)
    from eci_reference.app import main

    return main(arguments)


def supervise(arguments: list[str]) -> int:
    def restart(_signum: int, _frame: FrameType | None) -> None:
        raise Restart

    signal.signal(signal.SIGUSR1, restart)
    command = [sys.executable, "-m", "eci_reference", *arguments]
    worker = subprocess.Popen(command)
    while True:
        try:
            return worker.wait()
        except Restart:
            worker.terminate()
            worker.wait()
            worker = subprocess.Popen(command)


if __name__ == "__main__":
    mode, *rest = sys.argv[1:]
    sys.exit({"reexec": reexec, "supervise": supervise}[mode](rest))

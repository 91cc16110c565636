"""The pod's side of `vnode run --in-cluster` (the suite image's entrypoint).

Runs `pytest conformance --cluster existing` with the pod's service account (the existing provider's
in-cluster config), then packs the run directory into one archive and prints a marker line; the
runner on the host reads the marker in the pod's log, copies the archive through the exec API and
creates the `fetched` file, and only then does the pod exit with pytest's exit status. SIGTERM (the Job
deleted: Ctrl-C on the host) is passed to pytest, which restores the eci-profile and writes its
reports as on a host; the archive is then offered for as long as the pod's grace period lasts.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tarfile
import time
from collections.abc import Sequence
from pathlib import Path

from vnode_harness.plumbing.waits import WaitTimeout, wait_for

REPORTS_DIR = Path(os.environ.get("VNODE_REPORTS_DIR", "/reports"))
ARCHIVE_NAME = "run.tar.gz"
FETCHED_NAME = "fetched"
MARKER = "vnode-in-cluster: run directory packed"
"""Starts the log line that tells the runner the archive is complete: `<MARKER> {json}`."""
FETCH_TIMEOUT_SECONDS = float(os.environ.get("VNODE_FETCH_TIMEOUT", "600"))


def pytest_command(arguments: Sequence[str], reports_dir: Path) -> list[str]:
    """The suite on the cluster the pod runs in: the existing provider, reports into `reports_dir`, one
    xdist worker per core as `tox -e conformance` runs it (a later `-n` of `arguments` wins)."""
    return [
        sys.executable,
        "-m",
        "pytest",
        "conformance",
        "-p",
        "no:cacheprovider",
        "-n",
        "auto",
        "--cluster",
        "existing",
        "--reports-dir",
        str(reports_dir),
        *arguments,
    ]


def pack_run(reports_dir: Path) -> tuple[Path, str] | None:
    """`reports_dir/run.tar.gz` of the newest run directory (`latest`), named by the run; None when the
    run made none (pytest refused its arguments)."""
    latest = reports_dir / "latest"
    if not latest.exists():
        return None
    run_dir = latest.resolve()
    archive = reports_dir / ARCHIVE_NAME
    partial = archive.with_suffix(".partial")
    with tarfile.open(partial, "w:gz") as tar:
        tar.add(run_dir, arcname=run_dir.name)
    partial.replace(archive)
    return archive, run_dir.name


def marker_line(run: str, archive: Path, exit_status: int) -> str:
    payload = {"run": run, "archive": str(archive), "bytes": archive.stat().st_size, "exit": exit_status}
    return f"{MARKER} {json.dumps(payload, sort_keys=True)}"


def parse_marker(line: str) -> dict[str, object] | None:
    """The marker's data, or None for any other log line."""
    if not line.startswith(MARKER):
        return None
    try:
        data = json.loads(line.removeprefix(MARKER).strip())
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def wait_fetched(reports_dir: Path, timeout: float) -> bool:
    """Until the runner has copied the archive (it creates `fetched`); False when it never did."""
    try:
        wait_for(
            "the runner to fetch the run directory",
            lambda: (True if (reports_dir / FETCHED_NAME).exists() else None, "not fetched yet"),
            timeout=timeout,
            interval=0.5,
        )
    except WaitTimeout:
        return False
    return True


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    REPORTS_DIR.mkdir(parents=True, exist_ok=True)
    child = subprocess.Popen(pytest_command(arguments, REPORTS_DIR))
    terminated: list[float] = []

    def forward(signum: int, _frame: object) -> None:
        terminated.append(time.monotonic())
        child.send_signal(signum)  # pytest ends as on Ctrl-C: profile restored, reports written

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, forward)
    exit_status = child.wait()
    packed = pack_run(REPORTS_DIR)
    if packed is None:
        print(
            f"{MARKER.split(':', maxsplit=1)[0]}: pytest exited {exit_status} without a run directory",
            flush=True,
        )
        return exit_status
    archive, run = packed
    print(marker_line(run, archive, exit_status), flush=True)
    if not wait_fetched(REPORTS_DIR, FETCH_TIMEOUT_SECONDS):
        print(f"no runner fetched {archive} within {FETCH_TIMEOUT_SECONDS:g} s; exiting", flush=True)
    return exit_status


if __name__ == "__main__":
    sys.exit(main())

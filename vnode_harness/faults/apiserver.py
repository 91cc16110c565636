"""Stop a host-process kube-apiserver for a while and start it again, as a control-plane restart does;
or kill it for good (`kill_apiserver`), as a control plane that dies mid-run.

The process is found by the port of the kubeconfig's server, stopped with SIGTERM (SIGKILL where it lingers
after it closed its port, or does not close it within a kubelet's grace period), and started again
with the same command line, environment, working directory and log file; kwokctl's pid file is pointed
at the new process, so `vnode cluster down` (kwokctl delete) stops it like the original.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import yaml

from vnode_harness.plumbing.hostnet import port_is_listening
from vnode_harness.plumbing.processes import pid_alive
from vnode_harness.plumbing.waits import WaitTimeout, wait_for


def apiserver_port(kubeconfig: Path) -> int:
    config = yaml.safe_load(kubeconfig.read_text())
    server = str(config["clusters"][0]["cluster"]["server"])
    port = urlparse(server).port
    if port is None:
        raise ValueError(f"{kubeconfig}: the server {server} names no port")
    return port


def _argv(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/cmdline").read_bytes().rstrip(b"\0").decode().split("\0")


def find_apiserver(port: int) -> int:
    """The pid of the kube-apiserver host process serving `port`."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = _argv(int(entry.name))
        except OSError:
            continue
        if not argv or Path(argv[0]).name != "kube-apiserver":
            continue
        joined = " ".join(argv)
        if f"--secure-port={port}" in joined or f"--secure-port {port}" in joined:
            return int(entry.name)
    raise LookupError(f"no kube-apiserver host process serves port {port}")


TERMINATION_GRACE_SECONDS = 30.0
"""What a kubelet gives a static control-plane pod between SIGTERM and SIGKILL (the pod default)."""


def _stop_serving(pid: int, port: int, seconds: float) -> float:
    """SIGTERM the API server and return when it stopped listening. The process itself may linger after
    it closed its port (measured: ~30 s here); it is killed once the outage's `seconds` are over, so the
    restart is not delayed by a process that no longer serves anyone."""

    def exited() -> tuple[bool | None, str]:
        return (not pid_alive(pid) or None), "still running"

    os.kill(pid, signal.SIGTERM)
    try:
        wait_for(
            "kube-apiserver to stop listening after SIGTERM",
            lambda: (not port_is_listening(port) or None, "listening"),
            timeout=TERMINATION_GRACE_SECONDS,
        )
    except WaitTimeout:
        os.kill(pid, signal.SIGKILL)
    stopped_at = time.monotonic()
    try:
        wait_for("kube-apiserver to exit", exited, timeout=seconds)
    except WaitTimeout:
        os.kill(pid, signal.SIGKILL)
        wait_for("kube-apiserver to exit after SIGKILL", exited, timeout=10)
    return stopped_at


@dataclass
class ApiServerOutage:
    """`with ApiServerOutage(kubeconfig).stopped(10):` — down for 10 s, then started again."""

    kubeconfig: Path
    restarted_pid: int | None = None

    def stop_and_restart(self, seconds: float) -> int:
        """Stop the API server, keep it down for `seconds`, start it again; return the new pid once it
        listens again."""
        port = apiserver_port(self.kubeconfig)
        pid = find_apiserver(port)
        proc = Path(f"/proc/{pid}")
        argv = _argv(pid)
        environ = dict(
            item.split("=", 1) for item in (proc / "environ").read_bytes().decode().split("\0") if "=" in item
        )
        cwd = os.readlink(proc / "cwd")
        log = Path(os.readlink(proc / "fd" / "1"))
        pid_files = {  # kwokctl's record of it, beside the kubeconfig in its cluster directory
            path
            for directory in (Path(cwd), self.kubeconfig.parent)
            for path in directory.rglob("kube-apiserver.pid")
            if path.read_text().strip() == str(pid)
        }
        stopped_at = _stop_serving(pid, port, seconds)
        # The outage itself is the fault being injected: a fixed time, not a condition to wait for.
        time.sleep(max(0.0, seconds - (time.monotonic() - stopped_at)))
        with open(log, "ab") as out:
            process = subprocess.Popen(
                argv, env=environ, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
        for pid_file in pid_files:
            pid_file.write_text(str(process.pid))
        self.restarted_pid = process.pid
        wait_for(
            "kube-apiserver to listen again",
            lambda: (port_is_listening(port) or None, "not listening yet"),
            timeout=60,
        )
        return process.pid

    def clean_up(self) -> None:
        """Stop the restarted API server if the cluster's own teardown did not (a failed scenario)."""
        if self.restarted_pid is not None and pid_alive(self.restarted_pid):
            os.kill(self.restarted_pid, signal.SIGKILL)


def _stopped(pid: int) -> tuple[bool | None, str]:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True, "gone"
    return (True if "\nState:\tZ" in status else None), "still running"


def kill_apiserver(kubeconfig: Path) -> int:
    """SIGKILL the kube-apiserver serving `kubeconfig`, for good (a control plane that died: nothing
    restarts it); its pid, once it stopped running."""
    pid = find_apiserver(apiserver_port(kubeconfig))
    os.kill(pid, signal.SIGKILL)
    wait_for(f"kube-apiserver (pid {pid}) to die after SIGKILL", lambda: _stopped(pid), timeout=10)
    return pid

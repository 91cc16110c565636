"""Whether the cluster's own components are still running: told apart from the implementation's faults.

A conformance failure must blame the implementation only when the environment was sound. When a host
process the provider started (a virtual node, istiod, the API server) has died, every later test on it
fails with a symptom ("pod stayed Pending") that reads like an implementation bug; this module names the
dead component and the end of its log instead, for the failing test's report and the run's summary.
When the API server or etcd is dead no request can be answered at all, so no later test of that
cluster can tell anything (`control_plane_down`).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from vnode_harness.plumbing.processes import log_tail, recorded_processes
from vnode_harness.run_context import ClusterHandle

ANSWERING_COMPONENTS = ("kube-apiserver", "etcd")
"""The control-plane components without which the cluster answers no request."""


@dataclass(frozen=True)
class DeadComponent:
    name: str
    pid: int
    log: Path | None

    def describe(self) -> str:
        where = f"log {self.log}, last lines:\n{log_tail(self.log, 20)}" if self.log else "no log known"
        return f"{self.name} (pid {self.pid}) is no longer running; {where}"


def _running(pid: int) -> bool:
    """Whether `pid` runs: a killed component nobody reaped (a zombie) has stopped serving too."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


def _dead_supervised(cluster: ClusterHandle) -> list[DeadComponent]:
    """The control-plane components whose supervisor's pid file names a process that is gone."""
    directory = cluster.control_plane_pid_dir
    if directory is None or not directory.is_dir():
        return []
    dead = []
    for pid_file in sorted(directory.glob("*.pid")):
        with contextlib.suppress(OSError, ValueError):
            pid = int(pid_file.read_text().strip())
            if not _running(pid):
                log = cluster.component_logs.get(pid_file.stem)
                dead.append(DeadComponent(pid_file.stem, pid, Path(log) if log else None))
    return dead


def dead_component_list(cluster: ClusterHandle) -> list[DeadComponent]:
    """Every host process of `cluster` (the control plane's and the provider's own) that is no longer
    running; none for providers that start no host processes."""
    recorded = []
    if cluster.process_dir is not None and cluster.process_dir.is_dir():
        recorded = [
            DeadComponent(process.name, process.pid, process.log)
            for process in recorded_processes(cluster.process_dir)
            if not process.alive()
        ]
    return _dead_supervised(cluster) + recorded


def dead_components(cluster: ClusterHandle) -> list[str]:
    """One message per host process of `cluster` that is no longer running."""
    return [component.describe() for component in dead_component_list(cluster)]


def control_plane_down(cluster: ClusterHandle) -> str:
    """Why `cluster` can answer no request any more (its API server or etcd died), or ""."""
    dead = [c for c in _dead_supervised(cluster) if c.name in ANSWERING_COMPONENTS]
    return "; ".join(f"{c.name} (pid {c.pid}) is no longer running" for c in dead)


def environment_fault_text(cluster: ClusterHandle, shard: str = "") -> str:
    """A paragraph for a failed test's report, or "" when every component is running; each dead
    component is named with its shard when the run has several clusters."""
    dead = dead_components(cluster)
    if not dead:
        return ""
    prefix = f"{shard}: " if shard else ""
    return (
        "The test environment itself is broken, so this failure may not be the implementation's:\n"
        + "\n".join(f"- {prefix}{message}" for message in dead)
    )

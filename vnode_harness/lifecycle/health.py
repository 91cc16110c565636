"""Whether the cluster's own components are still running: told apart from the implementation's faults.

A conformance failure must blame the implementation only when the environment was sound. When a host
process the provider started (a virtual node, istiod) has died, every later test on it fails with a
symptom ("pod stayed Pending") that reads like an implementation bug; this module names the dead
component and the end of its log instead, for the failing test's report and the run's summary.
"""

from __future__ import annotations

from vnode_harness.plumbing.processes import log_tail, recorded_processes
from vnode_harness.run_context import ClusterHandle


def dead_components(cluster: ClusterHandle) -> list[str]:
    """One message per recorded host process of `cluster` that is no longer running (none for
    providers that start no host processes)."""
    if cluster.process_dir is None or not cluster.process_dir.is_dir():
        return []
    return [
        f"{process.name} (pid {process.pid}) is no longer running; log {process.log}, last lines:\n"
        f"{log_tail(process.log, 20)}"
        for process in recorded_processes(cluster.process_dir)
        if not process.alive()
    ]


def environment_fault_text(cluster: ClusterHandle) -> str:
    """A paragraph for a failed test's report, or "" when every component is running."""
    dead = dead_components(cluster)
    if not dead:
        return ""
    return (
        "The test environment itself is broken, so this failure may not be the implementation's:\n"
        + "\n".join(f"- {message}" for message in dead)
    )

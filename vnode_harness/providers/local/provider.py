"""The local provider for a conformance run: the local cluster plus the implementation under test as a
host process beside it (`install.local`), both owned here so the run need not know which is which."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from rich.console import Console

from vnode_harness.formats.implementation import Implementation, ProviderName
from vnode_harness.providers.base import HostProcessIdentity
from vnode_harness.providers.local.cluster import IMPLEMENTATION_PIDS, LocalCluster
from vnode_harness.providers.local.implementation import LocalImplementation, start_local_implementation
from vnode_harness.run_context import ClusterHandle, RunOptions


class LocalProvider:
    name: ProviderName = "local"

    def __init__(
        self, cluster: LocalCluster, implementation: Implementation, *, keep_cluster: bool = False
    ) -> None:
        self.cluster = cluster
        self.implementation = implementation
        self.keeps_cluster = keep_cluster
        self._started: LocalImplementation | None = None
        self._workdir: Path | None = None

    @classmethod
    def from_options(
        cls, options: RunOptions, implementation: Implementation, *, console: Console
    ) -> LocalProvider:
        cluster = LocalCluster(options.shard_cluster_name, logs_dir=options.cluster_logs_dir, console=console)
        return cls(cluster, implementation, keep_cluster=options.keep_cluster)

    def up(self) -> ClusterHandle:
        return self.cluster.up()

    def install_implementation(self, cluster: ClusterHandle) -> HostProcessIdentity:
        """Start `install.local` as a host process and wait until it answers."""
        self._workdir = Path(tempfile.mkdtemp(prefix="vnode-impl-"))
        # Recorded in the cluster's directory (apart from the cluster's own components, which the
        # health check watches), so that reaping an orphaned cluster stops it too.
        pid_dir = cluster.process_dir.parent / IMPLEMENTATION_PIDS if cluster.process_dir else None
        self._started = start_local_implementation(
            self.implementation, cluster, self._workdir, pid_dir=pid_dir
        )
        process = self._started.process
        cluster.component_logs[process.name] = str(process.log)
        return {"pid": str(process.pid), "start_time": process.start_time, "name": process.name,
                "log": str(process.log)}  # fmt: skip

    def stop_implementation(self) -> str | None:
        if self._started is None:
            return None
        pid = self._started.process.pid
        self._stop_process()
        return f"the harness stopped the implementation (pid {pid})"

    def _stop_process(self) -> None:
        if self._started is not None:
            self._started.stop()
            self._started = None
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def down(self) -> None:
        """The implementation's process never outlives the run; the cluster does only when kept."""
        self._stop_process()
        if not self.keeps_cluster:
            self.cluster.down()

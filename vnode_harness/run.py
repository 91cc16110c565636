"""One conformance run: the cluster, the implementation under test, and readiness — set up once.

The pytest plugin calls `ConformanceRun.start()` in the controlling process (the xdist controller, or
the only process with `-n 0`) before any worker starts, hands the resulting `RunContext` to the
workers, and calls `stop()` at the very end — also after Ctrl-C or a failed start. Nothing here is
pytest-specific, so the same sequence is usable from a script or a benchmark.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from kubernetes import client
from rich.console import Console

from vnode_harness.implementation import Implementation, load_implementation
from vnode_harness.install_local import LocalImplementation, start_local_implementation
from vnode_harness.kube import api_client
from vnode_harness.processes import process_start_time
from vnode_harness.providers.base import ClusterError, ClusterHandle, ClusterProvider
from vnode_harness.providers.select import choose_provider
from vnode_harness.readiness import PROBE_NAMESPACE, check_cluster_ready
from vnode_harness.testkit.profile import PROFILE_FEATURE, profile_propagation_failure


@dataclass(frozen=True)
class RunOptions:
    cluster: str
    implementation_file: Path
    run_dir: Path
    kubeconfig: Path | None = None
    cluster_name: str | None = None
    keep_cluster: bool = False
    kind_bin: str | None = None
    kind_kubectl_bin: str | None = None
    kind_image: str | None = None
    kind_images: str = "auto"
    implementation_pid: int | None = None
    """A host-process implementation the user started next to an existing cluster: its pid is then
    its identity for the "without restarting" checks."""


@dataclass(frozen=True)
class RunContext:
    """What every worker needs to know about the run; JSON-serialisable for xdist's workerinput."""

    run_dir: Path
    cluster: ClusterHandle
    implementation_file: Path
    provider_reason: str = ""
    implementation_process: dict[str, str] = field(default_factory=dict)
    """For a host-process implementation: its pid and start time (the "not restarted" check)."""
    profile_propagation_failure: str = ""
    """Why the implementation did not apply a changed eci-profile when the run checked it before the
    tests ("" when it did, or when it declares no feature that changes the profile)."""

    def to_json(self) -> str:
        return json.dumps(
            {
                "run_dir": str(self.run_dir),
                "cluster": self.cluster.to_json(),
                "implementation_file": str(self.implementation_file),
                "provider_reason": self.provider_reason,
                "implementation_process": self.implementation_process,
                "profile_propagation_failure": self.profile_propagation_failure,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> RunContext:
        data = json.loads(text)
        return cls(
            run_dir=Path(data["run_dir"]),
            cluster=ClusterHandle.from_json(data["cluster"]),
            implementation_file=Path(data["implementation_file"]),
            provider_reason=data.get("provider_reason", ""),
            implementation_process=dict(data.get("implementation_process", {})),
            profile_propagation_failure=str(data.get("profile_propagation_failure", "")),
        )


def _process_identity(pid: int) -> dict[str, str]:
    start = process_start_time(pid)
    if start is None:
        raise ClusterError(f"--implementation-pid {pid}: no such process")
    return {"pid": str(pid), "start_time": start, "name": f"pid {pid}", "log": ""}


class ConformanceRun:
    def __init__(self, options: RunOptions, console: Console | None = None) -> None:
        self.options = options
        self.console = console or Console(stderr=True)
        self.implementation: Implementation = load_implementation(options.implementation_file)
        self._provider: ClusterProvider | None = None
        self.provider_choice: tuple[str, str] | None = None
        """(provider, why) once `start` has chosen the provider; a report of a failed start names it."""
        self._local_impl: LocalImplementation | None = None
        self._impl_workdir: Path | None = None
        self.context: RunContext | None = None

    def _make_provider(self, name: str) -> ClusterProvider:
        logs = self.options.run_dir / "cluster"
        if name == "local":
            from vnode_harness.providers.local.cluster import LocalCluster

            return LocalCluster(self.options.cluster_name, logs_dir=logs, console=self.console)
        if name == "existing":
            from vnode_harness.providers.existing import ExistingCluster

            return ExistingCluster(self.options.kubeconfig, logs)
        if name == "kind":
            from vnode_harness.providers.kind.cluster import KindProvider

            return KindProvider.from_options(self.options, self.implementation, console=self.console)
        raise ClusterError(f"unknown --cluster {name!r}; choose kind, local, existing or auto")

    def start(self) -> RunContext:
        provider_name, reason = choose_provider(
            self.options.cluster, kind_bin=Path(self.options.kind_bin) if self.options.kind_bin else None
        )
        self.provider_choice = (provider_name, reason)
        self.console.print(f"cluster provider: [bold]{provider_name}[/bold] ({reason})")
        self._provider = self._make_provider(provider_name)
        cluster = self._provider.up()
        process: dict[str, str] = {}
        if self.options.implementation_pid:
            process = _process_identity(self.options.implementation_pid)
        if provider_name == "local":
            self._impl_workdir = Path(tempfile.mkdtemp(prefix="vnode-impl-"))
            self._local_impl = start_local_implementation(self.implementation, cluster, self._impl_workdir)
            process = {
                "pid": str(self._local_impl.process.pid),
                "start_time": self._local_impl.process.start_time,
                "name": self._local_impl.process.name,
                "log": str(self._local_impl.process.log),
            }
            cluster.component_logs[self._local_impl.process.name] = str(self._local_impl.process.log)
        api = api_client(cluster.kubeconfig, "readiness")
        timeout = float(self.implementation.limits.webhook_configuration_seconds)
        with self.console.status("checking readiness: virtual nodes, webhook, sidecar injector"):
            check_cluster_ready(api, self.implementation, timeout)
        propagation_failure = ""
        if self.implementation.supports(PROFILE_FEATURE):
            with self.console.status("checking that the implementation applies eci-profile changes"):
                propagation_failure = profile_propagation_failure(api, self.implementation)
            if propagation_failure:
                self.console.print(
                    "[red]the implementation does not apply eci-profile changes[/red]: every test that "
                    f"changes the profile fails at once with this cause:\n{propagation_failure}",
                    highlight=False,
                )
        self.context = RunContext(
            run_dir=self.options.run_dir,
            cluster=cluster,
            implementation_file=self.options.implementation_file.resolve(),
            provider_reason=reason,
            implementation_process=process,
            profile_propagation_failure=propagation_failure,
        )
        return self.context

    def stop(self) -> None:
        """Remove what the run created: probe namespace, host-process implementation, the cluster."""
        if self.context is not None and self.context.cluster.provider == "existing":
            core = client.CoreV1Api(api_client(self.context.cluster.kubeconfig, "teardown"))
            try:
                core.delete_namespace(PROBE_NAMESPACE)
            except client.ApiException as error:
                if error.status != 404:
                    self.console.print(
                        f"[yellow]could not delete namespace {PROBE_NAMESPACE}: {error.reason}"
                    )
        if self._local_impl is not None:
            self._local_impl.stop()
        if self._impl_workdir is not None:
            shutil.rmtree(self._impl_workdir, ignore_errors=True)
        if self._provider is not None and not self.options.keep_cluster:
            self._provider.down()

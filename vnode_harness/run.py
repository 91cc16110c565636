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

from vnode_harness.implementation import Implementation, ProviderName, load_implementation
from vnode_harness.install_local import LocalImplementation, start_local_implementation
from vnode_harness.kube import api_client
from vnode_harness.observe import DOWN_OBSERVATION_ID, DOWN_QUESTION, fate_of_eci_pod
from vnode_harness.processes import process_start_time
from vnode_harness.providers.base import ClusterError, ClusterHandle, ClusterProvider
from vnode_harness.providers.select import PROVIDERS, choose_provider
from vnode_harness.readiness import (
    PROBE_NAMESPACE,
    check_cluster_ready,
    ensure_probe_namespace,
    run_probe_namespace,
)
from vnode_harness.report.model import Cleanup, RunObservation
from vnode_harness.run_cleanup import RunCleanup
from vnode_harness.testkit.implementation_pods import stop_declared_pods
from vnode_harness.testkit.profile import (
    LOCK_NAME,
    LOCK_TIMEOUT_SECONDS,
    PROFILE_FEATURE,
    profile_propagation_failure,
)
from vnode_harness.testkit.rw_lease_lock import WriterLock
from vnode_harness.testkit.workloads import RUN_LABEL
from vnode_harness.waits import WaitTimeout


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
    probe_namespace: str = PROBE_NAMESPACE
    """This run's namespace of dry-run probes (readiness.run_probe_namespace), deleted at its end."""
    lock_taken_over: str = ""
    """When the run found the eci-profile lock left expired by a holder that died (its first acquire
    took it over): who held it and how stale it was; "" otherwise."""

    @property
    def run_id(self) -> str:
        """The run's id: its directory's name, the value of the run label on what the run creates."""
        return self.run_dir.name

    def to_json(self) -> str:
        return json.dumps(
            {
                "run_dir": str(self.run_dir),
                "cluster": self.cluster.to_json(),
                "implementation_file": str(self.implementation_file),
                "provider_reason": self.provider_reason,
                "implementation_process": self.implementation_process,
                "profile_propagation_failure": self.profile_propagation_failure,
                "probe_namespace": self.probe_namespace,
                "lock_taken_over": self.lock_taken_over,
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
            probe_namespace=str(data.get("probe_namespace", PROBE_NAMESPACE)),
            lock_taken_over=str(data.get("lock_taken_over", "")),
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
        self.provider_choice: tuple[ProviderName, str] | None = None
        """(provider, why) once `start` has chosen the provider; a report of a failed start names it."""
        self._local_impl: LocalImplementation | None = None
        self._impl_workdir: Path | None = None
        self.context: RunContext | None = None
        self._cleanup: RunCleanup | None = None

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
        raise ClusterError(f"unknown --cluster {name!r}; choose one of {', '.join(PROVIDERS)}")

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
        run_id = self.options.run_dir.name
        probe_namespace = run_probe_namespace(run_id)
        self._cleanup = RunCleanup(
            kubeconfig=cluster.kubeconfig,
            implementation=self.implementation,
            run_id=run_id,
            probe_namespace=probe_namespace,
            run_dir=self.options.run_dir,
        )
        with self.console.status("checking readiness: virtual nodes, webhook, sidecar injector"):
            check_cluster_ready(
                api,
                self.implementation,
                timeout,
                probe_namespace=probe_namespace,
                probe_labels={RUN_LABEL: run_id},
            )
        self._cleanup.remember_profile()  # once ready: an implementation may create the profile at start
        propagation_failure, taken_over = "", None
        if self.implementation.supports(PROFILE_FEATURE):
            taken_over = self._take_over_a_dead_runs_lock(api, run_id)
            with self.console.status("checking that the implementation applies eci-profile changes"):
                propagation_failure = profile_propagation_failure(
                    api, self.implementation, probe_namespace=probe_namespace, run_id=run_id
                )
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
            probe_namespace=probe_namespace,
            lock_taken_over=taken_over or "",
        )
        return self.context

    def _take_over_a_dead_runs_lock(self, api: client.ApiClient, run_id: str) -> str | None:
        """Take the profile lock exclusively once before the tests: the leases a crashed run left (its
        writer lease, its tests' shared holds) are taken over here once expired, and the report says
        whose they were, since that run may have left the profile changed. None when the lock was free
        or released by its live holders."""
        lock = WriterLock(
            client.CoordinationV1Api(api),
            self.implementation.observation.profile_namespace,
            LOCK_NAME,
            holder=f"run-start@{run_id}",
            labels={RUN_LABEL: run_id},
        )
        with self.console.status("taking the eci-profile lock (a crashed run's lock expires first)"):
            lock.acquire(LOCK_TIMEOUT_SECONDS)
        lock.release()
        return lock.taken_over

    def observe_implementation_down(self, *, interrupted: bool) -> RunObservation | None:
        """After the last test and `clean_up`: stop the implementation the harness started and see what
        becomes of an ECI-labelled pod (informative, never certified: vnode_harness.observe.DOWN_QUESTION)."""
        if self.context is None:
            return None

        def seen(answer: str, detail: str) -> RunObservation:
            return RunObservation(
                id=DOWN_OBSERVATION_ID, question=DOWN_QUESTION, answer=answer, detail=detail
            )

        provider = self.context.cluster.provider
        if interrupted:
            return seen("not observed", "the run was interrupted before it could stop the implementation")
        if self.options.keep_cluster:
            return seen(
                "not observed", "the cluster is kept (--keep-cluster): its implementation keeps running"
            )
        api = api_client(self.context.cluster.kubeconfig, "implementation-down")
        if self._local_impl is not None:
            stopped = f"the harness stopped the implementation (pid {self._local_impl.process.pid})"
            self._local_impl.stop()
        elif provider == "kind":  # the harness installed it and deletes the cluster next
            try:
                stopped = "the harness stopped the implementation: " + stop_declared_pods(
                    api, self.implementation, timeout=float(self.implementation.limits.pod_running_seconds)
                )
            except (ValueError, WaitTimeout, client.ApiException) as error:
                return seen("not observed", f"the harness could not stop the implementation on kind: {error}")
        else:
            return seen(
                "not observed",
                f"the harness did not start the implementation on this {provider} cluster, so it does not "
                "stop it",
            )
        core = client.CoreV1Api(api)
        run_labels = {RUN_LABEL: self.context.run_id}
        # clean_up deleted the probe namespace (with the implementation still running, so that its own
        # provisioner reclaimed the run's volumes); the observation's pod gets a fresh one, removed after.
        ensure_probe_namespace(core, self.context.probe_namespace, labels=run_labels)
        try:
            answer, detail = fate_of_eci_pod(
                core,
                self.implementation.observation,
                self.context.probe_namespace,
                run_labels,
                timeout=float(self.implementation.limits.pod_running_seconds),
            )
        finally:
            if self._cleanup is not None:
                self._cleanup.delete_probe_namespace(self.console)
        return seen(answer, f"after the tests {stopped}; {detail}")

    def clean_up(self) -> Cleanup | None:
        """After the last test: delete the run's probe namespace, wait for deletions in flight, and say
        what the run left behind (vnode_harness.run_cleanup). None when the run never reached its tests."""
        if self._cleanup is None or self.context is None:
            return None
        return self._cleanup.finish(self.console)

    def stop(self) -> None:
        """Remove what the run created: probe namespace, host-process implementation, the cluster."""
        cluster_stays = self.options.keep_cluster or (self.provider_choice or ("", ""))[0] == "existing"
        if self._cleanup is not None and cluster_stays:
            self._cleanup.delete_probe_namespace(self.console)  # again, in case the run ended early
        if self._local_impl is not None:
            self._local_impl.stop()
        if self._impl_workdir is not None:
            shutil.rmtree(self._impl_workdir, ignore_errors=True)
        if self._provider is not None and not self.options.keep_cluster:
            self._provider.down()

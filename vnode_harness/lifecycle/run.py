"""One conformance run: the cluster, the implementation under test, and readiness — set up once.

The pytest plugin calls `ConformanceRun.start()` in the controlling process (the xdist controller, or
the only process with `-n 0`) before any worker starts, hands the resulting `RunContext` to the
workers, and calls `stop()` at the very end — also after Ctrl-C or a failed start. Nothing here is
pytest-specific, so the same sequence is usable from a script or a benchmark.
"""

from __future__ import annotations

from pathlib import Path

from kubernetes import client
from rich.console import Console

from vnode_harness.formats.implementation import Implementation, ProviderName, load_implementation
from vnode_harness.formats.names import ECI_LABEL
from vnode_harness.lifecycle.cleanup import UNREACHABLE, RunCleanup
from vnode_harness.lifecycle.leaks import DEFAULT_SETTLE_SECONDS
from vnode_harness.lifecycle.readiness import check_cluster_ready, label_routing_failure
from vnode_harness.plumbing.console import make_console
from vnode_harness.plumbing.kube import api_client
from vnode_harness.plumbing.probes import ensure_probe_namespace
from vnode_harness.plumbing.probes import probe_namespace as probe_namespace_of
from vnode_harness.plumbing.processes import process_start_time
from vnode_harness.plumbing.waits import WaitTimeout
from vnode_harness.providers.base import ClusterProvider, HostProcessIdentity
from vnode_harness.providers.registry import make_provider
from vnode_harness.providers.select import choose_provider
from vnode_harness.report.model import Cleanup, RunObservation
from vnode_harness.run_context import ClusterError, ClusterHandle, RunContext, RunOptions
from vnode_harness.testapi.observe import DOWN_OBSERVATION_ID, DOWN_QUESTION, fate_of_eci_pod
from vnode_harness.testapi.profile import (
    LOCK_NAME,
    LOCK_TIMEOUT_SECONDS,
    PROFILE_FEATURE,
    profile_propagation_failure,
)
from vnode_harness.testapi.rw_lease_lock import WriterLock
from vnode_harness.testapi.workloads import RUN_LABEL


def _process_identity(pid: int) -> dict[str, str]:
    start = process_start_time(pid)
    if start is None:
        raise ClusterError(f"--implementation-pid {pid}: no such process")
    return {"pid": str(pid), "start_time": start, "name": f"pid {pid}", "log": ""}


class ConformanceRun:
    def __init__(self, options: RunOptions, console: Console | None = None) -> None:
        self.options = options
        self.console = console or make_console(stderr=True)
        self.implementation: Implementation = load_implementation(options.implementation_file)
        self._provider: ClusterProvider | None = None
        self.provider_choice: tuple[ProviderName, str] | None = None
        """(provider, why) once `start` has chosen the provider; a report of a failed start names it."""
        self.context: RunContext | None = None
        self._cleanup: RunCleanup | None = None
        self._cluster: ClusterHandle | None = None
        self._process: HostProcessIdentity = {}

    @property
    def cluster(self) -> ClusterHandle:
        """The cluster `bring_up` brought up."""
        assert self._cluster is not None, "bring_up() first"
        return self._cluster

    def choose_provider(self) -> tuple[ProviderName, str]:
        """(provider, why) for `--cluster`; printed, and kept for the report of a failed start."""
        kind_bin = Path(self.options.kind_bin) if self.options.kind_bin else None
        self.provider_choice = choose_provider(self.options.cluster, kind_bin=kind_bin)
        provider_name, reason = self.provider_choice
        self.console.print(f"cluster provider: [bold]{provider_name}[/bold] ({reason})")
        return self.provider_choice

    def start(self, choice: tuple[ProviderName, str] | None = None) -> RunContext:
        """Bring the cluster up (the provider `choice` made once for every shard, or chosen here),
        install the implementation and check readiness."""
        self.bring_up(choice or self.choose_provider())
        return self.check_ready()

    def bring_up(self, choice: tuple[ProviderName, str]) -> None:
        """The cluster and the implementation in it: the slow part, safe to run beside other shards'
        (it reports no Allure step, which only the main thread may)."""
        self.provider_choice = choice
        provider = self._provider = make_provider(choice[0], self.options, self.implementation, self.console)
        self._cluster = provider.up()
        self._process = provider.install_implementation(self._cluster)
        if not self._process and self.options.implementation_pid:
            self._process = _process_identity(self.options.implementation_pid)

    def check_ready(self) -> RunContext:
        """Readiness and profile propagation, once the cluster is up (in the main thread)."""
        assert self._cluster is not None, "bring_up() first"
        assert self.provider_choice is not None
        cluster, process, reason = self._cluster, self._process, self.provider_choice[1]
        api = api_client(cluster.kubeconfig, "readiness")
        timeout = float(self.implementation.limits.webhook_configuration_seconds)
        run_id = self.options.run_dir.name
        probe_namespace = probe_namespace_of(run_id)
        self._cleanup = RunCleanup(
            kubeconfig=cluster.kubeconfig,
            implementation=self.implementation,
            run_id=run_id,
            probe_namespace=probe_namespace,
            run_dir=self.options.run_dir,
            # A cluster the run deletes takes what is still terminating with it: no settling there.
            settle_seconds=DEFAULT_SETTLE_SECONDS
            if self._provider is None or self._provider.keeps_cluster
            else 0,
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
        with self.console.status(f"checking that a pod labelled {ECI_LABEL}=true runs on a virtual node"):
            routing_failure = label_routing_failure(
                api,
                self.implementation,
                probe_namespace=probe_namespace,
                probe_labels={RUN_LABEL: run_id},
            )
        if routing_failure:
            self.console.print(
                f"[red]a pod labelled {ECI_LABEL}=true does not run on a virtual node[/red]: the tests go on "
                "(each requirement gets its own verdict); every failed test quotes this cause:\n"
                f"{routing_failure}",
                highlight=False,
            )
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
            label_routing_failure=routing_failure,
            probe_namespace=probe_namespace,
            lock_taken_over=taken_over or "",
            shard=self.options.shard,
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
        becomes of an ECI-labelled pod (informative, never certified: testapi.observe.DOWN_QUESTION)."""
        if self.context is None:
            return None

        def seen(answer: str, detail: str) -> RunObservation:
            return RunObservation(
                id=DOWN_OBSERVATION_ID, question=DOWN_QUESTION, answer=answer, detail=detail
            )

        if interrupted:
            return seen("not observed", "the run was interrupted before it could stop the implementation")
        if self.options.keep_cluster:
            return seen(
                "not observed", "the cluster is kept (--keep-cluster): its implementation keeps running"
            )
        assert self._provider is not None
        try:
            stopped = self._provider.stop_implementation()
        except (ValueError, WaitTimeout, client.ApiException) as error:
            return seen("not observed", f"the harness could not stop the implementation: {error}")
        if stopped is None:
            return seen(
                "not observed",
                f"the harness did not start the implementation on this {self._provider.name} cluster, so "
                "it does not stop it",
            )
        api = api_client(self.context.cluster.kubeconfig, "implementation-down")
        core = client.CoreV1Api(api)
        run_labels = {RUN_LABEL: self.context.run_id}
        down_namespace = probe_namespace_of(f"{self.context.run_id}-down")
        try:
            client.VersionApi(api).get_code()  # one look: a cluster that answers nothing is not waited for
            # clean_up deleted the probe namespace (with the implementation still running, so that its
            # own provisioner reclaimed the run's volumes), which may still be terminating: the
            # observation's pod gets a namespace of its own.
            ensure_probe_namespace(core, down_namespace, labels=run_labels)
            answer, detail = fate_of_eci_pod(
                core,
                self.implementation.observation,
                down_namespace,
                run_labels,
                timeout=float(self.implementation.limits.pod_running_seconds),
            )
        except UNREACHABLE as error:  # the cluster went away (its API server died): nothing to observe
            answer, detail = "not observed", f"the cluster did not answer: {error}"
        finally:
            if self._cleanup is not None:
                self._cleanup.delete_probe_namespace(self.console, down_namespace)
        return seen(answer, f"after the tests {stopped}; {detail}")

    def clean_up(self) -> Cleanup | None:
        """After the last test: delete the run's probe namespace, wait for deletions in flight, and say
        what the run left behind (lifecycle.cleanup). None when the run never reached its tests."""
        if self._cleanup is None or self.context is None:
            return None
        return self._cleanup.finish(self.console)

    def stop(self) -> None:
        """Remove what the run created: the probe namespace, the implementation and the cluster the
        provider started (a kept or existing cluster stays: then the probe namespace goes here)."""
        if self._provider is None:
            return
        if self._cleanup is not None and self._provider.keeps_cluster:
            self._cleanup.delete_probe_namespace(self.console)  # again, in case the run ended early
        self._provider.down()

"""The end of a run in the cluster it certified: remove the run's probe namespace, then check that the
eci-profile is as the run found it and that nothing of the run is left (vnode_harness.lifecycle.leaks).

The profile is read before the first test and again after the last one: each test restores it byte for
byte, and this is the proof over the whole run, recorded in the report (`cleanup.profileRestored`).

On a cluster that outlives the run (existing, or kept) the check waits for deletions in flight to
finish; on one the run deletes (settle time 0) what is still terminating goes with the cluster, so only
what the suite never deleted is listed — the finding that says the suite would leave it in a vendor's.
"""

from __future__ import annotations

from pathlib import Path

import urllib3
from kubernetes import client
from rich.console import Console

from vnode_harness.formats.implementation import Implementation
from vnode_harness.lifecycle.leaks import DEFAULT_SETTLE_SECONDS, leaks_after_settling, suite_leaks
from vnode_harness.plumbing.kube import api_client
from vnode_harness.plumbing.waits import WaitUnanswered
from vnode_harness.report.model import Cleanup, LeftObject
from vnode_harness.testapi.profile import ProfileSnapshot, read_profile_snapshot
from vnode_harness.testapi.workloads import created_namespaces

UNREACHABLE = (client.ApiException, urllib3.exceptions.HTTPError, OSError, WaitUnanswered)
"""What a cluster that went away at the end of a run raises: the cleanup is then not known, not a crash."""


class RunCleanup:
    def __init__(
        self,
        *,
        kubeconfig: Path,
        implementation: Implementation,
        run_id: str,
        probe_namespace: str,
        run_dir: Path,
        settle_seconds: float = DEFAULT_SETTLE_SECONDS,
    ) -> None:
        self.kubeconfig = kubeconfig
        self.implementation = implementation
        self.run_id = run_id
        self.probe_namespace = probe_namespace
        self.run_dir = run_dir
        self.settle_seconds = settle_seconds
        self.profile_before: ProfileSnapshot | None = None

    def _core(self) -> client.CoreV1Api:
        return client.CoreV1Api(api_client(self.kubeconfig, "cleanup"))

    def remember_profile(self) -> None:
        """Read the eci-profile before the first test (before the run's own readiness probes, too)."""
        self.profile_before = read_profile_snapshot(self._core(), self.implementation)

    def delete_probe_namespace(self, console: Console, name: str = "") -> None:
        """The run's probe namespace (or another of the run's, `name`)."""
        name = name or self.probe_namespace
        try:
            self._core().delete_namespace(name, grace_period_seconds=0)
        except client.ApiException as error:
            if error.status != 404:
                console.print(f"[yellow]could not delete namespace {name}: {error.reason}")
        except UNREACHABLE as error:
            console.print(f"[yellow]could not delete namespace {name}: {error}")

    def finish(self, console: Console) -> Cleanup | None:
        """Delete the probe namespace, wait for deletions in flight, list what is left; print a finding
        for every object left. None when the cluster cannot be asked any more."""
        self.delete_probe_namespace(console)
        try:
            # One look first: a cluster that answers nothing (its API server died) is not waited for.
            client.VersionApi(api_client(self.kubeconfig, "cleanup")).get_code()
            with console.status(
                f"checking that the run left nothing behind (up to {self.settle_seconds:g} s)"
            ):
                leaks = leaks_after_settling(
                    api_client(self.kubeconfig, "cleanup"),
                    self.run_id,
                    namespaces_created=created_namespaces(self.run_dir),
                    timeout=self.settle_seconds,
                )
                if not self.settle_seconds:  # the cluster goes with the run: only what was never deleted
                    leaks = suite_leaks(leaks)
                after = read_profile_snapshot(self._core(), self.implementation)
        except UNREACHABLE as error:
            console.print(f"[yellow]could not check what the run left in the cluster: {error}")
            return None
        restored = self.profile_before == after if self.profile_before is not None else None
        if restored is False:
            console.print("[red]the eci-profile at the end of the run differs from what the run found[/red]")
        for leak in leaks:
            colour = "red" if leak.owner == "suite" else "yellow"
            console.print(f"[{colour}]left in the cluster:[/{colour}] {leak.describe()}", highlight=False)
        return Cleanup(
            profile_restored=restored,
            left_behind=[
                LeftObject(
                    kind=leak.kind,
                    name=leak.name,
                    namespace=leak.namespace,
                    owner=leak.owner,
                    detail=leak.detail,
                )
                for leak in leaks
            ],
            settle_seconds=self.settle_seconds,
        )

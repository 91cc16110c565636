"""`vnode run --in-cluster`: the suite as a Job in the cluster under test, from start to cleanup.

Steps: the suite image checked on the nodes (no mirror) → namespace, ServiceAccount, ClusterRole and
binding, the implementation file as a ConfigMap, the Job → the pod's log followed here → its run
directory fetched into `reports/runs/<run>/` once the pod announces it → the pod exits with pytest's
status → everything created removed. On Ctrl-C the Job is deleted first and its pod gets its grace
period, in which pytest restores the eci-profile under the still-bound RBAC (and the runner still
fetches the partial run); only then do the binding, the role and the namespace go. A pod that is lost
(evicted, OOM-killed, its image not pullable, past the deadline) ends the run broken with the cause.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubernetes import client
from rich.console import Console

from vnode_harness.formats.image_refs import mirrored
from vnode_harness.incluster import manifests
from vnode_harness.incluster.logs import LogFollower
from vnode_harness.incluster.pod_state import PodState, pod_state
from vnode_harness.incluster.preflight import missing_image_problem
from vnode_harness.incluster.transfer import TransferError, fetch_run
from vnode_harness.plumbing.forbidden import missing_permission
from vnode_harness.plumbing.kube import api_client
from vnode_harness.plumbing.waits import WaitTimeout, wait_for

EXIT_BROKEN = 3
"""The run gave no result: the pod was lost, or its run directory could not be fetched (as the plugin's
exit code 3 for a cluster that was never ready)."""
IMPLEMENTATION_MOUNT = "/implementation"
START_TIMEOUT = 600.0
"""How long the pod may stay Pending (scheduling, pulling the image) before the run gives up."""


class InClusterError(RuntimeError):
    """The in-cluster run could not start or was lost; the message names the cause."""


@dataclass(frozen=True)
class InClusterOptions:
    kubeconfig: Path
    implementation_file: Path
    image: str
    runs_dir: Path
    pytest_args: tuple[str, ...] = ()
    image_mirror: str | None = None
    test_image: str | None = None
    memory_limit: str = "2Gi"
    checkout: str = "unknown"
    environment: dict[str, str] = field(default_factory=dict)
    image_listing_timeout: float = 90.0
    """How long a node may take to list a suite image loaded just before (its kubelet's status update)."""
    rules: tuple[manifests.Rule, ...] = manifests.RULES
    """The ClusterRole's rules; tests drop one to show the run names what is missing."""


@dataclass
class Outcome:
    exit_code: int
    run_dir: Path | None = None
    lost: str = ""
    interrupted: bool = False


class InClusterRunner:
    def __init__(self, options: InClusterOptions, console: Console) -> None:
        self.options = options
        self.console = console
        api = api_client(options.kubeconfig, "in-cluster runner")
        self.core = client.CoreV1Api(api)
        self.rbac = client.RbacAuthorizationV1Api(api)
        self.batch = client.BatchV1Api(api)
        run_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"
        environment = {**options.environment, "VNODE_SUITE_CHECKOUT": options.checkout}
        if options.test_image:
            environment["VNODE_TEST_IMAGE"] = mirrored(options.test_image, options.image_mirror)
        self.run = manifests.InClusterRun(
            run_id=run_id,
            image=mirrored(options.image, options.image_mirror),
            pytest_args=options.pytest_args,
            implementation_file=f"{IMPLEMENTATION_MOUNT}/{options.implementation_file.name}",
            environment=tuple(sorted(environment.items())),
            memory_limit=options.memory_limit,
        )
        self.created: list[tuple[str, str]] = []
        self._follower: LogFollower | None = None

    # --- the run ------------------------------------------------------------------------------------

    def execute(self) -> Outcome:
        """The whole run; cleanup always, Ctrl-C included (a second Ctrl-C skips waiting for the pod)."""
        if not self.options.image_mirror:
            self._image_on_a_node()
        try:
            self._create()
            pod = self._pod_name()
            return self._follow(pod)
        except KeyboardInterrupt:
            self.console.print("[yellow]interrupted: stopping the suite's pod (it restores the eci-profile)")
            outcome = self._stop_gracefully()
            outcome.interrupted = True
            return outcome
        finally:
            self._cleanup()

    def _image_on_a_node(self) -> None:
        """The suite image on a runnable node; a kubelet lists an image loaded a moment ago only at its
        next status update, so its absence is awaited a little before it is an error."""
        problem = missing_image_problem(self.core, self.run.image)
        if problem is None:
            return
        timeout = self.options.image_listing_timeout
        self.console.print(
            f"{self.run.image} is not listed by a node yet; waiting up to {timeout:g} s for the "
            "kubelets' next status update"
        )
        try:
            wait_for(
                f"a node to list {self.run.image}",
                lambda: (
                    True if missing_image_problem(self.core, self.run.image) is None else None,
                    "not listed",
                ),
                timeout=timeout,
                interval=2,
            )
        except WaitTimeout as error:
            raise InClusterError(f"{problem} (waited {timeout:g} s for the nodes to list it)") from error

    def _create(self) -> None:
        run = self.run
        self.console.print(f"in-cluster run {run.run_id}: namespace {run.namespace}, image {run.image}")
        self.core.create_namespace(manifests.namespace(run))
        self.created.append(("namespace", run.namespace))
        self.rbac.create_cluster_role(manifests.cluster_role(run, self.options.rules))
        self.created.append(("clusterrole", run.cluster_role))
        self.rbac.create_cluster_role_binding(manifests.cluster_role_binding(run))
        self.created.append(("clusterrolebinding", run.cluster_role))
        self.core.create_namespaced_service_account(run.namespace, manifests.service_account(run))
        self.core.create_namespaced_config_map(run.namespace, self._implementation_config_map())
        job = manifests.job(run)
        pod_spec = job["spec"]["template"]["spec"]
        pod_spec["volumes"].append({"name": "implementation", "configMap": {"name": "implementation"}})
        pod_spec["containers"][0]["volumeMounts"].append(
            {"name": "implementation", "mountPath": IMPLEMENTATION_MOUNT, "readOnly": True}
        )
        self.batch.create_namespaced_job(run.namespace, job)

    def _implementation_config_map(self) -> dict[str, Any]:
        """The implementation file, byte for byte (the report names it by its SHA-256)."""
        path = self.options.implementation_file
        return {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": "implementation",
                "namespace": self.run.namespace,
                "labels": self.run.labels(),
            },
            "data": {path.name: path.read_text()},
        }

    def _pod_name(self) -> str:
        selector = f"job-name={self.run.job}"

        def probe() -> tuple[str | None, str]:
            pods = self.core.list_namespaced_pod(self.run.namespace, label_selector=selector).items
            return (pods[0].metadata.name if pods else None), f"{len(pods)} pod(s) of the Job"

        return wait_for(f"the Job {self.run.namespace}/{self.run.job} to create its pod", probe, timeout=120)

    def _state(self, pod: str) -> PodState:
        return pod_state(self.core.read_namespaced_pod(pod, self.run.namespace))

    def _follow(self, pod: str) -> Outcome:
        started = self._await_start(pod)
        if started.phase == "lost":
            return self._lost(started)
        # Kept running on Ctrl-C: _stop_gracefully goes on printing the pod's log with it.
        follower = self._follower = LogFollower(self.core, pod, self.run.namespace).start()
        state = self._await_marker_or_end(pod, follower)
        if follower.marker is None:
            follower.ended.wait(timeout=10)
        if follower.marker is None:
            follower.stop()
            unpacked = f"the suite's pod ended ({state.detail}) without packing a run directory"
            return self._lost(state if state.phase == "lost" else PodState("lost", unpacked))
        run_dir = self._fetch(pod, follower.marker)
        ended = wait_for(
            "the suite's pod to exit once its run directory was fetched",
            lambda: self._ended_probe(pod),
            timeout=120,
            interval=1,
        )
        follower.stop()
        return Outcome(int(follower.marker.get("exit", ended.exit_code or 0)), run_dir=run_dir)

    def _ended_probe(self, pod: str) -> tuple[PodState | None, str]:
        state = self._state(pod)
        return (state if state.phase in ("ended", "lost") else None), state.detail

    def _await_start(self, pod: str) -> PodState:
        def probe() -> tuple[PodState | None, str]:
            state = self._state(pod)
            return (None if state.phase == "pending" else state), state.detail

        try:
            return wait_for(
                f"the suite's pod {self.run.namespace}/{pod} to start",
                probe,
                timeout=START_TIMEOUT,
                interval=1,
            )
        except WaitTimeout as error:
            return PodState("lost", str(error))

    def _await_marker_or_end(self, pod: str, follower: LogFollower) -> PodState:
        def probe() -> tuple[PodState | None, str]:
            if follower.marker is not None:
                return PodState("running", "run directory packed"), "packed"
            state = self._state(pod)
            return (state if state.phase in ("ended", "lost") else None), state.detail or state.phase

        return wait_for("the suite to finish", probe, timeout=self.run.deadline_seconds + 60, interval=2)

    def _fetch(self, pod: str, marker: dict[str, Any]) -> Path:
        run_dir = fetch_run(
            self.core,
            pod,
            self.run.namespace,
            archive=str(marker["archive"]),
            size=int(marker["bytes"]),
            runs_dir=self.options.runs_dir,
        )
        latest = self.options.runs_dir.parent / "latest"
        latest.unlink(missing_ok=True)
        latest.symlink_to(run_dir.relative_to(latest.parent), target_is_directory=True)
        self.console.print(f"run directory fetched from the pod: {run_dir}")
        return run_dir

    def _lost(self, state: PodState) -> Outcome:
        self.console.print(f"[red]broken:[/red] the suite's pod was lost: {state.detail}", highlight=False)
        self.console.print(
            "no result; if a test had changed the eci-profile, the next run takes its expired "
            "lock over and says so (lockTakenOver)"
        )
        return Outcome(EXIT_BROKEN, lost=state.detail)

    # --- stopping and cleanup ----------------------------------------------------------------------

    def _stop_gracefully(self) -> Outcome:
        """Delete the Job (its pod gets SIGTERM and its grace period); fetch the partial run if the pod
        packs one in time; wait for the pod to be gone, so the RBAC outlives the profile's restore."""
        pods = self.core.list_namespaced_pod(
            self.run.namespace, label_selector=f"job-name={self.run.job}"
        ).items
        with contextlib.suppress(client.ApiException):
            self.batch.delete_namespaced_job(
                self.run.job, self.run.namespace, propagation_policy="Background"
            )
        if not pods:
            return Outcome(130)
        pod = pods[0].metadata.name
        previous = self._follower
        follower = (
            previous
            if previous is not None and not previous.ended.is_set()
            else LogFollower(
                self.core, pod, self.run.namespace, since_seconds=5 if previous else None
            ).start()
        )

        def marker() -> dict[str, Any] | None:
            return follower.marker or (previous.marker if previous is not None else None)

        run_dir = None
        try:
            wait_for(
                "the suite's pod to restore the eci-profile and end",
                lambda: (True if marker() is not None or self._gone(pod) else None, "still running"),
                timeout=manifests.GRACE_SECONDS + 30,
                interval=1,
            )
            packed = marker()
            if packed is not None:
                run_dir = self._fetch(pod, packed)
            wait_for(
                "the suite's pod to be gone",
                lambda: (True if self._gone(pod) else None, "terminating"),
                timeout=manifests.GRACE_SECONDS + 30,
                interval=1,
            )
        except (WaitTimeout, TransferError, client.ApiException) as error:
            self.console.print(f"[yellow]the pod did not end cleanly: {error}")
        except KeyboardInterrupt:
            self.console.print("[yellow]interrupted again: removing everything now")
        finally:
            follower.stop()
        return Outcome(130, run_dir=run_dir)

    def _gone(self, pod: str) -> bool:
        try:
            self.core.read_namespaced_pod(pod, self.run.namespace)
        except client.ApiException as error:
            return bool(error.status == 404)
        return False

    def _cleanup(self) -> None:
        """Everything created, newest first; the namespace's deletion awaited (its pods end first)."""
        for kind, name in reversed(self.created):
            try:
                if kind == "namespace":
                    self.core.delete_namespace(name)
                elif kind == "clusterrole":
                    self.rbac.delete_cluster_role(name)
                else:
                    self.rbac.delete_cluster_role_binding(name)
            except client.ApiException as error:
                if error.status != 404:
                    self.console.print(f"[red]could not delete {kind} {name}: {error.status} {error.reason}")
        if ("namespace", self.run.namespace) in self.created:
            try:
                wait_for(
                    f"namespace {self.run.namespace} to be deleted",
                    lambda: (True if self._namespace_gone() else None, "terminating"),
                    timeout=manifests.GRACE_SECONDS + 60,
                    interval=1,
                )
            except WaitTimeout as error:
                self.console.print(f"[yellow]{error}")
        self.console.print(
            f"removed: {', '.join(f'{kind} {name}' for kind, name in self.created) or 'nothing'}"
        )

    def _namespace_gone(self) -> bool:
        try:
            self.core.read_namespace(self.run.namespace)
        except client.ApiException as error:
            return bool(error.status == 404)
        return False


def run_in_cluster(options: InClusterOptions, console: Console) -> Outcome:
    """The run, with an RBAC refusal of the runner's own kubeconfig named as the rule it lacks."""
    try:
        return InClusterRunner(options, console).execute()
    except client.ApiException as error:
        missing = missing_permission(error)
        if missing is None:
            raise InClusterError(
                f"the API server refused the runner: {error.status} {error.reason}: {error.body}"
            ) from error
        raise InClusterError(
            f"your kubeconfig may not {missing.verb} {missing.resource} ({missing.rule()}): the runner "
            "creates a namespace, a ServiceAccount, a ClusterRole and its binding, and a Job"
        ) from error

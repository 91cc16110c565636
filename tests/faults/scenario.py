"""What every fault scenario does: start a suite run as a vendor would (a separate `pytest conformance`
process against an existing cluster), inject a fault at a chosen moment, then read its verdict and
check the cluster it ran against: the eci-profile as it was, the lock Lease gone, none of the run's
objects left (vnode_harness.lifecycle.leaks).

Moments are observed, not timed: "a test holds the profile lock", "the run's first test namespace
exists" are read from the cluster, so a fault lands where the scenario says on a fast or a slow machine.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import urllib3
import yaml
from kubernetes import client, watch

from vnode_harness.formats.implementation import Implementation, load_implementation
from vnode_harness.formats.names import ECI_LABEL
from vnode_harness.lifecycle.leaks import leaks_after_settling
from vnode_harness.plumbing.kube import api_client
from vnode_harness.plumbing.waits import wait_for
from vnode_harness.providers.local.implementation import LocalImplementation, start_local_implementation
from vnode_harness.run_context import ClusterHandle
from vnode_harness.testapi.profile import LOCK_NAME, ProfileSnapshot, read_profile_snapshot
from vnode_harness.testapi.workloads import RUN_LABEL, TEST_IMAGE_VARIABLE, created_namespaces

REPO = Path(__file__).resolve().parents[2]
REFERENCE = REPO / "implementations" / "reference.yaml"
LAUNCHER = Path(__file__).resolve().parent / "launcher.py"
PROFILE_AND_ROUTING = "without_restart or test_pod_label_runs_pod_on_virtual_node"
"""The two hot-update tests ("without restarting" checks, under the profile lock) and one routing test."""
RUN_TIMEOUT_SECONDS = 900.0
"""A guard against a hung run (the scenario then fails saying so), far above any scenario's length."""


def implementation_file(directory: Path, *, command: Sequence[str] | None = None, **limits: int) -> Path:
    """A copy of the reference implementation's file with another start command and/or other limits."""
    data = yaml.safe_load(REFERENCE.read_text())
    if command is not None:
        data["install"]["local"]["command"] = list(command)
    if limits:
        data["limits"] = {**data.get("limits", {}), **limits}
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "implementation.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def launcher_command(mode: str) -> list[str]:
    """The reference implementation under tests/faults/launcher.py (`reexec` or `supervise`)."""
    return ["{python}", str(LAUNCHER), mode, "--kubeconfig", "{kubeconfig}", "--listen", "127.0.0.1:{port}",
            "--workdir", "{workdir}"]  # fmt: skip


def start_implementation(handle: ClusterHandle, workdir: Path, file: Path = REFERENCE) -> LocalImplementation:
    return start_local_implementation(load_implementation(file), handle, workdir)


@dataclass
class SuiteRun:
    """One `pytest conformance` process against the scenario's cluster."""

    process: subprocess.Popen[bytes]
    reports: Path
    log: Path

    def wait(self, timeout: float = RUN_TIMEOUT_SECONDS) -> int:
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired as error:
            os.killpg(self.process.pid, signal.SIGKILL)
            raise AssertionError(
                f"the suite run hung for {timeout:g} s; its output: {self.output()}"
            ) from error

    def signal(self, signum: int) -> None:
        os.kill(self.process.pid, signum)

    def output(self, tail: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-tail:]

    @property
    def run_dir(self) -> Path | None:
        runs = sorted((self.reports / "runs").glob("*")) if (self.reports / "runs").is_dir() else []
        return runs[-1] if runs else None

    @property
    def run_id(self) -> str:
        assert self.run_dir is not None, f"the run made no run directory; output: {self.output()}"
        return self.run_dir.name

    def report(self) -> dict[str, Any]:
        assert self.run_dir is not None, f"the run made no run directory; output: {self.output()}"
        path = self.run_dir / "conformance-report.yaml"
        assert path.is_file(), f"no report was written; output: {self.output()}"
        report: dict[str, Any] = yaml.safe_load(path.read_text())
        return report

    def markdown(self) -> str:
        assert self.run_dir is not None
        return (self.run_dir / "conformance-report.md").read_text()

    def outcomes(self) -> dict[str, tuple[str, str]]:
        """node id → (outcome, reason) of every test the report lists."""
        return {t["nodeid"]: (t["outcome"], t.get("reason") or "") for t in self.report()["tests"]}


def start_suite(
    handle: ClusterHandle,
    reports: Path,
    *,
    select: str,
    implementation: LocalImplementation | None,
    file: Path = REFERENCE,
    extra: Sequence[str] = (),
) -> SuiteRun:
    """Start the suite on `handle` as a vendor does on an existing cluster (`-n 0`: one process, which
    the scenario signals). `implementation`: the host process next to a local cluster, or None for one
    installed in the cluster (kind), which the run then knows by its declared pods."""
    reports.mkdir(parents=True, exist_ok=True)
    log = reports / "pytest-output.log"
    pid = ["--implementation-pid", str(implementation.process.pid)] if implementation is not None else []
    argv = [
        sys.executable, "-m", "pytest", "conformance", "-p", "no:cacheprovider", "-n", "0", "-q",
        "--cluster", "existing", "--kubeconfig", str(handle.kubeconfig), "--implementation", str(file),
        *pid, "--reports-dir", str(reports), "-k", select, *extra,
    ]  # fmt: skip
    env = dict(os.environ)
    if "testImage" in handle.facts:  # kind nodes pull nothing: test pods use the image the provider loaded
        env.setdefault(TEST_IMAGE_VARIABLE, handle.facts["testImage"])
    with open(log, "wb") as out:
        process = subprocess.Popen(
            argv, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    return SuiteRun(process, reports, log)


def start_sharded_suite(
    reports: Path, *, cluster_name: str, select: str, clusters: int = 2, extra: Sequence[str] = ()
) -> SuiteRun:
    """Start the suite on `clusters` local shards it starts itself, one xdist worker each, under
    `cluster_name` (shard K's cluster is `<cluster_name>-shard-K`: `shard_kubeconfig` finds it)."""
    reports.mkdir(parents=True, exist_ok=True)
    log = reports / "pytest-output.log"
    argv = [
        sys.executable, "-m", "pytest", "conformance", "-p", "no:cacheprovider", "-q",
        "-n", str(clusters), "--cluster", "local", "--clusters", str(clusters),
        "--cluster-name", cluster_name, "--reports-dir", str(reports), "-k", select, *extra,
    ]  # fmt: skip
    with open(log, "wb") as out:
        process = subprocess.Popen(
            argv, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    return SuiteRun(process, reports, log)


def shard_kubeconfig(run: SuiteRun, cluster_name: str, shard: str) -> Path:
    """Wait until the sharded run's `shard` has its control plane; its kubeconfig (kwokctl's, in the
    local cluster's directory)."""
    from vnode_harness.providers.local.cluster import clusters_root

    name = f"{cluster_name}-{shard}"
    kubeconfig = clusters_root() / name / "kwok" / "clusters" / name / "kubeconfig.yaml"

    def answering() -> tuple[Path | None, str]:
        if run.process.poll() is not None:
            raise AssertionError(f"the run ended before {shard} started: {run.output()}")
        if not kubeconfig.is_file():
            return None, f"no {kubeconfig} yet"
        return (kubeconfig, "") if api_server_ready(kubeconfig) else (None, "its kube-apiserver is not ready")

    return wait_for(f"{shard}'s control plane", answering, timeout=RUN_TIMEOUT_SECONDS)


def api_server_ready(kubeconfig: Path) -> bool:
    """Whether the kube-apiserver of `kubeconfig` answers /readyz with 200 (kwokctl writes the
    kubeconfig before the server listens, so the file alone does not say it is up)."""
    try:
        with api_client(kubeconfig, "fault-scenario") as api:
            response = api.call_api("GET", f"{api.configuration.host}/readyz", _request_timeout=2)
            response.read()
    except (OSError, urllib3.exceptions.HTTPError, client.ApiException, yaml.YAMLError):
        return False
    return bool(response.status == 200)


def processes_mentioning(text: str) -> list[str]:
    """Every host process whose command line contains `text` (a cluster's name: its components'
    flags name its directory), as `pid command`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in argv:
            found.append(f"{entry.name} {argv[:200]}")
    return found


# --- moments of a run, read from the cluster --------------------------------------------------------


def lease_holder(coordination: client.CoordinationV1Api, implementation: Implementation) -> str | None:
    try:
        lease = coordination.read_namespaced_lease(LOCK_NAME, implementation.observation.profile_namespace)
    except client.ApiException as error:
        if error.status == 404:
            return None
        raise
    return str(lease.spec.holder_identity)


def when_a_test_holds_the_lock(
    api: client.ApiClient,
    implementation: Implementation,
    run: SuiteRun,
    matching: str = "::",
    other_than: Collection[str] = (),
) -> str:
    """Wait until a test (not the run's readiness check) whose node id contains `matching` holds the
    eci-profile lock, under a holder identity not in `other_than`; that identity."""
    coordination = client.CoordinationV1Api(api)

    def held() -> tuple[str | None, str]:
        if run.process.poll() is not None:
            raise AssertionError(f"the run ended before a test took the lock: {run.output()}")
        holder = lease_holder(coordination, implementation)
        wanted = holder and "::" in holder and matching in holder and holder not in other_than
        return (holder if wanted else None), f"holder {holder}"

    return wait_for(f"a test ({matching}) to hold the profile lock", held, timeout=RUN_TIMEOUT_SECONDS)


def when_tests_started(api: client.ApiClient, run: SuiteRun) -> str:
    """Return as soon as the run's first test namespace is created (its tests have begun), its name.

    Watched, not polled: the scenario's fault lands within milliseconds, before the test's first pod."""
    core = client.CoreV1Api(api)
    while run.process.poll() is None:
        stream = watch.Watch().stream(core.list_namespace, label_selector=RUN_LABEL, timeout_seconds=5)
        for event in stream:
            namespace = event["object"]
            labels = namespace.metadata.labels or {}
            if namespace.metadata.name.startswith("vnc-") and run.run_dir and labels[RUN_LABEL] == run.run_id:
                return str(namespace.metadata.name)
    raise AssertionError(f"the run ended before its tests began: {run.output()}")


def when_a_test_pod_exists(api: client.ApiClient, run: SuiteRun) -> str:
    """Wait until a pod exists in one of the run's test namespaces (a test's body has begun: its
    "before" readings are taken and the profile changed); its namespace/name."""
    core = client.CoreV1Api(api)

    def created() -> tuple[str | None, str]:
        if run.process.poll() is not None:
            raise AssertionError(f"the run ended before a test created a pod: {run.output()}")
        namespaces = core.list_namespace(label_selector=f"{RUN_LABEL}={run.run_id}").items
        for namespace in namespaces:
            name = namespace.metadata.name
            pods = core.list_namespaced_pod(name).items if name.startswith("vnc-") else []
            if pods:
                return f"{name}/{pods[0].metadata.name}", "a pod"
        return None, f"no pod in {len(namespaces)} namespaces of the run"

    return wait_for("a test of the run to create a pod", created, timeout=RUN_TIMEOUT_SECONDS, interval=0.1)


def admits_again(api: client.ApiClient) -> tuple[bool | None, str]:
    """A probe: a dry-run ECI pod is admitted (the implementation's webhook answers)."""
    pod = {"metadata": {"generateName": "answers-", "labels": {ECI_LABEL: "true"}},
           "spec": {"containers": [{"name": "app", "image": "registry.invalid/probe:1"}]}}  # fmt: skip
    try:
        client.CoreV1Api(api).create_namespaced_pod("default", pod, dry_run="All")
    except client.ApiException as error:
        return None, f"{error.status} {error.reason}"
    return True, "admitted"


# --- what the run left ------------------------------------------------------------------------------


def profile_now(api: client.ApiClient, implementation: Implementation) -> ProfileSnapshot:
    return read_profile_snapshot(client.CoreV1Api(api), implementation)


def assert_nothing_left(
    api: client.ApiClient, implementation: Implementation, run: SuiteRun, profile_before: ProfileSnapshot
) -> None:
    """The eci-profile byte for byte as before the run, no lock Lease, none of the run's objects."""
    assert profile_now(api, implementation) == profile_before, "the eci-profile was not restored"
    holder = lease_holder(client.CoordinationV1Api(api), implementation)
    assert holder is None, f"the profile lock Lease is still there, held by {holder!r}"
    assert run.run_dir is not None
    leaks = leaks_after_settling(
        api, run.run_id, namespaces_created=created_namespaces(run.run_dir), timeout=120
    )
    assert not leaks, "left in the cluster: " + "; ".join(leak.describe() for leak in leaks)


def outcomes_named(outcomes: Mapping[str, tuple[str, str]], outcome: str) -> dict[str, str]:
    return {nodeid: reason for nodeid, (seen, reason) in outcomes.items() if seen == outcome}


def no_test(outcomes: Mapping[str, tuple[str, str]], outcome: str) -> Callable[[], str]:
    """A message for an assertion that no test ended with `outcome`."""
    return lambda: f"tests {outcome}: {outcomes_named(outcomes, outcome)}"

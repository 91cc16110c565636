"""Who the implementation is right now — to show that a change was applied "without restarting" it.

In-cluster implementations declare their pods (observation.implementationPods): identity is each pod's
uid and container restart counts. A host-process implementation on the local cluster is identified by
its pid, the kernel's start time of that pid, and the same pair for every process below it (a
supervisor that restarts its worker keeps its own pid). An implementation that declares neither cannot
be checked, and the test says so in its skip reason.

None of that sees an implementation that re-executes itself in place (exec keeps the pid and the start
time) or a restart the API does not show. What a user does see is its webhook going unanswered while it
comes back: `AdmissionWatch` sends a server-side dry-run ECI pod every half second between the two
identity snapshots, and every admission the implementation's webhook failed, refused or let time out
becomes part of the identity, so "before == after" cannot hold across a restart.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import urllib3
from kubernetes import client

from vnode_harness.formats.implementation import Implementation
from vnode_harness.formats.names import ECI_LABEL
from vnode_harness.plumbing.processes import RecordedProcess, process_start_time
from vnode_harness.run_context import RunContext
from vnode_harness.testapi.blame import blame_implementation, implementation_webhook_names

WATCH_INTERVAL_SECONDS = 0.5
WATCH_NAMESPACE = "default"
"""Dry-run probes create nothing, so any namespace that exists everywhere will do."""


@dataclass(frozen=True)
class ImplementationIdentity:
    kind: str
    members: tuple[tuple[str, str], ...]
    """(identity, restart marker) pairs: pod uid and restart counts, or pid and start time (the
    implementation's process first, then the processes below it)."""
    alive: bool = True
    unanswered_admissions: tuple[str, ...] = ()
    """Admissions the implementation's webhook failed, refused or let time out since the watch began."""


def descendants(pid: int) -> list[tuple[str, str]]:
    """(pid, start time) of every live process below `pid`, sorted: a supervisor's workers."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, queue = [], list(parents.get(pid, []))
    while queue:
        child = queue.pop()
        start = process_start_time(child)
        if start is not None:
            found.append((str(child), start))
        queue.extend(parents.get(child, []))
    return sorted(found)


def identity_of(
    api: client.ApiClient,
    implementation: Implementation,
    context: RunContext,
    watch: AdmissionWatch | None = None,
) -> ImplementationIdentity:
    unanswered = watch.unanswered() if watch is not None else ()
    pods = implementation.observation.implementation_pods
    process = context.implementation_process
    if process:
        pid = int(process["pid"])
        recorded = RecordedProcess(process["name"], pid, process["start_time"], log=None)  # type: ignore[arg-type]
        members = ((process["pid"], process["start_time"]), *descendants(pid))
        return ImplementationIdentity("host-process", members, recorded.alive(), unanswered)
    if pods is not None:
        listed = (
            client.CoreV1Api(api)
            .list_namespaced_pod(pods.namespace, label_selector=pods.label_selector)
            .items
        )
        members = tuple(
            sorted(
                (
                    str(pod.metadata.uid),
                    ",".join(str(s.restart_count) for s in (pod.status.container_statuses or [])),
                )
                for pod in listed
            )
        )
        return ImplementationIdentity("pods", members, bool(members), unanswered)
    return ImplementationIdentity("undeclared", (), False, unanswered)


@dataclass
class AdmissionWatch:
    """Sends a dry-run ECI pod every `interval` seconds and keeps what the implementation's webhook failed.

    Errors of the API server itself (unreachable, restarting) say nothing about the implementation and
    are not kept; only an error that names one of the implementation's webhook entries, or a request
    that timed out in admission, is."""

    core: client.CoreV1Api
    webhook_names: set[str]
    interval: float = WATCH_INTERVAL_SECONDS
    namespace: str = WATCH_NAMESPACE
    samples: int = field(default=0, init=False)
    _failures: list[str] = field(default_factory=list, init=False)
    _stop: threading.Event = field(default_factory=threading.Event, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def unanswered(self) -> tuple[str, ...]:
        with self._lock:
            return tuple(self._failures)

    def sample(self) -> None:
        """One dry-run admission; keep it when the implementation's webhook did not answer it."""
        pod = {
            "metadata": {"generateName": "identity-watch-", "labels": {ECI_LABEL: "true"}},
            "spec": {"containers": [{"name": "app", "image": "registry.invalid/probe:1"}]},
        }
        failure = None
        try:
            self.core.create_namespaced_pod(self.namespace, pod, dry_run="All", _request_timeout=15)
        except client.ApiException as error:
            failure = blame_implementation(error, self.webhook_names)
            if failure is None and error.status == 504:
                failure = f"admission timed out: {error.status} {error.reason}"
        except (urllib3.exceptions.HTTPError, OSError):
            pass  # the API server is away: no evidence about the implementation either way
        with self._lock:
            self.samples += 1
            if failure is not None:
                self._failures.append(f"{time.strftime('%H:%M:%S')} {failure}")

    def run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    @contextmanager
    def running(self) -> Iterator[AdmissionWatch]:
        thread = threading.Thread(target=self.run, name="admission-watch", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join(timeout=30)


def admission_watch(
    api: client.ApiClient, implementation: Implementation, context: RunContext
) -> AdmissionWatch:
    """A watch on the implementation's declared webhook entries (read from the cluster now)."""
    names = implementation_webhook_names(context.cluster.kubeconfig, implementation)
    return AdmissionWatch(client.CoreV1Api(api), names)


def _zombie(pid: int) -> bool:
    """An exited process its parent has not reaped yet: dead, though /proc still lists it."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


class ImplementationDown(AssertionError):
    """The implementation's own process had exited when the test failed: the verdict names that cause
    (an AssertionError: the implementation under test was not there to conform)."""


def implementation_down(context: RunContext) -> str | None:
    """Why the host-process implementation of the run is not running any more, or None (also None for
    implementations the suite knows no process of)."""
    process = getattr(context, "implementation_process", None)
    if not process:
        return None
    pid = int(process["pid"])
    if process_start_time(pid) == process["start_time"] and not _zombie(pid):
        return None
    log = process.get("log") or ""
    return (
        f"the implementation's process {process['name']} (pid {pid}) is no longer running: it exited or was "
        f"killed during the run" + (f" (its log: {log})" if log else "")
    )

"""Who the implementation is right now — to show that a change was applied "without restarting" it.

In-cluster implementations declare their pods (observation.implementationPods): identity is each pod's
uid and container restart counts. A host-process implementation on the local cluster is identified by
its pid and the kernel's start time of that pid. An implementation that declares neither cannot be
checked, and the test says so in its skip reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from kubernetes import client

from vnode_harness.implementation import Implementation
from vnode_harness.processes import RecordedProcess
from vnode_harness.run import RunContext


@dataclass(frozen=True)
class ImplementationIdentity:
    kind: str
    members: tuple[tuple[str, str], ...]
    """(identity, restart marker) pairs: pod uid and restart counts, or pid and start time."""
    alive: bool = True


def identity_of(
    api: client.ApiClient, implementation: Implementation, context: RunContext
) -> ImplementationIdentity:
    pods = implementation.observation.implementation_pods
    process = context.implementation_process
    if process:
        recorded = RecordedProcess(process["name"], int(process["pid"]), process["start_time"], log=None)  # type: ignore[arg-type]
        return ImplementationIdentity(
            "host-process", ((process["pid"], process["start_time"]),), recorded.alive()
        )
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
        return ImplementationIdentity("pods", members, bool(members))
    return ImplementationIdentity("undeclared", (), False)

"""The implementation's own pods as the API shows them, at a test's start and again when it fails.

An in-cluster implementation has no process the harness can watch: the counterpart of "its process died"
(identity.implementation_down) is "one of its declared pods (observation.implementationPods) was
deleted, replaced or had a container restart while the test ran". A failing test names that as its
cause, on kind and on an existing cluster alike, since it is read through the Kubernetes API. On kind,
where the harness installed the implementation and deletes the cluster afterwards, the same declared
pods are what it stops (their workload scaled to zero) for the "while it is down" observation.
"""

from __future__ import annotations

from dataclasses import dataclass

from kubernetes import client

from vnode_harness.formats.implementation import Implementation
from vnode_harness.plumbing.waits import wait_for


@dataclass(frozen=True)
class ImplementationPod:
    namespace: str
    name: str
    uid: str
    restarts: int
    """Container restarts, summed over the pod's containers."""
    terminating: bool = False
    """Deleted but still listed (its deletionTimestamp set): its containers may already be stopped, and a
    test can fail on that before the pod object is gone."""

    def describe(self) -> str:
        return f"{self.namespace}/{self.name}" + (" (terminating)" if self.terminating else "")


def implementation_pods(
    core: client.CoreV1Api, implementation: Implementation
) -> tuple[ImplementationPod, ...]:
    """The pods the implementation declares as its own, now (none declared: empty)."""
    declared = implementation.observation.implementation_pods
    if declared is None:
        return ()
    listed = core.list_namespaced_pod(declared.namespace, label_selector=declared.label_selector).items
    return tuple(
        sorted(
            (
                ImplementationPod(
                    namespace=declared.namespace,
                    name=str(pod.metadata.name),
                    uid=str(pod.metadata.uid),
                    restarts=sum(int(s.restart_count or 0) for s in (pod.status.container_statuses or [])),
                    terminating=pod.metadata.deletion_timestamp is not None,
                )
                for pod in listed
            ),
            key=lambda pod: pod.name,
        )
    )


def replaced_during(
    before: tuple[ImplementationPod, ...], after: tuple[ImplementationPod, ...]
) -> str | None:
    """What happened to the implementation's pods between two readings, or None when every pod seen
    before is still there, not being deleted, with no new container restart. Pods added beside them (a
    scale-up) are not a replacement and are not named."""
    now = {pod.uid: pod for pod in after}
    changes = []
    for pod in before:
        later = now.get(pod.uid)
        if later is None or (later.terminating and not pod.terminating):
            changes.append(f"pod {pod.describe()} was deleted or replaced")
        elif later.restarts > pod.restarts:
            changes.append(
                f"pod {pod.describe()} restarted a container ({pod.restarts} → {later.restarts} restarts)"
            )
    if not changes:
        return None
    pods_now = ", ".join(pod.describe() for pod in after) or "none"
    return f"the implementation's {'; '.join(changes)} during this test (its pods now: {pods_now})"


SCALABLE_KINDS = ("Deployment", "StatefulSet", "ReplicaSet")


def scalable_owner(
    api: client.ApiClient, namespace: str, owners: list[client.V1OwnerReference]
) -> tuple[str, str]:
    """(kind, name) of the workload to scale to zero for a pod with these owners: a ReplicaSet owned by
    a Deployment is the Deployment (scaling the ReplicaSet alone would be undone by it)."""
    owner = next((o for o in owners or [] if o.controller), None)
    if owner is None or owner.kind not in SCALABLE_KINDS:
        kind = owner.kind if owner is not None else "no controller"
        raise ValueError(f"its pods are owned by {kind}, which cannot be scaled to zero")
    if owner.kind == "ReplicaSet":
        replica_set = client.AppsV1Api(api).read_namespaced_replica_set(owner.name, namespace)
        above = next((o for o in replica_set.metadata.owner_references or [] if o.controller), None)
        if above is not None and above.kind == "Deployment":
            return "Deployment", str(above.name)
    return str(owner.kind), str(owner.name)


def stop_declared_pods(api: client.ApiClient, implementation: Implementation, timeout: float) -> str:
    """Scale the workloads of the implementation's declared pods to zero and wait until none is left;
    what was stopped. Only for a cluster the harness created and deletes afterwards (kind): nothing
    scales them back. ValueError when there is nothing the harness can stop this way."""
    declared = implementation.observation.implementation_pods
    if declared is None:
        raise ValueError("the implementation declares no implementationPods")
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    listed = core.list_namespaced_pod(declared.namespace, label_selector=declared.label_selector).items
    if not listed:
        raise ValueError(f"no pod matches its implementationPods ({declared.label_selector})")
    workloads = sorted(
        {scalable_owner(api, declared.namespace, pod.metadata.owner_references) for pod in listed}
    )
    scale = {
        "Deployment": apps.patch_namespaced_deployment_scale,
        "StatefulSet": apps.patch_namespaced_stateful_set_scale,
        "ReplicaSet": apps.patch_namespaced_replica_set_scale,
    }
    for kind, name in workloads:
        scale[kind](name, declared.namespace, {"spec": {"replicas": 0}})

    def gone() -> tuple[bool | None, str]:
        left = implementation_pods(core, implementation)
        return (not left) or None, f"pods left: {', '.join(pod.describe() for pod in left)}"

    wait_for(f"the implementation's pods ({declared.label_selector}) to be gone", gone, timeout=timeout)
    return ", ".join(f"{kind} {declared.namespace}/{name}" for kind, name in workloads) + " scaled to 0"

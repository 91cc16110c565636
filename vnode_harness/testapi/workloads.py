"""Namespaces and pods for conformance tests, and the waits on them.

Every namespace a test creates is labelled with the run id, so the run can check at its end that none
is left. Pods use an image reference that no node ever pulls: virtual-kubelet's mock provider and
kwok's fake nodes run nothing, and a real implementation under test is only asked to schedule and
start the pod, which a registry-less cluster must also be able to do… so the image is configurable.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from kubernetes import client

from vnode_harness.formats import versions
from vnode_harness.formats.implementation import Implementation
from vnode_harness.formats.names import dns_label
from vnode_harness.plumbing.interruptions import interrupts_deferred
from vnode_harness.plumbing.waits import WaitTimeout, wait_for, when_answered
from vnode_harness.testapi.observe import kubectl_ready, pod_summary

RUN_LABEL = "conformance.vnode.dev/run"
DEFAULT_TEST_IMAGE = versions.TEST_POD_IMAGE
TEST_IMAGE_VARIABLE = "VNODE_TEST_IMAGE"


def pod_image() -> str:
    """The container image of test pods (the seed documents use nginx). A vendor whose virtual nodes pull
    images can point VNODE_TEST_IMAGE at a mirror reachable from its cluster; a provider that loads its
    own (kind's locally built set: Debian's nginx) sets it for the run when the user did not."""
    return os.environ.get(TEST_IMAGE_VARIABLE, DEFAULT_TEST_IMAGE)


@dataclass
class Namespace:
    name: str
    labels: dict[str, str] = field(default_factory=dict)


def create_namespace(
    core: client.CoreV1Api,
    prefix: str,
    run_id: str,
    labels: Mapping[str, str] | None = None,
    *,
    on_created: Callable[[str], None],
) -> Namespace:
    """A fresh run-labelled namespace, once pods may be created in it. `on_created` gets its name as
    soon as it exists, before the wait, so that a caller interrupted during the wait still deletes it
    (a SIGINT there left namespaces behind twice, found by `bench/run.py faults` and by CI): required,
    so that no caller can learn the name only when the wait returns."""
    body = {
        "metadata": {
            "generateName": f"{dns_label(prefix, 40)}-",
            "labels": {RUN_LABEL: run_id, **(labels or {})},
        }
    }
    with interrupts_deferred():  # created from a generated name: interrupted before `on_created`, lost
        created = core.create_namespace(body)
        name = created.metadata.name
        on_created(name)

    def default_service_account() -> tuple[bool | None, str]:
        try:
            core.read_namespaced_service_account("default", name)
        except client.ApiException as error:
            if error.status == 404:
                return None, "no default ServiceAccount yet"
            raise
        return True, "present"

    # The ServiceAccount admission plugin rejects pods until the controller-manager created it.
    wait_for(f"the default ServiceAccount of {name}", default_service_account, timeout=60)
    return Namespace(name=name, labels=dict(created.metadata.labels or {}))


def delete_namespaces(core: client.CoreV1Api, names: list[str]) -> None:
    """Delete a test's namespaces (gone already is fine), waiting out an API server restart; a first
    interrupt waits until every deletion was asked for, so none is left behind (plumbing.interruptions)."""

    def delete(name: str) -> None:
        try:
            core.delete_namespace(name, grace_period_seconds=0)
        except client.ApiException as error:
            if error.status != 404:
                raise

    with interrupts_deferred():
        for name in names:
            when_answered(partial(delete, name))


def pod_manifest(
    name: str,
    *,
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
    volumes: list[dict[str, Any]] | None = None,
    node_selector: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "nginx", "image": pod_image()}
    spec: dict[str, Any] = {"containers": [container], "terminationGracePeriodSeconds": 0}
    if volumes:
        spec["volumes"] = volumes
        container["volumeMounts"] = [{"name": v["name"], "mountPath": f"/data/{v['name']}"} for v in volumes]
    if node_selector:
        spec["nodeSelector"] = dict(node_selector)
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": dict(labels or {}), "annotations": dict(annotations or {})},
        "spec": spec,
    }


def create_pod(core: client.CoreV1Api, namespace: str, manifest: Mapping[str, Any]) -> client.V1Pod:
    return core.create_namespaced_pod(namespace, dict(manifest))


def kubectl_pod(namespace: str, name: str) -> str:
    return f"kubectl -n {namespace} get pod {name} -o wide --show-labels"


def wait_running(
    core: client.CoreV1Api, namespace: str, name: str, implementation: Implementation
) -> client.V1Pod:
    """Wait until the pod is Running with every container ready (READY n/n, counted like kubectl)."""

    def probe() -> tuple[client.V1Pod | None, str]:
        pod = core.read_namespaced_pod(name, namespace)
        ready, total = kubectl_ready(pod)
        running = pod.status.phase == "Running" and ready == total
        return (pod if running else None), str(pod_summary(pod))

    try:
        return wait_for(
            f"pod {namespace}/{name} to be Running and ready",
            probe,
            timeout=implementation.limits.pod_running_seconds,
            hint=kubectl_pod(namespace, name),
        )
    except WaitTimeout as timeout:
        raise WaitTimeout(f"{timeout}\n{why_not_running(core, namespace, name)}") from None


def why_not_running(core: client.CoreV1Api, namespace: str, name: str) -> str:
    """The pod's events and its node's Ready condition: what `kubectl describe` would show a person
    asking why a pod is stuck, so a CI log alone tells a node that stopped working from a pod the
    implementation broke. Never raises: it only adds to a failure."""
    lines = []
    try:
        events = core.list_namespaced_event(namespace, field_selector=f"involvedObject.name={name}").items
        for event in events:
            source = getattr(event.source, "component", None) or event.reporting_component or "?"
            lines.append(
                f"  event {event.type} {event.reason} (x{event.count or 1}) from {source}: {event.message}"
            )
        node_name = core.read_namespaced_pod(name, namespace).spec.node_name
        if node_name:
            node = core.read_node(node_name)
            ready = [c for c in node.status.conditions or [] if c.type == "Ready"]
            state = (
                f"{ready[0].status} ({ready[0].reason}, heartbeat {ready[0].last_heartbeat_time})"
                if ready
                else "unknown"
            )
            lines.append(f"  node {node_name}: Ready={state}")
    except client.ApiException as error:
        lines.append(f"  <could not read events or node: {error.status} {error.reason}>")
    return "\n".join(lines) or "  <no events for the pod>"


CREATED_NAMESPACES_DIR = "created-namespaces"
"""Under the run directory: one empty file per namespace the run created (workers share the directory)."""


def record_created_namespace(run_dir: Path, name: str) -> None:
    """Remember a namespace the run made, so volumes of its claims are still known after it is gone."""
    directory = run_dir / CREATED_NAMESPACES_DIR
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).touch()


def created_namespaces(run_dir: Path) -> frozenset[str]:
    directory = run_dir / CREATED_NAMESPACES_DIR
    return frozenset(p.name for p in directory.iterdir()) if directory.is_dir() else frozenset()

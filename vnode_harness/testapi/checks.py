"""Assertions the conformance tests share, each failing with expected / seen / how to look.

They are assertions (AssertionError → the test is reported "failed": the implementation does not
conform). A "stays so" claim is never judged by one read right after the change: `assert_pod_stays`
watches it over the implementation's published hold window (`limits.holdSeconds`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import allure
from kubernetes import client

from vnode_harness.formats.implementation import Implementation
from vnode_harness.plumbing.waits import consistently
from vnode_harness.testapi.observe import is_virtual_node, pod_summary
from vnode_harness.testapi.workloads import create_pod, kubectl_pod, pod_manifest, wait_running


def _where(core: client.CoreV1Api, pod: client.V1Pod) -> str:
    node = core.read_node(pod.spec.node_name)
    return f"node {node.metadata.name} with labels {node.metadata.labels}"


def assert_on_virtual_node(core: client.CoreV1Api, pod: client.V1Pod, implementation: Implementation) -> None:
    assert is_virtual_node(core, pod.spec.node_name, implementation.observation), (
        f"expected pod {pod.metadata.namespace}/{pod.metadata.name} on a virtual node "
        f"({implementation.observation.virtual_node_selector}); it runs on {_where(core, pod)}\n"
        f"  pod: {pod_summary(pod)}\n  see: {kubectl_pod(pod.metadata.namespace, pod.metadata.name)}"
    )


def assert_on_regular_node(core: client.CoreV1Api, pod: client.V1Pod, implementation: Implementation) -> None:
    assert not is_virtual_node(core, pod.spec.node_name, implementation.observation), (
        f"expected pod {pod.metadata.namespace}/{pod.metadata.name} on a regular node; it runs on the "
        f"virtual node {pod.spec.node_name}\n  pod: {pod_summary(pod)}\n"
        f"  see: {kubectl_pod(pod.metadata.namespace, pod.metadata.name)}"
    )


@allure.step("create pod {namespace}/{name} and wait until it runs")
def run_pod(
    core: client.CoreV1Api,
    namespace: str,
    name: str,
    implementation: Implementation,
    *,
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
    **manifest_options: Any,
) -> client.V1Pod:
    """Create a pod and wait until it is Running and ready; return it as it is then."""
    manifest = pod_manifest(name, labels=labels, annotations=annotations, **manifest_options)
    create_pod(core, namespace, manifest)
    return wait_running(core, namespace, name, implementation)


def assert_metadata(
    pod: client.V1Pod,
    *,
    annotations: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
    absent_annotations: tuple[str, ...] = (),
    absent_labels: tuple[str, ...] = (),
) -> None:
    seen_annotations = pod.metadata.annotations or {}
    seen_labels = pod.metadata.labels or {}
    where = kubectl_pod(pod.metadata.namespace, pod.metadata.name) + " -o yaml"
    for key, value in (annotations or {}).items():
        assert seen_annotations.get(key) == value, (
            f"expected annotation {key}={value!r} on pod {pod.metadata.name}; "
            f"seen {seen_annotations.get(key)!r}\n  annotations: {seen_annotations}\n  see: {where}"
        )
    for key, value in (labels or {}).items():
        assert seen_labels.get(key) == value, (
            f"expected label {key}={value!r} on pod {pod.metadata.name}; seen {seen_labels.get(key)!r}\n"
            f"  labels: {seen_labels}\n  see: {where}"
        )
    for key in absent_annotations:
        assert key not in seen_annotations, (
            f"expected no annotation {key} on pod {pod.metadata.name}; "
            f"seen {seen_annotations[key]!r}\n  see: {where}"
        )
    for key in absent_labels:
        assert key not in seen_labels, (
            f"expected no label {key} on pod {pod.metadata.name}; seen {seen_labels[key]!r}\n  see: {where}"
        )


def pod_stays_probe(
    core: client.CoreV1Api,
    pod: client.V1Pod,
    *,
    annotations: Mapping[str, str] | None = None,
    absent_annotations: tuple[str, ...] = (),
) -> Callable[[], tuple[client.V1Pod | None, str]]:
    """A probe that holds while `pod` is the same pod (uid) on the same node with the given annotation
    values and without the absent ones; what it quotes otherwise says which of these changed."""
    namespace, name = pod.metadata.namespace, pod.metadata.name
    uid, node = pod.metadata.uid, pod.spec.node_name

    def probe() -> tuple[client.V1Pod | None, str]:
        try:
            now = core.read_namespaced_pod(name, namespace)
        except client.ApiException as error:
            if error.status == 404:
                return None, f"pod {namespace}/{name} was deleted"
            raise
        seen = now.metadata.annotations or {}
        changes = []
        if now.metadata.uid != uid:
            changes.append(f"replaced (uid {uid} → {now.metadata.uid})")
        if now.spec.node_name != node:
            changes.append(f"moved from node {node} to {now.spec.node_name}")
        changes += [
            f"annotation {key}={seen.get(key)!r} (was {value!r})"
            for key, value in (annotations or {}).items()
            if seen.get(key) != value
        ]
        changes += [f"annotation {key}={seen[key]!r} appeared" for key in absent_annotations if key in seen]
        if changes:
            return None, f"pod {namespace}/{name}: " + ", ".join(changes)
        return now, f"pod {namespace}/{name} unchanged on {node}"

    return probe


def assert_pod_stays(
    core: client.CoreV1Api,
    pod: client.V1Pod,
    implementation: Implementation,
    why: str,
    *,
    annotations: Mapping[str, str] | None = None,
    absent_annotations: tuple[str, ...] = (),
) -> None:
    """Watch, for the hold window, that a pod created before a change is left as it was: same pod, same
    node, same annotation values. `why` names the change it must outlive (it is quoted on failure).

    Only an implementation that mutates pods at creation leaves them alone afterwards; one that patches,
    evicts or re-creates existing pods a few seconds after the change would pass a single read.
    """
    consistently(
        f"pod {pod.metadata.namespace}/{pod.metadata.name}, created before {why}, to stay as it was",
        pod_stays_probe(core, pod, annotations=annotations, absent_annotations=absent_annotations),
        hold=implementation.limits.hold_seconds,
        hint=kubectl_pod(pod.metadata.namespace, pod.metadata.name) + " -o yaml",
    )

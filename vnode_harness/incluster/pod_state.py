"""What the suite's pod is doing, read from its status: still starting, running, or lost — and why.

The runner asks this while it waits, so an image that cannot be pulled, an eviction, an OOM kill or
the Job's deadline is named with the kubelet's own words instead of waiting for a time-out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from vnode_harness.incluster.manifests import CONTAINER

PULL_FAILURES = ("ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull")
START_FAILURES = ("CreateContainerConfigError", "CreateContainerError", "RunContainerError")


@dataclass(frozen=True)
class PodState:
    phase: Literal["pending", "running", "ended", "lost"]
    detail: str = ""
    exit_code: int | None = None


def _container(pod: Any) -> Any | None:
    statuses = pod.status.container_statuses or []
    return next((status for status in statuses if status.name == CONTAINER), None)


def _terminated(pod: Any, terminated: Any) -> PodState:
    node, code = pod.spec.node_name, terminated.exit_code
    if terminated.reason == "OOMKilled":
        return PodState("lost", f"OOM-killed on node {node}: the suite's container exceeded its memory "
                        "limit (raise it with --memory-limit)", code)  # fmt: skip
    if terminated.reason not in (None, "Completed", "Error"):
        return PodState("lost", f"its container ended: {terminated.reason} {terminated.message or ''}", code)
    return PodState("ended", f"exit code {code}", code)


def _waiting(pod: Any, container: Any) -> PodState | None:
    waiting = container.state.waiting if container.state else None
    if waiting is None:
        return None
    if waiting.reason in PULL_FAILURES:
        return PodState("lost", f"node {pod.spec.node_name} cannot pull {container.image}: "
                        f"{waiting.reason}: {waiting.message}")  # fmt: skip
    if waiting.reason in START_FAILURES:
        return PodState("lost", f"its container cannot start: {waiting.reason}: {waiting.message}")
    return None


def pod_state(pod: Any) -> PodState:
    """`lost`: the pod will never run the suite to its end (the detail says why, in the kubelet's words);
    `ended`: the container exited by itself (its exit code); else pending or running."""
    status = pod.status
    if status.reason == "Evicted":
        return PodState("lost", f"evicted from node {pod.spec.node_name}: {status.message}")
    container = _container(pod)
    if container is not None and container.state and container.state.terminated:
        return _terminated(pod, container.state.terminated)
    stuck = _waiting(pod, container) if container is not None else None
    if stuck is not None:
        return stuck
    if status.phase == "Failed":
        return PodState("lost", f"the pod failed: {status.reason or ''} {status.message or ''}".strip())
    if status.phase == "Running":
        return PodState("running")
    unscheduled = next(
        (c for c in status.conditions or [] if c.type == "PodScheduled" and c.status == "False"), None
    )
    return PodState("pending", f"unschedulable: {unscheduled.message}" if unscheduled else status.phase or "")

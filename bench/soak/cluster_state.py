"""What a suite run must leave as it found it: the eci-profile, byte for byte, and the cluster's objects.

The profile is compared as the whole object a user can see — every data and binaryData value, the
labels, the annotations, `immutable` — not only `data`. Objects are compared two ways: by the run's
label (`conformance.vnode.dev/run=<run id>`, what the suite puts on what it creates) and, because an
object the suite forgot to label would slip past that, by uid: any namespace, pod, PV, PVC or Lease
that exists after the run and did not before is left behind (the cluster is the soak's own, so nothing
else creates them).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from kubernetes import client

from vnode_harness.lifecycle.leaks import find_leaks
from vnode_harness.plumbing.waits import WaitTimeout, wait_for

PROFILE = ("kube-system", "eci-profile")


def profile_snapshot(core: client.CoreV1Api) -> dict[str, Any]:
    """The user-visible content of the eci-profile (resourceVersion and managedFields left out: a write
    of the same bytes moves them, and that is what restoring is)."""
    namespace, name = PROFILE[0], PROFILE[1]
    config_map = core.read_namespaced_config_map(name, namespace)
    return {
        "data": dict(config_map.data or {}),
        "binaryData": dict(config_map.binary_data or {}),
        "labels": dict(config_map.metadata.labels or {}),
        "annotations": dict(config_map.metadata.annotations or {}),
        "immutable": config_map.immutable,
    }


def profile_differences(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Each field and key whose bytes differ, as `data/selectors` or `labels/foo`."""
    differences: list[str] = []
    for field in before.keys() | after.keys():
        old, new = before.get(field), after.get(field)
        if isinstance(old, dict) and isinstance(new, dict):
            differences += [
                f"{field}/{key}" for key in sorted(old.keys() | new.keys()) if old.get(key) != new.get(key)
            ]
        elif old != new:
            differences.append(field)
    return sorted(differences)


ObjectKey = tuple[str, str, str]
"""(kind, namespace/name, uid)."""


def _keys(kind: str, items: Iterable[Any]) -> set[ObjectKey]:
    keys = set()
    for item in items:
        meta = item.metadata
        where = f"{meta.namespace}/{meta.name}" if meta.namespace else meta.name
        keys.add((kind, where, meta.uid))
    return keys


def _listings(api: client.ApiClient, selector: str | None) -> dict[str, Callable[[], Iterable[Any]]]:
    core, coordination = client.CoreV1Api(api), client.CoordinationV1Api(api)
    options = {"label_selector": selector} if selector else {}
    return {
        "Namespace": lambda: core.list_namespace(**options).items,
        "Pod": lambda: core.list_pod_for_all_namespaces(**options).items,
        "PersistentVolume": lambda: core.list_persistent_volume(**options).items,
        "PersistentVolumeClaim": lambda: (
            core.list_persistent_volume_claim_for_all_namespaces(**options).items
        ),
        "Lease": lambda: coordination.list_lease_for_all_namespaces(**options).items,
    }


def objects(api: client.ApiClient, selector: str | None = None) -> set[ObjectKey]:
    """Every namespace, pod, PV, PVC and Lease of the cluster (or those matching `selector`)."""
    found: set[ObjectKey] = set()
    for kind, listing in _listings(api, selector).items():
        found |= _keys(kind, listing())
    return found


def labelled_leaks(api: client.ApiClient, run_id: str) -> list[str]:
    """What still carries the run's label, as the harness's own leak check names it."""
    return sorted(leak.describe() for leak in find_leaks(api, run_id))


@dataclass(frozen=True)
class Leftovers:
    at_exit: int
    """Objects of the run that still existed when pytest exited (a namespace still terminating counts)."""
    labelled: list[str]
    """Still labelled with the run id after `settle_seconds`."""
    new: list[str]
    """Objects that did not exist before the run and still exist after `settle_seconds`."""
    settle_seconds: float


def leftovers(
    api: client.ApiClient, run_id: str | None, before: set[ObjectKey], settle_timeout: float
) -> Leftovers:
    """Objects the run left; deletion is asynchronous (namespace finalizers), so wait up to `settle_timeout`
    for what is already going away, then name what remains."""
    started = time.monotonic()

    def look() -> tuple[list[str], list[str]]:
        new = sorted(f"{kind} {where}" for kind, where, _ in objects(api) - before)
        return (labelled_leaks(api, run_id) if run_id else []), new

    labelled, new = look()
    at_exit = len(set(labelled) | set(new))
    last = [(labelled, new)]

    def gone() -> tuple[bool | None, str]:
        last[0] = look()
        left = len(set(last[0][0]) | set(last[0][1]))
        return (True if not left else None), f"{left} object(s) still there"

    with contextlib.suppress(WaitTimeout):  # what is still there then is the figure
        wait_for("the run's objects to be deleted", gone, timeout=settle_timeout, interval=1.0)
    labelled, new = last[0]
    return Leftovers(
        at_exit=at_exit, labelled=labelled, new=new, settle_seconds=round(time.monotonic() - started, 1)
    )

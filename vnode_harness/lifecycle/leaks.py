"""What a run left behind in the cluster it certified: a finding, listed in the output and the report.

Vendors run the suite against their own clusters, so "nothing left behind" is checked, not assumed.
Everything the suite creates carries the run label (`RUN_LABEL` = the run id) or lives in a namespace
that does: the test namespaces, the run's probe namespace, the profile lock Lease. Volumes are made by
the implementation's provisioner, not by the suite, so a PersistentVolume is the run's when its claim
was in a namespace the run created (recorded under the run directory as namespaces are made).

Who leaked it decides whether the run fails:
- `suite`: the suite never asked for the deletion (a namespace not terminating, a Lease still there) —
  the suite's own bug, so the run exits non-zero;
- `cluster`: the suite asked, and the cluster has not finished within the settle time (a namespace
  stuck terminating on a finalizer, a released volume the provisioner keeps) — shown, not failed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from kubernetes import client

from vnode_harness.plumbing.waits import WaitTimeout, wait_for
from vnode_harness.testapi.workloads import RUN_LABEL

LeakOwner = Literal["suite", "cluster"]
DEFAULT_SETTLE_SECONDS = 120.0


@dataclass(frozen=True)
class LeakedObject:
    kind: str
    name: str
    namespace: str | None
    owner: LeakOwner
    detail: str

    def describe(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind} {where} ({self.owner}): {self.detail}"


def find_leaks(
    api: client.ApiClient, run_id: str, *, namespaces_created: Iterable[str] = ()
) -> list[LeakedObject]:
    """Everything of run `run_id` still in the cluster now (one look, no waiting)."""
    core = client.CoreV1Api(api)
    selector = f"{RUN_LABEL}={run_id}"
    namespaces = core.list_namespace(label_selector=selector).items
    leaks = [_namespace_leak(core, namespace) for namespace in namespaces]
    leases = client.CoordinationV1Api(api).list_lease_for_all_namespaces(label_selector=selector).items
    leaks.extend(
        LeakedObject(
            "Lease",
            lease.metadata.name,
            lease.metadata.namespace,
            "suite",
            f"held by {lease.spec.holder_identity!r}; the run releases (deletes) its lock",
        )
        for lease in leases
    )
    run_namespaces = set(namespaces_created) | {leak.name for leak in leaks if leak.kind == "Namespace"}
    for volume in core.list_persistent_volume().items:
        claim = volume.spec.claim_ref
        if claim is not None and claim.namespace in run_namespaces:
            phase = volume.status.phase if volume.status else "unknown"
            policy = volume.spec.persistent_volume_reclaim_policy
            detail = f"phase {phase}, reclaim policy {policy}, claim {claim.namespace}/{claim.name}"
            leaks.append(LeakedObject("PersistentVolume", volume.metadata.name, None, "cluster", detail))
    return leaks


def _namespace_leak(core: client.CoreV1Api, namespace: client.V1Namespace) -> LeakedObject:
    name = namespace.metadata.name
    pods = len(core.list_namespaced_pod(name).items)
    claims = len(core.list_namespaced_persistent_volume_claim(name).items)
    content = f"holds {pods} pod(s), {claims} PersistentVolumeClaim(s)"
    if namespace.metadata.deletion_timestamp is None:
        return LeakedObject("Namespace", name, None, "suite", f"never deleted; {content}")
    conditions = [
        f"{c.type}: {c.message}"
        for c in (namespace.status.conditions if namespace.status else None) or []
        if c.status == "True"
    ]
    return LeakedObject(
        "Namespace",
        name,
        None,
        "cluster",
        f"still terminating; {content}; {'; '.join(conditions) or 'no condition'}",
    )


def _settling(leak: LeakedObject) -> bool:
    """Still on its way out: a terminating namespace, a volume whose claim was deleted."""
    return leak.owner == "cluster"


def leaks_after_settling(
    api: client.ApiClient,
    run_id: str,
    *,
    namespaces_created: Iterable[str] = (),
    timeout: float = DEFAULT_SETTLE_SECONDS,
) -> list[LeakedObject]:
    """What is left once deletions in flight had `timeout` seconds to finish (deletion is asynchronous:
    a namespace deleted by the last test's teardown is normally still terminating at the end of the run)."""
    created = frozenset(namespaces_created)
    last: list[list[LeakedObject]] = [[]]

    def settled() -> tuple[bool | None, str]:
        last[0] = find_leaks(api, run_id, namespaces_created=created)
        in_flight = [leak for leak in last[0] if _settling(leak)]
        return (True if not in_flight else None), f"{len(in_flight)} deletion(s) in flight"

    with contextlib.suppress(WaitTimeout):  # what is still there then is the finding the caller lists
        wait_for("the run's namespaces and volumes to be deleted", settled, timeout=timeout, interval=0.25)
    return last[0]


def suite_leaks(leaks: Iterable[LeakedObject]) -> list[LeakedObject]:
    return [leak for leak in leaks if leak.owner == "suite"]

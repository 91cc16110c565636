"""The readers/writer profile lock against a real API server: what the unit tests' fake server only
imitates (label selectors, delete preconditions, Lease validation) is the real thing here."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from kubernetes import client

from vnode_harness.lifecycle.leaks import find_leaks
from vnode_harness.plumbing.kube import api_client
from vnode_harness.plumbing.waits import WaitTimeout
from vnode_harness.run_context import ClusterHandle
from vnode_harness.testapi.rw_lease_lock import READER_LABEL, ReaderLock, WriterLock, reader_lease_name
from vnode_harness.testapi.workloads import RUN_LABEL

NAMESPACE = "default"


@pytest.fixture
def coordination(local_cluster: ClusterHandle) -> Iterator[client.CoordinationV1Api]:
    with api_client(local_cluster.kubeconfig, "test-profile-lock") as api:
        yield client.CoordinationV1Api(api)


@pytest.fixture
def name() -> str:
    return f"rw-lock-{uuid.uuid4().hex[:8]}"


def readers(coordination: client.CoordinationV1Api, name: str) -> list[client.V1Lease]:
    return list(coordination.list_namespaced_lease(NAMESPACE, label_selector=f"{READER_LABEL}={name}").items)


def test_readers_and_a_writer_exclude_each_other(coordination, name):
    run_id = f"lock-test-{uuid.uuid4().hex[:8]}"
    shared = ReaderLock(coordination, NAMESPACE, name, "reader (worker gw0) #1", labels={RUN_LABEL: run_id})
    shared.acquire(timeout=10)
    try:
        lease = coordination.read_namespaced_lease(shared.lease_name, NAMESPACE)
        assert lease.metadata.labels == {RUN_LABEL: run_id, READER_LABEL: name}
        with pytest.raises(WaitTimeout, match=r"1 shared holder\(s\): reader \(worker gw0\) #1"):
            WriterLock(coordination, NAMESPACE, name, "writer-1").acquire(timeout=2)
        with pytest.raises(client.ApiException) as absent:  # the writer that gave up let its lease go
            coordination.read_namespaced_lease(name, NAMESPACE)
        assert absent.value.status == 404
    finally:
        shared.release()
    assert shared.lost is None
    assert find_leaks(coordination.api_client, run_id) == [], "the reader lease was left"

    exclusive = WriterLock(coordination, NAMESPACE, name, "writer-1")
    exclusive.acquire(timeout=10)
    try:
        with pytest.raises(WaitTimeout, match="held by the writer writer-1"):
            ReaderLock(coordination, NAMESPACE, name, "reader-2").acquire(timeout=2)
        assert (
            coordination.list_namespaced_lease(NAMESPACE, label_selector=f"{READER_LABEL}={name}").items == []
        )
    finally:
        exclusive.release()


def test_a_dead_readers_lease_is_deleted_by_its_version_only(coordination, name):
    stale = datetime.now(UTC) - timedelta(seconds=120)
    dead = reader_lease_name(name, "killed-reader")
    coordination.create_namespaced_lease(
        NAMESPACE,
        client.V1Lease(
            metadata=client.V1ObjectMeta(name=dead, labels={READER_LABEL: name}),
            spec=client.V1LeaseSpec(
                holder_identity="killed-reader",
                lease_duration_seconds=10,
                acquire_time=stale,
                renew_time=stale,
            ),
        ),
    )
    old_version = coordination.read_namespaced_lease(dead, NAMESPACE)
    renewed = coordination.read_namespaced_lease(dead, NAMESPACE)
    renewed.spec.renew_time = stale + timedelta(seconds=1)
    coordination.replace_namespaced_lease(dead, NAMESPACE, renewed)
    with pytest.raises(client.ApiException) as conflict:  # what the takeover relies on: the real server's
        coordination.delete_namespaced_lease(  # precondition refuses a version that changed
            dead,
            NAMESPACE,
            body=client.V1DeleteOptions(
                preconditions=client.V1Preconditions(
                    uid=old_version.metadata.uid, resource_version=old_version.metadata.resource_version
                )
            ),
        )
    assert conflict.value.status == 409
    exclusive = WriterLock(coordination, NAMESPACE, name, "writer-1")
    exclusive.acquire(timeout=10)
    try:
        assert "'killed-reader'" in (exclusive.taken_over or "")
        assert (
            coordination.list_namespaced_lease(NAMESPACE, label_selector=f"{READER_LABEL}={name}").items == []
        )
    finally:
        exclusive.release()

"""The leak check against a real API server: what a run left behind is found, and who left it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from kubernetes import client

from vnode_harness.lifecycle.leaks import find_leaks, leaks_after_settling
from vnode_harness.plumbing.kube import api_client
from vnode_harness.run_context import ClusterHandle
from vnode_harness.testapi.lease_lock import ClusterLock
from vnode_harness.testapi.workloads import RUN_LABEL, created_namespaces, record_created_namespace


@pytest.fixture
def api(local_cluster: ClusterHandle) -> Iterator[client.ApiClient]:
    with api_client(local_cluster.kubeconfig, "test-leaks") as api:
        yield api


@pytest.fixture
def run_id() -> str:
    return f"leak-test-{uuid.uuid4().hex[:8]}"


def _labelled_namespace(core: client.CoreV1Api, run_id: str) -> str:
    body = {"metadata": {"generateName": "vnc-leak-", "labels": {RUN_LABEL: run_id}}}
    return str(core.create_namespace(body).metadata.name)


def test_a_namespace_never_deleted_is_the_suites_leak_and_a_deleted_one_settles(api, run_id):
    core = client.CoreV1Api(api)
    name = _labelled_namespace(core, run_id)

    leaks = find_leaks(api, run_id)

    assert [(leak.kind, leak.name, leak.owner) for leak in leaks] == [("Namespace", name, "suite")]
    assert "never deleted" in leaks[0].detail
    core.delete_namespace(name, grace_period_seconds=0)
    assert leaks_after_settling(api, run_id, timeout=60) == []


def test_a_lease_carrying_the_run_label_is_found_until_released(api, run_id):
    lock = ClusterLock(
        client.CoordinationV1Api(api), "default", f"lock-{run_id}", "holder-1", labels={RUN_LABEL: run_id}
    )
    lock.acquire(timeout=30)
    try:
        held = find_leaks(api, run_id)
        assert [(leak.kind, leak.namespace, leak.owner) for leak in held] == [("Lease", "default", "suite")]
    finally:
        lock.release()
    assert find_leaks(api, run_id) == []


def test_a_volume_whose_claim_was_in_a_run_namespace_is_listed_as_the_clusters(api, run_id, tmp_path):
    core = client.CoreV1Api(api)
    record_created_namespace(tmp_path, "vnc-gone-namespace")
    volume = core.create_persistent_volume(
        {
            "metadata": {"generateName": "leak-test-pv-"},
            "spec": {
                "capacity": {"storage": "1Gi"},
                "accessModes": ["ReadWriteOnce"],
                "persistentVolumeReclaimPolicy": "Retain",
                "hostPath": {"path": "/nonexistent"},
                "claimRef": {"namespace": "vnc-gone-namespace", "name": "data"},
            },
        }
    )
    try:
        leaks = find_leaks(api, run_id, namespaces_created=created_namespaces(tmp_path))
        assert [(leak.kind, leak.name, leak.owner) for leak in leaks] == [
            ("PersistentVolume", volume.metadata.name, "cluster")
        ]
        assert "claim vnc-gone-namespace/data" in leaks[0].detail
        assert find_leaks(api, run_id) == [], "a volume of a namespace the run did not create is not its leak"
    finally:
        core.delete_persistent_volume(volume.metadata.name)


def test_on_a_cluster_the_run_deletes_only_what_was_never_deleted_is_listed_and_nothing_waits(
    api, run_id, local_cluster, tmp_path
):
    """Settle time 0 (lifecycle.run: the cluster goes with the run): a namespace still terminating is
    not waited for and not listed; one the suite never deleted still is."""
    from rich.console import Console

    from vnode_harness.formats.implementation import load_implementation
    from vnode_harness.formats.paths import REPO_ROOT
    from vnode_harness.lifecycle.cleanup import RunCleanup

    core = client.CoreV1Api(api)
    kept = _labelled_namespace(core, run_id)
    terminating = str(
        core.create_namespace(
            {
                "metadata": {
                    "generateName": "vnc-leak-",
                    "labels": {RUN_LABEL: run_id},
                    "finalizers": ["vnode.test/hold"],
                }
            }
        ).metadata.name
    )
    core.delete_namespace(terminating)
    cleanup = RunCleanup(
        kubeconfig=local_cluster.kubeconfig,
        implementation=load_implementation(REPO_ROOT / "implementations" / "reference.yaml"),
        run_id=run_id,
        probe_namespace=f"vnc-probe-{run_id}",
        run_dir=tmp_path,
        settle_seconds=0,
    )
    try:
        found = cleanup.finish(Console(quiet=True))
        assert found is not None
        assert [(left.name, left.owner) for left in found.left_behind] == [(kept, "suite")]
        assert found.settle_seconds == 0
    finally:
        core.patch_namespace(terminating, {"metadata": {"finalizers": None}})
        core.delete_namespace(kept)

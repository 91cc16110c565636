"""Clusters of the fault scenarios: one shared local cluster for the faults that leave it sound (each
scenario starts its own reference implementation next to it), a fresh one for the faults that damage
it (the API server restarted, a node frozen), and a kind cluster with the reference implementation
installed in it for the faults of an in-cluster implementation (marked `kind`: they need Docker Engine,
`bash .ci/docker-engine.sh`; the images are built on first use). Run with `-n 0` (tox -e faults)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client

from tests.faults.scenario import REFERENCE, REPO, start_implementation
from vnode_harness.formats.implementation import load_implementation
from vnode_harness.plumbing.kube import api_client
from vnode_harness.providers.local.cluster import LocalCluster
from vnode_harness.providers.local.implementation import LocalImplementation
from vnode_harness.run_context import ClusterHandle

LOGS = REPO / "reports" / "faults"


@pytest.fixture(scope="session")
def shared_cluster() -> Iterator[ClusterHandle]:
    cluster = LocalCluster(logs_dir=LOGS / "shared-cluster")
    try:
        yield cluster.up()
    finally:
        cluster.down()


@pytest.fixture
def fresh_cluster(request: pytest.FixtureRequest) -> Iterator[ClusterHandle]:
    cluster = LocalCluster(logs_dir=LOGS / request.node.name / "cluster")
    try:
        yield cluster.up()
    finally:
        cluster.down()


@pytest.fixture(scope="session")
def kind_cluster() -> Iterator[ClusterHandle]:
    """A kind cluster as the kind provider makes it for a run, the reference implementation in it."""
    from vnode_harness.providers.kind.cluster import KindProvider

    provider = KindProvider(
        implementation=load_implementation(REFERENCE),
        implementation_root=REPO,
        logs_dir=LOGS / "kind-cluster",
    )
    try:
        handle = provider.up()
        provider.install_implementation(handle)
        yield handle
    finally:
        provider.down()


@pytest.fixture
def reports(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    return tmp_path / "reports"


@pytest.fixture
def api(shared_cluster: ClusterHandle) -> Iterator[client.ApiClient]:
    with api_client(shared_cluster.kubeconfig, "fault-scenario") as api:
        yield api


@pytest.fixture
def reference(shared_cluster: ClusterHandle, tmp_path: Path) -> Iterator[LocalImplementation]:
    """The reference implementation as a host process next to the shared cluster, for one scenario."""
    started = start_implementation(shared_cluster, tmp_path / "implementation")
    try:
        yield started
    finally:
        started.stop()

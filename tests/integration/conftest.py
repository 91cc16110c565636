"""A local cluster shared by the integration tests of one process (run them with -n 0)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from vnode_harness.providers.local.cluster import LocalCluster
from vnode_harness.run_context import ClusterHandle

REPORTS = Path(__file__).resolve().parents[2] / "reports" / "integration"


@pytest.fixture(scope="session")
def local_cluster() -> Iterator[ClusterHandle]:
    cluster = LocalCluster(logs_dir=REPORTS / "local-cluster")
    try:
        yield cluster.up()
    finally:
        cluster.down()

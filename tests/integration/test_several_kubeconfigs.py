"""A vendor with several identical clusters certifies on all of them at once: `--cluster existing` with
`--kubeconfig` given once per cluster runs one shard per kubeconfig, each worker on one of them.

Two local clusters stand in for the vendor's, each with the reference implementation started beside it
(as a vendor's own install, the harness starts nothing). Kept light for CI's 2 cores: no Istio (the
implementation file leaves out `mesh`), one test file, two workers.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml
from kubernetes import client
from rich.console import Console

from vnode_harness.formats.implementation import Implementation, load_implementation
from vnode_harness.plumbing.kube import api_client
from vnode_harness.providers.local.cluster import LocalCluster
from vnode_harness.providers.local.implementation import LocalImplementation, start_local_implementation
from vnode_harness.report.verify import verify
from vnode_harness.run_context import ClusterHandle

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
SELECTION = "conformance/test_scheduling.py"


def _without_mesh(directory: Path) -> Path:
    """reference.yaml without the mesh feature, so the clusters need no Istio."""
    data = yaml.safe_load((REPO / "implementations" / "reference.yaml").read_text())
    data["features"] = [feature for feature in data["features"] if feature != "mesh"]
    path = directory / "reference-without-mesh.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture
def two_clusters(tmp_path) -> Iterator[list[ClusterHandle]]:
    quiet = Console(stderr=True, quiet=True)
    clusters = [
        LocalCluster(logs_dir=tmp_path / f"cluster-{index}", console=quiet, with_istio=False)
        for index in (1, 2)
    ]
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            handles = list(pool.map(lambda cluster: cluster.up(), clusters))
        yield handles
    finally:
        for cluster in clusters:
            cluster.down()


def _profile(cluster: ClusterHandle, implementation: Implementation) -> str:
    """The eci-profile's data, labels and annotations as one canonical text."""
    observation = implementation.observation
    with api_client(cluster.kubeconfig, "integration-test") as api:
        found = client.CoreV1Api(api).read_namespaced_config_map(
            observation.profile_name, observation.profile_namespace
        )
    return json.dumps(
        [found.data, found.binary_data, found.metadata.labels, found.metadata.annotations], sort_keys=True
    )


def test_two_kubeconfigs_certify_two_clusters_at_once(tmp_path, two_clusters):
    implementation_file = _without_mesh(tmp_path)
    implementation = load_implementation(implementation_file)
    started: list[LocalImplementation] = []
    try:
        for index, cluster in enumerate(two_clusters, start=1):
            started.append(start_local_implementation(implementation, cluster, tmp_path / f"impl-{index}"))
        before = [_profile(cluster, implementation) for cluster in two_clusters]
        reports = tmp_path / "reports"
        command = [
            sys.executable, "-m", "pytest", SELECTION, "-p", "no:cacheprovider", "-n", "2", "-q",
            "--cluster", "existing", "--implementation", str(implementation_file),
            "--reports-dir", str(reports),
            "--kubeconfig", str(two_clusters[0].kubeconfig), "--kubeconfig", str(two_clusters[1].kubeconfig),
            "--implementation-pid", str(started[0].process.pid),
            "--implementation-pid", str(started[1].process.pid),
        ]  # fmt: skip
        result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=900, check=False)
        after = [_profile(cluster, implementation) for cluster in two_clusters]
    finally:
        for implementation_process in started:
            implementation_process.stop()
    output = (result.stdout + result.stderr)[-4000:]
    assert result.returncode == 0, output
    run_dir = (reports / "latest").resolve()
    report = yaml.safe_load((run_dir / "conformance-report.yaml").read_text())
    servers = []
    for cluster in two_clusters:
        with api_client(cluster.kubeconfig, "integration-test") as api:
            servers.append(api.configuration.host)
    assert servers[0] != servers[1]
    assert [(shard["name"], shard["cluster"]) for shard in report["shards"]] == [
        ("shard-1", servers[0]),
        ("shard-2", servers[1]),
    ]
    tests = report["tests"]
    assert tests, output
    assert {test["outcome"] for test in tests} == {"passed"}, tests
    assert {test["shard"] for test in tests} == {"shard-1", "shard-2"}, tests  # both clusters ran tests
    assert report["cleanup"]["profileRestored"] is True, report["cleanup"]
    assert after == before  # each cluster's eci-profile as the run found it
    assert verify(run_dir / "bundle.tar.gz").problems == []

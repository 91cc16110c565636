"""The in-cluster runs of CI (.ci/run, docs/in-cluster.md): on the kind cluster the kind conformance run
kept (`--cluster kind --keep-cluster`: `vnode-kept`, or VNODE_KIND_CLUSTER such as `vnode-kept-shard-1`
when the run started several; the reference implementation in it), the suite image built and loaded
into its node as the kind provider loads images. Not part of `tox`: it needs that kept cluster and
that run's report (VNODE_OUTSIDE_REPORT, default reports/latest)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from vnode_harness.formats.paths import REPO_ROOT
from vnode_harness.providers.kind.config import DEFAULT_CONFIG, worker_nodes
from vnode_harness.providers.kind.host import INSTALL_KIND, resolve_binary
from vnode_harness.providers.kind.images.plan import build_suite_image
from vnode_harness.providers.kind.images.suite import SUITE_IMAGE

CLUSTER = os.environ.get("VNODE_KIND_CLUSTER", "vnode-kept")


@pytest.fixture(scope="session")
def kept_kubeconfig(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The kept cluster's kubeconfig, with the suite image loaded into its node."""
    kind = resolve_binary(None, "kind", INSTALL_KIND, component="kind")
    clusters = subprocess.run([kind, "get", "clusters"], capture_output=True, text=True, check=True).stdout
    if CLUSTER not in clusters.split():
        pytest.fail(
            f"no kind cluster {CLUSTER}: run `tox -e conformance -- --cluster kind --keep-cluster` first"
        )
    kubeconfig = tmp_path_factory.mktemp("kind") / "kubeconfig"
    subprocess.run(
        [kind, "export", "kubeconfig", "--name", CLUSTER, "--kubeconfig", kubeconfig],
        check=True,
        capture_output=True,
    )
    build_suite_image()
    nodes = ",".join(worker_nodes(DEFAULT_CONFIG, CLUSTER))
    subprocess.run(
        [kind, "load", "docker-image", "--name", CLUSTER, "--nodes", nodes, SUITE_IMAGE],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return kubeconfig


@pytest.fixture(scope="session")
def outside_report() -> Path:
    """The report of the run from outside on the same cluster (the kind conformance run)."""
    path = Path(
        os.environ.get("VNODE_OUTSIDE_REPORT", REPO_ROOT / "reports" / "latest" / "conformance-report.yaml")
    )
    if not path.is_file():
        pytest.fail(f"no report of the outside run at {path} (VNODE_OUTSIDE_REPORT)")
    return path.resolve()

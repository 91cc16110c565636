"""The environment fingerprint of a run: where the result was measured, for the evidence bundle.

A reviewer who cannot rerun on the vendor's cluster needs to know what it was: the provider, the
Kubernetes and component versions, the nodes (kubelet, OS image, runtime), the images, the host's
cgroup version and platform, and the exact suite (version, catalogue digest, checkout commit). Every
probe here is best effort: a fact that cannot be read is recorded as such, never fatal to the run.
The fingerprint is part of the report (`fingerprint`), and the bundle's `environment.json` is rendered
from the report, so what a reviewer reads there is checked like the rest.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
from pathlib import Path
from typing import Any, Literal

from vnode_harness.formats.paths import REPO_ROOT
from vnode_harness.report.model import ConformanceReport, Fingerprint, HostFacts, NodeFacts

_NODE_LABELS = (
    "type",
    "topology.kubernetes.io/zone",
    "kubernetes.io/role",
    "node.kubernetes.io/instance-type",
)


def measure_fingerprint(kubeconfig: Path | None) -> Fingerprint:
    """The fingerprint, recorded in the report; `kubeconfig` None when no cluster is reachable."""
    from vnode_harness.plumbing.kube import runs_in_cluster

    nodes = cluster_nodes(kubeconfig) if kubeconfig is not None else "no cluster (the run ended early)"
    in_cluster = kubeconfig is not None and runs_in_cluster(kubeconfig)
    return Fingerprint(
        nodes=nodes if isinstance(nodes, list) else [],
        nodes_unread=nodes if isinstance(nodes, str) else None,
        cgroup_version=cgroup_version(),
        host=host_facts(),
        checkout=checkout_revision(),
        runner="in-cluster" if in_cluster else "host",
    )


def render_environment(report: ConformanceReport) -> str:
    """The bundle's `environment.json`, from the report alone: `vnode report verify` renders it again and
    compares, so the file a reviewer reads cannot say more than the report does."""
    fingerprint = report.fingerprint
    environment: dict[str, Any] = {
        "clusterProvider": report.cluster_provider,
        "kubernetesVersion": report.kubernetes_version,
        "components": dict(report.environment),
        "images": [image.model_dump(mode="json", by_alias=True) for image in report.images],
        "suite": {
            "version": report.suite_version,
            "catalogueDigest": report.catalogue_digest,
            "checkout": fingerprint.checkout if fingerprint else "not recorded",
        },
    }
    if fingerprint is None:
        environment["nodes"] = "not recorded (a report of an older suite)"
    else:
        environment |= {
            "nodes": fingerprint.nodes_unread
            or [node.model_dump(mode="json", by_alias=True) for node in fingerprint.nodes],
            "cgroupVersion": fingerprint.cgroup_version,
            "runner": fingerprint.runner,
            "host": fingerprint.host.model_dump(mode="json", by_alias=True),
        }
    return json.dumps(environment, indent=2, sort_keys=True) + "\n"


def cgroup_version() -> Literal["v1", "v2"]:
    """v2 when the unified hierarchy is mounted at /sys/fs/cgroup, else v1 (or hybrid)."""
    return "v2" if Path("/sys/fs/cgroup/cgroup.controllers").is_file() else "v1"


def host_facts() -> HostFacts:
    """The host the suite ran on: platform and size, not its name (a vendor's host names are theirs)."""
    return HostFacts(
        os=platform.system(),
        kernel=platform.release(),
        distribution=_os_release(),
        architecture=platform.machine(),
        cpus=os.cpu_count(),
        memory_bytes=_memory_bytes(),
        python=platform.python_version(),
    )


def cluster_nodes(kubeconfig: Path) -> list[NodeFacts] | str:
    """Every node's name, role labels and nodeInfo (kubelet, OS image, kernel, runtime); or why not."""
    from kubernetes import client

    from vnode_harness.plumbing.kube import api_client

    try:
        with api_client(kubeconfig, "fingerprint") as api:
            nodes = client.CoreV1Api(api).list_node(_request_timeout=10).items
    except Exception as error:  # best effort: the bundle says why the nodes are missing
        return f"nodes not readable: {' '.join(str(error).split())[:200]}"
    return [
        NodeFacts(
            name=node.metadata.name,
            labels={key: value for key, value in (node.metadata.labels or {}).items() if key in _NODE_LABELS},
            kubelet_version=info.kubelet_version or "",
            os_image=info.os_image or "",
            kernel_version=info.kernel_version or "",
            container_runtime_version=info.container_runtime_version or "",
            architecture=info.architecture or "",
        )
        for node in nodes
        for info in [node.status.node_info]
    ]


CHECKOUT_VARIABLE = "VNODE_SUITE_CHECKOUT"
"""The checkout the suite image was built from (no git inside it): set by `vnode run --in-cluster`,
which builds the image from its own checkout before the run."""


def checkout_revision() -> str:
    """The suite checkout's git commit, `+dirty` when it has local changes; `unknown` outside git (in the
    suite image: the checkout it was built from, VNODE_SUITE_CHECKOUT)."""
    given = os.environ.get(CHECKOUT_VARIABLE)
    if given and not (REPO_ROOT / ".git").exists():
        return given
    try:
        commit = _git("rev-parse", "HEAD")
        dirty = _git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{commit}+dirty" if dirty else commit or "unknown"


def _git(*args: str) -> str:
    result = subprocess.run(
        ["git", "-C", str(REPO_ROOT), *args], capture_output=True, text=True, timeout=10, check=True
    )
    return result.stdout.strip()


def _os_release() -> str:
    try:
        return platform.freedesktop_os_release().get("PRETTY_NAME", "unknown")
    except OSError:
        return "unknown"


def _memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return None

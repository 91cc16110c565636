"""The environment fingerprint of a run: where the result was measured, for the evidence bundle.

A reviewer who cannot rerun on the vendor's cluster needs to know what it was: the provider, the
Kubernetes and component versions, the nodes (kubelet, OS image, runtime), the images, the host's
cgroup version and platform, and the exact suite (version, catalogue digest, checkout commit). Every
probe here is best effort: a fact that cannot be read is recorded as such, never fatal to the run.
"""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path
from typing import Any

from vnode_harness.formats.paths import REPO_ROOT
from vnode_harness.report.model import ConformanceReport

_NODE_LABELS = (
    "type",
    "topology.kubernetes.io/zone",
    "kubernetes.io/role",
    "node.kubernetes.io/instance-type",
)


def environment_fingerprint(report: ConformanceReport, kubeconfig: Path | None) -> dict[str, Any]:
    """The fingerprint as a JSON-ready mapping; `kubeconfig` None when no cluster is reachable."""
    return {
        "clusterProvider": report.cluster_provider,
        "kubernetesVersion": report.kubernetes_version,
        "components": dict(report.environment),
        "images": [image.model_dump(mode="json", by_alias=True) for image in report.images],
        "nodes": cluster_nodes(kubeconfig) if kubeconfig is not None else "no cluster (the run ended early)",
        "cgroupVersion": cgroup_version(),
        "host": host_facts(),
        "suite": {
            "version": report.suite_version,
            "catalogueDigest": report.catalogue_digest,
            "checkout": checkout_revision(),
        },
    }


def cgroup_version() -> str:
    """v2 when the unified hierarchy is mounted at /sys/fs/cgroup, else v1 (or hybrid)."""
    return "v2" if Path("/sys/fs/cgroup/cgroup.controllers").is_file() else "v1"


def host_facts() -> dict[str, Any]:
    """The host the suite ran on: platform and size, not its name (a vendor's host names are theirs)."""
    return {
        "os": platform.system(),
        "kernel": platform.release(),
        "distribution": _os_release(),
        "architecture": platform.machine(),
        "cpus": os.cpu_count(),
        "memoryBytes": _memory_bytes(),
        "python": platform.python_version(),
    }


def cluster_nodes(kubeconfig: Path) -> list[dict[str, Any]] | str:
    """Every node's name, role labels and nodeInfo (kubelet, OS image, kernel, runtime); or why not."""
    from kubernetes import client

    from vnode_harness.plumbing.kube import api_client

    try:
        with api_client(kubeconfig, "fingerprint") as api:
            nodes = client.CoreV1Api(api).list_node(_request_timeout=10).items
    except Exception as error:  # best effort: the bundle says why the nodes are missing
        return f"nodes not readable: {' '.join(str(error).split())[:200]}"
    return [
        {
            "name": node.metadata.name,
            "labels": {
                key: value for key, value in (node.metadata.labels or {}).items() if key in _NODE_LABELS
            },
            "kubeletVersion": node.status.node_info.kubelet_version,
            "osImage": node.status.node_info.os_image,
            "kernelVersion": node.status.node_info.kernel_version,
            "containerRuntimeVersion": node.status.node_info.container_runtime_version,
            "architecture": node.status.node_info.architecture,
        }
        for node in nodes
    ]


def checkout_revision() -> str:
    """The suite checkout's git commit, `+dirty` when it has local changes; `unknown` outside git."""
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

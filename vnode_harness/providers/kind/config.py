"""The kind cluster configuration (kind-config/cluster.yaml) and what this host adds to it.

The file says the nodes (one: the control plane, also the regular worker in zone cn-hangzhou-i); a
cgroup v1 host or a host without CAP_SYS_RESOURCE needs a patch or two before kind can start them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from vnode_harness.formats.paths import KIND_CONFIG_DIR

DEFAULT_CONFIG = KIND_CONFIG_DIR / "cluster.yaml"


def cgroup_v1_host() -> bool:
    """cgroup v1 (or hybrid) host: no unified hierarchy's cgroup.controllers at the root (kind's own
    entrypoint asks the same question)."""
    return not Path("/sys/fs/cgroup/cgroup.controllers").is_file()


def has_cap_sys_resource() -> bool:
    """CAP_SYS_RESOURCE (bit 24) in this process's capability bounding set."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("CapBnd:"):
            return bool(int(line.split()[1], 16) >> 24 & 1)
    return True


def effective_config(config_file: Path, *, cgroup_v1: bool, restrict_oom_score_adj: bool) -> dict[str, Any]:
    """kind-config/cluster.yaml with what this host needs:
    - cgroup v1: Kubernetes 1.35's kubelet refuses cgroup v1 unless `failCgroupV1: false` (kind then
      warns that cgroup v1 is deprecated, and goes on);
    - no CAP_SYS_RESOURCE in the bounding set: containerd must not raise oom_score_adj (kind's
      entrypoint does the same on rootless hosts), or every static pod's sandbox fails to start."""
    config: dict[str, Any] = yaml.safe_load(config_file.read_text()) or {}
    if cgroup_v1:
        config.setdefault("kubeadmConfigPatches", []).append(
            "kind: KubeletConfiguration\nfailCgroupV1: false\n"
        )
    if restrict_oom_score_adj:
        config.setdefault("containerdConfigPatches", []).append(
            '[plugins."io.containerd.grpc.v1.cri"]\n  restrict_oom_score_adj = true\n'
        )
    return config


def kind_node_count(config_file: Path) -> int:
    nodes = (yaml.safe_load(config_file.read_text()) or {}).get("nodes") or [{}]
    return len(nodes)


def worker_nodes(config_file: Path, cluster_name: str) -> list[str]:
    """kind's names for the configured worker nodes (<cluster>-worker, -worker2, …); the control plane
    when there are none."""
    nodes = (yaml.safe_load(config_file.read_text()) or {}).get("nodes") or []
    count = sum(1 for node in nodes if node.get("role") == "worker")
    return [f"{cluster_name}-worker{'' if i == 1 else i}" for i in range(1, count + 1)] or [
        f"{cluster_name}-control-plane"
    ]

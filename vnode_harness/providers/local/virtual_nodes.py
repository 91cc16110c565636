"""Virtual nodes of the local environment: virtual-kubelet's mock provider, one host process per zone.

Each node looks like an ACK virtual node (vnode_harness.providers.topology: the name, labels, taint and
capacity the kind provider's nodes share).
virtual-kubelet binds its kubelet API on every interface and has no address flag, so the API is
protected instead: TLS with a serving certificate made here (trustme), and client-certificate
authentication against the cluster CA (APISERVER_CA_CERT_LOCATION) — only the API server, which
presents the admin certificate, gets in. Its metrics listener, which does have an address flag, is
kept on loopback.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import trustme

from vnode_harness.plumbing.processes import RecordedProcess, start_process
from vnode_harness.providers.topology import (
    MOCK_CAPACITY,
    REGION_LABEL,
    ZONE_LABEL,
    ZONE_REGIONS,
    taint_environment,
    virtual_node_name,
)


@dataclass(frozen=True)
class VirtualNodeSpec:
    zone: str
    kubelet_port: int
    metrics_port: int

    @property
    def name(self) -> str:
        return virtual_node_name(self.zone)


def write_serving_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed CA and a serving certificate for 127.0.0.1/localhost; returns (cert, key)."""
    directory.mkdir(parents=True, exist_ok=True)
    authority = trustme.CA(organization_name="vnode local virtual-kubelet CA")
    leaf = authority.issue_cert("127.0.0.1", "localhost")
    cert, key = directory / "serving.crt", directory / "serving.key"
    leaf.private_key_pem.write_to_path(str(key))
    cert.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
    key.chmod(0o600)
    return cert, key


def start_virtual_node(
    spec: VirtualNodeSpec,
    *,
    binary: Path,
    kubeconfig: Path,
    cluster_ca: Path,
    workdir: Path,
    logs_dir: Path,
    pid_dir: Path,
) -> RecordedProcess:
    node_dir = workdir / spec.name
    cert, key = write_serving_certificate(node_dir)
    provider_config = node_dir / "mock-provider.json"
    provider_config.write_text(json.dumps({spec.name: dict(MOCK_CAPACITY)}))
    env = {
        "APISERVER_CERT_LOCATION": str(cert),
        "APISERVER_KEY_LOCATION": str(key),
        "APISERVER_CA_CERT_LOCATION": str(cluster_ca),
        "KUBELET_PORT": str(spec.kubelet_port),
        "VKUBELET_POD_IP": "127.0.0.1",
        **taint_environment(),
    }
    argv = [
        str(binary),
        "--kubeconfig",
        str(kubeconfig),
        "--nodename",
        spec.name,
        "--provider",
        "mock",
        "--provider-config",
        str(provider_config),
        "--metrics-addr",
        f"127.0.0.1:{spec.metrics_port}",
        "--log-level",
        "info",
    ]
    return start_process(spec.name, argv, log=logs_dir / f"{spec.name}.log", pid_dir=pid_dir, env=env)


def regular_node_manifest(name: str, zone: str) -> dict[str, object]:
    """A kwok fake node: a stand-in for a regular ECS worker, where non-ECI pods run."""
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {
                "type": "kwok",
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "node-role.kubernetes.io/worker": "",
                ZONE_LABEL: zone,
                REGION_LABEL: ZONE_REGIONS[zone],
            },
        },
        "status": {
            "allocatable": {"cpu": "32", "memory": "128Gi", "pods": "500"},
            "capacity": {"cpu": "32", "memory": "128Gi", "pods": "500"},
        },
    }

"""The local environment as the issue specifies it: nodes, labels, taints, pods, sidecars, teardown."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from kubernetes import client

from vnode_harness.hostnet import port_is_listening
from vnode_harness.kube import api_client
from vnode_harness.observe import kubectl_ready
from vnode_harness.processes import recorded_processes
from vnode_harness.providers.local.cluster import LocalCluster, list_clusters, reap_orphaned_clusters
from vnode_harness.toolchain import resolve_toolchain
from vnode_harness.waits import wait_for

pytestmark = pytest.mark.integration

VIRTUAL = ["virtual-kubelet-cn-hangzhou-i", "virtual-kubelet-cn-hangzhou-j"]
TOLERATION = {"key": "virtual-kubelet.io/provider", "operator": "Exists", "effect": "NoSchedule"}


@pytest.fixture
def core(local_cluster):
    with api_client(local_cluster.kubeconfig, "integration") as api:
        yield client.CoreV1Api(api)


@pytest.fixture
def scratch_namespace(core, request):
    name = f"it-{request.node.name[:40].lower().replace('_', '-')}".rstrip("-")
    core.create_namespace({"metadata": {"name": name, "labels": {"istio-injection": "enabled"}}})
    wait_for(
        "default service account",
        lambda: (
            (True, "")
            if core.list_namespaced_service_account(name, field_selector="metadata.name=default").items
            else (None, "missing")
        ),
        timeout=30,
    )
    yield name
    core.delete_namespace(name)


def test_nodes_labels_and_taints(core):
    nodes = {node.metadata.name: node for node in core.list_node().items}
    assert sorted(nodes) == sorted([*VIRTUAL, "kwok-worker-1", "kwok-worker-2"])
    for name, zone in zip(VIRTUAL, ["cn-hangzhou-i", "cn-hangzhou-j"], strict=True):
        labels = nodes[name].metadata.labels
        assert labels["type"] == "virtual-kubelet"
        assert labels["topology.kubernetes.io/zone"] == zone
        assert labels["topology.kubernetes.io/region"] == "cn-hangzhou"
        taints = [(t.key, t.value, t.effect) for t in nodes[name].spec.taints]
        assert taints == [("virtual-kubelet.io/provider", "alibabacloud", "NoSchedule")]
        assert any(c.type == "Ready" and c.status == "True" for c in nodes[name].status.conditions)
    for worker in ("kwok-worker-1", "kwok-worker-2"):
        assert not nodes[worker].spec.taints
        assert nodes[worker].metadata.labels["type"] == "kwok"


def _running(core, namespace, name):
    def probe():
        pod = core.read_namespaced_pod(name, namespace)
        return (pod if pod.status.phase == "Running" else None), pod.status.phase

    return wait_for(f"{namespace}/{name} Running", probe, timeout=60)


def test_pod_pinned_to_virtual_node_runs(core, scratch_namespace):
    pod = {
        "metadata": {"name": "pinned", "annotations": {"sidecar.istio.io/inject": "false"}},
        "spec": {
            "nodeName": VIRTUAL[1],
            "tolerations": [TOLERATION],
            "containers": [{"name": "app", "image": "nginx"}],
        },
    }
    core.create_namespaced_pod(scratch_namespace, pod)
    running = _running(core, scratch_namespace, "pinned")
    assert running.spec.node_name == VIRTUAL[1]
    assert kubectl_ready(running) == (1, 1)


def test_injected_pod_on_virtual_node_shows_two_of_two(core, scratch_namespace, local_cluster):
    pod = {
        "metadata": {"name": "meshed"},
        "spec": {
            "nodeSelector": {"type": "virtual-kubelet"},
            "tolerations": [TOLERATION],
            "containers": [{"name": "app", "image": "nginx"}],
        },
    }
    core.create_namespaced_pod(scratch_namespace, pod)
    running = _running(core, scratch_namespace, "meshed")
    assert [c.name for c in running.spec.containers] == ["app", "istio-proxy"]
    assert [c.name for c in running.spec.init_containers] == ["istio-init"]

    def two_of_two():
        current = core.read_namespaced_pod("meshed", scratch_namespace)
        return (True if kubectl_ready(current) == (2, 2) else None), kubectl_ready(current)

    wait_for("READY 2/2", two_of_two, timeout=30)
    kubectl = resolve_toolchain(["kubernetes"], allow_build=False)["kubectl"]
    printed = subprocess.run(
        [
            str(kubectl),
            "--kubeconfig",
            str(local_cluster.kubeconfig),
            "get",
            "pod",
            "meshed",
            "-n",
            scratch_namespace,
            "--no-headers",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert printed[1] == "2/2", f"kubectl shows {printed}"


def test_down_leaves_no_process_port_or_directory(tmp_path):
    cluster = LocalCluster(logs_dir=tmp_path / "logs", with_istio=False)
    handle = cluster.up()
    processes = recorded_processes(cluster.pid_dir)
    control_plane_pids = [
        int(p.read_text())
        for p in (cluster.directory / "kwok" / "clusters" / cluster.cluster_name / "pids").glob("*.pid")
    ]
    port = int(handle.facts["apiserverPort"])
    assert processes
    assert control_plane_pids
    assert port_is_listening(port)
    cluster.down()
    assert not cluster.directory.exists()
    assert not port_is_listening(port)
    assert not [p.name for p in processes if p.alive()]
    for pid in control_plane_pids:
        assert (
            not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()
        )
    assert (tmp_path / "logs" / "kube-apiserver.log").exists(), "the component logs are kept"


def test_cluster_of_a_dead_owner_is_reaped(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    cluster = LocalCluster(logs_dir=tmp_path / "logs", with_istio=False, owner_pid=dead.pid)
    cluster.up()
    assert cluster.cluster_name in [s["name"] for s in list_clusters()]
    from rich.console import Console

    reap_orphaned_clusters(Console(file=open(os.devnull, "w")))  # noqa: SIM115
    assert cluster.cluster_name not in [s["name"] for s in list_clusters()]
    assert not cluster.directory.exists()

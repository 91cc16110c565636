"""A component of the environment that dies mid-run is named, with its log, in the failing test's report."""

import os
import subprocess
import sys

from vnode_harness.lifecycle.health import control_plane_down, dead_components, environment_fault_text
from vnode_harness.plumbing.processes import start_process, stop_recorded
from vnode_harness.run_context import ClusterHandle


def _handle(tmp_path, process_dir=None):
    return ClusterHandle(
        name="c",
        provider="local",
        kubeconfig=tmp_path / "kubeconfig",
        logs_dir=tmp_path,
        process_dir=process_dir,
    )


def test_a_component_that_exited_is_named_with_its_log(tmp_path):
    pids = tmp_path / "pids"
    log = tmp_path / "virtual-kubelet-cn-hangzhou-i.log"
    crashed = start_process(
        "virtual-kubelet-cn-hangzhou-i",
        [sys.executable, "-c", "print('fatal error: concurrent map writes')"],
        log=log,
        pid_dir=pids,
    )
    survivor = start_process(
        "istiod", [sys.executable, "-c", "import time; time.sleep(60)"], log=log, pid_dir=pids
    )
    try:
        os.waitpid(crashed.pid, 0)
        [message] = dead_components(_handle(tmp_path, pids))
        assert message.startswith(f"virtual-kubelet-cn-hangzhou-i (pid {crashed.pid}) is no longer running")
        assert "fatal error: concurrent map writes" in message
        assert "may not be the implementation's" in environment_fault_text(_handle(tmp_path, pids))
        assert survivor.alive()
    finally:
        stop_recorded(pids)


def test_providers_without_host_processes_report_nothing(tmp_path):
    assert dead_components(_handle(tmp_path)) == []
    assert environment_fault_text(_handle(tmp_path, tmp_path / "missing")) == ""


def test_the_process_directory_survives_the_trip_to_xdist_workers(tmp_path):
    handle = _handle(tmp_path, tmp_path / "pids")
    assert ClusterHandle.from_json(handle.to_json()) == handle
    assert ClusterHandle.from_json(_handle(tmp_path).to_json()).process_dir is None


def _control_plane(tmp_path, pids: dict[str, int]) -> ClusterHandle:
    """A cluster whose control-plane supervisor (kwokctl) keeps `<component>.pid` files."""
    directory = tmp_path / "kwok-pids"
    directory.mkdir()
    for name, pid in pids.items():
        (directory / f"{name}.pid").write_text(f"{pid}\n")
    log = tmp_path / "kube-apiserver.log"
    log.write_text("E0101 etcdserver: request timed out\n")
    return ClusterHandle(
        name="c", provider="local", kubeconfig=tmp_path / "kubeconfig", logs_dir=tmp_path,
        component_logs={"kube-apiserver": str(log)}, control_plane_pid_dir=directory,
    )  # fmt: skip


def test_a_dead_api_server_is_named_with_its_shard_and_log_and_says_the_cluster_answers_nothing(tmp_path):
    exited = subprocess.Popen([sys.executable, "-c", "pass"])
    exited.wait()
    cluster = _control_plane(tmp_path, {"kube-apiserver": exited.pid, "kube-scheduler": os.getpid()})
    [message] = dead_components(cluster)
    assert message.startswith(f"kube-apiserver (pid {exited.pid}) is no longer running")
    assert "etcdserver: request timed out" in message
    assert control_plane_down(cluster) == f"kube-apiserver (pid {exited.pid}) is no longer running"
    assert f"- shard-2: kube-apiserver (pid {exited.pid})" in environment_fault_text(cluster, "shard-2")
    assert ClusterHandle.from_json(cluster.to_json()) == cluster


def test_a_running_control_plane_or_a_dead_scheduler_is_not_a_cluster_that_answers_nothing(tmp_path):
    exited = subprocess.Popen([sys.executable, "-c", "pass"])
    exited.wait()
    cluster = _control_plane(tmp_path, {"kube-apiserver": os.getpid(), "kube-scheduler": exited.pid})
    assert control_plane_down(cluster) == ""
    assert [m.split(" ")[0] for m in dead_components(cluster)] == ["kube-scheduler"]

"""A test that fails while a component of the environment is dead is reported broken, with the reason.

Drives the plugin's makereport hook the way pytest does (a wrapper: run to the yield, send the report)
with a recorded host process that has exited, and checks both what the reader sees (the `environment`
section) and what the conformance report counts (broken, not failed).
"""

import os
import sys
from types import SimpleNamespace

import pytest

from vnode_harness.plugin import pytest_plugin
from vnode_harness.plumbing.processes import start_process, stop_recorded
from vnode_harness.plumbing.waits import WaitTimeout
from vnode_harness.report.collector import classify_phase
from vnode_harness.run_context import ClusterHandle


def _make_report(monkeypatch, cluster: ClusterHandle) -> pytest.TestReport:
    import vnode_harness.lifecycle.diagnostics

    monkeypatch.setattr(pytest_plugin, "is_conformance_run", lambda config: True)
    monkeypatch.setattr(vnode_harness.lifecycle.diagnostics, "attach_failure_diagnostics", lambda item: None)
    item = SimpleNamespace(
        config=None, funcargs={"run_context": SimpleNamespace(cluster=cluster)}, iter_markers=lambda name: []
    )

    def stuck() -> None:
        raise WaitTimeout("timed out after 60 s waiting for pod ns/nginx to be Running and ready")

    call = pytest.CallInfo.from_call(stuck, when="call")
    report = pytest.TestReport(
        "conformance/test_x.py::test_x",
        ("conformance/test_x.py", 1, "test_x"),
        {},
        "failed",
        "WaitTimeout: …",
        "call",
    )
    hook = pytest_plugin.pytest_runtest_makereport(item, call)  # type: ignore[arg-type]
    next(hook)
    with pytest.raises(StopIteration) as finished:
        hook.send(report)
    result: pytest.TestReport = finished.value.value
    return result


def _cluster(tmp_path, process_dir) -> ClusterHandle:
    return ClusterHandle("c", "local", tmp_path / "kubeconfig", tmp_path, process_dir=process_dir)


def test_a_timeout_while_a_virtual_node_is_dead_is_broken_and_says_why(monkeypatch, tmp_path):
    pids = tmp_path / "pids"
    dead = start_process(
        "virtual-kubelet-cn-hangzhou-i",
        [sys.executable, "-c", "print('fatal error: concurrent map writes')"],
        log=tmp_path / "vk.log",
        pid_dir=pids,
    )
    os.waitpid(dead.pid, 0)
    try:
        report = _make_report(monkeypatch, _cluster(tmp_path, pids))
    finally:
        stop_recorded(pids)
    [(name, text)] = report.sections
    assert name == "environment"
    assert "virtual-kubelet-cn-hangzhou-i" in text
    assert "concurrent map writes" in text
    assert classify_phase(report).outcome == "broken"


def test_the_same_timeout_in_a_sound_environment_fails_the_implementation(monkeypatch, tmp_path):
    report = _make_report(monkeypatch, _cluster(tmp_path, tmp_path / "no-processes"))
    assert report.sections == []
    assert classify_phase(report).outcome == "failed"


def test_once_the_control_plane_is_dead_a_test_is_broken_before_its_fixtures_naming_the_shard(
    monkeypatch, tmp_path
):
    from vnode_harness.plugin.failure_causes import ControlPlaneDown, raise_if_control_plane_down
    from vnode_harness.run_context import RunContext

    pids = tmp_path / "kwok-pids"
    pids.mkdir()
    exited = start_process(
        "x", [sys.executable, "-c", "pass"], log=tmp_path / "x.log", pid_dir=tmp_path / "p"
    )
    os.waitpid(exited.pid, 0)
    (pids / "kube-apiserver.pid").write_text(str(exited.pid))
    cluster = ClusterHandle("c", "local", tmp_path / "kubeconfig", tmp_path, control_plane_pid_dir=pids)
    context = RunContext(run_dir=tmp_path, cluster=cluster, implementation_file=tmp_path, shard="shard-2")
    raise_if_control_plane_down(None)
    with pytest.raises(
        ControlPlaneDown, match=rf"^shard-2: kube-apiserver \(pid {exited.pid}\) is no longer"
    ):
        raise_if_control_plane_down(context)
    (pids / "kube-apiserver.pid").write_text(str(os.getpid()))
    raise_if_control_plane_down(context)  # running again: the test goes ahead

"""The archive copied through exec is unpacked into reports/runs/<run>/, checked, then acknowledged."""

from __future__ import annotations

import io
import tarfile

import pytest

from vnode_harness.incluster import transfer
from vnode_harness.incluster.transfer import TransferError, fetch_run


def archive(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.fixture
def pod(monkeypatch):
    calls: list[list[str]] = []
    served: dict[str, bytes] = {}

    def exec_in_pod(_core, _pod, _namespace, command):
        calls.append(command)
        return served.get(command[-1], b"") if command[0] == "cat" else b""

    monkeypatch.setattr(transfer, "exec_in_pod", exec_in_pod)
    return calls, served


def test_the_run_is_unpacked_and_the_pod_told(tmp_path, pod):
    calls, served = pod
    served["/reports/run.tar.gz"] = data = archive({"run-7/conformance-report.yaml": b"result: success\n"})
    run_dir = fetch_run(None, "p", "ns", archive="/reports/run.tar.gz", size=len(data), runs_dir=tmp_path)
    assert run_dir == tmp_path / "run-7"
    assert (run_dir / "conformance-report.yaml").read_text() == "result: success\n"
    assert calls[-1] == ["touch", "/reports/fetched"]


def test_a_short_read_is_refused_and_the_pod_not_released(tmp_path, pod):
    calls, served = pod
    served["/reports/run.tar.gz"] = data = archive({"run-7/a": b"x"})
    with pytest.raises(TransferError, match=r"read \d+ bytes, the pod wrote"):
        fetch_run(None, "p", "ns", archive="/reports/run.tar.gz", size=len(data) + 1, runs_dir=tmp_path)
    assert ["touch", "/reports/fetched"] not in calls


def test_an_archive_escaping_the_runs_directory_is_refused(tmp_path, pod):
    _, served = pod
    served["/reports/run.tar.gz"] = data = archive({"run-7/../../evil": b"x"})
    with pytest.raises((TransferError, tarfile.TarError)):
        fetch_run(None, "p", "ns", archive="/reports/run.tar.gz", size=len(data), runs_dir=tmp_path / "runs")
    assert not (tmp_path / "evil").exists()

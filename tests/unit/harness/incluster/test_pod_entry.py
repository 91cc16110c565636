"""The pod's side: the run directory packed, announced by a marker line, held until it is fetched."""

from __future__ import annotations

import tarfile

from vnode_harness.incluster.pod import (
    FETCHED_NAME,
    marker_line,
    pack_run,
    parse_marker,
    pytest_command,
    wait_fetched,
)


def test_the_pod_runs_the_suite_on_its_own_cluster(tmp_path):
    command = pytest_command(["-k", "SCHED"], tmp_path)
    assert command[1:] == [
        "-m",
        "pytest",
        "conformance",
        "-p",
        "no:cacheprovider",
        "-n",
        "auto",
        "--cluster",
        "existing",
        "--reports-dir",
        str(tmp_path),
        "-k",
        "SCHED",
    ]


def test_the_newest_run_is_packed_and_announced(tmp_path):
    run = tmp_path / "runs" / "20261206-101500-7"
    (run / "allure-results").mkdir(parents=True)
    (run / "conformance-report.yaml").write_text("result: success\n")
    (tmp_path / "latest").symlink_to("runs/20261206-101500-7", target_is_directory=True)
    packed = pack_run(tmp_path)
    assert packed is not None
    archive, name = packed
    assert name == "20261206-101500-7"
    with tarfile.open(archive) as tar:
        assert "20261206-101500-7/conformance-report.yaml" in tar.getnames()
    data = parse_marker(marker_line(name, archive, 1))
    assert data == {"run": name, "archive": str(archive), "bytes": archive.stat().st_size, "exit": 1}


def test_no_run_directory_no_archive(tmp_path):
    assert pack_run(tmp_path) is None


def test_other_log_lines_are_not_markers():
    assert parse_marker("PASSED conformance/test_scheduling.py::test_x") is None
    assert parse_marker("vnode-in-cluster: run directory packed {not json") is None


def test_the_pod_waits_for_the_fetch(tmp_path):
    assert not wait_fetched(tmp_path, timeout=0.5)
    (tmp_path / FETCHED_NAME).touch()
    assert wait_fetched(tmp_path, timeout=5)

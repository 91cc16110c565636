"""What a run left in the cluster: the report's `cleanup`, its Markdown, and the exit status it sets."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from rich.console import Console

from tests.unit.harness.builders import run_info
from vnode_harness.formats.catalogue import load_catalogue
from vnode_harness.formats.implementation import load_implementation
from vnode_harness.plugin.options import DEFAULT_IMPLEMENTATION
from vnode_harness.plugin.run_reports import EXIT_LEFT_BEHIND, fail_on_own_leaks
from vnode_harness.plumbing.probes import probe_namespace
from vnode_harness.report.collector import ResultCollector
from vnode_harness.report.markdown import render_markdown
from vnode_harness.report.model import Cleanup, ConformanceReport, LeftObject
from vnode_harness.testapi.profile import ProfileSnapshot

SUITE_LEAK = LeftObject(
    kind="Namespace", name="vnc-a-x1", owner="suite", detail="never deleted; holds 1 pod(s)"
)
CLUSTER_LEAK = LeftObject(
    kind="PersistentVolume", name="pv-1", owner="cluster", detail="phase Released, claim vnc-b/data"
)


def _report(cleanup: Cleanup | None) -> ConformanceReport:
    run = run_info(kubernetes_version="v1.35.4", date=datetime(2026, 12, 2, tzinfo=UTC), cleanup=cleanup)
    return ResultCollector(load_catalogue()).build_report(load_implementation(DEFAULT_IMPLEMENTATION), run)


def test_the_markdown_lists_each_object_left_with_who_left_it():
    page = render_markdown(
        _report(Cleanup(profile_restored=True, left_behind=[SUITE_LEAK, CLUSTER_LEAK], settle_seconds=120))
    )

    assert "## Left in the cluster" in page
    assert "eci-profile restored as found: yes. Objects of the run still present after 120 s: 2." in page
    assert "| Namespace | vnc-a-x1 | suite | never deleted; holds 1 pod(s) |" in page
    assert "| PersistentVolume | pv-1 | cluster | phase Released, claim vnc-b/data |" in page


def test_a_clean_run_says_so_and_a_changed_profile_is_called_out():
    clean = render_markdown(_report(Cleanup(profile_restored=True, settle_seconds=120)))
    changed = render_markdown(_report(Cleanup(profile_restored=False, settle_seconds=120)))

    assert "Objects of the run still present after 120 s: none." in clean
    assert "eci-profile restored as found: **no**" in changed
    assert "## Left in the cluster" not in render_markdown(_report(None))


def test_the_report_round_trips_its_cleanup():
    report = _report(Cleanup(profile_restored=None, left_behind=[CLUSTER_LEAK], settle_seconds=60))

    again = ConformanceReport.from_json(report.to_json())

    assert again.cleanup == report.cleanup
    assert '"leftBehind"' in report.to_json()
    assert '"profileRestored": null' in report.to_json()


@pytest.mark.parametrize(
    ("left", "status_before", "status_after"),
    [
        ([SUITE_LEAK], pytest.ExitCode.OK, EXIT_LEFT_BEHIND),
        ([CLUSTER_LEAK], pytest.ExitCode.OK, pytest.ExitCode.OK),
        ([SUITE_LEAK], pytest.ExitCode.TESTS_FAILED, pytest.ExitCode.TESTS_FAILED),
        ([], pytest.ExitCode.OK, pytest.ExitCode.OK),
    ],
)
def test_only_the_suites_own_leak_fails_an_otherwise_passing_run(left, status_before, status_after):
    session = SimpleNamespace(exitstatus=status_before)

    fail_on_own_leaks(
        session,  # type: ignore[arg-type]
        Cleanup(profile_restored=True, left_behind=left, settle_seconds=1),
        Console(quiet=True),
    )

    assert session.exitstatus == status_after


def test_profile_snapshots_compare_every_byte_of_data_labels_and_annotations():
    found = ProfileSnapshot(existed=True, data={"selectors": "[]\n"}, labels={"a": "1"}, annotations={})

    assert found == ProfileSnapshot(
        existed=True, data={"selectors": "[]\n"}, labels={"a": "1"}, annotations={}
    )
    assert found != ProfileSnapshot(existed=True, data={"selectors": "[]"}, labels={"a": "1"}, annotations={})
    assert found != ProfileSnapshot(existed=True, data={"selectors": "[]\n"}, labels={}, annotations={})
    assert found != ProfileSnapshot(existed=False)


@pytest.mark.parametrize("run_id", ["20261202-101946-12345", "x" * 80])
def test_each_run_has_its_own_probe_namespace_with_a_valid_name(run_id):
    name = probe_namespace(run_id)

    assert len(name) <= 63
    assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", name)


def test_two_runs_never_share_a_probe_namespace():
    assert probe_namespace("20261202-101946-12345") != probe_namespace("20261202-101946-12346")

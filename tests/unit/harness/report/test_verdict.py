"""The verdict line: the Markdown headline and a run's last line say why, failed apart from broken."""

from __future__ import annotations

import pytest

from tests.unit.harness.builders import catalogue_data, implementation, run_info
from vnode_harness.formats.catalogue import FEATURE_IDS, Catalogue
from vnode_harness.report.collector import ResultCollector
from vnode_harness.report.markdown import render_markdown
from vnode_harness.report.model import ConformanceReport
from vnode_harness.report.verdict import verdict_line

ALL_BUT_EXTENDED: list[str] = [feature for feature in FEATURE_IDS if feature != "extended"]


@pytest.fixture
def catalogue() -> Catalogue:
    return Catalogue.model_validate(catalogue_data(requirements_per_feature=2))


def run(
    catalogue: Catalogue, outcomes: dict[str, str], *, mode: str = "full", **extra: str
) -> ConformanceReport:
    """Every requirement passed, but those in `outcomes` (id → outcome; "" leaves it untested)."""
    collector = ResultCollector(catalogue)
    for requirement in catalogue.requirements:
        outcome = outcomes.get(requirement.id, "passed")
        if outcome:
            collector.record(f"t::{requirement.id}", [requirement.id], outcome, 1.0, f"{outcome}: why")
    for nodeid, outcome in extra.items():
        collector.record(f"t::{nodeid}", [], outcome, 1.0, "why")
    return collector.build_report(implementation(ALL_BUT_EXTENDED), run_info(mode=mode))


def test_failed_and_broken_are_told_apart(catalogue):
    report = run(catalogue, {"F0-R1": "failed", "F3-R2": "failed", "F4-R1": "broken"})
    assert verdict_line(report) == "failure: 2 requirements failed, 1 broken by the environment"


def test_only_broken_says_so(catalogue):
    report = run(catalogue, {"F4-R1": "broken"})
    assert verdict_line(report) == "failure: 1 requirement broken by the environment"
    assert "**Overall result: FAILURE** (full run): 1 requirement broken by the environment\n" in (
        render_markdown(report)
    )


def test_an_undeclared_feature_failing_is_not_counted(catalogue):
    report = run(catalogue, {"F5-R1": "failed"})
    assert verdict_line(report) == "success: all 10 requirements of 5 declared features passed"


def test_a_test_naming_no_requirement(catalogue):
    report = run(catalogue, {}, orphan="broken")
    assert verdict_line(report) == "failure: 1 test naming no requirement failed or broke"


def test_partial_counts_what_is_missing(catalogue):
    report = run(catalogue, {"F1-R1": "skipped", "F2-R1": "", "F2-R2": "skipped"})
    assert verdict_line(report) == "partial: 2 requirements skipped, 1 requirement not tested"


def test_a_focused_run_says_it_never_certifies(catalogue):
    assert verdict_line(run(catalogue, {}, mode="focused")) == "partial: a focused run never certifies"


def test_nothing_ran(catalogue):
    report = ResultCollector(catalogue).build_report(implementation(ALL_BUT_EXTENDED), run_info())
    assert verdict_line(report) == "not-tested: no test ran"
    aborted = ResultCollector(catalogue).build_report(
        implementation(ALL_BUT_EXTENDED), run_info(aborted="not ready")
    )
    assert verdict_line(aborted) == "not-tested: the run ended before any test ran"

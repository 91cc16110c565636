"""A vendor may lengthen the "stays so" windows, never shorten them: a run below the catalogue's minimum
hold is reported as not certifying, and `vnode report verify` refuses it."""

from __future__ import annotations

from pathlib import Path

from tests.unit.harness.submission import REFERENCE, build_report, dump, report_data
from vnode_harness.formats.catalogue import load_catalogue
from vnode_harness.formats.certification import weakened_limits
from vnode_harness.formats.implementation import Implementation, load_implementation
from vnode_harness.report.model import ConformanceReport
from vnode_harness.report.verify import verify


def _report(hold_seconds: int) -> ConformanceReport:
    reference = load_implementation(REFERENCE)
    implementation = Implementation.model_validate(
        {
            **reference.model_dump(by_alias=True),
            "limits": {**reference.limits.model_dump(by_alias=True), "holdSeconds": hold_seconds},
        }
    )
    return build_report(implementation=implementation)


def test_the_catalogue_sets_the_minimum_and_only_a_shorter_window_weakens_a_claim() -> None:
    catalogue = load_catalogue()
    minimum = catalogue.certification.minimum_hold_seconds
    assert minimum >= 10
    assert weakened_limits(catalogue, hold_seconds=minimum) == []
    assert weakened_limits(catalogue, hold_seconds=minimum + 20) == []
    assert "below the catalogue's minimum" in weakened_limits(catalogue, hold_seconds=1)[0]


def test_a_run_with_a_short_hold_window_does_not_certify(tmp_path: Path) -> None:
    certifying = _report(10)
    assert certifying.result == "success"
    assert certifying.weakened_limits == []
    short = _report(1)
    assert short.result == "partial", "every test passed, but the claims were held for 1 s"
    assert short.weakened_limits
    assert "holdSeconds is 1" in short.weakened_limits[0]
    path = tmp_path / "conformance-report.yaml"
    path.write_text(dump(report_data(short)))
    problems = verify(path).problems
    assert any("does not certify" in problem and "holdSeconds is 1" in problem for problem in problems)


def test_verify_catches_a_report_that_hides_its_short_window(tmp_path: Path) -> None:
    data = report_data(_report(1))
    data["weakenedLimits"] = []
    data["result"] = "success"
    path = tmp_path / "conformance-report.yaml"
    path.write_text(dump(data))
    problems = verify(path).problems
    assert any("weakenedLimits is []" in problem for problem in problems), problems
    assert any("result is success" in problem for problem in problems), problems

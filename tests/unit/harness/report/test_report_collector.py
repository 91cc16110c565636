"""The collector: pytest phase classification, merging, the summary line, and the built report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from tests.unit.harness.builders import catalogue_data, implementation, run_info
from vnode_harness.formats.catalogue import Catalogue
from vnode_harness.plumbing.waits import WaitTimeout
from vnode_harness.report.collector import (
    FAILURE_KIND_PROPERTY,
    ResultCollector,
    classify_phase,
    failure_kind_property,
)
from vnode_harness.report.model import ConformanceReport


def phase_report(when="call", outcome="passed", longrepr=None, user_properties=(), duration=0.5, **extra):
    report = pytest.TestReport(
        nodeid="conformance/test_x.py::test_y",
        location=("conformance/test_x.py", 1, "test_y"),
        keywords={},
        outcome=outcome,
        longrepr=longrepr,
        when=when,
        duration=duration,
        user_properties=list(user_properties),
    )
    for name, value in extra.items():
        setattr(report, name, value)
    return report


def crash(message: str) -> SimpleNamespace:
    return SimpleNamespace(reprcrash=SimpleNamespace(message=message))


@pytest.fixture
def catalogue() -> Catalogue:
    return Catalogue.model_validate(catalogue_data())


class TestClassifyPhase:
    @pytest.mark.parametrize(
        "message",
        [
            "AssertionError: pod not on a virtual node\n  more detail",
            "assert 'regular' == 'virtual'",
            "Failed: pod did not reach Running within 60 s",
        ],
    )
    def test_call_assertion_is_failed(self, message):
        phase = classify_phase(phase_report(outcome="failed", longrepr=crash(message)))
        assert phase.outcome == "failed"
        assert phase.reason == message.splitlines()[0]

    def test_call_other_exception_is_broken(self):
        phase = classify_phase(phase_report(outcome="failed", longrepr=crash("ApiException: (500)")))
        assert (phase.outcome, phase.reason) == ("broken", "ApiException: (500)")

    def test_assertion_in_setup_is_broken(self):
        phase = classify_phase(
            phase_report(when="setup", outcome="failed", longrepr=crash("AssertionError: x"))
        )
        assert (phase.outcome, phase.reason) == ("broken", "error in setup: AssertionError: x")

    def test_teardown_error_is_broken(self):
        phase = classify_phase(
            phase_report(when="teardown", outcome="failed", longrepr="worker crashed\nmore")
        )
        assert (phase.outcome, phase.reason) == ("broken", "error in teardown: worker crashed")

    def test_failure_kind_property_wins_over_text(self):
        subclass = phase_report(
            outcome="failed",
            longrepr=crash("waits.NotConformant: not Running"),
            user_properties=[[FAILURE_KIND_PROPERTY, "assertion"]],  # a list, as after xdist
        )
        assert classify_phase(subclass).outcome == "failed"
        error = phase_report(
            outcome="failed",
            longrepr=crash("AssertionError: x"),
            user_properties=[(FAILURE_KIND_PROPERTY, "error")],
        )
        assert classify_phase(error).outcome == "broken"

    def test_skip_reason_without_prefix(self):
        phase = classify_phase(
            phase_report(
                when="setup", outcome="skipped", longrepr=("f.py", 3, "Skipped: mesh is not declared")
            )
        )
        assert (phase.outcome, phase.reason) == ("skipped", "mesh is not declared")

    def test_xfail_is_skipped(self):
        phase = classify_phase(
            phase_report(outcome="skipped", longrepr=crash("assert 0"), wasxfail="known bug")
        )
        assert (phase.outcome, phase.reason) == ("skipped", "expected failure: known bug")

    def test_passed(self):
        phase = classify_phase(phase_report())
        assert (phase.outcome, phase.reason, phase.duration) == ("passed", None, 0.5)


def _raising(error: BaseException) -> pytest.CallInfo[None]:
    def call() -> None:
        raise error

    return pytest.CallInfo.from_call(call, when="call")


class TestFailureKind:
    def test_a_wait_past_its_published_limit_is_the_implementations_failure(self):
        kind = failure_kind_property(_raising(WaitTimeout("pod never Running")))
        assert kind == (FAILURE_KIND_PROPERTY, "assertion")

    def test_anything_fails_as_broken_when_the_environment_died(self):
        for error in (WaitTimeout("pod never Running"), AssertionError("not on a virtual node")):
            kind = failure_kind_property(_raising(error), environment_broken=True)
            assert kind == (FAILURE_KIND_PROPERTY, "error")

    def test_api_errors_are_broken_and_passing_calls_have_no_kind(self):
        assert failure_kind_property(_raising(ConnectionError("refused"))) == (FAILURE_KIND_PROPERTY, "error")
        assert failure_kind_property(pytest.CallInfo.from_call(lambda: None, when="call")) is None


class TestRecord:
    def test_phases_merge_worst_outcome_and_add_durations(self, catalogue):
        collector = ResultCollector(catalogue)
        collector.record("t::a", ["F0-R1"], "passed", 0.25)
        collector.record("t::a", ["F0-R1"], "failed", 1.0, "AssertionError: no\nsecond line")
        collector.record("t::a", ["F0-R1"], "broken", 0.25, "error in teardown: boom")
        [test] = collector.results()
        assert (test.outcome, test.duration_seconds, test.reason) == ("failed", 1.5, "AssertionError: no")
        assert test.requirements == ["F0-R1"]

    def test_teardown_error_after_pass_is_broken(self, catalogue):
        collector = ResultCollector(catalogue)
        collector.record("t::a", ["F0-R1"], "passed", 0.1)
        collector.record("t::a", ["F0-R1"], "broken", 0.1, "error in teardown: boom")
        assert collector.results()[0].outcome == "broken"

    def test_passed_has_no_reason(self, catalogue):
        collector = ResultCollector(catalogue)
        collector.record("t::a", ["F0-R1"], "passed", 0.1, "ignored")
        assert collector.results()[0].reason is None

    def test_record_phase(self, catalogue):
        collector = ResultCollector(catalogue)
        collector.record_phase(phase_report(when="setup"), ["F0-R1"])
        collector.record_phase(phase_report(outcome="failed", longrepr=crash("assert False")), ["F0-R1"])
        [test] = collector.results()
        assert (test.nodeid, test.outcome, test.duration_seconds) == (
            "conformance/test_x.py::test_y",
            "failed",
            1.0,
        )

    def test_unknown_outcome_is_refused(self, catalogue):
        with pytest.raises(ValueError, match="unknown outcome 'error'"):
            ResultCollector(catalogue).record("t::a", [], "error", 0.0)


class TestSummaryLine:
    def test_without_skips(self, catalogue):
        collector = ResultCollector(catalogue)
        collector.record("t::a", ["F0-R1"], "passed", 0.1)
        collector.record("t::b", ["F0-R1"], "failed", 0.1)
        collector.record("t::c", ["F0-R1"], "broken", 0.1)
        assert collector.summary_line() == "1 passed, 2 failed"

    def test_with_skips(self, catalogue):
        collector = ResultCollector(catalogue)
        collector.record("t::a", ["F0-R1"], "passed", 0.1)
        collector.record("t::b", ["F0-R1"], "skipped", 0.1)
        assert collector.summary_line() == "1 passed, 0 failed, 1 skipped"

    def test_empty(self, catalogue):
        assert ResultCollector(catalogue).summary_line() == "0 passed, 0 failed"


class TestBuildReport:
    def test_report_carries_run_implementation_and_verdicts(self, catalogue):
        collector = ResultCollector(catalogue)
        for requirement in catalogue.requirements:
            outcome = "skipped" if requirement.feature == "extended" else "passed"
            collector.record(f"t::{requirement.id}", [requirement.id], outcome, 0.1, "not supported")
        run = run_info(
            command="vnode run --implementation implementations/acme.yaml",
            date=datetime(2026, 11, 22, 10, 0, tzinfo=timezone(timedelta(hours=2))),
        )
        declared = ["core-scheduling", "selectors-effects", "hot-updates", "storage", "mesh"]
        report = collector.build_report(implementation(declared), run)

        assert report.api_version == "conformance.vnode.dev/v1"
        assert report.kind == "ConformanceReport"
        assert report.date == datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
        assert report.result == "success"
        assert report.implementation.project == "acme-vnode"
        assert report.implementation.declared_features == declared
        assert report.implementation.limits.pod_running_seconds == 60
        assert report.implementation.limits.hold_seconds == 10, "the hold window is a published limit"
        assert report.feature("extended").result == "not-claimed"
        assert report.totals.skipped == 1
        assert report.tests[-1].reason == "not supported"

        dumped = report.to_json()
        assert '"date": "2026-11-22T08:00:00Z"' in dumped
        assert '"declaredFeatures"' in dumped
        assert ConformanceReport.from_json(dumped) == report


class TestProfileLockMode:
    """Each test's result says under which eci-profile state it ran (`profileLock`)."""

    def test_the_mode_the_setup_recorded_is_the_tests_and_null_when_none(self, catalogue):
        from vnode_harness.report.collector import PROFILE_LOCK_PROPERTY
        from vnode_harness.report.markdown import render_markdown

        collector = ResultCollector(catalogue)
        held = [(PROFILE_LOCK_PROPERTY, "shared")]
        for when in ("setup", "call", "teardown"):  # pytest gives every phase the item's properties
            collector.record_phase(phase_report(when=when, user_properties=held), ["F0-R1"])
        exclusive = [[PROFILE_LOCK_PROPERTY, "exclusive"]]  # a list, as it arrives through xdist
        other = phase_report(when="setup", user_properties=exclusive, nodeid="conformance/test_x.py::test_z")
        collector.record_phase(other, ["F0-R1"])
        collector.record("conformance/test_x.py::test_skipped", ["F0-R1"], "skipped", 0.0, "not declared")
        report = collector.build_report(implementation(["core-scheduling"]), run_info())

        modes = {test.nodeid: test.profile_lock for test in report.tests}
        assert modes == {
            "conformance/test_x.py::test_y": "shared",
            "conformance/test_x.py::test_z": "exclusive",
            "conformance/test_x.py::test_skipped": None,
        }
        assert '"profileLock": "shared"' in report.to_json()
        assert ConformanceReport.from_json(report.to_json()) == report
        page = render_markdown(report)
        assert "- eci-profile lock: 1 tests held it exclusively" in page
        assert "1 shared" in page

    def test_the_plugin_reads_the_mode_and_takeovers_from_the_tests_lock_fixtures(self):
        from vnode_harness.plugin.failure_causes import record_lock_takeover
        from vnode_harness.report.collector import LOCK_TAKEOVER_PROPERTY, PROFILE_LOCK_PROPERTY

        shared = SimpleNamespace(mode="shared", taken_over="took over the lease of 'dead-writer'")
        editor = SimpleNamespace(lock=SimpleNamespace(mode="exclusive", taken_over=None))
        takeover = (LOCK_TAKEOVER_PROPERTY, shared.taken_over)
        for funcargs, expected in [
            ({"profile_hold": shared}, [(PROFILE_LOCK_PROPERTY, "shared"), takeover]),
            ({"profile_hold": None, "eci_profile": editor}, [(PROFILE_LOCK_PROPERTY, "exclusive")]),
            ({}, []),
        ]:
            report = phase_report(when="setup")
            record_lock_takeover(SimpleNamespace(funcargs=funcargs), report)  # type: ignore[arg-type]
            assert report.user_properties == expected


class TestOrder:
    def test_two_runs_finishing_in_other_orders_write_the_same_report(self, catalogue):
        """Tests in catalogue order, then node id, in the YAML and in each requirement's tests."""
        finished = [
            ("t::mesh", ["F4-R1"], "passed"),
            ("t::sched-b", ["F0-R1"], "passed"),
            ("t::orphan", [], "passed"),
            ("t::sched-a", ["F0-R1"], "failed"),
            ("t::storage", ["F3-R1"], "passed"),
        ]
        reports = []
        for order in (finished, list(reversed(finished))):
            collector = ResultCollector(catalogue)
            for nodeid, requirements, outcome in order:
                collector.record(nodeid, requirements, outcome, 1.0)
            reports.append(collector.build_report(implementation(["core-scheduling"]), run_info()))
        first, second = reports
        assert [test.nodeid for test in first.tests] == [
            "t::sched-a", "t::sched-b", "t::storage", "t::mesh", "t::orphan",
        ]  # fmt: skip
        assert first.requirements[0].tests == ["t::sched-a", "t::sched-b"]
        assert first.to_yaml() == second.to_yaml()
